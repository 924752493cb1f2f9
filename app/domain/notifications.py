"""Notifications (issue 18): what is told to whom, once, in the app and by mail.

Two steps, both run by the scheduler under a database lease and by
``flask --app wsgi notifications send``:

1. ``collect(now)`` derives events from what the database already records — the audit
   trail (returned, reviewed, due-date decided, survey answered), due dates (due in 5 and
   1 business days, overdue at 1, 5 and 10 business days late and never more), survey
   links about to expire, and the Monday digest per label — and writes one
   ``Notification`` per (kind, event, recipient). A unique key makes a second run (or
   a second worker) a no-op: nothing is ever said twice.
2. ``send(now)`` mails the queued ones over SMTP (Flask-Mailman), in the recipient's
   language, plain text plus HTML, no tracking of any kind. A server that is down
   leaves them queued with a growing back-off; they are retried on later runs, never
   inside a request. Weekly digests gather the kinds a user asked for that way.

Preferences (per user and kind): on or off, and by mail at once or in the weekly digest.
A kind that is off produces nothing; the in-app list shows every other notification.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select, update

from app.domain import calendar, charts, lease
from app.domain.errors import NotFound, ValidationFailed
from app.extensions import db, mail
from app.models import (
    Album,
    AuditEvent,
    Label,
    LabelChartEntry,
    Municipality,
    Notification,
    NotificationPreference,
    Role,
    Season,
    Song,
    SongState,
    User,
)
from app.models.base import utcnow
from app.models.catalogue import artist_members

log = logging.getLogger(__name__)
BOGOTA = calendar.BOGOTA

LEASE = "notifications-send"
TEAM = "team"
OPEN_FOR_DUE = (SongState.PLANNED.value, SongState.IN_PROGRESS.value, SongState.RETURNED.value)
OVERDUE_STEPS = (1, 5, 10)  # business days late at which the team is reminded; never more (capped)
EXPIRY_WARNING_DAYS = 5  # calendar days before a survey link expires
DIGEST = "digest"
SEND_BATCH = 200


@dataclass(frozen=True)
class Kind:
    key: str
    audience: str
    name: Any  # lazy string
    default_delivery: str = "immediate"


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("due_5", TEAM, _l("Vence en 5 días hábiles")),
        Kind("due_1", TEAM, _l("Vence mañana (1 día hábil)")),
        Kind("overdue", TEAM, _l("Vencida (a 1, 5 y 10 días hábiles de retraso)")),
        Kind("returned", TEAM, _l("Devuelta para ajustes")),
        Kind("reviewed", TEAM, _l("Revisada, con su puntaje")),
        Kind("due_date_decided", TEAM, _l("Cambio de fecha de compromiso decidido")),
        Kind("survey_answered", TEAM, _l("Encuesta respondida")),
        Kind("survey_expiring", TEAM, _l("Enlace de encuesta por vencer")),
        Kind("label_weekly", TEAM, _l("Resumen de los lunes de la disquera")),
    )
}
AUDIENCE_BY_ROLE = {Role.TERRITORIAL.value: TEAM}

AUDIT_KINDS = {
    "song_returned": "returned",
    "song_reviewed": "reviewed",
    "due_date_change_approved": "due_date_decided",
    "due_date_change_rejected": "due_date_decided",
    "survey_answered": "survey_answered",
}


# --------------------------------------------------------------------------- settings and status


def mail_configured() -> bool:
    """Mail goes out only when MAIL_SERVER is set (README: mail settings)."""
    return bool((current_app.config.get("MAIL_SERVER") or "").strip())


def mail_status() -> dict[str, Any]:
    """What the admin home shows: configured or not, queued, failed, last sent."""
    counts = dict(
        db.session.execute(
            select(Notification.mail_status, func.count())
            .where(Notification.mail_status.in_(("pending", "failed", "digest")))
            .group_by(Notification.mail_status)
        ).all()
    )
    return {
        "configured": mail_configured(),
        "server": current_app.config.get("MAIL_SERVER") or None,
        "pending": counts.get("pending", 0),
        "digest": counts.get("digest", 0),
        "failed": counts.get("failed", 0),
        "last_sent": db.session.scalar(select(func.max(Notification.mailed_at))),
        "last_error": db.session.scalar(
            select(Notification.mail_error)
            .where(Notification.mail_error.is_not(None), Notification.mail_status == "pending")
            .order_by(Notification.id.desc())
            .limit(1)
        ),
    }


def kinds_for(user: User) -> list[Kind]:
    audience = AUDIENCE_BY_ROLE.get(user.role)
    return [k for k in KINDS.values() if k.audience == audience]


def preferences(user: User) -> dict[str, dict[str, Any]]:
    """Every kind the user can receive, with their choice or the default."""
    saved = {
        p.kind: p
        for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    }
    result = {}
    for kind in kinds_for(user):
        pref = saved.get(kind.key)
        result[kind.key] = {
            "kind": kind,
            "enabled": pref.enabled if pref else True,
            "delivery": pref.delivery if pref else kind.default_delivery,
        }
    return result


def save_preferences(user: User, choices: dict[str, dict[str, Any]]) -> None:
    """Store the user's choice per kind (``{"kind": {"enabled": bool, "delivery": str}}``); flushes."""
    allowed = {k.key for k in kinds_for(user)}
    errors = {}
    for key, choice in choices.items():
        if key not in allowed:
            errors[key] = [_("Tipo de notificación desconocido.")]
        elif choice.get("delivery") not in ("immediate", "digest"):
            errors[key] = [_("Elija «al momento» o «resumen semanal».")]
    if errors:
        raise ValidationFailed(_("Revise las preferencias marcadas."), errors)
    saved = {
        p.kind: p
        for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    }
    for key, choice in choices.items():
        pref = saved.get(key) or NotificationPreference(user_id=user.id, kind=key)
        pref.enabled = bool(choice.get("enabled"))
        pref.delivery = choice["delivery"]
        db.session.add(pref)
    db.session.flush()


