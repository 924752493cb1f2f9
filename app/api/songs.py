"""API: songs (DESIGN.md §8). Same domain functions, same permissions as the UI.

- ``GET /songs`` (paginated; filters season, label, artist, album, department,
  municipality, state, overdue, q, sort), ``GET /songs/ID``
- ``POST /songs`` → 201 ``{"song": {...}, "warnings": [...]}`` (duplicate warning)
- ``PATCH /songs/ID`` (``"version"`` for optimistic locking → 409 with what changed)
- ``POST /songs/ID/transitions`` ``{"to": STATE, "version"?, ...fields}`` (a lost race or a stale
  ``version`` → 409 with what changed, issue 19)
- ``POST /songs/ID/evidence`` (multipart ``file``) → 201; ``GET``/``DELETE /songs/ID/evidence/EID``
- ``POST /songs/ID/offline-deliveries`` (multipart: ``draft_id`` UUID, ``recorded_at`` ISO with
  offset, ``version``, the delivery fields, one or more ``file``) → 201, or 200 with
  ``"replayed": true`` for a draft already synced (nothing new is created; issue 22)
- ``POST /songs/ID/due-date-changes`` ``{"proposed_due", "reason"}``; coordinators:
  ``GET /due-date-changes`` and ``POST /due-date-changes/ID`` ``{"approve": bool, "comment"}``
"""

from __future__ import annotations

from flask import jsonify, request, send_file
from flask_login import current_user

from app.api import bp, schemas
from app.api.core import ApiError, json_body, page_args, paginate
from app.domain import due_dates, lifecycle, offline, permissions, song_queries
from app.domain import evidence as evidence_domain
from app.domain.errors import NotFound, ValidationFailed
from app.domain.parsing import ascii_int
from app.i18n import _
from app.models import Evidence, Song


def _song(song_id: int) -> Song:
    return lifecycle.get_song(current_user, song_id)


def _ip() -> str | None:
    return request.remote_addr


@bp.get("/songs")
def list_songs():
    page, per_page = page_args()
    result = song_queries.paginate_songs(current_user, request.args, page=page, per_page=per_page)
    return jsonify(schemas.page(result, schemas.song))


@bp.get("/songs/<int:song_id>")
def get_song(song_id: int):
    return jsonify(schemas.song(_song(song_id), detail=True))


@bp.post("/songs")
def create_song():
    data = json_body()
    song = lifecycle.create_song(current_user, data, ip=_ip())
    warnings = lifecycle.duplicate_warning(song.municipality_id, song.album_id, song.planned_start, exclude_id=song.id)
    return jsonify(schemas.saved_song(song, warnings)), 201


def _version(data: dict) -> int | None:
    """The optional ``version`` the client saw (optimistic locking: a newer song is a 409)."""
    version = data.pop("version", None)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValidationFailed(_("'version' debe ser un número entero."), {"version": [_("Número entero.")]})
    return version


@bp.patch("/songs/<int:song_id>")
def update_song(song_id: int):
    data = json_body()
    song = _song(song_id)
    lifecycle.update_song(current_user, song, data, expected_version=_version(data), ip=_ip())
    warnings = []
    if {"municipality_id", "album_id", "planned_start"} & set(data):
        warnings = lifecycle.duplicate_warning(
            song.municipality_id, song.album_id, song.planned_start, exclude_id=song.id
        )
    return jsonify(schemas.saved_song(song, warnings))


@bp.post("/songs/<int:song_id>/transitions")
def transition_song(song_id: int):
    data = json_body()
    song = _song(song_id)
    to = data.pop("to", None)
    version = _version(data)
    if not isinstance(to, str):
        raise ValidationFailed(_("Indique el estado de destino en 'to'."), {"to": [_("Obligatorio (texto).")]})
    unknown = sorted(k for k in data if k not in lifecycle.TRANSITION_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Campos desconocidos para una transición: %(fields)s.", fields=", ".join(unknown[:10])),
            {k: [_("Campo desconocido.")] for k in unknown[:10]},
        )
    lifecycle.transition_song(current_user, song, to, ip=_ip(), expected_version=version, **data)
    return jsonify(schemas.song(song, detail=True))


