"""The events behind notifications (issue 18): each collector reads what the database already
records and returns ``Event`` values; ``app.domain.notifications.store`` turns them into one
notification per recipient, once (its unique key). Nothing here writes but the survey-link hook,
and that through ``store``; nothing commits.

- team: due in 5 and 1 business days, overdue at 1, 5 and 10 business days late (capped);
  returned, reviewed, due-date decided, survey answered or held (audit trail); survey link about
  to expire; the Monday digest per label.
- coordinators: a review assigned (audit trail), reviews past the service level (once per
  delivery), four-eyes changes waiting, integrity alerts that grew (once a day per label).
- the municipal contact: the survey invitation (as the link is issued, and found again by
  ``contact_events``) and one reminder, only while the link is current and unanswered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, select

from app.domain import calendar, charts, permissions, review_queue
from app.domain import notifications as notices
from app.extensions import db
from app.models import (
    Album,
    AuditEvent,
    Label,
    LabelChartEntry,
    Municipality,
    Notification,
    PendingChange,
    Season,
    Song,
    SongState,
    User,
)
from app.models.base import utcnow

BOGOTA = calendar.BOGOTA
OPEN_FOR_DUE = (SongState.PLANNED.value, SongState.IN_PROGRESS.value, SongState.RETURNED.value)
OVERDUE_STEPS = (1, 5, 10)  # business days late at which the team is reminded; never more (capped)
EXPIRY_WARNING_DAYS = 5  # calendar days before a survey link expires
REMINDER_AFTER_DAYS = 7  # the municipal contact's one reminder: a week after the invitation
REVIEW_OVERDUE_WINDOW = 3  # business days past the service level in which a review is reported (once)

AUDIT_KINDS = {
    "song_returned": "returned",
    "song_reviewed": "reviewed",
    "due_date_change_approved": "due_date_decided",
    "due_date_change_rejected": "due_date_decided",
    "survey_answered": "survey_answered",  # or survey_held when the answer was held (DESIGN.md §9)
    "review_assigned": "review_assigned",
    "review_reassigned": "review_assigned",
}


@dataclass
class Event:
    kind: str
    key: str
    song_id: int | None
    label_id: int | None
    artist_id: int | None
    payload: dict[str, Any]
    user_ids: list[int] | None = None  # coordinators: told by name; None: the song's team
    email: str | None = None  # the municipal contact (no account)


def _song_events(kind: str, conditions: list[Any], key, payload) -> list[Event]:
    stmt = (
        select(Song.id, Song.label_id, Song.artist_id, Song.due_date, Municipality.name, Album.name)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(*conditions)
    )
    events = []
    for sid, label_id, artist_id, due, mun, album in db.session.execute(stmt):
        data = {"song": notices.song_title(mun, album), "due": due.isoformat()}
        data.update(payload(due))
        events.append(Event(kind, key(sid, due), sid, label_id, artist_id, data))
    return events


def due_events(on: date) -> list[Event]:
    """Due in 5 and in 1 business days, and overdue at 1, 5 and 10 business days late (capped)."""
    one = calendar.add_business_days(on, 1)
    five = calendar.add_business_days(on, 5)
    events = _song_events(
        "due_1",
        [Song.state.in_(OPEN_FOR_DUE), Song.due_date > on, Song.due_date <= one],
        lambda sid, due: f"{sid}:{due.isoformat()}",
        lambda due: {},
    )
    events += _song_events(
        "due_5",
        [Song.state.in_(OPEN_FOR_DUE), Song.due_date > one, Song.due_date <= five],
        lambda sid, due: f"{sid}:{due.isoformat()}",
        lambda due: {"days": calendar.business_days_between(on, due)},
    )
    for step in OVERDUE_STEPS:
        # Due exactly `step` business days ago, or a little earlier if a run was missed (never past the next step).
        latest = calendar.subtract_business_days(on, step)
        earliest = calendar.subtract_business_days(on, step + 2)
        events += _song_events(
            "overdue",
            [Song.state.in_(OPEN_FOR_DUE), Song.due_date <= latest, Song.due_date > earliest],
            lambda sid, due, step=step: f"{sid}:{due.isoformat()}:{step}",
            lambda due, step=step: {"late": step},
        )
    return events


def audit_events(since: datetime) -> list[Event]:
    """Returned, reviewed, due-date decided, survey answered: read off the audit trail (one per event)."""
    stmt = (
        select(
            AuditEvent.id,
            AuditEvent.action,
            AuditEvent.changes,
            AuditEvent.actor_id,
            Song.id,
            Song.label_id,
            Song.artist_id,
            Song.due_date,
            Song.review_score,
            Song.points,
            Song.satisfaction,
            Song.return_comment,
            Municipality.name,
            Album.name,
        )
        .join(Song, and_(AuditEvent.entity_type == "song", Song.id == AuditEvent.entity_id))
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(AuditEvent.at >= since, AuditEvent.action.in_(list(AUDIT_KINDS)))
        .order_by(AuditEvent.id)
    )
    events = []
    rows = db.session.execute(stmt).all()
    for aid, action, changes, actor_id, sid, label_id, artist_id, due, r, points, s, comment, mun, album in rows:
        kind = AUDIT_KINDS[action]
        data: dict[str, Any] = {"song": notices.song_title(mun, album)}
        if kind == "review_assigned":
            reviewer = ((changes or {}).get("assigned_reviewer_id") or [None, None])[1]
            if reviewer is None or reviewer == actor_id:
                continue  # nobody to tell, or they took it themselves
            events.append(Event(kind, str(aid), sid, label_id, None, _review_payload(sid) | data, user_ids=[reviewer]))
            continue
        if kind == "survey_answered" and ((changes or {}).get("held") or [None, False])[1]:
            kind = "survey_held"
        if kind == "returned":
            after = ((changes or {}).get("return_comment") or [None, None])[1]
            data["comment"] = after or comment
        elif kind == "reviewed":
            data.update(R=r, points=points)
        elif kind == "due_date_decided":
            data.update(approved=action == "due_date_change_approved", due=due.isoformat())
        elif kind == "survey_answered":
            data["S"] = s
        events.append(Event(kind, str(aid), sid, label_id, artist_id, data))
    return events


def _review_payload(song_id: int) -> dict[str, Any]:
    song = db.session.get(Song, song_id)
    due = review_queue.review_due(song) if song is not None else None
    return {
        "delivered": song.delivered_on.isoformat() if song is not None and song.delivered_on else None,
        "review_due": due.isoformat() if due else None,
    }


# --------------------------------------------------------------------------- coordinators' events


def _coordinators() -> list[User]:
    return review_queue.active_coordinators()


def _may_act_on(user: User, label_id: int | None) -> bool:
    """A coordinator is told about a label only if they may act on it (never their home directorate)."""
    return permissions.label_action_refusal(user, label_id) is None


def review_overdue_events(on: date) -> list[Event]:
    """Reviews that went past the service level in the last REVIEW_OVERDUE_WINDOW business days
    (DESIGN.md §9), once per delivery: to the assigned reviewer, else every coordinator who may
    review the song's label."""
    slas = {
        sid: int(sla or review_queue.DEFAULT_SLA)
        for sid, sla in db.session.execute(select(Season.id, Season.review_sla_days))
    }
    coordinators = None
    events = []
    for sla in sorted(set(slas.values())):
        latest = review_queue.overdue_cutoff(on, sla)
        earliest = review_queue.overdue_cutoff(on, sla + REVIEW_OVERDUE_WINDOW)
        season_ids = [sid for sid, value in slas.items() if value == sla]
        stmt = (
            select(Song.id, Song.label_id, Song.delivered_on, Song.assigned_reviewer_id, Municipality.name, Album.name)
            .join(Municipality, Municipality.id == Song.municipality_id)
            .join(Album, Album.id == Song.album_id)
            .where(
                Song.state == SongState.DELIVERED.value,
                Song.delivered_on <= latest,
                Song.delivered_on > earliest,
                Song.season_id.in_(season_ids),
            )
        )
        for sid, label_id, delivered, reviewer, mun, album in db.session.execute(stmt):
            if reviewer is None:
                coordinators = coordinators if coordinators is not None else _coordinators()
                recipients = [u.id for u in coordinators if _may_act_on(u, label_id)]
            else:
                recipients = [reviewer]
            data = {
                "song": notices.song_title(mun, album),
                "delivered": delivered.isoformat(),
                "review_due": calendar.add_business_days(delivered, sla).isoformat(),
            }
            events.append(
                Event("review_overdue", f"{sid}:{delivered.isoformat()}", sid, label_id, None, data, recipients)
            )
    return events


