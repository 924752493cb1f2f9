"""In-app notifications and preferences (issue 18). Views stay thin: app.domain.notifications."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from app.domain import notifications
from app.domain.parsing import ascii_int
from app.extensions import db
from app.notifications import bp


@bp.app_context_processor
def _unread():
    """``unread_notifications()`` for the header: one indexed count, only when the template asks."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return notifications.unread_count(current_user)
        except SQLAlchemyError:  # the header must not break an error page (e.g. the database is down)
            db.session.rollback()
            return 0

    return {"unread_notifications": unread_notifications}


@bp.get("")
@login_required
def index():
    page = ascii_int(request.args.get("page", "1"), minimum=1) or 1
    per_page = int(current_app.config.get("PAGE_SIZE", 25))
    rows, total = notifications.page_for(current_user, page, per_page)
    pages = max(1, -(-total // per_page))
    return render_template(
        "notifications/index.html",
        items=[(n, notifications.describe(n)) for n in rows],
        total=total,
        page=page,
        pages=pages,
    )


@bp.get("/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Mark it read and go where it points."""
    n = notifications.get_own(current_user, notification_id)
    notifications.mark_read(current_user, n.id)
    return redirect(notifications.link(n))


@bp.post("/read")
@login_required
def mark_all_read():
    changed = notifications.mark_read(current_user)
    flash(_("%(n)s notificaciones marcadas como leídas.", n=changed), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    current = notifications.preferences(current_user)
    if request.method == "POST":
        choices = {
            key: {
                "enabled": request.form.get(f"{key}-enabled") == "on",
                "delivery": request.form.get(f"{key}-delivery", "immediate"),
            }
            for key in current
        }
        notifications.save_preferences(current_user, choices)
        flash(_("Preferencias guardadas."), "success")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", prefs=current, mail_on=notifications.mail_configured())
