"""Accounts: passwords, sign-in, lockout, API tokens, user administration (DESIGN.md §1, §8; issue 9).

Rules (OWASP ASVS level 2, V2/V3):
- passwords hashed with scrypt (werkzeug) outside tests; minimum policy in ``check_password_policy``;
- sign-in failures are generic; ``LOGIN_MAX_FAILURES`` consecutive failures lock the account for
  ``LOGIN_LOCKOUT_MINUTES`` (an admin can lift it with ``unlock``);
- a password change or reset revokes the user's API tokens and ends their other sessions
  (``password_changed_at`` is compared with the session's sign-in time in ``app.auth.routes``);
- every administrative action is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain import audit, permissions
from app.domain.errors import PermissionDenied, ValidationFailed
from app.domain.parsing import ascii_int
from app.extensions import db
from app.models import ApiToken, Artist, Label, Role, User
from app.models.base import utcnow


def _(message: str, **values) -> str:
    """gettext inside a request; the Spanish source text otherwise (CLI, jobs, tests)."""
    from flask import has_request_context

    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# A constant hash so a sign-in with an unknown e-mail costs the same as a bad password.
_DUMMY_HASH = None


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """At least 10 characters, with letters and digits, not the e-mail (issue 9 minimum policy)."""
    problems = []
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("La contraseña debe tener al menos %(n)s caracteres.", n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(_("La contraseña no puede tener más de %(n)s caracteres.", n=MAX_PASSWORD_LENGTH))
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append(_("La contraseña debe combinar letras y números."))
    if email and password.strip().lower() in {normalise_email(email), normalise_email(email).split("@")[0]}:
        problems.append(_("La contraseña no puede ser su correo."))
    if problems:
        raise ValidationFailed(" ".join(problems), {"password": problems})


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def _register_failure(user: User) -> None:
    """Count a failed sign-in; lock the account after ``LOGIN_MAX_FAILURES`` in a row."""
    limit = current_app.config.get("LOGIN_MAX_FAILURES", 5)
    minutes = current_app.config.get("LOGIN_LOCKOUT_MINUTES", 15)
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= limit:
        user.locked_until = utcnow() + timedelta(minutes=minutes)
        user.failed_logins = 0
        audit.record("account_locked", "user", user.id, actor_id=None, changes={"locked_until": [None, user.locked_until]})


def authenticate(email: str, password: str) -> User | None:
    """The active, unlocked user with this e-mail and password, or None (generic failure).

    Failures are counted on the account (the caller commits). While locked, even the right
    password is refused, and the refusal looks exactly like a wrong password.
    """
    global _DUMMY_HASH
    email = normalise_email(email)[:254]
    password = (password or "")[:MAX_PASSWORD_LENGTH]
    user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password)
        return None
    if is_locked(user):
        check_password_hash(user.password_hash, password)  # same cost as a normal attempt
        return None
    if not check_password_hash(user.password_hash, password):
        _register_failure(user)
        return None
    if not user.active:
        return None
    user.failed_logins = 0
    user.locked_until = None
    return user


def _label_id(label_id: int | None) -> int | None:
    if label_id in (None, "", 0):
        return None
    if db.session.get(Label, int(label_id)) is None:
        raise ValidationFailed(_("La disquera no existe."), {"label": [_("La disquera no existe.")]})
    return int(label_id)


def _labels(label_ids, field: str = "home_labels") -> list[Label]:
    """The labels with these ids (a ValidationFailed naming the field if one does not exist)."""
    ids = []
    for raw in label_ids or []:
        value = ascii_int(str(raw), minimum=1) if not isinstance(raw, int) else raw
        if value is None:
            raise ValidationFailed(_("La disquera no existe."), {field: [_("La disquera no existe.")]})
        ids.append(value)
    labels = db.session.scalars(select(Label).where(Label.id.in_(ids)).order_by(Label.code)).all() if ids else []
    if len(labels) != len(set(ids)):
        raise ValidationFailed(_("La disquera no existe."), {field: [_("La disquera no existe.")]})
    return list(labels)


def _teams(team_ids, label_id: int | None) -> list[Artist]:
    """Territorial users' teams (artists), all of their own label."""
    ids = [v for v in (ascii_int(str(r), minimum=1) if not isinstance(r, int) else r for r in team_ids or [])]
    if not ids:
        return []
    if None in ids:
        raise ValidationFailed(_("El equipo no existe."), {"teams": [_("El equipo no existe.")]})
    teams = db.session.scalars(select(Artist).where(Artist.id.in_(ids)).order_by(Artist.name)).all()
    if len(teams) != len(set(ids)):
        raise ValidationFailed(_("El equipo no existe."), {"teams": [_("El equipo no existe.")]})
    if any(team.label_id != label_id for team in teams):
        message = _("Los equipos de una persona territorial son de su propia disquera.")
        raise ValidationFailed(message, {"teams": [message]})
    return list(teams)


