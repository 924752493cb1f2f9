"""Evidence files of a song (DESIGN.md §3): type-checked by content, size-limited,
stored outside the web root under a generated name.

Accepted types, detected from the file's bytes (never from its name or the
browser's Content-Type):

- PDF (``%PDF-``), JPEG (``FF D8 FF``), PNG (``89 50 4E 47 0D 0A 1A 0A``);
- Office Open XML documents, common for actas and attendance lists: DOCX and XLSX,
  i.e. a ZIP archive holding ``[Content_Types].xml`` and a ``word/document.xml`` or
  ``xl/workbook.xml`` part. Macro-enabled variants (with ``vbaProject.bin``) are refused.

Anything else (an executable renamed ``photo.jpg``, HTML, SVG…) is refused before
anything is written. Files are written atomically (temporary file + ``os.replace``)
under ``UPLOAD_FOLDER/<uuid4 hex>.<ext>``; the SHA-256 is recorded; the original
name is sanitised and kept only as the download name, never used in a path.

Transactions: like lifecycle.py, the caller commits. A file written for a
transaction that is rolled back is deleted; a removed file is deleted only once
the removal is committed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import uuid
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.domain import audit, permissions, storage
from app.domain.errors import NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _, _l
from app.models import Evidence, Song, SongState

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    DOCX: "docx",
    XLSX: "xlsx",
}
NAME_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
}
CLOSED_STATES = (SongState.REVIEWED.value, SongState.CANCELLED.value)
ALLOWED_TEXT = _l("PDF, JPG, PNG, DOCX o XLSX")


def detect_type(head: bytes, data: bytes | None = None) -> str | None:
    """The content type of a file from its bytes, or None if not an accepted type."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"PK\x03\x04") and data is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
            return None
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    return None


_UNSAFE = re.compile(r"[^\w .()\-]+", re.UNICODE)


