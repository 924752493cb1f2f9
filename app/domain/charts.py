"""Chart recompute and chart reading (DESIGN.md §4, §5).

``recompute_charts`` aggregates the per-song terms stored at write time
(timeliness, quality, satisfaction, points, state, due_date, delivered_on …)
with set-based SQL (one GROUP BY per board; Python only walks the ~16 labels,
~50 artists and ~6 albums) and writes a new ``ChartSnapshot`` with its entries
and badges in ONE transaction. The snapshot is flagged ``complete`` at the end;
readers only ever read the latest complete snapshot, so a failed or killed
recompute leaves the previous one in place.

``run_recompute`` wraps it in the database lease (``app.domain.lease``) so only
one process recomputes at a time; the scheduler, the CLI and the "Recalcular
ahora" button all go through it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update

from app.domain import badges as badge_rules
from app.domain import calendar, lease, scoring
from app.domain.errors import Conflict, DomainError
from app.extensions import db
from app.i18n import _, _l
from app.models import (
    Album,
    AlbumChartEntry,
    Artist,
    ArtistChartEntry,
    BadgeAward,
    ChartSnapshot,
    Label,
    LabelChartEntry,
    Municipality,
    Playlist,
    Season,
    Song,
    Survey,
)
from app.models.base import utcnow
from app.models.songs import ALWAYS_LATE, COUNTED_DELIVERED, DELIVERED_STATES, OPEN_STATES, REVIEWED_STANDINGS, Standing

KEEP_LIVE_SNAPSHOTS = 20
EPS = badge_rules.EPS
KINDS = ("live", "closing", "final")


# --------------------------------------------------------------------------- aggregates

# Additive per-group measures: counts and sums roll up exactly from groups to boards.
_SUMS = (
    "delivered_songs",
    "reviewed_songs",
    "quality_n",
    "quality_sum",
    "timeliness_sum",
    "overdue_songs",
    "points",
    "survey_count",
    "satisfaction_sum",
    "high_quality",
    "hits",
    "on_time_songs",
    "credited_songs",
    "not_approved_songs",
    "waiting_songs",
    "late_songs",
)


def _count(cond) -> Any:
    """COUNT(*) FILTER (WHERE cond): PostgreSQL and SQLite ≥ 3.30; cheaper than SUM(CASE …)."""
    return func.count().filter(cond)


def _sum(cond, value) -> Any:
    return func.coalesce(func.sum(value).filter(cond), 0.0)


def delivered_condition(s, cutoff: date | None = None):
    """Delivered songs; with a season's cut-off (its final snapshot), delivered by then."""
    delivered = s.c.state.in_(DELIVERED_STATES)
    return delivered if cutoff is None else and_(delivered, s.c.delivered_on <= cutoff)


def late_condition(s, as_of: date, cutoff: date | None = None):
    """Late songs (T = 0): undelivered past their due date at ``as_of``, and songs carried
    over to the next season (DESIGN.md §5). With a cut-off (final snapshot): every song of
    the season not delivered by the cut-off."""
    # the stored standing, not carried_over_to_id: the chart scan reads only its covering index
    carried = s.c.standing == Standing.CARRIED_OVER.value
    if cutoff is None:
        return or_(and_(s.c.state.in_(OPEN_STATES), s.c.due_date < as_of), carried)
    undelivered = or_(s.c.state.in_(OPEN_STATES), and_(s.c.state.in_(DELIVERED_STATES), s.c.delivered_on > cutoff))
    return or_(and_(undelivered, s.c.due_date <= cutoff), carried)


