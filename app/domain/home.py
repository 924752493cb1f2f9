"""The home page of each role (issue 18): what needs doing first, in a few set-based queries.

Each ``*_home`` function returns plain data for one user; the view only renders it.
Every list is short (``LIST_LIMIT`` rows, with the full count beside it and a link
to the page that has them all), every count is one aggregate over an index, so a
home answers in a few milliseconds whatever the number of songs.

- territorial: overdue, due within 5 business days, returned for changes, surveys
  not answered or whose link expired, reviews received; the label's standing
  (rank, movement, index terms, progress to the target, next badge) on the board.
- coordinator: the review queue by age, pending due-date requests, labels at risk of
  missing their target at the current pace.
- manager: coverage against last season, targets at risk, gaps, recent deliveries.
- admin: season readiness, users without a team, failed imports, mail status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from app.domain import badges as badge_rules
from app.domain import calendar, charts, coverage, seasons
from app.extensions import db
from app.models import (
    Album,
    Artist,
    AuditEvent,
    DueDateChange,
    Label,
    LabelChartEntry,
    Municipality,
    Playlist,
    Review,
    Role,
    Season,
    Song,
    SongState,
    Survey,
    User,
)
from app.models.base import utcnow
from app.models.catalogue import artist_members
from app.models.songs import DELIVERED_STATES

LIST_LIMIT = 5
DUE_SOON_BUSINESS_DAYS = 5
QUEUE_AGE_STEPS = (5, 10)  # business days since delivery: the queue's age bands
FAILED_IMPORT_DAYS = 30
OPEN_FOR_DUE = (SongState.PLANNED.value, SongState.IN_PROGRESS.value, SongState.RETURNED.value)
UNSTARTED = (SongState.PLANNED.value, SongState.IN_PROGRESS.value)
IMPORT_FAILED_ACTION = "songs_import_failed"


@dataclass
class SongLine:
    """One song on a home list: enough to recognise it and act on it."""

    id: int
    municipality: str
    album: str
    state: str
    due_date: date
    delivered_on: date | None
    label: str | None = None
    days: int | None = None  # business days left (+) or late (−), or the queue age
    note: str | None = None
    expired: bool = False


@dataclass
class Standing:
    """The label on the latest board: its row, the board around it, badges and the next one."""

    entry: LabelChartEntry
    board: list[tuple[LabelChartEntry, Label]]
    movement: str
    labels: int
    computed_at: datetime
    badges: list[str]
    next_badge: dict[str, Any] | None


@dataclass
class TerritorialHome:
    season: Season | None
    label: Label | None
    counts: dict[str, int] = field(default_factory=dict)
    overdue: list[SongLine] = field(default_factory=list)
    due_soon: list[SongLine] = field(default_factory=list)
    returned: list[SongLine] = field(default_factory=list)
    surveys: list[SongLine] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    standing: Standing | None = None
    earlier_open: int = 0  # undelivered songs of earlier seasons (cancel or carry over)


# --------------------------------------------------------------------------- shared pieces


def current_season(on: date) -> Season | None:
    """The season every page defaults to (app.domain.seasons.resolve)."""
    return seasons.resolve(None, on=on)


def _lines(
    conditions: list[Any], order: list[Any], limit: int = LIST_LIMIT, *, with_label: bool = False
) -> list[SongLine]:
    stmt = (
        select(
            Song.id,
            Municipality.name,
            Album.name,
            Song.state,
            Song.due_date,
            Song.delivered_on,
            Song.return_comment,
            Song.survey_issued_at,
            Label.code,
        )
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .join(Label, Label.id == Song.label_id)
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
    )
    return [
        SongLine(sid, mun, album, state, due, delivered, label if with_label else None, note=comment)
        for sid, mun, album, state, due, delivered, comment, _issued, label in db.session.execute(stmt)
    ]


def _link_days() -> int:
    return int(current_app.config.get("SURVEY_LINK_DAYS", 30))


def targets_at_risk(season: Season, on: date) -> list[coverage.TargetRow]:
    """Labels whose projection at the current pace falls short of their yearly target (DESIGN.md §6)."""
    if on < season.starts_on or on > season.ends_on:
        return []
    rows = [r for r in coverage.targets(season, on) if r.album_code is None and r.target]
    at_risk = [r for r in rows if r.delivered < r.target and (r.projected_progress or 0.0) < 1.0]
    return sorted(at_risk, key=lambda r: (r.projected_progress or 0.0, r.label_code))


# --------------------------------------------------------------------------- territorial


def territorial_home(user: User, on: date | None = None) -> TerritorialHome:
    """What a territorial team must act on, and where its label stands (issue 18, DESIGN.md §4, §5)."""
    on = on or calendar.today()
    season = current_season(on)
    home = TerritorialHome(season=season, label=user.label)
    if season is None or user.label_id is None:
        return home
    label_id = user.label_id
    soon = calendar.add_business_days(on, DUE_SOON_BUSINESS_DAYS)
    base = [Song.season_id == season.id, Song.label_id == label_id]
    overdue = and_(Song.state.in_(OPEN_FOR_DUE), Song.due_date < on)
    due_soon = and_(Song.state.in_(OPEN_FOR_DUE), Song.due_date >= on, Song.due_date <= soon)
    row = db.session.execute(
        select(
            func.count(case((overdue, 1))),
            func.count(case((due_soon, 1))),
            func.count(case((Song.state == SongState.RETURNED.value, 1))),
        ).where(*base)
    ).one()
    home.counts = {"overdue": row[0], "due_soon": row[1], "returned": row[2]}
    home.overdue = _lines([*base, overdue], [Song.due_date.desc(), Song.id])
    home.due_soon = _lines([*base, due_soon], [Song.due_date, Song.id])
    home.returned = _lines([*base, Song.state == SongState.RETURNED.value], [Song.updated_at.desc(), Song.id])
    for line in home.overdue + home.due_soon:
        line.days = calendar.business_days_left(line.due_date, on)

    # Surveys: delivered songs without an answer; the link is valid SURVEY_LINK_DAYS after issue.
    expiry = utcnow() - timedelta(days=_link_days())
    unanswered = [
        *base,
        Song.state.in_(DELIVERED_STATES),
        ~select(Survey.id).where(Survey.song_id == Song.id).exists(),
    ]
    expired = or_(Song.survey_issued_at.is_(None), Song.survey_issued_at < expiry)
    row = db.session.execute(select(func.count(), func.count(case((expired, 1)))).where(*unanswered)).one()
    home.counts["surveys"], home.counts["surveys_expired"] = row[0], row[1]
    stmt = (
        select(
            Song.id, Municipality.name, Album.name, Song.state, Song.due_date, Song.delivered_on, Song.survey_issued_at
        )
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(*unanswered)
        .order_by(Song.delivered_on.desc(), Song.id.desc())
        .limit(LIST_LIMIT)
    )
    for sid, mun, album, state, due, delivered, issued in db.session.execute(stmt):
        line = SongLine(sid, mun, album, state, due, delivered, expired=issued is None or issued < expiry)
        if issued is not None and not line.expired:
            line.days = max(0, (issued + timedelta(days=_link_days()) - utcnow()).days)
        home.surveys.append(line)

    # Reviews received, newest first (off the reviews' created_at index).
    stmt = (
        select(Song.id, Municipality.name, Album.name, Song.review_score, Song.points, Review.created_at)
        .join(Review, Review.song_id == Song.id)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(Song.label_id == label_id, Song.state == SongState.REVIEWED.value)
        .order_by(Review.created_at.desc())
        .limit(LIST_LIMIT)
    )
    home.reviews = [
        {"id": sid, "municipality": mun, "album": album, "R": r, "points": points, "at": at}
        for sid, mun, album, r, points, at in db.session.execute(stmt)
    ]
    home.earlier_open = db.session.scalar(
        select(func.count())
        .select_from(Song)
        .join(Season, Season.id == Song.season_id)
        .where(Song.label_id == label_id, Season.year < season.year, Song.state.in_(OPEN_FOR_DUE))
    )
    home.standing = label_standing(season, label_id)
    return home


def _high_quality_songs(season: Season, label_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Song.season_id == season.id,
            Song.label_id == label_id,
            Song.state == SongState.REVIEWED.value,
            Song.quality >= season.badge_quality_threshold - badge_rules.EPS,
        )
    )


def next_badge(season: Season, entry: LabelChartEntry, held: set[str]) -> dict[str, Any] | None:
    """The badge not yet held that the label is closest to (DESIGN.md §4): name, have, need."""
    candidates = []
    if "gold" not in held or "platinum" not in held:
        quality = _high_quality_songs(season, entry.label_id)
        for badge, need in (("gold", season.badge_gold_songs), ("platinum", season.badge_platinum_songs)):
            if badge not in held and need:
                candidates.append((badge, quality, need))
                break  # platinum only once gold is held
    if "full_playlist" not in held and entry.playlist_target:
        credited = round(entry.progress * entry.playlist_target)
        candidates.append(("full_playlist", credited, entry.playlist_target))
    if not candidates:
        return None
    badge, have, need = max(candidates, key=lambda c: (min(1.0, c[1] / c[2]), -badge_rules.BADGES.index(c[0])))
    return {
        "badge": badge,
        "have": min(have, need),
        "need": need,
        "share": min(1.0, have / need),
    }


def label_standing(season: Season, label_id: int) -> Standing | None:
    """The label's row on the season's latest board, the board around it and its next badge."""
    snapshot = charts.latest_snapshot(season.id)
    if snapshot is None:
        return None
    board = charts.label_board(snapshot)
    entry = next((e for e, _label in board if e.label_id == label_id), None)
    if entry is None:
        return None
    held = {a.badge for a in badge_rules.season_badges(season.id, label_id).get(label_id, [])}
    return Standing(
        entry=entry,
        board=board,
        movement=charts.movement(entry.rank, entry.previous_rank),
        labels=len(board),
        computed_at=snapshot.computed_at,
        badges=[b for b in badge_rules.BADGES if b in held],
        next_badge=next_badge(season, entry, held),
    )


# --------------------------------------------------------------------------- coordinator


def review_queue_ages(on: date) -> dict[str, Any]:
    """Delivered songs waiting for review by business days since delivery (DESIGN.md §9)."""
    short, long = QUEUE_AGE_STEPS
    recent = calendar.subtract_business_days(on, short)
    old = calendar.subtract_business_days(on, long)
    waiting = Song.state == SongState.DELIVERED.value
    row = db.session.execute(
        select(
            func.count(),
            func.count(case((Song.delivered_on >= recent, 1))),
            func.count(case((and_(Song.delivered_on < recent, Song.delivered_on >= old), 1))),
            func.count(case((Song.delivered_on < old, 1))),
        ).where(waiting)
    ).one()
    oldest = _lines([waiting], [Song.delivered_on, Song.id], with_label=True)
    for line in oldest:
        line.days = calendar.business_days_between(line.delivered_on, on) if line.delivered_on else None
    return {
        "total": row[0],
        "bands": [
            {"key": "recent", "max": short, "count": row[1]},
            {"key": "middle", "min": short + 1, "max": long, "count": row[2]},
            {"key": "old", "min": long + 1, "count": row[3]},
        ],
        "oldest": oldest,
    }


def pending_due_date_requests() -> dict[str, Any]:
    """Due-date change requests waiting for a coordinator, oldest first (DESIGN.md §3)."""
    total = db.session.scalar(select(func.count()).where(DueDateChange.status == "pending"))
    stmt = (
        select(DueDateChange, Song.id, Municipality.name, Label.code)
        .join(Song, Song.id == DueDateChange.song_id)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Label, Label.id == Song.label_id)
        .where(DueDateChange.status == "pending")
        .order_by(DueDateChange.created_at, DueDateChange.id)
        .limit(LIST_LIMIT)
    )
    rows = [
        {"change": change, "song_id": sid, "municipality": mun, "label": code}
        for change, sid, mun, code in db.session.execute(stmt)
    ]
    return {"total": total, "rows": rows}


def coordinator_home(user: User, on: date | None = None) -> dict[str, Any]:
    """A coordinator's desk: review queue by age, decisions waiting, labels at risk (issue 18)."""
    on = on or calendar.today()
    season = current_season(on)
    return {
        "season": season,
        "queue": review_queue_ages(on),
        "due_dates": pending_due_date_requests(),
        "at_risk": targets_at_risk(season, on) if season else [],
    }


