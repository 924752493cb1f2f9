"""The home page of each role (issue 18): what needs doing first, in a few set-based queries.

Each ``*_home`` function returns plain data for one user; the view only renders it.
Every list is short (``LIST_LIMIT`` rows, with the full count beside it and a link
to the page that has them all), every count is one aggregate over an index, so a
home answers in a few milliseconds whatever the number of songs.

- territorial: overdue, due within 5 business days, returned for changes, surveys
  not answered or whose link expired, reviews received; the label's standing
  (rank, movement, index terms, progress to the target, next badge) on the board.
- coordinator: the review queue by age against the service level, pending due-date and
  four-eyes decisions, integrity alerts, labels at risk of missing their target at the
  current pace of CREDITED songs, seasons that need action (drafts, closing).
- manager: coverage against last season, targets at risk (credited), gaps, recent deliveries.
- admin: season readiness (next season, targets, weights), users without a team or home
  directorate, failed imports, mail status.

Integrity alerts are a handful of grouped scans of a season: the home reads their totals
through the in-process cache of app.domain.coverage (``HOME_INTEGRITY_CACHE_SECONDS``,
default 600 s; stale-while-revalidate), the alerts page itself stays live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, case, func, or_, select

from app.domain import badges as badge_rules
from app.domain import calendar, charts, coverage, four_eyes, integrity, review_queue, seasons
from app.extensions import db
from app.models import (
    Album,
    Artist,
    AuditEvent,
    DueDateChange,
    Label,
    LabelChartEntry,
    Municipality,
    PendingChange,
    Playlist,
    Review,
    Role,
    Season,
    Song,
    SongState,
    Survey,
    User,
)
from app.models.accounts import coordinator_home_labels
from app.models.base import utcnow
from app.models.catalogue import artist_members
from app.models.songs import DELIVERED_STATES
from app.models.songs import Standing as SongStanding

LIST_LIMIT = 5
DUE_SOON_BUSINESS_DAYS = 5
SLA_NEAR_DAYS = 2  # the last business days within the review service level: "due now"
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
    pace: TargetAtRisk | None = None  # the label's credited songs at the current pace vs its target
    earlier_open: int = 0  # undelivered songs of earlier seasons (cancel or carry over)


# --------------------------------------------------------------------------- shared pieces


def current_season(on: date) -> Season | None:
    """The season every page defaults to (app.domain.seasons.resolve)."""
    return seasons.resolve(None, on=on)


def _lines(
    conditions: list[Any], order: list[Any], limit: int = LIST_LIMIT, *, with_label: bool = False
) -> list[SongLine]:
    # The few ids first, off an index alone; then their details. Sorting the joined rows instead
    # costs the joins of every tie: 6,300 deliveries of one day at 1M songs took 142 ms (SQLite).
    first = select(Song.id).where(*conditions).order_by(*order).limit(limit).subquery()
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
        .join(first, first.c.id == Song.id)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .join(Label, Label.id == Song.label_id)
        .order_by(*order)
    )
    return [
        SongLine(sid, mun, album, state, due, delivered, label if with_label else None, note=comment)
        for sid, mun, album, state, due, delivered, comment, _issued, label in db.session.execute(stmt)
    ]


def _link_days() -> int:
    return int(current_app.config.get("SURVEY_LINK_DAYS", 30))


@dataclass
class TargetAtRisk:
    """A label whose credited songs, at the current pace, fall short of its yearly target."""

    label_code: str
    label_name: str
    target: int
    credited: int
    waiting: int  # delivered, waiting for review: they count once credited (DESIGN.md §4)
    projection: float | None

    @property
    def projected_progress(self) -> float | None:
        return self.projection / self.target if self.projection is not None and self.target else None


def _credited_by_label(season: Season) -> tuple[dict[int, tuple[int, int]], date | None]:
    """{label: (credited, waiting)} from the season's latest snapshot (the board's own figures),
    else one grouped count over the covering index; and the day the figures are as of."""
    snapshot = charts.latest_snapshot(season.id)
    if snapshot is not None:
        rows = db.session.execute(
            select(LabelChartEntry.label_id, LabelChartEntry.credited_songs, LabelChartEntry.waiting_songs).where(
                LabelChartEntry.snapshot_id == snapshot.id
            )
        )
        return {lid: (credited or 0, waiting or 0) for lid, credited, waiting in rows}, snapshot.as_of
    rows = db.session.execute(
        select(
            Song.label_id,
            func.count(case((Song.standing == SongStanding.CREDITED.value, 1))),
            func.count(case((Song.standing == SongStanding.WAITING.value, 1))),
        )
        .where(Song.season_id == season.id)
        .group_by(Song.label_id)
    )
    return {lid: (credited, waiting) for lid, credited, waiting in rows}, None


def target_paces(season: Season, on: date, label_id: int | None = None) -> list[TargetAtRisk]:
    """Per label with a yearly target: CREDITED songs so far and their projection at the current
    pace (DESIGN.md §4: only approved work moves a label; §6). Pace = credited so far ÷ days
    elapsed × days of the season. Empty outside the season's year."""
    if on < season.starts_on or on > season.ends_on:
        return []
    counts, as_of = _credited_by_label(season)
    as_of = min(on, as_of) if as_of else on
    stmt = (
        select(Playlist.label_id, Playlist.target, Label.code, Label.name)
        .join(Label, Label.id == Playlist.label_id)
        .where(Playlist.season_id == season.id, Playlist.album_id.is_(None), Playlist.target > 0)
    )
    if label_id is not None:
        stmt = stmt.where(Playlist.label_id == label_id)
    rows = []
    for lid, target, code, name in db.session.execute(stmt):
        credited, waiting = counts.get(lid, (0, 0))
        rows.append(TargetAtRisk(code, name, target, credited, waiting, coverage.projection(credited, season, as_of)))
    return rows