# --------------------------------------------------------------------------- in-app list


def unread_count(user: User) -> int:
    """Unread notifications of the user (digest rows are born read): one index-only count."""
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def page_for(user: User, page: int, per_page: int) -> tuple[list[Notification], int]:
    conditions = [Notification.user_id == user.id, Notification.kind != DIGEST]
    total = db.session.scalar(select(func.count()).where(*conditions))
    rows = list(
        db.session.scalars(
            select(Notification)
            .where(*conditions)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return rows, total


def get_own(user: User, notification_id: int) -> Notification:
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        raise NotFound(_("No existe esa notificación."))
    return n


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one notification (or all) of the user as read; flushes. Returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=utcnow()))
    db.session.flush()
    return result.rowcount or 0


# --------------------------------------------------------------------------- texts (one place: app and mail)


def _path(endpoint: str, **values: Any) -> str:
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def link(n: Notification) -> str:
    """Where the notification leads (a path inside the app)."""
    if n.song_id is not None:
        return _path("songs.detail", song_id=n.song_id)
    if n.kind == "label_weekly":
        return _path("main.index")
    return _path("notifications.index")


def describe(n: Notification) -> dict[str, Any]:
    """Title and lines of a notification in the current locale (in-app list and mail)."""
    p = n.payload or {}
    song = p.get("song", "")
    lines: list[str] = []
    if n.kind == "due_5":
        title = _("Vence en %(n)s días hábiles: %(song)s", n=p.get("days", 5), song=song)
        lines.append(_("Fecha de compromiso: %(date)s.", date=_day(p.get("due"))))
    elif n.kind == "due_1":
        title = _("Vence mañana: %(song)s", song=song)
        lines.append(_("Fecha de compromiso: %(date)s.", date=_day(p.get("due"))))
    elif n.kind == "overdue":
        title = _("Vencida hace %(n)s días hábiles: %(song)s", n=p.get("late", 1), song=song)
        lines.append(_("Entréguela o pida un cambio de fecha de compromiso."))
    elif n.kind == "returned":
        title = _("Devuelta para ajustes: %(song)s", song=song)
        if p.get("comment"):
            lines.append(_("Comentario de la coordinación: %(c)s", c=p["comment"]))
    elif n.kind == "reviewed":
        title = _("Revisada: %(song)s", song=song)
        lines.append(_("Revisión R = %(r)s; puntos: %(points)s.", r=_score(p.get("R")), points=p.get("points") or 0))
    elif n.kind == "due_date_decided":
        if p.get("approved"):
            title = _("Cambio de fecha aprobado: %(song)s", song=song)
            lines.append(_("Nueva fecha de compromiso: %(date)s.", date=_day(p.get("due"))))
        else:
            title = _("Cambio de fecha rechazado: %(song)s", song=song)
    elif n.kind == "survey_answered":
        title = _("Encuesta respondida: %(song)s", song=song)
        lines.append(_("Satisfacción S = %(s)s.", s=_score(p.get("S"))))
    elif n.kind == "survey_expiring":
        title = _("El enlace de la encuesta vence el %(date)s: %(song)s", date=_day(p.get("expires")), song=song)
        lines.append(_("Recuérdele a la alcaldía que responda la encuesta."))
    elif n.kind == "label_weekly":
        title = _("Resumen semanal de %(label)s", label=p.get("label", ""))
        if p.get("rank"):
            lines.append(_("Puesto %(rank)s de %(of)s en el ranking.", rank=p["rank"], of=p.get("of")))
            if p.get("previous_rank") and p["previous_rank"] != p["rank"]:
                lines.append(_("La semana pasada: puesto %(rank)s.", rank=p["previous_rank"]))
        if p.get("target"):
            lines.append(_("Avance hacia la meta: %(done)s de %(target)s.", done=p.get("done", 0), target=p["target"]))
        lines.append(_("Canciones vencidas sin entregar: %(n)s.", n=p.get("overdue", 0)))
    else:
        title = n.kind
    return {"title": title, "lines": lines, "link": link(n)}