# --------------------------------------------------------------------------- manager


def recent_deliveries(limit: int = LIST_LIMIT) -> list[SongLine]:
    """The latest deliveries: one index range per delivered state, merged (no sort of the table)."""
    lines: list[SongLine] = []
    for state in DELIVERED_STATES:
        lines += _lines(
            [Song.state == state, Song.delivered_on.is_not(None)],
            [Song.delivered_on.desc(), Song.id.desc()],
            limit,
            with_label=True,
        )
    lines.sort(key=lambda line: (line.delivered_on, line.id), reverse=True)
    return lines[:limit]


def manager_home(user: User, on: date | None = None) -> dict[str, Any]:
    """Coverage and its trend, targets at risk, gaps, recent deliveries (issue 18, DESIGN.md §6)."""
    on = on or calendar.today()
    season = current_season(on)
    if season is None:
        return {"season": None}
    gaps = coverage.gaps(season)
    return {
        "season": season,
        "summary": coverage.national_summary(season),
        "at_risk": targets_at_risk(season, on),
        "gaps": gaps[:LIST_LIMIT],
        "gap_count": len(gaps),
        "recent": recent_deliveries(),
    }


# --------------------------------------------------------------------------- admin


def season_readiness(on: date) -> list[dict[str, Any]]:
    """This year's season and next year's: do they exist, how many labels have a yearly target."""
    labels = db.session.scalar(select(func.count()).select_from(Label))
    seasons = {s.year: s for s in db.session.scalars(select(Season).where(Season.year.in_((on.year, on.year + 1))))}
    with_target = dict(
        db.session.execute(
            select(Playlist.season_id, func.count(func.distinct(Playlist.label_id)))
            .where(Playlist.album_id.is_(None), Playlist.season_id.in_([s.id for s in seasons.values()]))
            .group_by(Playlist.season_id)
        ).all()
    )
    rows = []
    for year in (on.year, on.year + 1):
        season = seasons.get(year)
        rows.append(
            {
                "year": year,
                "season": season,
                "labels": labels,
                "with_target": with_target.get(season.id, 0) if season else 0,
            }
        )
    return rows


