"""Users, roles and API tokens (DESIGN.md §1)."""

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.catalogue import artist_members

# A coordinator's home directorate (DESIGN.md §1, §9): the labels they never review, correct,
# approve, regenerate or validate anything for. The national office has none.
coordinator_home_labels = db.Table(
    "coordinator_home_labels",
    db.Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    db.Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Role(StrEnum):
    TERRITORIAL = "territorial"
    COORDINATOR = "coordinator"
    MANAGER = "manager"
    ADMIN = "admin"


def _l(message: str) -> str:
    """Marks a string for extraction; translated where it is shown (permissions.role_name)."""
    return message


ROLE_LABELS = {
    Role.TERRITORIAL: _l("Territorial"),
    Role.COORDINATOR: _l("Coordinación"),
    Role.MANAGER: _l("Gestión"),
    Role.ADMIN: _l("Administración"),
}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('territorial','coordinator','manager','admin')", name="role_valid"),
        CheckConstraint("role <> 'territorial' OR label_id IS NOT NULL", name="territorial_has_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20))
    label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Every session carries this number; sign-out, a password change and a deactivation
    # increase it, which ends every session of the user on the server (issue 19).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when an admin gives the user a (temporary) password; the user must choose their
    # own before doing anything else (app/auth/routes.py, issue 21).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    label: Mapped["Label | None"] = relationship()  # noqa: F821
    artists: Mapped[list["Artist"]] = relationship(  # noqa: F821
        secondary=artist_members, back_populates="members"
    )
    home_labels: Mapped[list["Label"]] = relationship(  # noqa: F821
        secondary=coordinator_home_labels, order_by="Label.code"
    )

    @property
    def home_label_ids(self) -> set[int]:
        return {label.id for label in self.home_labels}

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot sign in
        return bool(self.active)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(db.Model):
    """Bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed sign-ins of one account from one source (an address or a known device).

    After ``LOGIN_MAX_FAILURES`` failures that source, and only that source, waits a delay
    that doubles with every further failure (issue 19): an attacker cannot keep the account's
    owner out by failing from elsewhere.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("user_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(120))
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
