"""Offline deliveries (issue 22): the idempotency keys of drafts synced from a device.

A draft is made on the device with a UUID (``client_draft_id``). The first sync writes one row
here in the same transaction as the delivery and its evidence files; a replay finds the row and
answers with what the first sync did, creating nothing. The unique constraint makes two
concurrent replays safe: the second insert fails and that request answers as a replay.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class OfflineSync(db.Model):
    __tablename__ = "offline_syncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_draft_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="delivery")
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the delivery was recorded on the device (its clock, converted to UTC) and when the
    # server received it: the declaration window counts from the first within a bounded delay.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)

    song = relationship("Song")
