"""Four eyes (DESIGN.md §9; issue 15): what moves the board after the fact waits, pending and
visible, until a second coordinator confirms it.

Kinds: ``review_raise`` (a review correction that raises R, app.domain.reviews),
``survey_regenerate`` (a new survey link after the old one expired, app.domain.surveys),
``earlier_delivery`` (a team's declared delivery date before the season's declaration window, which
a coordinator approves: DESIGN.md §3; app.domain.lifecycle),
``late_cancellation`` (a late cancellation approved as not the team's doing, app.domain.lifecycle)
and ``target_change`` (a playlist target changed after the season's target date, not song-linked:
``label_id`` and the payload say which, app.domain.catalogue). Each module registers in ``APPLY``
the function that applies its payload; ``request`` and ``decide`` are the whole API (a
notification can hook ``request``: it returns the pending change).

The confirmer is a coordinator other than the requester, outside the label's home directorate,
and for a review also someone allowed to review the song (never its planner or deliverer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain import audit, permissions
from app.domain.errors import Conflict, NotFound, PermissionDenied
from app.extensions import db
from app.i18n import _
from app.models import Album, Label, PendingChange, Season, Song
from app.models.base import utcnow

KINDS = ("review_raise", "late_cancellation", "target_change", "survey_regenerate", "earlier_delivery")
APPLY: dict[str, Callable[[Any, PendingChange], None]] = {}


def kind_name(kind: str) -> str:
    names = {
        "review_raise": _("Corrección que sube la revisión (R)"),
        "late_cancellation": _("Aprobación de una cancelación tardía"),
        "target_change": _("Cambio de meta después de la fecha de metas"),
        "survey_regenerate": _("Enlace de encuesta nuevo tras vencer el anterior"),
        "earlier_delivery": _("Fecha de entrega anterior a la ventana de declaración"),
    }
    return names.get(kind, kind)


def applies(kind: str):
    """Register the function that applies a confirmed change of ``kind``: ``fn(confirmer, change)``."""

    def decorator(fn):
        APPLY[kind] = fn
        return fn

    return decorator


def pending_for(song: Song, kind: str | None = None) -> PendingChange | None:
    stmt = select(PendingChange).where(PendingChange.song_id == song.id, PendingChange.status == "pending")
    if kind:
        stmt = stmt.where(PendingChange.kind == kind)
    return db.session.scalar(stmt.order_by(PendingChange.id.desc()).limit(1))


def request(
    kind: str,
    actor: Any,
    *,
    song: Song | None = None,
    label_id: int | None = None,
    payload: dict | None = None,
    ip: str | None = None,
) -> PendingChange:
    """Record a change that waits for a second coordinator (one pending change per song and kind)."""
    if song is not None and pending_for(song, kind) is not None:
        raise Conflict(_("Ya hay un cambio de este tipo pendiente de confirmación para esta canción."))
    change = PendingChange(
        kind=kind,
        song_id=song.id if song is not None else None,
        label_id=song.label_id if song is not None else label_id,
        payload=payload or {},
        requested_by_id=actor.id,
    )
    db.session.add(change)
    db.session.flush()
    audit.record(
        "change_pending",
        "song" if song is not None else "pending_change",
        song.id if song is not None else change.id,
        actor_id=actor.id,
        changes={"pending_change": [None, change.id], "kind": [None, kind]},
        ip=ip,
    )
    return change


def confirm_refusal(user: Any, change: PendingChange) -> str | None:
    """Why ``user`` may not confirm or reject ``change`` (None if they may)."""
    if (reason := permissions.label_action_refusal(user, change.label_id)) is not None:
        return reason
    if change.requested_by_id == user.id:
        return _("Usted pidió este cambio: lo confirma una segunda persona de la coordinación (cuatro ojos).")
    if change.kind == "review_raise" and change.song is not None:
        return permissions.review_refusal(user, change.song, ignore_assignment=True)
    if change.kind == "late_cancellation" and change.song is not None:
        return permissions.late_cancellation_refusal(user, change.song)
    if change.kind == "earlier_delivery" and change.song is not None:
        return permissions.earlier_delivery_refusal(user, change.song)
    return None


def get(change_id: int) -> PendingChange:
    change = db.session.get(PendingChange, change_id) if 0 < change_id < 2**31 else None
    if change is None:
        raise NotFound(_("El cambio pendiente no existe."))
    return change


def decide(actor: Any, change: PendingChange, confirm: bool, comment: str | None = None, *, ip: str | None = None):
    """The second coordinator confirms (the change is applied now) or rejects it."""
    reason = confirm_refusal(actor, change)
    if reason is not None:
        raise PermissionDenied(reason)
    if change.status != "pending":
        raise Conflict(_("Este cambio ya fue decidido."))
    change.status = "confirmed" if confirm else "rejected"
    change.decided_by_id, change.decided_at = actor.id, utcnow()
    change.comment = (comment or "").strip()[:2000] or None
    if confirm:
        import app.domain.catalogue  # noqa: F401  (each module registers how its kind applies)
        import app.domain.lifecycle  # noqa: F401
        import app.domain.reviews  # noqa: F401
        import app.domain.surveys  # noqa: F401

        if change.kind not in APPLY:
            raise Conflict(_("Este tipo de cambio todavía no se puede aplicar."))
        APPLY[change.kind](actor, change)
    audit.record(
        "change_confirmed" if confirm else "change_rejected",
        "song" if change.song_id else "pending_change",
        change.song_id or change.id,
        actor_id=actor.id,
        changes={"pending_change": [change.id, change.status], "kind": [change.kind, change.kind]},
        ip=ip,
    )
    db.session.flush()
    return change


def pending(limit: int = 200) -> list[PendingChange]:
    return list(
        db.session.scalars(
            select(PendingChange)
            .where(PendingChange.status == "pending")
            .options(selectinload(PendingChange.song), selectinload(PendingChange.requested_by))
            .order_by(PendingChange.requested_at, PendingChange.id)
            .limit(limit)
        )
    )


def describe(change: PendingChange) -> list[tuple[str, str]]:
    """What the change would do, as (term, value) rows for the pending page."""
    payload = change.payload or {}
    if change.kind == "review_raise" and payload.get("scores"):
        return [(_("Puntajes propuestos"), " · ".join(str(v) for v in payload["scores"].values()))]
    if change.kind == "late_cancellation":
        from app.domain.song_rules import late_cancel_reason_names

        rows = [(_("Motivo"), late_cancel_reason_names().get(payload.get("reason"), str(payload.get("reason"))))]
        return rows + ([(_("Comentario"), payload["comment"])] if payload.get("comment") else [])
    if change.kind == "earlier_delivery":
        recorded, declared = payload.get("recorded_on"), payload.get("declared")
        return [(_("Fecha de entrega declarada"), _day(declared)), (_("Registrada el"), _day(recorded))]
    if change.kind == "target_change":
        season = db.session.get(Season, payload.get("season_id") or 0)
        label = db.session.get(Label, change.label_id or 0)
        album = db.session.get(Album, payload["album_id"]) if payload.get("album_id") else None

        def shown(value: Any) -> str:
            return _("sin meta") if value is None else str(value)

        return [
            (_("Temporada"), str(season.year) if season else "—"),
            (_("Disquera"), f"{label.code} · {label.name}" if label else "—"),
            (_("Meta"), album.name if album else _("Meta total")),
            (_("Cambio"), f"{shown(payload.get('before'))} → {shown(payload.get('target'))}"),
        ]
    return []


def _day(iso: Any) -> str:
    from datetime import date

    try:
        return date.fromisoformat(str(iso)).strftime("%d/%m/%Y")
    except ValueError:
        return str(iso)
