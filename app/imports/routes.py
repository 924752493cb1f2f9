"""Bulk import of songs from CSV/XLSX (DESIGN.md §8, issue 4).

upload → preview (every problem by line, or the row count and first rows) →
confirm. Between preview and confirm the uploaded bytes stay on the server in a
temporary file under the instance folder, named by a random id kept in the
session; the browser never sends the file back.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import permission_required
from app.domain import imports, permissions, storage
from app.imports import bp
from app.imports.forms import ConfirmForm, UploadForm
from app.transaction import keep_writes

SESSION_KEY = "song_import"
PENDING_SECONDS = 30 * 60
MAX_ERRORS_SHOWN = 1000
_PENDING_ID = re.compile(r"[0-9a-f]{32}")


def _pending_dir() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _purge_expired(folder: Path) -> None:
    limit = time.time() - PENDING_SECONDS
    for path in folder.glob("*.upload"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                path.with_suffix(".json").unlink(missing_ok=True)
        except OSError:
            pass


def _discard(pending_id: str | None) -> None:
    if isinstance(pending_id, str) and _PENDING_ID.fullmatch(pending_id):
        folder = _pending_dir()
        (folder / f"{pending_id}.upload").unlink(missing_ok=True)
        (folder / f"{pending_id}.json").unlink(missing_ok=True)


def _load_pending() -> tuple[str, bytes, str] | None:
    """(id, bytes, file name) of this user's pending upload, if still valid."""
    pending_id = session.get(SESSION_KEY)
    if not isinstance(pending_id, str) or not _PENDING_ID.fullmatch(pending_id):
        return None
    folder = _pending_dir()
    data_path, meta_path = folder / f"{pending_id}.upload", folder / f"{pending_id}.json"
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        if meta.get("user_id") != current_user.id or time.time() - meta.get("at", 0) > PENDING_SECONDS:
            _discard(pending_id)
            return None
        return pending_id, data_path.read_bytes(), meta.get("name", "")
    except (OSError, ValueError):
        return None


@bp.get("")
@permission_required(permissions.can_import_songs)
def upload():
    return render_template("imports/upload.html", form=UploadForm(), columns=imports.COLUMN_HELP[1:])


@bp.post("/preview")
@permission_required(permissions.can_import_songs)
def preview():
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("imports/upload.html", form=form, columns=imports.COLUMN_HELP[1:]), 400
    upload_file = form.file.data
    limit = int(current_app.config.get("IMPORT_MAX_BYTES", 20 * 1024 * 1024))
    raw = upload_file.stream.read(limit + 1)
    filename = (upload_file.filename or "archivo")[-200:]
    if len(raw) > limit:
        form.file.errors.append(_("El archivo supera el tamaño máximo de %(mb)s MB.", mb=limit // (1024 * 1024)))
        return render_template("imports/upload.html", form=form, columns=imports.COLUMN_HELP[1:]), 413
    report = imports.import_songs(raw, filename, current_user._get_current_object(), dry_run=True)

    folder = _pending_dir()
    _purge_expired(folder)
    _discard(session.pop(SESSION_KEY, None))
    if report.ok:
        pending_id = secrets.token_hex(16)
        meta = json.dumps({"user_id": current_user.id, "name": filename, "at": time.time()}).encode()
        try:  # whole files or none (a full disk is a 507 with a message: issue 19)
            storage.write_atomically(folder / f"{pending_id}.upload", raw)
            storage.write_atomically(folder / f"{pending_id}.json", meta)
        except storage.StorageUnavailable:
            _discard(pending_id)
            raise
        session[SESSION_KEY] = pending_id
    return _preview(report, filename)


def _preview(report, filename: str):
    """The preview page: every problem by line (the first MAX_ERRORS_SHOWN), 422 when any."""
    return render_template(
        "imports/preview.html",
        report=report,
        filename=filename,
        errors=report.errors[:MAX_ERRORS_SHOWN],
        hidden_errors=max(0, len(report.errors) - MAX_ERRORS_SHOWN),
        bad_lines=len({e.line for e in report.errors}),
        form=ConfirmForm(),
        upload_form=UploadForm(),
    ), (200 if report.ok else 422)


@bp.post("/confirm")
@permission_required(permissions.can_import_songs)
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    pending = _load_pending()
    if pending is None:
        flash(_("La vista previa expiró o ya se usó. Cargue el archivo de nuevo."), "warning")
        return redirect(url_for("imports.upload"))
    pending_id, raw, filename = pending
    # Validated again: the catalogue may have changed since the preview.
    report = imports.import_songs(raw, filename, current_user._get_current_object())
    _discard(pending_id)
    session.pop(SESSION_KEY, None)
    if not report.ok:
        imports.record_failure(report, filename, current_user._get_current_object())
        keep_writes()  # the failed import is recorded although the page answers with an error
        return _preview(report, filename)
    session["song_import_done"] = {"count": report.created, "name": filename}
    return redirect(url_for("imports.done"))


@bp.get("/done")
@permission_required(permissions.can_import_songs)
def done():
    result = session.pop("song_import_done", None)
    if not isinstance(result, dict):
        return redirect(url_for("imports.upload"))
    return render_template("imports/done.html", count=result.get("count", 0), filename=result.get("name", ""))


@bp.get("/template")
@permission_required(permissions.can_import_songs)
def template():
    kind = request.args.get("format", "csv")
    actor = current_user._get_current_object()
    if kind == "csv":
        body, mimetype = imports.template_csv(actor), "text/csv; charset=utf-8"
    elif kind == "xlsx":
        body = imports.template_xlsx(actor)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(400)
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename=plantilla_canciones.{kind}"},
    )
