"""The coordinators' review queue, review assignment and service level, survey results
(DESIGN.md §9; issue 15). Views and the API read these; nothing here commits.

- Assignment: a delivered song is assigned in turn to an eligible coordinator (active, and allowed
  to review it by ``permissions.review_refusal``: never their home directorate, never a song they
  planned or delivered). "In turn": the eligible coordinator with the fewest songs waiting for
  them, then the one assigned longest ago. Only the assigned reviewer reviews or returns the song;
  a coordinator reassigns it (audited, before and after).
- Service level: a review is due within the season's ``review_sla_days`` business days after the
  delivery (default 10); past it the song is *overdue* (queue and board).
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.orm import selectinload

from app.domain import audit, permissions
from app.domain.calendar import add_business_days, business_days_between
from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.models import Album, Department, Label, Municipality, Role, Season, Song, SongState, Survey, User
from app.models.base import utcnow

DEFAULT_SLA = 10


# --------------------------------------------------------------------------- service level


def sla_days(song: Song) -> int:
    season = song.season
    return int(getattr(season, "review_sla_days", None) or DEFAULT_SLA)


def review_due(song: Song) -> date | None:
    """The last business day on which the song's review is within the service level."""
    if song.delivered_on is None:
        return None
    return add_business_days(song.delivered_on, sla_days(song))


def is_overdue(song: Song, today: date) -> bool:
    return (
        song.state == SongState.DELIVERED
        and song.delivered_on is not None
        and business_days_between(song.delivered_on, today) > sla_days(song)
    )


def overdue_cutoff(today: date, sla: int) -> date:
    """The latest delivery date whose review is past ``sla`` business days on ``today``."""
    day = today
    while business_days_between(day, today) <= sla:
        day -= timedelta(days=1)
    return day


def overdue_count(season: Season | None, today: date, label_id: int | None = None) -> int:
    """Delivered songs of the season waiting for review past its service level (set-based)."""
    if season is None:
        return 0
    cutoff = overdue_cutoff(today, int(season.review_sla_days or DEFAULT_SLA))
    stmt = (
        select(func.count())
        .select_from(Song)
        .where(Song.state == SongState.DELIVERED.value, Song.delivered_on <= cutoff, Song.season_id == season.id)
    )
    if label_id is not None:
        stmt = stmt.where(Song.label_id == label_id)
    return db.session.scalar(stmt) or 0


# --------------------------------------------------------------------------- assignment


def active_coordinators() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.COORDINATOR.value, User.active.is_(True))
            .options(selectinload(User.home_labels))
            .order_by(User.name, User.id)
        )
    )


def eligible_reviewers(song: Song, coordinators: list[User] | None = None) -> list[User]:
    """Active coordinators who may review ``song`` (segregation of duties)."""
    return [user for user in coordinators or active_coordinators() if _may_be_assigned(user, song)]


def _may_be_assigned(user: User, song: Song) -> bool:
    reason = permissions.review_refusal(user, song, ignore_assignment=True)
    return reason is None


def _turns(ids: list[int], exclude_song_id: int | None = None) -> tuple[dict[int, int], dict[int, Any]]:
    """Per coordinator: songs waiting for them, and when they were last assigned one."""
    others = Song.id != exclude_song_id if exclude_song_id is not None else true()
    load = dict(
        db.session.execute(
            select(Song.assigned_reviewer_id, func.count())
            .where(Song.state == SongState.DELIVERED.value, Song.assigned_reviewer_id.in_(ids), others)
            .group_by(Song.assigned_reviewer_id)
        ).all()
    )
    last = dict(
        db.session.execute(
            select(Song.assigned_reviewer_id, func.max(Song.review_assigned_at))
            .where(Song.assigned_reviewer_id.in_(ids), others)
            .group_by(Song.assigned_reviewer_id)
        ).all()
    )
    return load, last


