"""Leaderboards (DESIGN.md §4, §5): boards, label and artist pages, breakdowns, TV mode.

Boards read the latest complete snapshot only; the recompute lives in
``app.domain.charts`` (set-based SQL), the permission check in
``app.domain.permissions``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.routing import BuildError

from app.charts import bp, svg
from app.domain import badges as badge_rules
from app.domain import catalogue, charts, next_badges, permissions
from app.domain import seasons as season_life
from app.domain.snapshot_cache import SnapshotCache, snapshot_key
from app.extensions import db, htmx
from app.models import Album, Artist, ChartSnapshot, Label, Season


def song_url(song_id: int) -> str:
    """Link to a song's detail page (endpoint songs.detail, built by the songs area)."""
    for kwargs in ({"song_id": song_id}, {"id": song_id}):
        try:
            return url_for("songs.detail", **kwargs)
        except BuildError:
            continue
    return f"/songs/{song_id}"


@bp.app_context_processor
def _chart_helpers():
    return {
        "song_url": song_url,
        "badge_names": badge_rules.BADGE_NAMES,
        "badge_icons": badge_rules.BADGE_ICONS,
        "movement": charts.movement,
    }


def _seasons() -> list[Season]:
    return season_life.all_seasons()


def _pick_season(seasons: list[Season]) -> Season | None:
    """?season=YEAR, else the season the API defaults to too (app.domain.seasons.resolve)."""
    return season_life.resolve(request.args.get("season"), computed=True) or (seasons[0] if seasons else None)


def _own_label_id() -> int | None:
    """The viewer's own label (territorial users): highlighted on the boards."""
    return getattr(current_user, "label_id", None) if current_user.is_authenticated else None


def _board_context(season: Season | None, seasons: list[Season], snapshot: ChartSnapshot | None = None) -> dict:
    if snapshot is None and season is not None:
        snapshot = charts.latest_snapshot(season.id)
    own_label_id = _own_label_id()
    context = {"season": season, "seasons": seasons, "snapshot": snapshot, "own_label_id": own_label_id, "own": None}
    if snapshot is not None:
        labels = charts.label_board(snapshot)
        context.update(
            labels=labels,
            artists=charts.artist_board(snapshot),
            albums=charts.album_board(snapshot),
            badges=badge_rules.season_badges(season.id),
            late_targets=catalogue.late_target_changes(season),
        )
        own_entry = next(((e, lab) for e, lab in labels if lab.id == own_label_id), None)
        if own_entry:
            context["own"] = {
                "entry": own_entry[0],
                "label": own_entry[1],
                "total": len(labels),
                "next_badges": next_badges.label_progress(season, own_label_id, own_entry[0])[:3],
            }
    return context


# Rendered boards, keyed by snapshot (exact until the next recompute; issue 8).
_BOARDS = SnapshotCache(size=64)


def board_html(season: Season | None, seasons: list[Season]) -> Markup:
    """The board partial for the season's latest snapshot, rendered once per snapshot and locale."""
    snapshot = charts.latest_snapshot(season.id) if season else None

    def render() -> Markup:
        return Markup(render_template("charts/_board.html", **_board_context(season, seasons, snapshot)))

    if snapshot is None:
        return render()
    # One rendering per snapshot, language and viewer's label (its row is highlighted).
    return _BOARDS.get_or_compute(snapshot_key("board", snapshot, season) + (_own_label_id(),), render)


@bp.get("")
@login_required
def board():
    seasons = _seasons()
    season = _pick_season(seasons)
    html = board_html(season, seasons)
    if htmx and not htmx.boosted:
        return html
    from app.domain import review_queue
    from app.domain.reviews import today_bogota

    overdue = review_queue.overdue_count(season, today_bogota())
    return render_template("charts/board.html", season=season, seasons=seasons, board_html=html, overdue=overdue)