def _clean_user_fields(role: str, label_id, home_label_ids, team_ids) -> tuple[int | None, list[Label], list[Artist]]:
    """The label, home directorate and teams that fit the role (DESIGN.md §1).

    Territorial: one label (required) and teams of that label; coordinator: a home directorate of
    zero or more labels (none = the national office); the other roles: neither."""
    if role not in {r.value for r in Role}:
        raise ValidationFailed(_("Rol desconocido: %(role)s.", role=role), {"role": [_("Rol desconocido.")]})
    label_id = _label_id(label_id)
    if permissions.needs_label(role) and label_id is None:
        raise ValidationFailed(_("Un usuario territorial necesita su disquera."), {"label": [_("Requerido.")]})
    home = _labels(home_label_ids)
    if home and not permissions.has_home_directorate(role):
        message = _("Solo la coordinación tiene dirección de origen.")
        raise ValidationFailed(message, {"home_labels": [message]})
    label_id = label_id if permissions.needs_label(role) else None
    teams = _teams(team_ids, label_id) if permissions.needs_label(role) else []
    if team_ids and not permissions.needs_label(role):
        message = _("Solo las personas territoriales pertenecen a equipos.")
        raise ValidationFailed(message, {"teams": [message]})
    return label_id, home, teams


def create_user(
    email: str,
    name: str,
    password: str,
    role: str,
    label_id: int | None = None,
    *,
    home_label_ids=None,
    team_ids=None,
    enforce_policy: bool = True,
    actor: User | None = None,
    ip: str | None = None,
) -> User:
    """A new user. Territorial users need their label; coordinators may have a home directorate."""
    email = normalise_email(email)
    name = (name or "").strip()
    label_id, home, teams = _clean_user_fields(role, label_id, home_label_ids, team_ids)
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationFailed(_("Correo no válido."), {"email": [_("Correo no válido.")]})
    if not name or len(name) > 160:
        raise ValidationFailed(_("Escriba el nombre (máximo 160 caracteres)."), {"name": [_("Requerido.")]})
    if db.session.execute(db.select(User.id).filter_by(email=email)).first():
        raise ValidationFailed(_("Ya existe un usuario con ese correo."), {"email": [_("Ya existe.")]})
    if enforce_policy:
        check_password_policy(password, email=email)
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        label_id=label_id,
        password_changed_at=utcnow(),
    )
    user.home_labels = home
    user.artists = teams
    db.session.add(user)
    db.session.flush()
    changes = {"email": [None, user.email], "role": [None, user.role], "label_id": [None, user.label_id]}
    if home:
        changes["home_labels"] = [None, [label.code for label in home]]
    if teams:
        changes["teams"] = [None, [team.id for team in teams]]
    audit.record("user_created", "user", user.id, actor_id=actor.id if actor else None, changes=changes, ip=ip)
    return user


def _user_facts(user: User) -> dict:
    return {
        "name": user.name,
        "role": user.role,
        "label_id": user.label_id,
        "home_labels": [label.code for label in user.home_labels],
        "teams": sorted(team.id for team in user.artists),
    }