def song_groups(season: Season, as_of: date, cutoff: date | None = None) -> list[dict[str, Any]]:
    """ONE scan of the season's songs, grouped by (label, artist, album, department).

    Every board figure is a sum or a count, so the label, artist and album boards
    and the "Gira completa" badge roll up from these few hundred groups (≤ artists
    × albums × departments of the label) without reading the songs again.
    ``cutoff`` (the final snapshot of a closed season): deliveries after it do not count.
    """
    s = Song.__table__
    # Everything reads the stored ``standing`` (DESIGN.md §4): songs imported as delivered
    # without evidence are not delivered yet; only credited songs give T and Progress.
    delivered = s.c.standing.in_(COUNTED_DELIVERED)
    reviewed = s.c.standing.in_(REVIEWED_STANDINGS)
    credited = s.c.standing == Standing.CREDITED.value
    not_approved = s.c.standing == Standing.NOT_APPROVED.value
    waiting = s.c.standing == Standing.WAITING.value
    if cutoff is not None:  # a closed season's final snapshot: deliveries after the cut-off do not
        # count (they are late), whatever became of them later: reviewed, waiting or not approved
        by_cutoff = s.c.delivered_on <= cutoff
        delivered, reviewed, credited, not_approved, waiting = (
            and_(c, by_cutoff) for c in (delivered, reviewed, credited, not_approved, waiting)
        )
    reviewed_q = and_(reviewed, s.c.quality.is_not(None))
    surveyed = and_(delivered, s.c.satisfaction.is_not(None))
    overdue = late_condition(s, as_of, cutoff)
    stmt = (
        select(
            s.c.label_id,
            s.c.artist_id,
            s.c.album_id,
            s.c.department_id,
            _count(delivered).label("delivered_songs"),
            _count(reviewed).label("reviewed_songs"),
            _count(credited).label("credited_songs"),
            _count(not_approved).label("not_approved_songs"),
            _count(waiting).label("waiting_songs"),
            _count(overdue).label("overdue_songs"),
            _count(or_(overdue, s.c.standing.in_(ALWAYS_LATE))).label("late_songs"),
            _count(reviewed_q).label("quality_n"),
            _sum(reviewed_q, s.c.quality).label("quality_sum"),
            _sum(credited, s.c.timeliness).label("timeliness_sum"),
            func.coalesce(func.sum(s.c.points).filter(reviewed), 0).label("points"),
            _count(surveyed).label("survey_count"),
            _sum(surveyed, s.c.satisfaction).label("satisfaction_sum"),
            func.max(s.c.delivered_on).filter(delivered).label("last_delivery"),
            _count(and_(reviewed_q, s.c.quality >= season.badge_quality_threshold - EPS)).label("high_quality"),
            _count(
                and_(
                    reviewed, s.c.satisfaction >= 1.0 - EPS, s.c.review_score >= season.badge_hit_review_threshold - EPS
                )
            ).label("hits"),
            _count(and_(delivered, s.c.on_time.is_(True))).label("on_time_songs"),
        )
        .where(s.c.season_id == season.id)
        .group_by(s.c.label_id, s.c.artist_id, s.c.album_id, s.c.department_id)
    )
    return [dict(row._mapping) for row in db.session.execute(stmt)]


def roll_up(groups: list[dict[str, Any]], key: str) -> dict[int, dict[str, Any]]:
    """Add the groups' counts and sums up per ``key`` (label_id, artist_id or album_id)."""
    result: dict[int, dict[str, Any]] = {}
    for g in groups:
        acc = result.get(g[key])
        if acc is None:
            acc = result[g[key]] = {k: 0 for k in _SUMS} | {"last_delivery": None, "_qs": [], "_ts": [], "_ss": []}
        for k in _SUMS:
            acc[k] += g[k] or 0
        acc["_qs"].append(g["quality_sum"] or 0.0)
        acc["_ts"].append(g["timeliness_sum"] or 0.0)
        acc["_ss"].append(g["satisfaction_sum"] or 0.0)
        if g["last_delivery"] is not None and (
            acc["last_delivery"] is None or g["last_delivery"] > acc["last_delivery"]
        ):
            acc["last_delivery"] = g["last_delivery"]
    for acc in result.values():
        # Correctly rounded float sums (independent of group order, like math.fsum in the breakdowns).
        acc["quality_sum"] = math.fsum(acc.pop("_qs"))
        acc["timeliness_sum"] = math.fsum(acc.pop("_ts"))
        acc["satisfaction_sum"] = math.fsum(acc.pop("_ss"))
    return result


def label_targets(season_id: int) -> dict[int, int]:
    """The label's yearly target: its playlist with no album for the season."""
    stmt = select(Playlist.label_id, Playlist.target).where(
        Playlist.season_id == season_id, Playlist.album_id.is_(None)
    )
    return dict(db.session.execute(stmt).all())


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


# --------------------------------------------------------------------------- figures (pure)


@dataclass
class LabelFigures:
    label_id: int
    quality_mean: float
    on_time: float
    progress: float
    index_value: float
    row: dict[str, Any]


def label_figures(season: Season, label_id: int, row: dict[str, Any] | None, target: int | None) -> LabelFigures:
    """Q̄, OnTime, Progress and the index of DESIGN.md §4 from one label's aggregate row."""
    row = dict(row or {})
    for key in (
        "delivered_songs",
        "reviewed_songs",
        "quality_n",
        "overdue_songs",
        "points",
        "survey_count",
        "high_quality",
        "hits",
        "credited_songs",
        "not_approved_songs",
        "waiting_songs",
        "late_songs",
    ):
        row[key] = int(row.get(key) or 0)
    for key in ("quality_sum", "timeliness_sum", "satisfaction_sum"):
        row[key] = float(row.get(key) or 0.0)
    row.setdefault("last_delivery", None)
    q_mean = _mean(row["quality_sum"], row["quality_n"]) or 0.0
    on_time = scoring.on_time_ratio(
        row["timeliness_sum"], row["credited_songs"], row["not_approved_songs"], row["late_songs"]
    )
    prog = scoring.progress(row["credited_songs"], target)
    row["playlist_target"] = target
    row["progress"] = prog
    index_value = scoring.label_index(q_mean, on_time, prog, season, has_target=bool(target))
    return LabelFigures(label_id, q_mean, on_time, prog, index_value, row)