@bp.post("/recompute")
@login_required
def recompute():
    """Coordinators (and admins) recompute now: HTMX refreshes the board in place; else POST + redirect."""
    permissions.require(permissions.can_recompute_charts(current_user), _("Solo la coordinación puede recalcular."))
    seasons = _seasons()
    year = season_life.parse_year(request.form.get("season"))
    season = next((s for s in seasons if s.year == year), None)
    targets = [season] if season else charts.seasons_with_songs()
    try:
        charts.run_recompute(targets)
        message, category = _("Listas recalculadas."), "success"
    except charts.RecomputeBusy:
        message, category = _("Ya hay un recálculo en curso; las listas se actualizarán en unos minutos."), "warning"
    if htmx:
        context = _board_context(season or (targets[0] if targets else None), seasons)
        return render_template("charts/_board.html", notice=message, notice_category=category, **context)
    flash(message, category)
    return redirect(url_for("charts.board", season=season.year if season else None))


def _season_snapshot() -> tuple[Season, ChartSnapshot | None, list[Season]]:
    seasons = _seasons()
    season = _pick_season(seasons)
    if season is None:
        abort(404)
    return season, charts.latest_snapshot(season.id), seasons


@bp.get("/labels/<int:label_id>")
@login_required
def label(label_id: int):
    label_obj = db.get_or_404(Label, label_id)
    season, snapshot, seasons = _season_snapshot()
    entry = charts.label_entry(snapshot, label_id) if snapshot else None
    history = charts.rank_history(season.id, label_id)
    total = len(charts.label_board(snapshot)) if snapshot else 0
    return render_template(
        "charts/label.html",
        label=label_obj,
        season=season,
        seasons=seasons,
        snapshot=snapshot,
        entry=entry,
        artists=charts.artist_board(snapshot, label_id) if snapshot else [],
        badges=badge_rules.season_badges(season.id, label_id).get(label_id, []),
        playlists=charts.playlist_progress(season.id, label_id).get(label_id, []),
        history=history,
        chart=svg.rank_chart(history, total),
        across=season_life.rank_across_seasons(label_id),
        describe=lambda b: badge_rules.badge_description(b, season),
    )


@bp.get("/artists/<int:artist_id>")
@login_required
def artist(artist_id: int):
    artist_obj = db.get_or_404(Artist, artist_id)
    season, snapshot, seasons = _season_snapshot()
    entry = charts.artist_entry(snapshot, artist_id) if snapshot else None
    return render_template(
        "charts/artist.html",
        artist=artist_obj,
        season=season,
        seasons=seasons,
        snapshot=snapshot,
        entry=entry,
        label_entry=charts.label_entry(snapshot, artist_obj.label_id) if snapshot else None,
        badges=badge_rules.season_badges(season.id, artist_obj.label_id).get(artist_obj.label_id, []),
        describe=lambda b: badge_rules.badge_description(b, season),
    )


BREAKDOWN_ROWS = 300


def _limit() -> int | None:
    """Breakdown tables list the first rows; ?all=1 lists every song (totals always use all of them)."""
    return None if request.args.get("all") == "1" else BREAKDOWN_ROWS


def _breakdown(model, object_id: int, explain, template: str, name: str):
    """A breakdown page: the songs and terms that add up to one figure of the latest snapshot."""
    obj = db.get_or_404(model, object_id)
    season, snapshot, _seasons_ = _season_snapshot()
    if snapshot is None:
        abort(404)
    data = explain(season, snapshot, object_id)
    return render_template(template, season=season, snapshot=snapshot, limit=_limit(), **{name: obj}, **data)


@bp.get("/labels/<int:label_id>/breakdown")
@login_required
def label_breakdown(label_id: int):
    return _breakdown(Label, label_id, charts.label_breakdown, "charts/label_breakdown.html", "label")


@bp.get("/artists/<int:artist_id>/breakdown")
@login_required
def artist_breakdown(artist_id: int):
    return _breakdown(Artist, artist_id, charts.artist_breakdown, "charts/artist_breakdown.html", "artist")


@bp.get("/albums/<int:album_id>/breakdown")
@login_required
def album_breakdown(album_id: int):
    return _breakdown(Album, album_id, charts.album_breakdown, "charts/album_breakdown.html", "album")


@bp.get("/tv")
@login_required
def tv():
    """Full-screen, high-contrast board for a wall screen; reloads itself and rotates the boards."""
    seasons = _seasons()
    context = _board_context(_pick_season(seasons), seasons)
    return render_template("charts/tv.html", refresh_seconds=120, **context)