def update_user(
    user: User,
    *,
    name: str | None = None,
    role: str | None = None,
    label_id: int | None = None,
    home_label_ids=None,
    team_ids=None,
    actor: User | None,
    ip: str | None = None,
) -> dict:
    """An admin edits a user's name, role, label, teams and home directorate (audited, before/after).

    ``None`` keeps a value (``home_label_ids``/``team_ids``: pass ``[]`` to clear). The actor is the
    admin, or None for the CLI. An admin cannot take away their own administration role.
    Returns the audited changes ({} when nothing changed). Flushes; the caller commits."""
    if actor is not None:
        _require_admin(actor)
    role = role if role is not None else user.role
    if actor is not None and user.id == actor.id and role != user.role:
        raise ValidationFailed(_("No puede cambiar su propio rol."), {"role": [_("No puede cambiar su propio rol.")]})
    name = user.name if name is None else (name or "").strip()
    if not name or len(name) > 160:
        raise ValidationFailed(_("Escriba el nombre (máximo 160 caracteres)."), {"name": [_("Requerido.")]})
    if label_id is None and permissions.needs_label(role):
        label_id = user.label_id
    if home_label_ids is None:
        home_label_ids = [label.id for label in user.home_labels] if permissions.has_home_directorate(role) else []
    if team_ids is None:
        keep = permissions.needs_label(role) and label_id == user.label_id
        team_ids = [team.id for team in user.artists] if keep else []
    label_id, home, teams = _clean_user_fields(role, label_id, home_label_ids, team_ids)
    before = _user_facts(user)
    user.name, user.role, user.label_id = name, role, label_id
    user.home_labels = home
    user.artists = teams
    db.session.flush()
    after = _user_facts(user)
    changes = audit.changes_between(before, after)
    if changes:
        audit.record("user_updated", "user", user.id, actor_id=actor.id if actor else None, changes=changes, ip=ip)
    return changes


def _require_admin(actor: User | None) -> None:
    if not permissions.can_administer(actor):
        raise PermissionDenied(_("Solo la administración puede gestionar usuarios."))


def revoke_tokens(user: User) -> int:
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False)).values(revoked=True)
    )
    return result.rowcount or 0


def set_active(user: User, active: bool, *, actor: User, ip: str | None = None) -> None:
    """Deactivate (cannot sign in, tokens revoked) or reactivate a user. Never oneself."""
    _require_admin(actor)
    if user.id == actor.id and not active:
        raise ValidationFailed(_("No puede desactivar su propia cuenta."))
    if bool(user.active) == active:
        return
    user.active = active
    if not active:
        revoke_tokens(user)
        # Ends the user's sessions: the session check compares this stamp with the sign-in time.
        user.password_changed_at = utcnow()
    audit.record(
        "user_reactivated" if active else "user_deactivated",
        "user",
        user.id,
        actor_id=actor.id,
        changes={"active": [not active, active]},
        ip=ip,
    )


def unlock(user: User, *, actor: User, ip: str | None = None) -> None:
    """Lift a sign-in lockout (admin)."""
    _require_admin(actor)
    before = user.locked_until
    user.locked_until = None
    user.failed_logins = 0
    audit.record("user_unlocked", "user", user.id, actor_id=actor.id, changes={"locked_until": [before, None]}, ip=ip)


def _set_password(user: User, new_password: str) -> None:
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    revoke_tokens(user)


def reset_password(user: User, new_password: str, *, actor: User, ip: str | None = None) -> None:
    """The admin sets a temporary password meeting the policy; the user's sessions and tokens end."""
    _require_admin(actor)
    check_password_policy(new_password, email=user.email)
    _set_password(user, new_password)
    audit.record("password_reset", "user", user.id, actor_id=actor.id, ip=ip)


def change_password(user: User, current: str, new_password: str, *, ip: str | None = None) -> None:
    """A user changes their own password; the current one is required."""
    if not check_password_hash(user.password_hash, (current or "")[:MAX_PASSWORD_LENGTH]):
        raise ValidationFailed(
            _("La contraseña actual no es correcta."), {"current": [_("La contraseña actual no es correcta.")]}
        )
    check_password_policy(new_password, email=user.email)
    if check_password_hash(user.password_hash, new_password):
        raise ValidationFailed(
            _("La nueva contraseña debe ser distinta de la actual."), {"new": [_("Debe ser distinta de la actual.")]}
        )
    _set_password(user, new_password)
    audit.record("password_changed", "user", user.id, actor_id=user.id, ip=ip)


def search_users(q: str | None = None, role: str | None = None, state: str | None = None):
    """A select of users filtered by text (name or e-mail), role and state (active/inactive/locked)."""
    stmt = select(User).options(selectinload(User.label)).order_by(User.name, User.id)
    if q:
        like = f"%{q.strip().lower()[:100]}%"
        stmt = stmt.where(or_(func.lower(User.email).like(like), func.lower(User.name).like(like)))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == role)
    if state == "active":
        stmt = stmt.where(User.active.is_(True))
    elif state == "inactive":
        stmt = stmt.where(User.active.is_(False))
    elif state == "locked":
        stmt = stmt.where(User.locked_until > utcnow())
    return stmt


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