def rank_labels(figures: list[LabelFigures], codes: dict[int, str]) -> list[LabelFigures]:
    """By index; ties: higher Q̄, then the earlier last delivery (then label code, for a stable order)."""

    def key(f: LabelFigures):
        last = f.row.get("last_delivery")
        return (-round(f.index_value, 9), -round(f.quality_mean, 9), last or date.max, codes.get(f.label_id, ""))

    return sorted(figures, key=key)


# --------------------------------------------------------------------------- recompute


def _previous_closing(season_id: int, kind: str, as_of: date) -> ChartSnapshot | None:
    stmt = select(ChartSnapshot).where(
        ChartSnapshot.season_id == season_id, ChartSnapshot.kind == "closing", ChartSnapshot.complete.is_(True)
    )
    if kind in ("closing", "final"):
        stmt = stmt.where(ChartSnapshot.closing_date < as_of)
    return db.session.scalar(stmt.order_by(ChartSnapshot.closing_date.desc(), ChartSnapshot.id.desc()).limit(1))


def _ranks(model, key_column, snapshot: ChartSnapshot | None) -> dict[int, int]:
    if snapshot is None:
        return {}
    return dict(db.session.execute(select(key_column, model.rank).where(model.snapshot_id == snapshot.id)).all())


def recompute_charts(
    season: Season, *, as_of: date | None = None, kind: str = "live", commit: bool = True, cutoff: date | None = None
) -> ChartSnapshot:
    """Write a new complete snapshot of the season's charts in one transaction (DESIGN.md §5).

    ``as_of`` is "today" for overdue songs (default: calendar.today(), in Bogotá).
    ``kind="closing"`` writes the daily closing snapshot (one per day: it replaces
    an earlier closing snapshot of the same date). ``kind="final"`` (app.domain.seasons
    only: closing a season or correcting a closed one) writes its final standings with
    the cut-off at the season's last day, replacing an earlier final snapshot. A
    closed season is frozen: any other recompute of it is refused. ``cutoff`` replays a past
    day from the delivery dates (the demo's history). On any error the
    transaction is rolled back and the previous snapshot stays the one readers see.
    """
    if kind not in KINDS:
        raise ValueError("kind must be 'live', 'closing' or 'final'")
    if season.state == "closed" and kind != "final":
        raise Conflict(_("La temporada %(year)s está cerrada: sus listas finales no cambian.", year=season.year))
    cutoff = season.ends_on if kind == "final" else cutoff
    as_of = cutoff or as_of or calendar.today()
    started = time.perf_counter()
    now = utcnow()
    try:
        snapshot = ChartSnapshot(
            season_id=season.id,
            kind=kind,
            closing_date=as_of if kind in ("closing", "final") else None,
            computed_at=now,
            as_of=as_of,
            complete=False,
        )
        db.session.add(snapshot)
        db.session.flush()
        previous = _previous_closing(season.id, kind, as_of)

        labels = db.session.execute(select(Label.id, Label.code)).all()
        codes = {label_id: code for label_id, code in labels}
        groups = song_groups(season, as_of, cutoff)
        aggregates = roll_up(groups, "label_id")
        targets = label_targets(season.id)
        figures = [label_figures(season, lid, aggregates.get(lid), targets.get(lid)) for lid in codes]
        ranked = rank_labels(figures, codes)
        before = _ranks(LabelChartEntry, LabelChartEntry.label_id, previous)
        label_rows = []
        for rank, f in enumerate(ranked, start=1):
            r = f.row
            label_rows.append(
                {
                    "snapshot_id": snapshot.id,
                    "label_id": f.label_id,
                    "rank": rank,
                    "previous_rank": before.get(f.label_id),
                    "index_value": f.index_value,
                    "quality_mean": f.quality_mean,
                    "on_time": f.on_time,
                    "progress": f.progress,
                    "timeliness_sum": r["timeliness_sum"],
                    "delivered_songs": r["delivered_songs"],
                    "reviewed_songs": r["reviewed_songs"],
                    "overdue_songs": r["overdue_songs"],
                    "credited_songs": r["credited_songs"],
                    "not_approved_songs": r["not_approved_songs"],
                    "waiting_songs": r["waiting_songs"],
                    "late_songs": r["late_songs"],
                    "playlist_target": r["playlist_target"],
                    "points": r["points"],
                    "survey_count": r["survey_count"],
                    "satisfaction_mean": _mean(r["satisfaction_sum"], r["survey_count"]),
                    "last_delivery": r["last_delivery"],
                }
            )
        if label_rows:
            db.session.execute(insert(LabelChartEntry), label_rows)

        artist_count = _write_artists(snapshot, previous, roll_up(groups, "artist_id"))
        _write_albums(snapshot, previous, roll_up(groups, "album_id"))

        covered, reached = badge_rules.tour_coverage(groups)
        # Re-derived every snapshot (a holder whose streak broke loses the badge): no exclusions.
        streaks = badge_rules.punctuality_streaks(season.id)
        earned = {
            f.label_id: badge_rules.earned_badges(
                season, f.row, covered.get(f.label_id, 0), reached.get(f.label_id, 0), streaks.get(f.label_id, 0)
            )
            for f in figures
        }
        badge_rules.award(season, earned, snapshot.id, now)

        if kind == "closing":
            _drop_snapshots(
                select(ChartSnapshot.id).where(
                    ChartSnapshot.season_id == season.id,
                    ChartSnapshot.kind == "closing",
                    ChartSnapshot.closing_date == as_of,
                    ChartSnapshot.id != snapshot.id,
                )
            )
        elif kind == "final":
            _drop_snapshots(
                select(ChartSnapshot.id).where(
                    ChartSnapshot.season_id == season.id,
                    ChartSnapshot.kind.in_(("final", "live")),
                    ChartSnapshot.id != snapshot.id,
                )
            )
        else:
            keep = (
                select(ChartSnapshot.id)
                .where(ChartSnapshot.season_id == season.id, ChartSnapshot.kind == "live")
                .order_by(ChartSnapshot.computed_at.desc(), ChartSnapshot.id.desc())
                .limit(KEEP_LIVE_SNAPSHOTS)
            )
            kept = set(db.session.scalars(keep))
            _drop_snapshots(
                select(ChartSnapshot.id).where(
                    ChartSnapshot.season_id == season.id,
                    ChartSnapshot.kind == "live",
                    ChartSnapshot.id.not_in(kept),
                )
            )

        snapshot.duration_ms = int((time.perf_counter() - started) * 1000)
        snapshot.complete = True
        snapshot._label_count = len(label_rows)  # for the CLI report only (not a column)
        snapshot._artist_count = artist_count
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except Exception:
        db.session.rollback()  # the previous snapshot stays the one readers see
        raise
    return snapshot


