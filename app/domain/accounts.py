"""Accounts: passwords, sign-in, API tokens (DESIGN.md §1, §8)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models import ApiToken, Role, User
from app.models.base import utcnow

MIN_PASSWORD_LENGTH = 10
# A constant hash so a sign-in with an unknown e-mail costs the same as a bad password.
_DUMMY_HASH = None


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def check_password_policy(password: str) -> None:
    """At least 10 characters, with letters and digits (issue 9 minimum policy)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"La contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres.")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append("La contraseña debe combinar letras y números.")
    if problems:
        raise ValidationFailed(" ".join(problems), {"password": problems})


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (generic failure)."""
    global _DUMMY_HASH
    user = db.session.execute(db.select(User).filter_by(email=normalise_email(email))).scalar_one_or_none()
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.active:
        return None
    return user


def create_user(
    email: str, name: str, password: str, role: str, label_id: int | None = None, *, enforce_policy: bool = True
) -> User:
    email = normalise_email(email)
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"Rol desconocido: {role}.", {"role": ["Rol desconocido."]})
    if role == Role.TERRITORIAL and label_id is None:
        raise ValidationFailed("Un usuario territorial necesita su disquera.", {"label": ["Requerido."]})
    if "@" not in email:
        raise ValidationFailed("Correo no válido.", {"email": ["Correo no válido."]})
    if db.session.execute(db.select(User.id).filter_by(email=email)).first():
        raise ValidationFailed("Ya existe un usuario con ese correo.", {"email": ["Ya existe."]})
    if enforce_policy:
        check_password_policy(password)
    user = User(email=email, name=name, password_hash=hash_password(password), role=role, label_id=label_id)
    db.session.add(user)
    db.session.flush()
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config.get("API_TOKEN_HOURS", 720)
    row = ApiToken(user_id=user.id, token_hash=_token_digest(token), expires_at=utcnow() + timedelta(hours=hours))
    db.session.add(row)
    db.session.flush()
    return token, row


def user_for_token(token: str) -> User | None:
    """The active user behind a valid, unexpired, unrevoked token."""
    if not token or len(token) > 200:
        return None
    row = db.session.execute(db.select(ApiToken).filter_by(token_hash=_token_digest(token))).scalar_one_or_none()
    if row is None or row.revoked or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user