def _next_in_turn(candidates: list[User], load: dict[int, int], last: dict[int, Any]) -> User:
    """ "In turn": the fewest songs waiting, then the one assigned longest ago, then the lowest id."""
    epoch = (utcnow().replace(year=1970), 0)
    return min(candidates, key=lambda u: (load.get(u.id, 0), _stamp(last.get(u.id)) or epoch, u.id))


def _stamp(value: Any) -> tuple | None:
    return value if value is None or isinstance(value, tuple) else (value, 0)


def assign_reviewer(song: Song, *, actor: Any = None, ip: str | None = None) -> User | None:
    """Assign the delivered ``song`` in turn; None (and no change) when nobody is eligible."""
    candidates = eligible_reviewers(song)
    if not candidates:
        song.assigned_reviewer_id, song.review_assigned_at = None, None
        return None
    load, last = _turns([user.id for user in candidates], song.id)
    chosen = _next_in_turn(candidates, load, last)
    _set_reviewer(song, chosen, "review_assigned", actor, ip)
    return chosen


def assign_imported(rows: list[dict[str, Any]], actor_id: int | None, now: Any) -> None:
    """The importer's delivered rows (plain dicts, before the bulk insert) are assigned in turn like
    any other delivery (DESIGN.md §9): each row gets ``assigned_reviewer_id`` (None when nobody is
    eligible) and ``review_assigned_at``. Eligibility is asked of ``permissions.review_refusal`` per
    label (every row of a file has the same importer); the turn order is ``assign_reviewer``'s."""
    coordinators = active_coordinators()
    load, last = _turns([user.id for user in coordinators])
    eligible: dict[int, list[User]] = {}
    for seq, row in enumerate(rows, start=1):
        if row["state"] != SongState.DELIVERED.value:
            row.update(assigned_reviewer_id=None, review_assigned_at=None)
            continue
        label_id = row["label_id"]
        if label_id not in eligible:
            stand_in = SimpleNamespace(
                label_id=label_id,
                created_by_id=actor_id,
                delivered_by_id=actor_id,
                survey=None,
                due_date_changes=[],
                state=SongState.DELIVERED.value,
                assigned_reviewer_id=None,
            )
            eligible[label_id] = eligible_reviewers(stand_in, coordinators)
        if not eligible[label_id]:
            row.update(assigned_reviewer_id=None, review_assigned_at=None)
            continue
        chosen = _next_in_turn(eligible[label_id], load, last)
        load[chosen.id] = load.get(chosen.id, 0) + 1
        last[chosen.id] = (now, seq)
        row.update(assigned_reviewer_id=chosen.id, review_assigned_at=now)


def _set_reviewer(song: Song, reviewer: User, action: str, actor: Any, ip: str | None) -> None:
    before = song.assigned_reviewer_id
    song.assigned_reviewer_id, song.review_assigned_at = reviewer.id, utcnow()
    changes = {"assigned_reviewer_id": [before, reviewer.id]}
    audit.record(action, "song", song.id, actor_id=getattr(actor, "id", None), changes=changes, ip=ip)


def reassign_reviewer(actor: Any, song: Song, reviewer_id: Any, *, ip: str | None = None) -> User:
    """A coordinator hands a waiting review to another eligible coordinator (audited)."""
    permissions.refuse_if(permissions.label_action_refusal(actor, song.label_id))
    if song.state != SongState.DELIVERED:
        raise Conflict(_("Solo se reasigna la revisión de una canción entregada que espera revisión."))
    reviewer = db.session.get(User, reviewer_id) if isinstance(reviewer_id, int) else None
    if reviewer is None or not reviewer.active or not permissions.is_coordinator(reviewer):
        raise ValidationFailed(
            _("Elija una persona activa de la coordinación."),
            {"reviewer": [_("Elija una persona activa de la coordinación.")]},
        )
    reason = permissions.review_refusal(reviewer, song, ignore_assignment=True)
    if reason is not None:
        message = _("Esa persona no puede revisar esta canción: %(why)s", why=reason)
        raise ValidationFailed(message, {"reviewer": [message]})
    _set_reviewer(song, reviewer, "review_reassigned", actor, ip)
    db.session.flush()
    return reviewer