def _write_artists(snapshot: ChartSnapshot, previous: ChartSnapshot | None, aggregates: dict[int, dict]) -> int:
    artists = db.session.execute(select(Artist.id, Artist.label_id, Artist.name, Artist.active)).all()
    before = _ranks(ArtistChartEntry, ArtistChartEntry.artist_id, previous)
    items = []
    for artist_id, label_id, name, active in artists:
        agg = aggregates.get(artist_id)
        if agg is None and not active:
            continue
        agg = agg or {}
        q_n = int(agg.get("quality_n") or 0)
        items.append(
            {
                "artist_id": artist_id,
                "label_id": label_id,
                "points": int(agg.get("points") or 0),
                "reviewed_songs": int(agg.get("reviewed_songs") or 0),
                "delivered_songs": int(agg.get("delivered_songs") or 0),
                "quality_mean": _mean(float(agg.get("quality_sum") or 0.0), q_n),
                "_name": name,
            }
        )
    # Sum of points; ties: higher Q̄, then name.
    items.sort(key=lambda a: (-a["points"], -(a["quality_mean"] or 0.0), a["_name"]))
    rows = []
    for rank, item in enumerate(items, start=1):
        item.pop("_name")
        rows.append({**item, "snapshot_id": snapshot.id, "rank": rank, "previous_rank": before.get(item["artist_id"])})
    if rows:
        db.session.execute(insert(ArtistChartEntry), rows)
    return len(rows)