@bp.post("/songs/<int:song_id>/evidence")
def add_evidence(song_id: int):
    song = _song(song_id)
    file = request.files.get("file")
    if file is None:
        raise ApiError(400, _("Envíe el archivo en el campo multipart 'file'."), {"file": [_("Obligatorio.")]})
    evidence = evidence_domain.add_evidence(current_user, song, file, ip=_ip())
    return jsonify(schemas.evidence(evidence)), 201


@bp.post("/songs/<int:song_id>/offline-deliveries")
def sync_offline_delivery(song_id: int):
    """A delivery recorded offline on a device, with its files, synced once (app/domain/offline.py)."""
    song = _song(song_id)
    form = request.form.to_dict()
    draft_id, recorded_at = form.pop("draft_id", None), form.pop("recorded_at", None)
    version = ascii_int(form.pop("version", None), minimum=1)  # None (missing or bad): the domain asks for it
    result = offline.sync_delivery(
        current_user,
        song,
        draft_id=draft_id,
        recorded_at=recorded_at,
        expected_version=version,
        fields=form,
        files=request.files.getlist("file"),
        ip=_ip(),
    )
    body = {
        "draft_id": result.sync.client_draft_id,
        "replayed": result.replayed,
        "recorded_at": schemas.iso(result.sync.recorded_at),
        "received_at": schemas.iso(result.sync.received_at),
        "song": schemas.song(result.song, detail=True),
    }
    return jsonify(body), 200 if result.replayed else 201


@bp.get("/songs/<int:song_id>/evidence/<int:evidence_id>")
def download_evidence(song_id: int, evidence_id: int):
    evidence = evidence_domain.get_evidence(current_user, _song(song_id), evidence_id)
    return send_evidence(evidence)


@bp.delete("/songs/<int:song_id>/evidence/<int:evidence_id>")
def remove_evidence(song_id: int, evidence_id: int):
    evidence = evidence_domain.get_evidence(current_user, _song(song_id), evidence_id)
    evidence_domain.remove_evidence(current_user, evidence, ip=_ip())
    return "", 204


# Shown inside the app during review (issue 21): images and PDF only, never DOCX/XLSX.
PREVIEW_TYPES = ("image/png", "image/jpeg", "application/pdf")
# A preview runs nothing and loads nothing: no script, no plugin content beyond the PDF
# viewer, framed only by the app's own pages, never by another site.
PREVIEW_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def send_evidence(evidence: Evidence, inline: bool = False):
    """Serve an evidence file as an attachment with nosniff; ``inline`` (images and PDF only)
    for the review's preview, with a locked-down CSP and framing limited to the app."""
    path = evidence_domain.evidence_path(evidence)
    if not path.is_file():
        raise NotFound(_("El archivo de evidencia no está disponible."))
    if inline and evidence.content_type not in PREVIEW_TYPES:
        raise NotFound(_("Este tipo de archivo no tiene vista previa; descárguelo."))
    response = send_file(
        path,
        mimetype=evidence.content_type,
        as_attachment=not inline,
        download_name=evidence.original_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if inline:
        sandbox = "; sandbox" if evidence.content_type.startswith("image/") else ""
        response.headers["Content-Security-Policy"] = PREVIEW_CSP + sandbox
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@bp.post("/songs/<int:song_id>/due-date-changes")
def request_due_date_change(song_id: int):
    data = json_body()
    song = _song(song_id)
    change = lifecycle.request_due_date_change(
        current_user, song, data.get("proposed_due"), data.get("reason"), ip=_ip()
    )
    return jsonify(schemas.due_date_change(change)), 201


@bp.get("/due-date-changes")
def list_due_date_changes():
    permissions.require(permissions.can_decide_due_date(current_user), _("Solo la coordinación."))
    return jsonify(paginate(due_dates.pending_select(), schemas.due_date_change))


@bp.post("/due-date-changes/<int:change_id>")
def decide_due_date_change(change_id: int):
    data = json_body()
    approve = data.get("approve")
    if not isinstance(approve, bool):
        raise ValidationFailed(_("'approve' debe ser true o false."), {"approve": [_("Booleano obligatorio.")]})
    permissions.require(permissions.can_decide_due_date(current_user), _("Solo la coordinación."))
    change = lifecycle.get_due_date_change(change_id)
    lifecycle.decide_due_date_change(current_user, change, approve, data.get("comment"), ip=_ip())
    return jsonify(schemas.due_date_change(change))
