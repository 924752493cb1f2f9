"""Accounts: passwords, sign-in, lockout, API tokens, user administration (DESIGN.md §1, §8; issue 9).

Rules (OWASP ASVS level 2, V2/V3):
- passwords hashed with scrypt (werkzeug) outside tests; minimum policy in ``check_password_policy``;
- sign-in failures are generic and counted per account *and source* (address, or a browser the
  account signed in from before): ``LOGIN_MAX_FAILURES`` make that source wait a delay that doubles
  with each further failure; ``LOGIN_ACCOUNT_MAX_FAILURES`` from unknown browsers make unknown
  browsers wait, never a known one (issue 19); an admin lifts every lock with ``unlock``;
- sign-out, a password change or reset and a deactivation end every session of the user on the
  server (``end_sessions``: the session's stamp must equal ``users.session_version``, checked in
  ``app.auth.routes``); a password change, reset or deactivation also revokes the API tokens;
- every administrative action is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain import audit, permissions
from app.domain.errors import PermissionDenied, ValidationFailed
from app.domain.parsing import ascii_int
from app.extensions import db
from app.i18n import _
from app.models import ApiToken, Artist, Label, LoginThrottle, Role, User
from app.models.base import utcnow

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
        raise ValidationFailed(" ".join(map(str, problems)), {"password": problems})


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def is_locked(user: User, now: datetime | None = None) -> bool:
    """The account-wide lock: sign-ins from browsers the account has not used are waiting."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def _delay(failures: int, threshold: int) -> timedelta:
    """``LOGIN_DELAY_SECONDS`` at the threshold, doubling with each further failure, capped."""
    base = current_app.config.get("LOGIN_DELAY_SECONDS", 60)
    cap = current_app.config.get("LOGIN_DELAY_MAX_MINUTES", 60) * 60
    return timedelta(seconds=min(cap, base * 2 ** min(failures - threshold, 20)))


def _throttle(user: User, source: str) -> LoginThrottle | None:
    return db.session.execute(select(LoginThrottle).filter_by(user_id=user.id, source=source)).scalar_one_or_none()


def _register_failure(user: User, source: str, known_device: bool) -> None:
    """Count a failed sign-in for this account from this source, and account-wide when the
    browser is not a known device; each count past its threshold waits a doubling delay."""
    now = utcnow()
    threshold = current_app.config.get("LOGIN_MAX_FAILURES", 5)
    row = _throttle(user, source)
    if row is None:
        row = LoginThrottle(user_id=user.id, source=source, failures=0)
        db.session.add(row)
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= threshold:
        row.locked_until = now + _delay(row.failures, threshold)
    if known_device:
        return
    account_threshold = current_app.config.get("LOGIN_ACCOUNT_MAX_FAILURES", 20)
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= account_threshold:
        user.locked_until = now + _delay(user.failed_logins, account_threshold)
        audit.record(
            "account_locked", "user", user.id, actor_id=None, changes={"locked_until": [None, user.locked_until]}
        )


def authenticate(email: str, password: str, *, address: str | None = None, device: str | None = None) -> User | None:
    """The active user with this e-mail and password, unless this source must wait; else None.

    ``address`` is the client's address, ``device`` the id in a "known device" cookie that a
    previous sign-in of *this* account set (``device_cookie``): failures are counted per account
    and source, so a stranger failing from elsewhere never locks the owner out (issue 19).
    While a source waits, even the right password is refused, and the refusal looks exactly
    like a wrong password (the caller commits the counts).
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
    source = f"device:{device}" if device else f"ip:{(address or 'unknown')[:100]}"
    row = _throttle(user, source)
    now = utcnow()
    waiting = (row is not None and row.locked_until is not None and row.locked_until > now) or (
        not device and is_locked(user, now)
    )
    if waiting:
        check_password_hash(user.password_hash, password)  # same cost as a normal attempt
        return None
    if not check_password_hash(user.password_hash, password):
        _register_failure(user, source, known_device=bool(device))
        return None
    if not user.active:
        return None
    if row is not None:
        db.session.delete(row)
    user.failed_logins = 0
    user.locked_until = None
    return user


DEVICE_COOKIE = "sinfonia_device"


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="sinfonia-known-device")


def device_cookie(user: User) -> str:
    """The value of the "known device" cookie set after a successful sign-in."""
    return _device_serializer().dumps([user.id, secrets.token_urlsafe(12)])


def device_for(email: str, cookie: str | None) -> str | None:
    """The device id in ``cookie`` when it was issued to the account with ``email``."""
    if not cookie or len(cookie) > 300:
        return None
    try:
        user_id, device = _device_serializer().loads(cookie)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.execute(db.select(User.id).filter_by(email=normalise_email(email)[:254])).scalar()
    return str(device)[:40] if user is not None and user == user_id else None


def locked_accounts(now: datetime | None = None) -> list[tuple[User, list[LoginThrottle]]]:
    """Accounts with an account-wide lock or a waiting source, with their waiting sources."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(LoginThrottle).where(LoginThrottle.locked_until > now).order_by(LoginThrottle.locked_until.desc())
    ).all()
    by_user: dict[int, list[LoginThrottle]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    users = db.session.scalars(
        select(User).where(or_(User.locked_until > now, User.id.in_(list(by_user)))).order_by(User.email)
    ).all()
    return [(user, by_user.get(user.id, [])) for user in users]


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
        # Created by an admin with a temporary password: the user chooses their own first.
        must_change_password=actor is not None,
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


def end_sessions(user: User) -> None:
    """Every session of ``user`` stops working at its next request (the caller commits)."""
    user.session_version = (user.session_version or 0) + 1


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
        end_sessions(user)
    audit.record(
        "user_reactivated" if active else "user_deactivated",
        "user",
        user.id,
        actor_id=actor.id,
        changes={"active": [not active, active]},
        ip=ip,
    )


def unlock(user: User, *, actor: User, ip: str | None = None) -> None:
    """Lift every sign-in lock of the account: account-wide and per source (admin)."""
    _require_admin(actor)
    before = user.locked_until
    user.locked_until = None
    user.failed_logins = 0
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id))
    audit.record("user_unlocked", "user", user.id, actor_id=actor.id, changes={"locked_until": [before, None]}, ip=ip)


def _set_password(user: User, new_password: str) -> None:
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    end_sessions(user)
    user.failed_logins = 0
    user.locked_until = None
    revoke_tokens(user)


def reset_password(user: User, new_password: str, *, actor: User, ip: str | None = None) -> None:
    """The admin sets a temporary password meeting the policy; the user's sessions and tokens end."""
    _require_admin(actor)
    check_password_policy(new_password, email=user.email)
    _set_password(user, new_password)
    user.must_change_password = True  # a temporary password: changed at the next sign-in
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
    user.must_change_password = False
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
        waiting = select(LoginThrottle.id).where(
            LoginThrottle.user_id == User.id, LoginThrottle.locked_until > utcnow()
        )
        stmt = stmt.where(or_(User.locked_until > utcnow(), waiting.exists()))
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