def _write_albums(snapshot: ChartSnapshot, previous: ChartSnapshot | None, aggregates: dict[int, dict]) -> int:
    albums = db.session.execute(select(Album.id, Album.code, Album.active)).all()
    before = _ranks(AlbumChartEntry, AlbumChartEntry.album_id, previous)
    items = []
    for album_id, code, active in albums:
        agg = aggregates.get(album_id)
        if agg is None and not active:
            continue
        agg = agg or {}
        delivered = int(agg.get("delivered_songs") or 0)
        items.append(
            {
                "album_id": album_id,
                "delivered_songs": delivered,
                "reviewed_songs": int(agg.get("reviewed_songs") or 0),
                "quality_mean": _mean(float(agg.get("quality_sum") or 0.0), int(agg.get("quality_n") or 0)),
                "satisfaction_mean": _mean(
                    float(agg.get("satisfaction_sum") or 0.0), int(agg.get("survey_count") or 0)
                ),
                "on_time_rate": _mean(float(agg.get("on_time_songs") or 0), delivered),
                "_code": code,
            }
        )
    # Thematic lines: by mean quality, then songs delivered, then code.
    items.sort(key=lambda a: (-(a["quality_mean"] or 0.0), -a["delivered_songs"], a["_code"]))
    rows = []
    for rank, item in enumerate(items, start=1):
        item.pop("_code")
        rows.append({**item, "snapshot_id": snapshot.id, "rank": rank, "previous_rank": before.get(item["album_id"])})
    if rows:
        db.session.execute(insert(AlbumChartEntry), rows)
    return len(rows)


def _drop_snapshots(ids_stmt) -> None:
    ids = list(db.session.scalars(ids_stmt))
    if not ids:
        return
    for model in (LabelChartEntry, ArtistChartEntry, AlbumChartEntry):
        db.session.execute(delete(model).where(model.snapshot_id.in_(ids)))
    db.session.execute(update(BadgeAward).where(BadgeAward.snapshot_id.in_(ids)).values(snapshot_id=None))
    db.session.execute(delete(ChartSnapshot).where(ChartSnapshot.id.in_(ids)))


def write_final(season: Season) -> ChartSnapshot:
    """The final snapshot of a season (cut-off at its last day). Flushes; the caller commits."""
    return recompute_charts(season, kind="final", commit=False)


def seasons_with_songs() -> list[Season]:
    """Seasons that have songs and are not closed (a closed season's charts are frozen)."""
    stmt = (
        select(Season)
        .where(exists().where(Song.season_id == Season.id), Season.state != "closed")
        .order_by(Season.year)
    )
    return list(db.session.scalars(stmt))


class RecomputeBusy(Exception):
    """Another process holds the recompute lease."""


def run_recompute(seasons: list[Season], *, kind: str = "live", as_of: date | None = None) -> list[ChartSnapshot]:
    """Recompute the given seasons under the database lease; RecomputeBusy if someone else is at it."""
    with lease.held() as got:
        if not got:
            raise RecomputeBusy()
        return [recompute_charts(season, kind=kind, as_of=as_of) for season in seasons if season.state != "closed"]


def recompute_all(kind: str = "live", min_age_seconds: int = 0) -> list[ChartSnapshot]:
    """Every season that has songs (the scheduler's job). Returns [] when another process is at it.

    With several workers each running the scheduler, ``min_age_seconds`` skips a
    season whose latest live snapshot is younger than that (another worker just did it).
    """
    seasons = seasons_with_songs()
    if kind == "live" and min_age_seconds > 0:
        cutoff = utcnow() - timedelta(seconds=min_age_seconds)
        fresh = set(
            db.session.scalars(
                select(ChartSnapshot.season_id).where(
                    ChartSnapshot.kind == "live", ChartSnapshot.complete.is_(True), ChartSnapshot.computed_at > cutoff
                )
            )
        )
        seasons = [s for s in seasons if s.id not in fresh]
    if not seasons:
        return []
    try:
        return run_recompute(seasons, kind=kind)
    except RecomputeBusy:
        return []


def recompute_from_cli(year: int | None = None) -> list[str]:
    """``flask --app wsgi charts recompute [--season YEAR]``: one line per season."""
    if year is not None:
        from app.domain import seasons as season_life

        try:
            season = season_life.resolve(year)
        except DomainError as exc:
            return [exc.message]
        if season.state == "closed":
            return [
                _(
                    "La temporada %(year)s está cerrada: sus listas finales no cambian "
                    "(corrección auditada en Administración).",
                    year=year,
                )
            ]
        seasons = [season]
    else:
        seasons = seasons_with_songs()
        if not seasons:
            return [_("No hay temporadas con canciones: nada que recalcular.")]
    try:
        snapshots = run_recompute(seasons)
    except RecomputeBusy:
        return [_("Otro proceso está recalculando las listas en este momento; intente de nuevo en unos minutos.")]
    return [
        _(
            "Temporada %(year)s: %(labels)s disqueras, %(artists)s artistas en %(seconds)s s",
            year=season.year,
            labels=snap._label_count,
            artists=snap._artist_count,
            seconds=f"{snap.duration_ms / 1000:.2f}",
        )
        for season, snap in zip(seasons, snapshots, strict=True)
    ]