def targets_at_risk(season: Season, on: date) -> list[TargetAtRisk]:
    """Labels whose credited songs, at the current pace, fall short of their yearly target."""
    at_risk = [r for r in target_paces(season, on) if r.credited < r.target and (r.projected_progress or 0.0) < 1.0]
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
    for sid, mun, album, state, due, delivered, issued in _unanswered_surveys(season.id, label_id):
        line = SongLine(sid, mun, album, state, due, delivered, expired=issued is None or issued < expiry)
        if issued is not None and not line.expired:
            line.days = max(0, (issued + timedelta(days=_link_days()) - utcnow()).days)
        home.surveys.append(line)

    # Reviews received, newest first, walked off the reviews' created_at index: one label holds
    # about 1/16 of the reviews, so the newest few are found after a few dozen rows. The label
    # and state filters are written so that no songs index can serve them (``_unindexed``):
    # otherwise the planner starts from the label's songs (62,000 at 1M) and sorts them all
    # (SQLite, measured: 640 ms against 0.1 ms).
    stmt = (
        select(Song.id, Municipality.name, Album.name, Song.review_score, Song.points, Review.created_at)
        .select_from(Review)
        .join(Song, Song.id == Review.song_id)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(_unindexed(Song.label_id) == label_id, _unindexed(Song.state) == SongState.REVIEWED.value)
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
    home.pace = next(iter(target_paces(season, on, label_id)), None)
    return home


def _unindexed(column: Any) -> Any:
    """On SQLite, ``column`` written so that no index on it can serve the filter (``+ 0``,
    ``|| ''``): its planner, seeing an equality on an indexed column, starts from that index even
    when another one gives the order for free. PostgreSQL plans these queries right from its
    statistics, and an expression would hide them (measured at 1M songs: 1.3 ms plain, 482 ms
    with ``+ 0``), so there the column is left as it is."""
    if db.session.get_bind().dialect.name != "sqlite":
        return column
    return column.concat("") if isinstance(column.type, String) else column + 0


def _unanswered_surveys(season_id: int, label_id: int, limit: int = LIST_LIMIT) -> list[Any]:
    """The label's newest deliveries of the season without a survey answer.

    Walked newest first off ``ix_songs_state_delivered`` (state, delivered_on, label_id), one
    delivered state at a time and merged, as ``recent_deliveries`` does: the newest deliveries
    are the ones not answered yet, so a few index entries suffice. The season and label filters
    are written so that the (season, label, state) index cannot serve them (``_unindexed``): from it the
    planner read every delivered song of the label to sort them (110 ms at 1M songs, SQLite).
    """
    newest = [Song.delivered_on.desc(), Song.id.desc()]
    rows: list[Any] = []
    for state in DELIVERED_STATES:
        first = (
            select(Song.id)
            .where(
                Song.state == state,
                Song.delivered_on.is_not(None),
                _unindexed(Song.label_id) == label_id,
                _unindexed(Song.season_id) == season_id,
                ~select(Survey.id).where(Survey.song_id == Song.id).exists(),
            )
            .order_by(*newest)
            .limit(limit)
            .subquery()
        )
        rows += db.session.execute(
            select(
                Song.id,
                Municipality.name,
                Album.name,
                Song.state,
                Song.due_date,
                Song.delivered_on,
                Song.survey_issued_at,
            )
            .join(first, first.c.id == Song.id)
            .join(Municipality, Municipality.id == Song.municipality_id)
            .join(Album, Album.id == Song.album_id)
        ).all()
    rows.sort(key=lambda r: (r[5], r[0]), reverse=True)
    return rows[:limit]


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
        candidates.append(("full_playlist", entry.credited_songs or 0, entry.playlist_target))
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


def _past_sla(on: date, near: int = 0) -> Any:
    """Delivered songs whose review is past the service level on ``on`` (``near``: within
    ``near`` business days of it). One date bound when every season has the same service
    level (the index alone answers), else one bound per season (DESIGN.md §9)."""
    slas = db.session.execute(select(Season.id, Season.review_sla_days)).all()
    values = {int(sla or review_queue.DEFAULT_SLA) for _id, sla in slas} or {review_queue.DEFAULT_SLA}
    if len(values) == 1:
        return Song.delivered_on <= review_queue.overdue_cutoff(on, max(0, values.pop() - near))
    return or_(
        *(
            and_(
                Song.season_id == sid,
                Song.delivered_on <= review_queue.overdue_cutoff(on, max(0, int(sla or 10) - near)),
            )
            for sid, sla in slas
        )
    )


def review_queue_ages(on: date) -> dict[str, Any]:
    """Delivered songs waiting for review, by age against the review service level (DESIGN.md §9):
    within it, in its last ``SLA_NEAR_DAYS`` business days, and past it."""
    waiting = Song.state == SongState.DELIVERED.value
    past, near = _past_sla(on), _past_sla(on, SLA_NEAR_DAYS)
    row = db.session.execute(
        select(func.count(), func.count(case((and_(near, ~past), 1))), func.count(case((past, 1)))).where(waiting)
    ).one()
    total, due_now, late = row[0], row[1], row[2]
    oldest = _lines([waiting], [Song.delivered_on, Song.id], with_label=True)
    season = current_season(on)
    sla = int(season.review_sla_days or review_queue.DEFAULT_SLA) if season else review_queue.DEFAULT_SLA
    for line in oldest:
        line.days = calendar.business_days_between(line.delivered_on, on) if line.delivered_on else None
    return {
        "total": total,
        "sla": sla,
        "bands": [
            {"key": "within", "count": total - due_now - late},
            {"key": "due_now", "count": due_now},
            {"key": "past", "count": late},
        ],
        "past": late,
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


def pending_four_eyes(user: User) -> dict[str, Any]:
    """Changes waiting for a second coordinator (DESIGN.md §9), oldest first; each says whether
    ``user`` may decide it (never their own request, never their home directorate)."""
    total = db.session.scalar(select(func.count()).where(PendingChange.status == "pending"))
    rows = [
        {"change": change, "kind": four_eyes.kind_name(change.kind), "refusal": four_eyes.confirm_refusal(user, change)}
        for change in four_eyes.pending(limit=LIST_LIMIT)
    ]
    return {"total": total, "rows": rows, "yours": sum(1 for r in rows if r["refusal"] is None)}


def integrity_counts(season: Season, on: date) -> dict[str, Any]:
    """Integrity alerts of the season (DESIGN.md §9): songs behind each kind, and the labels with
    most. Cached (module docstring): plain values only, computed from ids."""
    ttl = current_app.config.get("HOME_INTEGRITY_CACHE_SECONDS", 0 if current_app.testing else 600)
    data = integrity.cached_summary(season, on, ttl=float(ttl))
    by_kind = {code: sum(lab["alerts"][code] for lab in data["labels"]) for code in integrity.KIND_CODES}
    labels = sorted((lab for lab in data["labels"] if lab["total"]), key=lambda lab: (-lab["total"], lab["code"]))
    return {
        "by_kind": by_kind,
        "total": sum(by_kind.values()),
        "labels": [(lab["code"], lab["name"], lab["total"]) for lab in labels[:LIST_LIMIT]],
        "label_count": len(labels),
    }


def seasons_needing_action(on: date) -> list[dict[str, Any]]:
    """Seasons a coordinator must act on (DESIGN.md §5): drafted weights and targets to confirm,
    undelivered songs to cancel or carry over at the end of a season, a closing date ahead."""
    rows: list[dict[str, Any]] = []
    for season in db.session.scalars(
        select(Season).where(Season.drafts_from_year.is_not(None), Season.confirmed_at.is_(None)).order_by(Season.year)
    ):
        rows.append({"key": "drafts", "season": season, "from_year": season.drafts_from_year})
    for season in seasons.ending_seasons(on):
        open_songs = seasons.undelivered_count(season)
        if open_songs:
            rows.append({"key": "settle", "season": season, "count": open_songs})
        if season.state == "closing":
            rows.append({"key": "closing", "season": season, "closing_date": seasons.closing_date(season)})
    return rows


def coordinator_home(user: User, on: date | None = None) -> dict[str, Any]:
    """A coordinator's desk (issue 18): the review queue against its service level, due-date and
    four-eyes decisions, integrity alerts, labels at risk, seasons that need action."""
    on = on or calendar.today()
    season = current_season(on)
    return {
        "season": season,
        "queue": review_queue_ages(on),
        "due_dates": pending_due_date_requests(),
        "four_eyes": pending_four_eyes(user),
        "integrity": integrity_counts(season, on) if season else None,
        "integrity_kinds": {k.code: k.title for k in integrity.kinds()},
        "at_risk": targets_at_risk(season, on) if season else [],
        "seasons": seasons_needing_action(on),
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
    """This year's season and next year's: do they exist, how many labels have a yearly target,
    are its weights (and targets) confirmed or still drafts copied from the year before (DESIGN.md §5)."""
    labels = db.session.scalar(select(func.count()).select_from(Label))
    by_year = {s.year: s for s in db.session.scalars(select(Season).where(Season.year.in_((on.year, on.year + 1))))}
    with_target = dict(
        db.session.execute(
            select(Playlist.season_id, func.count(func.distinct(Playlist.label_id)))
            .where(Playlist.album_id.is_(None), Playlist.season_id.in_([s.id for s in by_year.values()]))
            .group_by(Playlist.season_id)
        ).all()
    )
    rows = []
    for year in (on.year, on.year + 1):
        season = by_year.get(year)
        rows.append(
            {
                "year": year,
                "season": season,
                "labels": labels,
                "with_target": with_target.get(season.id, 0) if season else 0,
                "drafts": bool(season and season.has_drafts),
                "opens_on": seasons.opening_day(year),
            }
        )
    return rows


def _active_users_of(role: Role, without: Any, limit: int) -> dict[str, Any]:
    """Active users of ``role`` with no row in the link table ``without``: their count and the first few."""
    condition = [
        User.active.is_(True),
        User.role == role.value,
        ~select(without.c.user_id).where(without.c.user_id == User.id).exists(),
    ]
    total = db.session.scalar(select(func.count()).select_from(User).where(*condition))
    users = list(db.session.scalars(select(User).where(*condition).order_by(User.email).limit(limit)))
    return {"total": total, "users": users}


def users_without_team(limit: int = LIST_LIMIT) -> dict[str, Any]:
    """Active territorial users who belong to no team (artist) of their label."""
    return _active_users_of(Role.TERRITORIAL, artist_members, limit)


def coordinators_without_home(limit: int = LIST_LIMIT) -> dict[str, Any]:
    """Active coordinators with no home directorate (DESIGN.md §1): right for the national office,
    a gap in segregation of duties for anyone else, so the admin checks each one."""
    return _active_users_of(Role.COORDINATOR, coordinator_home_labels, limit)


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
        "without_home": coordinators_without_home(),
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
