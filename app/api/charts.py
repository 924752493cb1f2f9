"""API: the latest chart snapshot of a season (DESIGN.md §8).

``GET /api/v1/charts/labels|artists|albums?season=YEAR`` →
``{"season", "computed_at", "as_of", "kind", "items": [...]}`` with rank,
previous rank and every component of each figure. 404 when the season has no
snapshot yet, 400 on a malformed season.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.api import bp
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
    return jsonify(
        {
            "season": season.year,
            "computed_at": snapshot.computed_at.isoformat(),
            "as_of": snapshot.as_of.isoformat(),
            "kind": snapshot.kind,
            "snapshot_id": snapshot.id,
            "items": items,
        }
    )


def _badges(awards) -> list[dict[str, Any]]:
    return [
        {"code": a.badge, "name": str(badge_rules.BADGE_NAMES[a.badge]), "awarded_at": a.awarded_at.isoformat()}
        for a in awards
    ]


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
        {
            "rank": e.rank,
            "previous_rank": e.previous_rank,
            "movement": charts.movement(e.rank, e.previous_rank),
            "label": {"id": label.id, "code": label.code, "name": label.name},
            "index": e.index_value,
            "quality_mean": e.quality_mean,
            "on_time": e.on_time,
            "progress": e.progress,
            "timeliness_sum": e.timeliness_sum,
            "delivered_songs": e.delivered_songs,
            "reviewed_songs": e.reviewed_songs,
            "overdue_songs": e.overdue_songs,
            "credited_songs": e.credited_songs,
            "not_approved_songs": e.not_approved_songs,
            "waiting_songs": e.waiting_songs,
            "late_songs": e.late_songs,
            "playlist_target": e.playlist_target,
            "has_target": bool(e.playlist_target),
            "late_target_changes": late_targets.get(label.id, []),  # after the target date, four eyes
            "points": e.points,
            "survey_count": e.survey_count,
            "survey_response_rate": (e.survey_count / e.delivered_songs) if e.delivered_songs else None,
            "satisfaction_mean": e.satisfaction_mean,
            "last_delivery": e.last_delivery.isoformat() if e.last_delivery else None,
            "weights": {
                "quality": season.index_quality_weight,
                "on_time": season.index_ontime_weight,
                "progress": season.index_progress_weight,
            },
            "badges": _badges(awards.get(label.id, [])),
        }
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
        {
            "rank": e.rank,
            "previous_rank": e.previous_rank,
            "movement": charts.movement(e.rank, e.previous_rank),
            "artist": {"id": artist.id, "name": artist.name},
            "label": {"id": label.id, "code": label.code, "name": label.name},
            "points": e.points,
            "reviewed_songs": e.reviewed_songs,
            "delivered_songs": e.delivered_songs,
            "quality_mean": e.quality_mean,
            "badges": _badges(awards.get(label.id, [])),
        }
        for e, artist, label in charts.artist_board(snapshot)
    ]


@bp.get("/charts/albums")
def chart_albums():
    season, snapshot = _season_and_snapshot()
    items = _ITEMS.get_or_compute(snapshot_key("albums", snapshot, season), lambda: _album_items(snapshot))
    return _envelope(season, snapshot, items)


def _album_items(snapshot: ChartSnapshot) -> list[dict[str, Any]]:
    return [
        {
            "rank": e.rank,
            "previous_rank": e.previous_rank,
            "movement": charts.movement(e.rank, e.previous_rank),
            "album": {"id": album.id, "code": album.code, "name": album.name, "weight": album.weight},
            "delivered_songs": e.delivered_songs,
            "reviewed_songs": e.reviewed_songs,
            "quality_mean": e.quality_mean,
            "satisfaction_mean": e.satisfaction_mean,
            "on_time_rate": e.on_time_rate,
        }
        for e, album in charts.album_board(snapshot)
    ]
