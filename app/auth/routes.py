"""Sign-in, sign-out and own password (Flask-Login; issue 9, OWASP ASVS V2/V3).

- Throttling: per address on POST /login (Flask-Limiter, 429), on top of the per-account-and-
  source delays in ``accounts.authenticate``; a successful sign-in sets the "known device"
  cookie that keeps this browser out of the account-wide lock (issue 19).
- Sessions: permanent (``PERMANENT_SESSION_LIFETIME``, idle), cleared before sign-in (a new
  session, never a fixated one), stamped with the sign-in time and the user's
  ``session_version``; a session older than ``SESSION_ABSOLUTE_HOURS``, without the stamps, or
  with a version that sign-out, a password change or a deactivation has moved on, is refused
  (issue 19: a copied cookie dies on the server, not only in the browser that signed out).
"""

import time

from flask import current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import ChangePasswordForm, LoginForm
from app.domain import accounts, audit
from app.domain.errors import ValidationFailed
from app.domain.parsing import ascii_int
from app.extensions import db, limiter, login_manager
from app.models import User
from app.models.base import utcnow
from app.transaction import keep_writes
from app.web import safe_next

login_manager.login_view = "auth.login"
login_manager.login_message = "Inicie sesión para continuar."
login_manager.login_message_category = "info"

AUTH_AT = "_auth_at"
SESSION_VERSION = "_sv"


def _session_still_valid(user: User) -> bool:
    auth_at, version = session.get(AUTH_AT), session.get(SESSION_VERSION)
    if not isinstance(auth_at, (int, float)) or not isinstance(version, int) or isinstance(version, bool):
        return False
    if version != (user.session_version or 0):
        return False
    max_hours = current_app.config.get("SESSION_ABSOLUTE_HOURS", 12)
    return time.time() - auth_at <= max_hours * 3600


@login_manager.user_loader
def load_user(user_id: str):
    uid = ascii_int(user_id, minimum=1)
    if uid is None:
        return None
    user = db.session.get(User, uid)
    if user is None or not _session_still_valid(user):
        return None
    return user


@login_manager.request_loader
def load_user_from_bearer(req):
    """API clients authenticate with ``Authorization: Bearer <token>``."""
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = accounts.user_for_token(header[len("Bearer ") :].strip())
        g.token_user = user  # the API exempts from CSRF only what a token authenticated
        return user
    return None


def _ip_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT_IP", "10 per minute")


def start_session(user: User) -> None:
    """A fresh session for ``user`` (no fixation), permanent, stamped with the sign-in time."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.permanent = True
    login_user(user)
    session[AUTH_AT] = time.time()
    session[SESSION_VERSION] = user.session_version or 0


# What a user with a temporary password may still reach: the change itself, signing out,
# the language switch and the static files (everything else waits for the new password).
_ALLOWED_WITH_TEMPORARY_PASSWORD = {"auth.change_password", "auth.logout", "main.set_language", "static", "favicon"}


@bp.before_app_request
def _force_password_change():
    """After an admin sets a password, the user must choose their own first (issue 21)."""
    # An unknown address (no endpoint) answers 404 without loading the user: a 404 page must
    # not need the database (issue 19 item 9).
    if request.endpoint in _ALLOWED_WITH_TEMPORARY_PASSWORD or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not getattr(current_user, "must_change_password", False):
        return None
    message = _("Su contraseña es temporal: elija una propia para continuar.")
    if request.path.startswith("/api/"):
        return jsonify({"error": message, "details": {"password": "must_change"}}), 403
    flash(message, "warning")
    return redirect(url_for("auth.change_password"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    target = safe_next(request.args.get("next"))  # a hostile target is refused before signing in
    form = LoginForm()
    if form.validate_on_submit():
        device = accounts.device_for(form.email.data, request.cookies.get(accounts.DEVICE_COOKIE))
        user = accounts.authenticate(form.email.data, form.password.data, address=request.remote_addr, device=device)
        if user is None:
            audit.record(
                "login_failed",
                "user",
                None,
                actor_id=None,
                changes={"email": accounts.normalise_email(form.email.data)},
                ip=request.remote_addr,
            )
            keep_writes()  # the failed attempt is audited and counted although the page says 401
            flash(_("Correo o contraseña incorrectos, o la cuenta está bloqueada temporalmente."), "error")
            return render_template("auth/login.html", form=form), 401
        start_session(user)
        user.last_login_at = utcnow()
        audit.record("login", "user", user.id, actor_id=user.id, ip=request.remote_addr)
        if user.must_change_password:  # a temporary password set by an admin (issue 21)
            flash(_("Su contraseña es temporal: elija una propia para continuar."), "warning")
            target = url_for("auth.change_password")
        response = redirect(target)
        if device is None:
            response.set_cookie(
                accounts.DEVICE_COOKIE,
                accounts.device_cookie(user),
                max_age=current_app.config.get("LOGIN_DEVICE_COOKIE_DAYS", 180) * 86400,
                httponly=True,
                samesite="Lax",
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
            )
        return response
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    accounts.end_sessions(current_user)
    audit.record("logout", "user", current_user.id, actor_id=current_user.id, ip=request.remote_addr)
    logout_user()
    session.clear()
    flash(_("Sesión cerrada."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """The signed-in user changes their own password (the current one is required)."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current.data, form.new.data, ip=request.remote_addr)
        except ValidationFailed as exc:
            for name, messages in (exc.details or {}).items():
                target = {"password": form.new}.get(name) or getattr(form, name, form.new)
                target.errors = list(target.errors) + list(messages)
            if not exc.details:
                form.new.errors = list(form.new.errors) + [exc.message]
            status = 422
        else:
            start_session(user)  # other sessions end; this one continues, rotated
            flash(_("Contraseña actualizada."), "success")
            return redirect(url_for("main.index"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/change_password.html", form=form), status
