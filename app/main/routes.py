"""Home and health check."""

from flask import current_app, jsonify, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from app.extensions import db
from app.main import bp
from app.models import Role
from app.web import safe_next

HOME_BY_ROLE = {
    Role.TERRITORIAL.value: "songs.list_songs",
    Role.COORDINATOR.value: "reviews.queue",
    Role.MANAGER.value: "coverage.summary",
    Role.ADMIN.value: "admin.index",
}


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "charts.board")))


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise (DESIGN.md §8)."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        db.session.rollback()
        return jsonify({"status": "error", "database": "unavailable"}), 503
    return jsonify({"status": "ok", "database": database, "env": current_app.config.get("APP_ENV")})


@bp.post("/lang/<code>")
def set_language(code: str):
    """Language switcher: remembered in the session and, when signed in, on the user."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))