# --------------------------------------------------------------------------- reading (boards read snapshots only)


def latest_snapshot(season_id: int, kind: str | None = None) -> ChartSnapshot | None:
    """The latest COMPLETE snapshot of the season (of ``kind`` if given)."""
    stmt = select(ChartSnapshot).where(ChartSnapshot.season_id == season_id, ChartSnapshot.complete.is_(True))
    if kind:
        stmt = stmt.where(ChartSnapshot.kind == kind)
    return db.session.scalar(stmt.order_by(ChartSnapshot.computed_at.desc(), ChartSnapshot.id.desc()).limit(1))


def label_board(snapshot: ChartSnapshot) -> list[tuple[LabelChartEntry, Label]]:
    stmt = (
        select(LabelChartEntry, Label)
        .join(Label, Label.id == LabelChartEntry.label_id)
        .where(LabelChartEntry.snapshot_id == snapshot.id)
        .order_by(LabelChartEntry.rank)
    )
    return [(e, lab) for e, lab in db.session.execute(stmt)]


def artist_board(snapshot: ChartSnapshot, label_id: int | None = None) -> list[tuple[ArtistChartEntry, Artist, Label]]:
    stmt = (
        select(ArtistChartEntry, Artist, Label)
        .join(Artist, Artist.id == ArtistChartEntry.artist_id)
        .join(Label, Label.id == ArtistChartEntry.label_id)
        .where(ArtistChartEntry.snapshot_id == snapshot.id)
        .order_by(ArtistChartEntry.rank)
    )
    if label_id is not None:
        stmt = stmt.where(ArtistChartEntry.label_id == label_id)
    return [(e, a, lab) for e, a, lab in db.session.execute(stmt)]


def album_board(snapshot: ChartSnapshot) -> list[tuple[AlbumChartEntry, Album]]:
    stmt = (
        select(AlbumChartEntry, Album)
        .join(Album, Album.id == AlbumChartEntry.album_id)
        .where(AlbumChartEntry.snapshot_id == snapshot.id)
        .order_by(AlbumChartEntry.rank)
    )
    return [(e, a) for e, a in db.session.execute(stmt)]


def label_entry(snapshot: ChartSnapshot, label_id: int) -> LabelChartEntry | None:
    return db.session.scalar(
        select(LabelChartEntry).where(LabelChartEntry.snapshot_id == snapshot.id, LabelChartEntry.label_id == label_id)
    )


def artist_entry(snapshot: ChartSnapshot, artist_id: int) -> ArtistChartEntry | None:
    return db.session.scalar(
        select(ArtistChartEntry).where(
            ArtistChartEntry.snapshot_id == snapshot.id, ArtistChartEntry.artist_id == artist_id
        )
    )


def album_entry(snapshot: ChartSnapshot, album_id: int) -> AlbumChartEntry | None:
    return db.session.scalar(
        select(AlbumChartEntry).where(AlbumChartEntry.snapshot_id == snapshot.id, AlbumChartEntry.album_id == album_id)
    )


def playlist_progress(season_id: int, label_id: int | None = None) -> dict[int, list[dict[str, Any]]]:
    """Per label, its album playlists (targets per thematic line) and credited songs: one GROUP BY."""
    s = Song.__table__
    counts = select(s.c.label_id, s.c.album_id, func.count()).where(
        s.c.season_id == season_id, s.c.standing == Standing.CREDITED.value
    )
    playlists = (
        select(Playlist, Album)
        .join(Album, Album.id == Playlist.album_id)
        .where(Playlist.season_id == season_id, Playlist.album_id.is_not(None))
        .order_by(Album.code)
    )
    if label_id is not None:
        counts = counts.where(s.c.label_id == label_id)
        playlists = playlists.where(Playlist.label_id == label_id)
    delivered = {(lid, aid): n for lid, aid, n in db.session.execute(counts.group_by(s.c.label_id, s.c.album_id))}
    result: dict[int, list[dict[str, Any]]] = {}
    for playlist, album in db.session.execute(playlists):
        n = delivered.get((playlist.label_id, album.id), 0)
        result.setdefault(playlist.label_id, []).append(
            {
                "album": album,
                "target": playlist.target,
                "delivered": n,
                "progress": scoring.progress(n, playlist.target),
            }
        )
    return result


