"""Notifications: the log of what was said to whom, and each user's preferences (issue 18).

The log is the memory that makes sending idempotent: one row per (kind, event, recipient),
enforced by a unique constraint, so a second collection run or a second worker can never
notify the same person twice about the same thing. The row is the in-app notification
and, when mail is on for it, the e-mail's queue entry (``mail_status``).
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

MAIL_STATUSES = ("none", "pending", "digest", "sent", "failed")
DELIVERIES = ("immediate", "digest")


class Notification(db.Model):
    """One thing told to one recipient: a user (in the app and by mail) or an outside contact (mail only).

    ``mail_status``: ``none`` (in the app only), ``pending`` (queued, retried while the
    server is down), ``digest`` (waits for the recipient's weekly digest), ``sent`` or
    ``failed`` (gave up after the last retry; the in-app copy stays).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("kind", "event_key", "recipient_key"),
        CheckConstraint("mail_status IN ('none','pending','digest','sent','failed')", name="mail_status_valid"),
        CheckConstraint("user_id IS NOT NULL OR email IS NOT NULL", name="has_recipient"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_mail", "mail_status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    event_key: Mapped[str] = mapped_column(String(120))
    recipient_key: Mapped[str] = mapped_column(String(300))  # "user:ID" or "contact:EMAIL"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(254))  # outside recipients only (municipal contact)
    locale: Mapped[str] = mapped_column(String(8), default="es")
    song_id: Mapped[int | None] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"))
    label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mail_status: Mapped[str] = mapped_column(String(10), default="none")
    mail_attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mail_error: Mapped[str | None] = mapped_column(String(300))

    user: Mapped["User | None"] = relationship()  # noqa: F821


class NotificationPreference(db.Model):
    """A user's choice for one kind: on or off, by mail at once or in the weekly digest."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind"),
        CheckConstraint("delivery IN ('immediate','digest')", name="delivery_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(default=True)
    delivery: Mapped[str] = mapped_column(String(10), default="immediate")