# --------------------------------------------------------------------------- queue


QUEUE_FILTERS = ("label", "album", "department", "mine", "overdue")


def queue(user: Any, filters: dict[str, int], page: int, per_page: int, today: date) -> dict[str, Any]:
    """Delivered songs awaiting review, oldest delivery first, with per-label counts.

    ``filters``: label, album, department ids; ``mine`` (assigned to ``user``); ``overdue`` (past the
    service level). Counts per label follow every filter but the label one."""
    conditions = [Song.state == SongState.DELIVERED.value]
    if "album" in filters:
        conditions.append(Song.album_id == filters["album"])
    if "department" in filters:
        conditions.append(Song.department_id == filters["department"])
    if "season" in filters:  # by year, as everywhere in the URL
        conditions.append(Song.season_id.in_(select(Season.id).where(Season.year == filters["season"])))
    if filters.get("mine"):
        conditions.append(Song.assigned_reviewer_id == getattr(user, "id", None))
    if filters.get("overdue"):
        per_season = [
            (Song.season_id == season_id) & (Song.delivered_on <= overdue_cutoff(today, int(sla or DEFAULT_SLA)))
            for season_id, sla in db.session.execute(select(Season.id, Season.review_sla_days)).all()
        ]
        conditions.append(or_(*per_season) if per_season else false())
    counts = db.session.execute(
        select(Label.id, Label.name, func.count())
        .join(Song, Song.label_id == Label.id)
        .where(*conditions)
        .group_by(Label.id, Label.name)
        .order_by(Label.name)
    ).all()
    stmt = select(Song).where(*conditions)
    if "label" in filters:
        stmt = stmt.where(Song.label_id == filters["label"])
    stmt = stmt.options(
        selectinload(Song.municipality),
        selectinload(Song.album),
        selectinload(Song.label),
        selectinload(Song.artist),
        selectinload(Song.department),
        selectinload(Song.season),
        selectinload(Song.assigned_reviewer),
        selectinload(Song.survey),  # the segregation-of-duties predicate reads these per row
        selectinload(Song.due_date_changes),
    ).order_by(Song.delivered_on.asc(), Song.id.asc())
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=False)
    # The per-label counts already hold the total: no second count over the queue.
    result.total = sum(c for label_id, _n, c in counts if filters.get("label") in (None, label_id))
    return {
        "page": result,
        "counts": counts,
        "total": sum(c for _i, _n, c in counts),
        "overdue": {song.id for song in result.items if is_overdue(song, today)},
        "labels": db.session.scalars(select(Label).order_by(Label.name)).all(),
        "albums": db.session.scalars(select(Album).order_by(Album.name)).all(),
        "departments": db.session.scalars(select(Department).order_by(Department.name)).all(),
    }


# --------------------------------------------------------------------------- survey results


def survey_results(label_id: int | None, page: int, per_page: int) -> dict[str, Any]:
    """Answered surveys, newest first, and the mean S of those that count."""
    stmt = (
        select(Survey)
        .join(Song, Survey.song_id == Song.id)
        .options(
            selectinload(Survey.song).selectinload(Song.municipality).selectinload(Municipality.department),
            selectinload(Survey.song).selectinload(Song.album),
            selectinload(Survey.song).selectinload(Song.label),
            selectinload(Survey.song).selectinload(Song.artist),
        )
        .order_by(Survey.submitted_at.desc(), Survey.id.desc())
    )
    if label_id:
        stmt = stmt.where(Song.label_id == label_id)
    result = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    mean_s = db.session.scalar(
        select(func.avg(Song.satisfaction))
        .join(Survey, Survey.song_id == Song.id)
        .where(Song.label_id == label_id if label_id else true())
    )
    return {"page": result, "mean_s": mean_s, "labels": db.session.scalars(select(Label).order_by(Label.name)).all()}