def rank_history(season_id: int, label_id: int, limit: int = 60) -> list[dict[str, Any]]:
    """Rank of a label in each daily closing snapshot of the season (oldest first)."""
    stmt = (
        select(ChartSnapshot.closing_date, LabelChartEntry.rank, LabelChartEntry.index_value)
        .join(LabelChartEntry, LabelChartEntry.snapshot_id == ChartSnapshot.id)
        .where(
            ChartSnapshot.season_id == season_id,
            ChartSnapshot.kind == "closing",
            ChartSnapshot.complete.is_(True),
            LabelChartEntry.label_id == label_id,
        )
        .order_by(ChartSnapshot.closing_date.desc())
        .limit(limit)
    )
    rows = [{"date": d, "rank": r, "index": i} for d, r, i in db.session.execute(stmt)]
    return list(reversed(rows))


def movement(rank: int, previous_rank: int | None) -> str:
    """'up', 'down', 'same' or 'new' since the last closing snapshot."""
    if previous_rank is None:
        return "new"
    if rank < previous_rank:
        return "up"
    if rank > previous_rank:
        return "down"
    return "same"


# --------------------------------------------------------------------------- explainability


def _fsum_mean(values: list[float]) -> float:
    import math

    return math.fsum(values) / len(values) if values else 0.0


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9


def _song_rows(*conditions) -> list[Any]:
    """Light rows (no ORM objects) with every stored term, for the breakdown pages."""
    stmt = (
        select(
            Song.id,
            Song.state,
            Song.due_date,
            Song.delivered_on,
            Song.late_business_days,
            Song.timeliness,
            Song.review_score,
            Song.satisfaction,
            Song.quality,
            Song.equity,
            Song.points,
            Song.on_time,
            Song.standing,
            Song.committed_due,
            Song.carried_over_to_id,
            Song.label_id,
            Municipality.name.label("municipality_name"),
            Album.code.label("album_code"),
            Album.weight.label("album_weight"),
            Label.code.label("label_code"),
            # held survey (DESIGN.md §9): answered, not validated yet, so S does not count
            and_(Survey.held.is_(True), Survey.validated_at.is_(None)).label("survey_held"),
        )
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .join(Label, Label.id == Song.label_id)
        .outerjoin(Survey, Survey.song_id == Song.id)
        .where(*conditions)
        .order_by(Song.id.desc())  # newest first: the capped list shows the latest songs
    )
    return list(db.session.execute(stmt))


STATUS_NAMES = {
    "credited": _l("acreditada"),
    "not_approved": _l("revisada sin aprobar"),
    "waiting": _l("espera revisión"),
    "evidence_pending": _l("espera evidencia"),
    "late": _l("tardía"),
    "carried_over": _l("trasladada a la temporada siguiente"),
}


def song_status(standing: str, due_date: date, as_of: date) -> str | None:
    """What a breakdown row says about a song (DESIGN.md §9): credited, waiting (for review),
    evidence_pending, not_approved, late, carried_over; None when it counts nowhere."""
    if standing == Standing.OPEN.value:
        return "late" if due_date < as_of else None
    if standing == Standing.LATE_CANCELLED.value:
        return "late"
    if standing == Standing.CANCELLED.value:
        return None
    return standing