def users_without_team(limit: int = LIST_LIMIT) -> dict[str, Any]:
    """Active territorial users who belong to no team (artist) of their label."""
    condition = [
        User.active.is_(True),
        User.role == Role.TERRITORIAL.value,
        ~select(artist_members.c.user_id).where(artist_members.c.user_id == User.id).exists(),
    ]
    total = db.session.scalar(select(func.count()).select_from(User).where(*condition))
    users = list(db.session.scalars(select(User).where(*condition).order_by(User.email).limit(limit)))
    return {"total": total, "users": users}


def failed_imports(now: datetime | None = None, limit: int = LIST_LIMIT) -> list[AuditEvent]:
    """Song imports refused in the last FAILED_IMPORT_DAYS days (recorded by imports.record_failure)."""
    since = (now or utcnow()) - timedelta(days=FAILED_IMPORT_DAYS)
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.action == IMPORT_FAILED_ACTION, AuditEvent.at >= since)
        .order_by(AuditEvent.at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def admin_home(user: User, on: date | None = None) -> dict[str, Any]:
    """What keeps the platform ready: seasons, users, imports, mail (issue 18)."""
    from app.domain import notifications

    on = on or calendar.today()
    return {
        "readiness": season_readiness(on),
        "without_team": users_without_team(),
        "failed_imports": failed_imports(),
        "mail": notifications.mail_status(),
        "artists": db.session.scalar(select(func.count()).select_from(Artist)),
    }


HOMES = {
    Role.TERRITORIAL.value: ("home/territorial.html", territorial_home),
    Role.COORDINATOR.value: ("home/coordinator.html", coordinator_home),
    Role.MANAGER.value: ("home/manager.html", manager_home),
    Role.ADMIN.value: ("home/admin.html", admin_home),
}
