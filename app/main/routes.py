"""Home and health check."""

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from app.domain import badges as badge_rules
from app.domain import calendar, home
from app.extensions import db
from app.main import bp
from app.web import safe_next


@bp.get("/")
def index():
    """Each role's home (issue 18): what needs doing first; the queries live in app.domain.home."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    template, build = home.HOMES.get(current_user.role, (None, None))
    if build is None:
        return redirect(url_for("charts.board"))
    return render_template(
        template,
        home=build(current_user._get_current_object()),
        today=calendar.today(),
        badge_description=badge_rules.badge_description,
    )


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
    return redirect(safe_next(request.form.get("next")))