def _day(iso: str | None) -> str:
    if not iso:
        return "—"
    from app.web import fmt_date

    return fmt_date(date.fromisoformat(iso))


def _score(value: float | None) -> str:
    from app.web import fmt_score

    return fmt_score(value)


def _song_title(municipality: str, album: str) -> str:
    return f"{municipality} · {album}"


# --------------------------------------------------------------------------- collecting events


@dataclass
class Event:
    kind: str
    key: str
    song_id: int | None
    label_id: int | None
    artist_id: int | None
    payload: dict[str, Any]


def _song_events(kind: str, conditions: list[Any], key, payload) -> list[Event]:
    stmt = (
        select(Song.id, Song.label_id, Song.artist_id, Song.due_date, Municipality.name, Album.name)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(*conditions)
    )
    events = []
    for sid, label_id, artist_id, due, mun, album in db.session.execute(stmt):
        data = {"song": _song_title(mun, album), "due": due.isoformat()}
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
    for aid, action, changes, sid, label_id, artist_id, due, r, points, s, comment, mun, album in db.session.execute(
        stmt
    ):
        kind = AUDIT_KINDS[action]
        data: dict[str, Any] = {"song": _song_title(mun, album)}
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
            {"song": _song_title(mun, album), "expires": (issued + timedelta(days=days)).date().isoformat()},
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


def _team_recipients(events: list[Event]) -> dict[tuple[int, int | None], list[User]]:
    """(label, artist) → the users to tell: the artist's members, else the label's territorial users."""
    labels = {e.label_id for e in events if e.label_id is not None}
    if not labels:
        return {}
    users = list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.role == Role.TERRITORIAL.value, User.label_id.in_(labels))
        )
    )
    members: dict[int, set[int]] = {}
    for artist_id, user_id in db.session.execute(
        select(artist_members.c.artist_id, artist_members.c.user_id).where(
            artist_members.c.user_id.in_([u.id for u in users])
        )
    ):
        members.setdefault(artist_id, set()).add(user_id)
    result: dict[tuple[int, int | None], list[User]] = {}
    for e in events:
        key = (e.label_id, e.artist_id)
        if key in result:
            continue
        of_label = [u for u in users if u.label_id == e.label_id]
        team = [u for u in of_label if u.id in members.get(e.artist_id, set())] if e.artist_id else []
        result[key] = team or of_label
    return result