def four_eyes_events(since: datetime) -> list[Event]:
    """Changes still waiting for a second coordinator (DESIGN.md §9): to every coordinator who
    may confirm them (never the one who asked, never their home directorate)."""
    from app.domain import four_eyes

    changes = list(
        db.session.scalars(
            select(PendingChange).where(PendingChange.status == "pending", PendingChange.requested_at >= since)
        )
    )
    if not changes:
        return []
    coordinators = _coordinators()
    events = []
    for change in changes:
        recipients = [u.id for u in coordinators if four_eyes.confirm_refusal(u, change) is None]
        data: dict[str, Any] = {"change_kind": change.kind, "requested_by": change.requested_by.name}
        if change.song is not None:
            data["song"] = notices.song_title(change.song.municipality.name, change.song.album.name)
        events.append(
            Event("four_eyes_waiting", str(change.id), change.song_id, change.label_id, None, data, recipients)
        )
    return events


def integrity_events(on: date) -> list[Event]:
    """Once a day: per label, the integrity alerts whose count grew since the last notice
    (DESIGN.md §9), to every coordinator who may act on the label. The summary is the alerts
    page's own (app.domain.integrity), cached for the day outside tests."""
    from app.domain import coverage, integrity

    season = db.session.scalar(select(Season).where(Season.starts_on <= on, Season.ends_on >= on))
    if season is None:
        return []
    season_id = season.id

    def compute() -> list[tuple[int, str, dict[str, int]]]:
        data = integrity.summary(db.session.get(Season, season_id), on)
        return [(lab["id"], lab["name"], lab["alerts"]) for lab in data["labels"] if lab["total"]]

    ttl = 0.0 if current_app.testing else 20 * 3600.0
    labels = coverage.cached(("notify-integrity", season_id, on.isoformat()), compute, ttl=ttl)
    if not labels:
        return []
    told: dict[int, dict[str, int]] = {}
    for label_id, payload in db.session.execute(
        select(Notification.label_id, Notification.payload)
        .where(Notification.kind == "integrity_alert")
        .order_by(Notification.id.desc())
        .limit(2000)
    ):
        if label_id not in told and (payload or {}).get("season") == season.year:
            told[label_id] = (payload or {}).get("counts") or {}
    coordinators = _coordinators()
    events = []
    for label_id, name, counts in labels:
        before = told.get(label_id, {})
        grown = {code: [before.get(code, 0), n] for code, n in counts.items() if n > before.get(code, 0)}
        if not grown:
            continue
        recipients = [u.id for u in coordinators if _may_act_on(u, label_id)]
        data = {"label": name, "season": season.year, "counts": counts, "grown": grown}
        events.append(
            Event(
                "integrity_alert", f"{season.year}:{label_id}:{on.isoformat()}", None, label_id, None, data, recipients
            )
        )
    return events


