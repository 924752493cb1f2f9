"""API: the latest chart snapshot of a season (DESIGN.md §8).

``GET /api/v1/charts/labels|artists|albums?season=YEAR`` →
``{"season", "computed_at", "as_of", "kind", "items": [...]}`` with rank,
previous rank and every component of each figure. 404 when the season has no
snapshot yet, 400 on a malformed season.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.api import bp, schemas
from app.api.core import ApiError
from app.domain import badges as badge_rules
from app.domain import charts, seasons
from app.domain.snapshot_cache import SnapshotCache, snapshot_key
from app.i18n import _
from app.models import ChartSnapshot, Season

# Serialised items per snapshot, kind and language (exact until the next recompute; issue 8).
_ITEMS = SnapshotCache(size=48)


def _season_and_snapshot() -> tuple[Season, ChartSnapshot]:
    season = seasons.resolve(request.args.get("season"), computed=True)
    if season is None:
        raise ApiError(404, _("Todavía no hay listas calculadas."))
    snapshot = charts.latest_snapshot(season.id)
    if snapshot is None:
        raise ApiError(
            404,
            _("La temporada %(year)s todavía no tiene listas calculadas.", year=season.year),
            {"season": season.year},
        )
    return season, snapshot


def _envelope(season: Season, snapshot: ChartSnapshot, items: list[dict[str, Any]]):
    return jsonify(schemas.chart(season, snapshot, items))


@bp.get("/charts/labels")
def chart_labels():
    season, snapshot = _season_and_snapshot()
    items = _ITEMS.get_or_compute(snapshot_key("labels", snapshot, season), lambda: _label_items(season, snapshot))
    return _envelope(season, snapshot, items)


def _label_items(season: Season, snapshot: ChartSnapshot) -> list[dict[str, Any]]:
    from app.domain.catalogue import late_target_changes

    awards = badge_rules.season_badges(season.id)
    late_targets = late_target_changes(season)
    return [
        schemas.label_item(e, label, season, awards.get(label.id, []), late_targets.get(label.id, []))
        for e, label in charts.label_board(snapshot)
    ]


@bp.get("/charts/artists")
def chart_artists():
    season, snapshot = _season_and_snapshot()
    items = _ITEMS.get_or_compute(snapshot_key("artists", snapshot, season), lambda: _artist_items(season, snapshot))
    return _envelope(season, snapshot, items)


def _artist_items(season: Season, snapshot: ChartSnapshot) -> list[dict[str, Any]]:
    awards = badge_rules.season_badges(season.id)
    return [
        schemas.artist_item(e, artist, label, awards.get(label.id, []))
        for e, artist, label in charts.artist_board(snapshot)
    ]


@bp.get("/charts/albums")
def chart_albums():
    season, snapshot = _season_and_snapshot()
    items = _ITEMS.get_or_compute(snapshot_key("albums", snapshot, season), lambda: _album_items(snapshot))
    return _envelope(season, snapshot, items)


def _album_items(snapshot: ChartSnapshot) -> list[dict[str, Any]]:
    return [schemas.album_item(e, album) for e, album in charts.album_board(snapshot)]
