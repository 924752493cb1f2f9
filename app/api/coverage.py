"""API: coverage resources (DESIGN.md §6, §8).

- ``GET /api/v1/coverage/departments?season=YEAR`` — managers, coordinators and
  admins (territorial users: 403, like the /coverage page). ``season`` must be an
  integer (400 otherwise); an unknown year is 404. Without it, the current season.
- ``GET /api/v1/open/coverage?season=YEAR[&format=csv]`` — public, no auth:
  aggregates per department and per album (no personal data), JSON by default,
  CSV with ``format=csv`` (``table=departments`` by default, or ``albums``).
"""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from app.api import bp, schemas
from app.api.core import ApiError
from app.coverage import tables
from app.domain import coverage, exports, seasons
from app.i18n import _


def _season():
    season = seasons.resolve(request.args.get("season"))
    if season is None:
        raise ApiError(404, _("No hay ninguna temporada (vigencia) creada."))
    return season


@bp.get("/coverage/departments")
def coverage_departments():
    coverage.require_reader(current_user)
    season = _season()
    albums = coverage.albums_with_songs(season)
    summary = coverage.national_summary(season)
    return jsonify(
        {
            "season": season.year,
            "previous_season": summary.previous_season.year if summary.previous_season else None,
            "national": {f.key: schemas.coverage_figure(f) for f in summary.figures},
            "items": [schemas.department_coverage(r, albums) for r in coverage.department_rows(season)],
        }
    )


@bp.get("/open/coverage")
def open_coverage():
    """Public aggregates (no login): JSON, or CSV with ?format=csv."""
    fmt = (request.args.get("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ApiError(400, _("El parámetro 'format' debe ser json o csv."), {"format": fmt[:20]})
    season = _season()
    if fmt == "csv":
        which = request.args.get("table", "departments")
        if which not in ("departments", "albums"):
            raise ApiError(400, _("El parámetro 'table' debe ser departments o albums."), {"table": which[:20]})
        table = tables.open_departments_table(season) if which == "departments" else tables.open_albums_table(season)
        return exports.csv_response(
            exports.export_filename(table.stem, season.year, "csv"), table.headers, table.rows, table.kinds
        )
    response = jsonify(coverage.open_data(season))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