# --------------------------------------------------------------------------- the municipal contact


def _contact_payload(song: Song, expires: datetime | None) -> dict[str, Any]:
    return {
        "municipality": song.municipality.name,
        "album": song.album.name,
        "nonce": song.survey_nonce,
        "expires": expires.astimezone(BOGOTA).date().isoformat() if expires else None,
    }


def contact_events(now: datetime) -> list[Event]:
    """The survey invitation to the song's municipal contact for each link issued in the look-back
    window, and ONE reminder per link REMINDER_AFTER_DAYS after it, while it is valid and unanswered
    (DESIGN.md §9; only what Ley 1581 de 2012 allows: docs/PRIVACY.md). Mail only: nothing is
    recorded for a contact when mail is not configured (the team hands the link over)."""
    from app.models import Survey

    if not notices.mail_configured():
        return []
    days = int(current_app.config.get("SURVEY_LINK_DAYS", 30))
    since = now - timedelta(days=int(current_app.config.get("NOTIFICATIONS_LOOKBACK_DAYS", 7)))
    valid_from = now - timedelta(days=days)
    stmt = select(Song).where(
        Song.state.in_((SongState.DELIVERED.value, SongState.REVIEWED.value)),
        Song.contact_email.is_not(None),
        Song.survey_nonce.is_not(None),
        Song.survey_issued_at > valid_from,
        ~select(Survey.id).where(Survey.song_id == Song.id).exists(),
    )
    events = []
    for song in db.session.scalars(stmt):
        expires = song.survey_issued_at + timedelta(days=days)
        key = f"{song.id}:{song.survey_nonce}"
        data = _contact_payload(song, expires)
        if song.survey_issued_at >= since:
            events.append(Event("survey_invitation", key, song.id, song.label_id, None, data, email=song.contact_email))
        if song.survey_issued_at <= now - timedelta(days=REMINDER_AFTER_DAYS) and expires > now + timedelta(days=1):
            events.append(Event("survey_reminder", key, song.id, song.label_id, None, data, email=song.contact_email))
    # The reminder follows an invitation that went out for the same link, never on its own.
    invited = {
        key
        for (key,) in db.session.execute(
            select(Notification.event_key).where(
                Notification.kind == "survey_invitation",
                Notification.event_key.in_([e.key for e in events if e.kind == "survey_reminder"] or [""]),
                Notification.mail_status == "sent",
            )
        )
    }
    return [e for e in events if e.kind != "survey_reminder" or e.key in invited]


