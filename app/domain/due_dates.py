"""Due-date change requests: who sees which, and closing the ones that can no longer be
decided (DESIGN.md §3; issue 21).

- The coordination's queue lists the pending requests of songs whose due date can still
  change (in progress, delivered, returned).
- A territorial team lists its own label's requests, pending and decided, read-only.
- When a song is reviewed or cancelled its pending request is closed ("rejected", with an
  automatic note, audited), so it no longer waits in the queue for ever: approving it
  would move the due date of a song that is already scored or out of the count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain import audit, permissions
from app.domain.errors import PermissionDenied
from app.extensions import db
from app.i18n import _
from app.models import DueDateChange, Song, SongState
from app.models.base import utcnow

OPEN_FOR_CHANGE = (SongState.IN_PROGRESS.value, SongState.DELIVERED.value, SongState.RETURNED.value)
FINAL = (SongState.REVIEWED.value, SongState.CANCELLED.value)
LIST_LIMIT = 500


def _with_song():
    return (
        selectinload(DueDateChange.song).selectinload(Song.municipality),
        selectinload(DueDateChange.song).selectinload(Song.album),
        selectinload(DueDateChange.song).selectinload(Song.label),
        selectinload(DueDateChange.requested_by),
        selectinload(DueDateChange.decided_by),
    )


def pending_select():
    """The requests a coordinator can still decide, oldest first (the page and the API)."""
    return (
        select(DueDateChange)
        .join(Song, Song.id == DueDateChange.song_id)
        .where(DueDateChange.status == "pending", Song.state.in_(OPEN_FOR_CHANGE))
        .order_by(DueDateChange.created_at, DueDateChange.id)
    )


def pending_queue() -> list[DueDateChange]:
    return list(db.session.scalars(pending_select().options(*_with_song()).limit(LIST_LIMIT)))


def label_requests(actor: Any) -> list[DueDateChange]:
    """A territorial user's label's requests, pending first, then the newest decisions."""
    if not permissions.has_own_label_requests(actor):
        raise PermissionDenied(_("Solo los equipos territoriales tienen solicitudes propias."))
    stmt = (
        select(DueDateChange)
        .join(Song, Song.id == DueDateChange.song_id)
        .where(Song.label_id == actor.label_id)
        .options(*_with_song())
        .order_by((DueDateChange.status != "pending"), DueDateChange.created_at.desc(), DueDateChange.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(db.session.scalars(stmt))


def close_pending_of_final_song(song: Song, actor: Any = None, ip: str | None = None) -> int:
    """Close the pending requests of a song that was just reviewed or cancelled. Flushes."""
    if song.state not in FINAL:
        return 0
    pending = db.session.scalars(
        select(DueDateChange).where(DueDateChange.song_id == song.id, DueDateChange.status == "pending")
    ).all()
    if not pending:
        return 0
    state = _("revisada") if song.state == SongState.REVIEWED.value else _("cancelada")
    note = _("Cerrada automáticamente: la canción quedó %(state)s antes de decidirla.", state=state)
    for change in pending:
        change.status = "rejected"
        change.decided_at = utcnow()
        change.decision_comment = note
        audit.record(
            "due_date_change_closed",
            "due_date_change",
            change.id,
            actor_id=getattr(actor, "id", None),
            changes={"status": ["pending", "rejected"], "comment": [None, note]},
            ip=ip,
        )
    db.session.flush()
    return len(pending)