def _preference_map(user_ids: list[int]) -> dict[tuple[int, str], NotificationPreference]:
    if not user_ids:
        return {}
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id.in_(user_ids)))
    return {(p.user_id, p.kind): p for p in rows}


def store(events: list[Event], now: datetime) -> int:
    """Write one notification per event and recipient not told yet; flushes. Returns how many are new."""
    if not events:
        return 0
    recipients = _team_recipients(events)
    user_ids = sorted({u.id for users in recipients.values() for u in users})
    prefs = _preference_map(user_ids)
    keys = {(e.kind, e.key) for e in events}
    existing = set()
    for kind in {k for k, _key in keys}:
        event_keys = [key for k, key in keys if k == kind]
        for start in range(0, len(event_keys), 500):
            existing |= set(
                db.session.execute(
                    select(Notification.kind, Notification.event_key, Notification.recipient_key).where(
                        Notification.kind == kind, Notification.event_key.in_(event_keys[start : start + 500])
                    )
                ).all()
            )
    mailing = mail_configured()
    added = 0
    for e in events:
        for user in recipients.get((e.label_id, e.artist_id), []):
            recipient = f"user:{user.id}"
            if (e.kind, e.key, recipient) in existing:
                continue
            pref = prefs.get((user.id, e.kind))
            if pref is not None and not pref.enabled:
                continue
            delivery = pref.delivery if pref else KINDS[e.kind].default_delivery
            status = "none"
            if mailing and user.email:
                status = "digest" if delivery == "digest" and e.kind != "label_weekly" else "pending"
            db.session.add(
                Notification(
                    kind=e.kind,
                    event_key=e.key,
                    recipient_key=recipient,
                    user_id=user.id,
                    locale=user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "es"),
                    song_id=e.song_id,
                    label_id=e.label_id,
                    payload=e.payload,
                    created_at=now,
                    mail_status=status,
                )
            )
            existing.add((e.kind, e.key, recipient))
            added += 1
    db.session.flush()
    return added


def weekly_digests(on: date, now: datetime) -> int:
    """Mondays: one digest per user gathering their 'digest' notifications (unique per ISO week)."""
    if on.weekday() != 0:
        return 0
    week = "{}-W{:02d}".format(*on.isocalendar()[:2])
    waiting: dict[int, list[int]] = {}
    for nid, user_id in db.session.execute(
        select(Notification.id, Notification.user_id)
        .where(Notification.mail_status == "digest")
        .order_by(Notification.id)
    ):
        waiting.setdefault(user_id, []).append(nid)
    done = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.kind == DIGEST, Notification.event_key == week)
        )
    )
    added = 0
    for user_id, ids in waiting.items():
        if user_id in done:
            continue  # this week's digest exists: these wait for next Monday's
        user = db.session.get(User, user_id)
        db.session.add(
            Notification(
                kind=DIGEST,
                event_key=week,
                recipient_key=f"user:{user_id}",
                user_id=user_id,
                locale=user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "es"),
                payload={"ids": ids, "week": week},
                created_at=now,
                mail_status="pending",
                read_at=now,
            )
        )
        # Mail for these now goes through the digest; they stay in the in-app list.
        db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(mail_status="none"))
        added += 1
    db.session.flush()
    return added


def collect(now: datetime | None = None, on: date | None = None) -> int:
    """Derive every event since the look-back window and store the new notifications; flushes."""
    now = now or utcnow()
    on = on or now.astimezone(BOGOTA).date()
    since = now - timedelta(days=int(current_app.config.get("NOTIFICATIONS_LOOKBACK_DAYS", 7)))
    events = due_events(on) + audit_events(since) + expiring_link_events(now) + weekly_label_events(on)
    added = store(events, now)
    added += weekly_digests(on, now)
    return added


