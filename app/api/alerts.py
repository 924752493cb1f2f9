"""API: integrity alerts (DESIGN.md §9; issue 15). Coordinators and admins.

``GET /api/v1/alerts?season=YEAR`` → ``{"season", "labels": [{"id", "code", "name", "alerts": {kind: n},
"total"}], "kinds": [...]}``; ``GET /api/v1/alerts/KIND?season=YEAR&label=ID`` → the songs behind one
alert, paginated (``items`` are song ids with their state and links).
"""

from flask import jsonify, url_for
from flask_login import current_user

from app.api import bp, schemas
from app.api.core import ApiError, int_arg, page_args
from app.domain import integrity, permissions
from app.domain.reviews import today_bogota
from app.i18n import _


def _season():
    return integrity.resolve_season(int_arg("season", None, minimum=1900, maximum=2999), today_bogota())


@bp.get("/alerts")
def list_alerts():
    permissions.require(permissions.can_read_integrity_alerts(current_user))
    season = _season()
    body = integrity.cached_summary(season, today_bogota())
    body["kinds"] = list(integrity.KIND_CODES)
    for label in body["labels"]:
        label["songs"] = {
            k: url_for("api.alert_songs", kind=k, season=season.year, label=label["id"])
            for k, n in label["alerts"].items()
            if n and k != "late_target_change"
        }
    return jsonify(body)


@bp.get("/alerts/<kind>")
def alert_songs(kind: str):
    permissions.require(permissions.can_read_integrity_alerts(current_user))
    if kind not in integrity.KIND_CODES:
        raise ApiError(
            404, _("No existe ese tipo de alerta."), {"kind": kind[:40], "kinds": list(integrity.KIND_CODES)}
        )
    label = int_arg("label", None, minimum=1)
    if label is None:
        raise ApiError(400, _("Indique la disquera en 'label'."), {"label": _("requerido")})
    season = _season()
    page, per_page = page_args()
    result = integrity.songs(kind, season, today_bogota(), label, page, per_page)
    return jsonify(schemas.page(result, schemas.song_link))
