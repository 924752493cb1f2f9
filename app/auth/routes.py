"""Sign-in and sign-out (Flask-Login)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import LoginForm
from app.domain import accounts, audit
from app.extensions import db, login_manager
from app.models import User
from app.models.base import utcnow

login_manager.login_view = "auth.login"
login_manager.login_message = "Inicie sesión para continuar."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str):
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


@login_manager.request_loader
def load_user_from_bearer(req):
    """API clients authenticate with ``Authorization: Bearer <token>``."""
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return accounts.user_for_token(header[len("Bearer ") :].strip())
    return None


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            audit.record(
                "login_failed",
                "user",
                None,
                actor_id=None,
                changes={"email": accounts.normalise_email(form.email.data)},
                ip=request.remote_addr,
            )
            db.session.commit()
            flash(_("Correo o contraseña incorrectos."), "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        user.last_login_at = utcnow()
        audit.record("login", "user", user.id, actor_id=user.id, ip=request.remote_addr)
        db.session.commit()
        return redirect(_safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("Sesión cerrada."), "info")
    return redirect(url_for("auth.login"))