# --------------------------------------------------------------------------- sending


def _absolute(path: str) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000").rstrip("/")
    return base + path


def render_message(n: Notification) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in the recipient's language."""
    with force_locale(n.locale or "es"):
        if n.kind == DIGEST:
            items = list(db.session.scalars(select(Notification).where(Notification.id.in_(n.payload.get("ids", [])))))
            entries = [describe(item) for item in items]
            subject = _("Sinfonía: su resumen semanal (%(n)s avisos)", n=len(entries))
        else:
            entries = [describe(n)]
            subject = "Sinfonía: " + entries[0]["title"]
        for entry in entries:
            entry["url"] = _absolute(entry["link"])
        context = {
            "subject": subject,
            "entries": entries,
            "name": n.user.name if n.user else None,
            "preferences_url": _absolute(_path("notifications.preferences")) if n.user_id else None,
            "privacy_url": current_app.config.get("PRIVACY_NOTICE_URL") or None,
        }
        text = render_template("notifications/mail.txt", **context)
        html = render_template("notifications/mail.html", **context)
    return subject, text, html


def _address(n: Notification) -> str | None:
    return n.email or (n.user.email if n.user else None)


def _back_off(attempts: int) -> timedelta:
    return timedelta(minutes=min(24 * 60, 5 * 2 ** max(0, attempts - 1)))


def _failed(n: Notification, error: str, now: datetime) -> None:
    n.mail_attempts += 1
    n.mail_error = error[:300]
    if n.mail_attempts >= int(current_app.config.get("NOTIFICATIONS_MAX_ATTEMPTS", 8)):
        n.mail_status = "failed"
        n.next_attempt_at = None
    else:
        n.next_attempt_at = now + _back_off(n.mail_attempts)


def send(now: datetime | None = None) -> dict[str, int]:
    """Mail what is queued and due; flushes. A server that cannot be reached leaves it queued."""
    now = now or utcnow()
    result = {"sent": 0, "failed": 0, "queued": 0}
    if not mail_configured():
        return result
    due = list(
        db.session.scalars(
            select(Notification)
            .where(
                Notification.mail_status == "pending",
                (Notification.next_attempt_at.is_(None)) | (Notification.next_attempt_at <= now),
            )
            .order_by(Notification.id)
            .limit(SEND_BATCH)
        )
    )
    if not due:
        return result
    connection = mail.get_connection(fail_silently=False)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail server unreachable, %d message(s) stay queued: %s", len(due), exc)
        for n in due:
            _failed(n, f"{type(exc).__name__}: {exc}", now)
        db.session.flush()
        result["queued"] = len(due)
        return result
    from flask_mailman import EmailMultiAlternatives

    try:
        for n in due:
            address = _address(n)
            if not address:
                n.mail_status = "none"
                continue
            subject, text, html = render_message(n)
            message = EmailMultiAlternatives(
                subject, text, current_app.config.get("MAIL_DEFAULT_SENDER"), [address], connection=connection
            )
            message.attach_alternative(html, "text/html")
            try:
                message.send()
            except (OSError, smtplib.SMTPException) as exc:
                _failed(n, f"{type(exc).__name__}: {exc}", now)
                result["failed"] += 1
                if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    break  # the connection is gone: the rest wait for the next run
                continue
            n.mail_status, n.mailed_at, n.mail_error = "sent", utcnow(), None
            result["sent"] += 1
    finally:
        try:
            connection.close()
        except Exception:  # a dead connection may fail to say goodbye
            pass
    db.session.flush()
    return result


def run(now: datetime | None = None) -> dict[str, int] | None:
    """Collect and send under the database lease, committing; None when another process holds it."""
    with lease.held(LEASE) as got:
        if not got:
            return None
        try:
            added = collect(now)
            db.session.commit()
            result = send(now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    result["new"] = added
    return result