def _invite_at_once(song: Song) -> None:
    """``surveys.on_link_issued``: queue the invitation as the link is issued (a delivery, a new
    link), so it goes with the next send; ``contact_events`` finds the same one (same key) later.

    Called in the middle of a transition: it only adds the row (a new nonce is a new key, so there
    is nothing to look up) and never flushes, so the song is written once, by its own flush."""
    if not notices.mail_configured() or not song.contact_email or song.id is None:
        return
    days = int(current_app.config.get("SURVEY_LINK_DAYS", 30))
    expires = song.survey_issued_at + timedelta(days=days) if song.survey_issued_at else None
    with db.session.no_autoflush:
        data = _contact_payload(song, expires)
    db.session.add(
        Notification(
            kind="survey_invitation",
            event_key=f"{song.id}:{song.survey_nonce}",
            recipient_key=f"contact:{song.contact_email.lower()}",
            email=song.contact_email,
            locale=current_app.config.get("BABEL_DEFAULT_LOCALE", "es"),
            song_id=song.id,
            label_id=song.label_id,
            payload=data,
            created_at=utcnow(),
            mail_status="pending",
            read_at=utcnow(),
        )
    )


def register_hooks() -> None:
    """``surveys.on_link_issued`` → the invitation is queued as the link is issued."""
    from app.domain import surveys

    if _invite_at_once not in surveys.LINK_ISSUED_HOOKS:
        surveys.on_link_issued(_invite_at_once)


def expiring_link_events(now: datetime) -> list[Event]:
    """Delivered songs whose survey link expires within EXPIRY_WARNING_DAYS and has no answer yet."""
    from app.models import Survey

    days = int(current_app.config.get("SURVEY_LINK_DAYS", 30))
    issued_after = now - timedelta(days=days)
    issued_before = now - timedelta(days=days - EXPIRY_WARNING_DAYS)
    stmt = (
        select(
            Song.id,
            Song.label_id,
            Song.artist_id,
            Song.survey_nonce,
            Song.survey_issued_at,
            Municipality.name,
            Album.name,
        )
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(
            Song.state.in_((SongState.DELIVERED.value, SongState.REVIEWED.value)),
            Song.survey_issued_at > issued_after,
            Song.survey_issued_at <= issued_before,
            ~select(Survey.id).where(Survey.song_id == Song.id).exists(),
        )
    )
    return [
        Event(
            "survey_expiring",
            f"{sid}:{nonce}",
            sid,
            label_id,
            artist_id,
            {"song": notices.song_title(mun, album), "expires": (issued + timedelta(days=days)).date().isoformat()},
        )
        for sid, label_id, artist_id, nonce, issued, mun, album in db.session.execute(stmt)
    ]


def weekly_label_events(on: date) -> list[Event]:
    """Mondays: per label, progress to target, overdue songs, rank and its movement (DESIGN.md §5)."""
    if on.weekday() != 0:
        return []
    season = db.session.scalar(select(Season).where(Season.starts_on <= on, Season.ends_on >= on))
    if season is None:
        return []
    snapshot = charts.latest_snapshot(season.id)
    entries: dict[int, LabelChartEntry] = {}
    if snapshot is not None:
        entries = {e.label_id: e for e, _label in charts.label_board(snapshot)}
    overdue = dict(
        db.session.execute(
            select(Song.label_id, func.count())
            .where(Song.season_id == season.id, Song.state.in_(OPEN_FOR_DUE), Song.due_date < on)
            .group_by(Song.label_id)
        ).all()
    )
    week = "{}-W{:02d}".format(*on.isocalendar()[:2])
    events = []
    for label in db.session.scalars(select(Label).order_by(Label.code)):
        entry = entries.get(label.id)
        data: dict[str, Any] = {"label": label.name, "overdue": overdue.get(label.id, 0), "season": season.year}
        if entry is not None:
            data.update(
                rank=entry.rank,
                previous_rank=entry.previous_rank,
                of=len(entries),
                target=entry.playlist_target,
                done=round(entry.progress * entry.playlist_target) if entry.playlist_target else None,
            )
        events.append(Event("label_weekly", f"{label.id}:{week}", None, label.id, None, data))
    return events


def collect_all(now: datetime, on: date) -> list[Event]:
    """Every collector, for one run of ``app.domain.notifications.collect``."""
    since = now - timedelta(days=int(current_app.config.get("NOTIFICATIONS_LOOKBACK_DAYS", 7)))
    events = due_events(on) + audit_events(since) + expiring_link_events(now) + weekly_label_events(on)
    events += review_overdue_events(on) + four_eyes_events(since) + integrity_events(on) + contact_events(now)
    return events