def label_breakdown(season: Season, snapshot: ChartSnapshot, label_id: int) -> dict[str, Any]:
    """The songs and terms behind a label's figures, recomputed from the listed terms.

    Every listed song carries its ``status`` (credited, waiting for review, waiting for
    evidence, not approved, late, carried over) and ``survey_held`` (its survey answer is held
    and does not count until a coordinator validates it). ``matches`` is True when the listed
    terms give exactly the snapshot's figures (False only when songs changed after the
    snapshot was computed).
    """
    import math

    as_of = snapshot.as_of
    cutoff = season.ends_on if snapshot.kind == "final" else None
    s = Song.__table__
    counted = (*COUNTED_DELIVERED, Standing.EVIDENCE_PENDING.value, *ALWAYS_LATE)
    rows = _song_rows(
        Song.season_id == season.id,
        Song.label_id == label_id,
        or_(Song.standing.in_(counted), late_condition(s, as_of, cutoff)),
    )
    late_ids = {
        r.id
        for r in _song_rows(Song.season_id == season.id, Song.label_id == label_id, late_condition(s, as_of, cutoff))
    }
    if cutoff is not None:  # delivered after the cut-off: late, not delivered
        rows = [
            r
            for r in rows
            if r.id in late_ids
            or r.standing in ALWAYS_LATE
            or (r.delivered_on is not None and r.delivered_on <= cutoff)
        ]

    def status(row) -> str | None:
        if row.carried_over_to_id is not None:
            return "carried_over"
        if row.id in late_ids or row.standing == Standing.LATE_CANCELLED.value:
            return "late"
        return song_status(row.standing, row.due_date, as_of)

    listed = [(row, status(row)) for row in rows]
    by_status: dict[str, list[Any]] = {}
    for row, status in listed:
        by_status.setdefault(status, []).append(row)
    credited = by_status.get("credited", [])
    not_approved = by_status.get("not_approved", [])
    late = by_status.get("late", []) + by_status.get("carried_over", [])
    reviewed = [r for r in credited + not_approved if r.quality is not None]
    reviewed.sort(key=lambda r: -r.id)
    delivered = [
        r
        for r, _status in listed
        if r.standing in COUNTED_DELIVERED and (cutoff is None or (r.delivered_on and r.delivered_on <= cutoff))
    ]
    overdue = [r for r in late if r.id in late_ids]
    target = label_targets(season.id).get(label_id)
    q_mean = _fsum_mean([s.quality for s in reviewed])
    t_sum = math.fsum(s.timeliness or 0.0 for s in credited)
    on_time = scoring.on_time_ratio(t_sum, len(credited), len(not_approved), len(late))
    prog = scoring.progress(len(credited), target)
    index_value = scoring.label_index(q_mean, on_time, prog, season, has_target=bool(target))
    surveyed = [s for s in delivered if s.satisfaction is not None]
    s_mean = _fsum_mean([s.satisfaction for s in surveyed]) if surveyed else None
    points = sum(s.points or 0 for s in credited + not_approved)
    entry = label_entry(snapshot, label_id)
    figures = {
        "quality_mean": q_mean,
        "timeliness_sum": t_sum,
        "on_time": on_time,
        "progress": prog,
        "index_value": index_value,
        "delivered_songs": len(delivered),
        "overdue_songs": len(overdue),
        "reviewed_songs": len(credited) + len(not_approved),
        "credited_songs": len(credited),
        "not_approved_songs": len(not_approved),
        "waiting_songs": len(by_status.get("waiting", [])),
        "late_songs": len(late),
        "playlist_target": target,
        "survey_count": len(surveyed),
        "satisfaction_mean": s_mean,
        "points": points,
    }
    matches = entry is not None and all(
        _close(figures[k], getattr(entry, k))
        if isinstance(figures[k], float) or figures[k] is None
        else figures[k] == getattr(entry, k)
        for k in figures
    )
    return {
        "entry": entry,
        "songs": listed,
        "reviewed": reviewed,
        "credited": credited,
        "not_approved": not_approved,
        "waiting": by_status.get("waiting", []),
        "evidence_pending": by_status.get("evidence_pending", []),
        "late": late,
        "delivered": delivered,
        "overdue": overdue,
        "surveyed": surveyed,
        "held": [r for r in delivered if r.survey_held],  # answered but held: S not counted (§9)
        "figures": figures,
        "has_target": bool(target),
        "status_names": STATUS_NAMES,
        "weights": (season.index_quality_weight, season.index_ontime_weight, season.index_progress_weight),
        "matches": matches,
    }


def artist_breakdown(season: Season, snapshot: ChartSnapshot, artist_id: int) -> dict[str, Any]:
    """The reviewed songs whose points add up to the artist's total."""
    songs = _song_rows(Song.season_id == season.id, Song.artist_id == artist_id, Song.state == "reviewed")
    total = sum(s.points or 0 for s in songs)
    q_values = [s.quality for s in songs if s.quality is not None]
    entry = artist_entry(snapshot, artist_id)
    return {
        "entry": entry,
        "songs": songs,
        "points": total,
        "quality_mean": _fsum_mean(q_values) if q_values else None,
        "matches": entry is not None and entry.points == total,
    }


def album_breakdown(season: Season, snapshot: ChartSnapshot, album_id: int) -> dict[str, Any]:
    """The delivered songs of a thematic line with Q, S and on-time flags."""
    songs = _song_rows(Song.season_id == season.id, Song.album_id == album_id, Song.standing.in_(COUNTED_DELIVERED))
    q_values = [s.quality for s in songs if s.state == "reviewed" and s.quality is not None]
    s_values = [s.satisfaction for s in songs if s.satisfaction is not None]
    on_time = sum(1 for s in songs if s.on_time)
    entry = album_entry(snapshot, album_id)
    figures = {
        "delivered_songs": len(songs),
        "quality_mean": _fsum_mean(q_values) if q_values else None,
        "satisfaction_mean": _fsum_mean(s_values) if s_values else None,
        "on_time_rate": on_time / len(songs) if songs else None,
    }
    matches = (
        entry is not None
        and entry.delivered_songs == len(songs)
        and all(_close(figures[k], getattr(entry, k)) for k in ("quality_mean", "satisfaction_mean", "on_time_rate"))
    )
    return {"entry": entry, "songs": songs, "on_time_songs": on_time, "figures": figures, "matches": matches}