def sanitise_filename(name: Any, content_type: str) -> str:
    """A display/download name: no path, no control characters, ≤ 120 chars, the right extension."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip(" ._")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    stem = (stem or "evidencia")[:100]
    if "." + ext.lower() not in NAME_EXTENSIONS[content_type]:
        stem = f"{stem}.{ext}" if ext else stem
        ext = EXTENSIONS[content_type]
    return f"{stem[:100]}.{ext.lower()}"


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def evidence_path(evidence: Evidence) -> Path:
    """Where the file lives on disk (generated name only)."""
    if not re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", evidence.stored_name or ""):
        raise NotFound(_("El archivo de evidencia no está disponible."))
    return _folder() / evidence.stored_name


def _read_limited(stream: BinaryIO, limit: int) -> bytes:
    data = stream.read(limit + 1)
    return data if isinstance(data, bytes) else b""


def _pending(session: Session, key: str) -> list[str]:
    return session.info.setdefault(key, [])


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for path in session.info.pop("evidence_unlink", []):
        try:
            os.unlink(path)
        except OSError:
            pass
    session.info.pop("evidence_written", None)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for path in session.info.pop("evidence_written", []):
        try:
            os.unlink(path)
        except OSError:
            pass
    session.info.pop("evidence_unlink", None)


def add_evidence(actor: Any, song: Song, file_storage: Any, *, ip: str | None = None) -> Evidence:
    """Attach one evidence file (DESIGN.md §3). Refused files leave nothing on disk or in the database."""
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    if song.state in CLOSED_STATES:
        raise ValidationFailed(
            _("La canción ya está cerrada (revisada o cancelada): no admite nuevas evidencias."),
            {"file": [_("Canción cerrada.")]},
        )
    if file_storage is None or not getattr(file_storage, "filename", None):
        raise ValidationFailed(_("Seleccione un archivo."), {"file": [_("Seleccione un archivo.")]})
    limit = int(current_app.config.get("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))
    data = _read_limited(file_storage.stream, limit)
    if len(data) > limit:
        mb = limit / (1024 * 1024)
        raise ValidationFailed(
            _("El archivo supera el tamaño máximo de %(mb)s MB.", mb=f"{mb:.0f}"),
            {"file": [_("Máximo %(mb)s MB.", mb=f"{mb:.0f}")]},
        )
    if not data:
        raise ValidationFailed(_("El archivo está vacío."), {"file": [_("Archivo vacío.")]})
    content_type = detect_type(data[:16], data)
    if content_type is None:
        raise ValidationFailed(
            _(
                "Tipo de archivo no permitido. Se aceptan %(types)s (se verifica el contenido, no el nombre).",
                types=ALLOWED_TEXT,
            ),
            {"file": [_("Solo %(types)s.", types=ALLOWED_TEXT)]},
        )
    original = sanitise_filename(file_storage.filename, content_type)
    stored_name = f"{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"
    folder = _folder()
    target = folder / stored_name
    storage.write_atomically(target, data)  # whole or nothing; a full disk is a 507
    _pending(db.session(), "evidence_written").append(str(target))
    evidence = Evidence(
        song=song,
        original_name=original,
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=getattr(actor, "id", None),
    )
    db.session.add(evidence)
    db.session.flush()
    audit.record(
        "evidence_added",
        "song",
        song.id,
        actor_id=getattr(actor, "id", None),
        changes={
            "evidence": [None, original],
            "evidence_id": [None, evidence.id],
            "sha256": [None, evidence.sha256],
            "size_bytes": [None, evidence.size_bytes],
        },
        ip=ip,
    )
    if song.awaiting_evidence:
        # Imported as delivered without evidence: it counts from now on (DESIGN.md §3).
        from app.domain.terms import refresh_song_terms

        song.awaiting_evidence = False
        refresh_song_terms(song)
        db.session.flush()
        audit.record(
            "song_evidence_completed",
            "song",
            song.id,
            actor_id=getattr(actor, "id", None),
            changes={"awaiting_evidence": [True, False], "standing": ["evidence_pending", song.standing]},
            ip=ip,
        )
        if song.assigned_reviewer_id is None:  # nobody was eligible when it was imported
            from app.domain.review_queue import assign_reviewer

            assign_reviewer(song, actor=actor, ip=ip)
    return evidence


def remove_evidence(actor: Any, evidence: Evidence, *, ip: str | None = None) -> None:
    """Remove an evidence file while the song is not reviewed (nor cancelled).

    A delivered song keeps at least one evidence file (delivery requires one). The removal
    also writes the song row (its version moves on), so two removals racing for the last two
    files, or a removal racing a delivery, cannot both pass that check: the loser gets a 409
    (``lifecycle.concurrent_write``, issue 19).
    """
    from app.domain.lifecycle import concurrent_write

    song = evidence.song
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    if song.state in CLOSED_STATES:
        raise ValidationFailed(
            _("La canción ya está cerrada (revisada o cancelada): sus evidencias no se pueden quitar."),
            {"evidence": [_("Canción cerrada.")]},
        )
    if song.state == SongState.DELIVERED.value and len(song.evidence) <= 1:
        raise ValidationFailed(
            _("Una canción entregada debe conservar al menos una evidencia. Suba otra antes de quitar esta."),
            {"evidence": [_("Última evidencia de una canción entregada.")]},
        )
    path = str(evidence_path(evidence))
    before_version = song.version
    changes = {"evidence": [evidence.original_name, None], "evidence_id": [evidence.id, None]}
    with concurrent_write(song, before_version):
        flag_modified(song, "state")  # UPDATE songs … WHERE version = the one checked above
        song.evidence.remove(evidence)
        db.session.delete(evidence)
    changes["version"] = [before_version, song.version]
    audit.record("evidence_removed", "song", song.id, actor_id=getattr(actor, "id", None), changes=changes, ip=ip)
    _pending(db.session(), "evidence_unlink").append(path)


def get_evidence(actor: Any, song: Song, evidence_id: int) -> Evidence:
    """An evidence file of ``song`` that ``actor`` may see (404 / 403 otherwise)."""
    permissions.require(permissions.can_view_song(actor, song), _("Esta canción es de otra disquera."))
    evidence = db.session.get(Evidence, evidence_id) if 0 < evidence_id <= 2_147_483_647 else None
    if evidence is None or evidence.song_id != song.id:
        raise NotFound(_("La evidencia no existe."))
    return evidence
