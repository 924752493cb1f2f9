"""Notifications (issue 18): what is told to whom, once, in the app and by mail.

Two steps, both run by the scheduler under a database lease and by
``flask --app wsgi notifications send``:

1. ``collect(now)`` derives events (app.domain.notification_events) from what the database already records — the audit
   trail (returned, reviewed, due-date decided, survey answered or held, review assigned),
   due dates (due in 5 and 1 business days, overdue at 1, 5 and 10 business days late and
   never more), survey links about to expire, the Monday digest per label; for
   coordinators reviews past the service level, four-eyes changes waiting and new
   integrity alerts; for the municipal contact the survey invitation and one reminder —
   and writes one ``Notification`` per (kind, event, recipient). A unique key makes a
   second run (or a second worker) a no-op: nothing is ever said twice.
2. ``send(now)`` mails the queued ones over SMTP (Flask-Mailman), in the recipient's
   language, plain text plus HTML, no tracking of any kind. A server that is down
   leaves them queued with a growing back-off; they are retried on later runs, never
   inside a request. Weekly digests gather the kinds a user asked for that way.

Preferences (per user and kind): on or off, and by mail at once or in the digest (weekly
on Mondays for the team's kinds, daily for the coordinators'). A kind that is off produces
nothing; the in-app list shows every other notification.

Nothing here commits: ``run`` flushes and its caller (the ``notifications send`` command,
the scheduler job) commits once (app/transaction.py), while the lease is still held.
``purge`` deletes the log older than ``NOTIFICATIONS_RETENTION_DAYS`` (docs/PRIVACY.md).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import func, select, update

from app.domain import calendar, lease
from app.domain.errors import NotFound, ValidationFailed
from app.extensions import db, mail
from app.i18n import _, _l
from app.models import (
    Notification,
    NotificationPreference,
    Role,
    Song,
    SongState,
    User,
)
from app.models.base import utcnow
from app.models.catalogue import artist_members

if TYPE_CHECKING:
    from app.domain.notification_events import Event

log = logging.getLogger(__name__)
BOGOTA = calendar.BOGOTA

LEASE = "notifications-send"
TEAM = "team"
COORDINATION = "coordination"
CONTACT = "contact"  # the song's municipal contact: no account, mail only (Ley 1581 de 2012)
OPEN_FOR_DUE = (SongState.PLANNED.value, SongState.IN_PROGRESS.value, SongState.RETURNED.value)
DIGEST = "digest"  # the weekly digest (Mondays)
DAILY_DIGEST = "digest_daily"  # the coordinators' daily digest
DIGEST_KINDS = (DIGEST, DAILY_DIGEST)
SEND_BATCH = 200
DEFAULT_RETENTION_DAYS = 180


@dataclass(frozen=True)
class Kind:
    key: str
    audience: str
    name: Any  # lazy string
    default_delivery: str = "immediate"
    digest: str = DIGEST  # which digest gathers it when the user asks for one


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
        Kind("survey_held", TEAM, _l("Encuesta respondida pero retenida hasta validarla")),
        Kind("survey_expiring", TEAM, _l("Enlace de encuesta por vencer")),
        Kind("label_weekly", TEAM, _l("Resumen de los lunes de la disquera")),
        Kind("review_assigned", COORDINATION, _l("Revisión asignada a usted"), digest=DAILY_DIGEST),
        Kind("review_overdue", COORDINATION, _l("Revisión fuera del plazo"), "digest", DAILY_DIGEST),
        Kind("four_eyes_waiting", COORDINATION, _l("Cambio por confirmar (cuatro ojos)"), "digest", DAILY_DIGEST),
        Kind("integrity_alert", COORDINATION, _l("Alertas de integridad nuevas"), "digest", DAILY_DIGEST),
        Kind("survey_invitation", CONTACT, _l("Invitación a la encuesta (contacto de la alcaldía)")),
        Kind("survey_reminder", CONTACT, _l("Recordatorio de la encuesta (contacto de la alcaldía)")),
    )
}
AUDIENCE_BY_ROLE = {Role.TERRITORIAL.value: TEAM, Role.COORDINATOR.value: COORDINATION}
CONTACT_KINDS = tuple(k.key for k in KINDS.values() if k.audience == CONTACT)


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
            errors[key] = [_("Elija «al momento» o «resumen».")]
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
    conditions = [Notification.user_id == user.id, Notification.kind.not_in(DIGEST_KINDS)]
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
    """Where the notification leads (a path inside the app; the survey itself for the contact)."""
    if n.kind in CONTACT_KINDS:
        from app.domain import surveys

        song = db.session.get(Song, n.song_id) if n.song_id else None
        token = surveys.survey_token(song) if song is not None else None
        return _path("surveys.answer", token=token) if token else _path("main.index")
    if n.kind == "four_eyes_waiting":
        return _path("reviews.pending_changes")
    if n.song_id is not None:
        return _path("songs.detail", song_id=n.song_id)
    if n.kind == "integrity_alert":
        return _path("reviews.alerts")
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
    elif n.kind == "survey_held":
        title = _("Encuesta respondida pero retenida: %(song)s", song=song)
        lines.append(
            _("La respuesta cuenta cuando la coordinación la valide (por ejemplo, tras llamar a la alcaldía).")
        )
    elif n.kind == "review_assigned":
        title = _("Revisión asignada a usted: %(song)s", song=song)
        dates = {"date": _day(p.get("delivered")), "due": _day(p.get("review_due"))}
        lines.append(_("Entregada el %(date)s; plazo de revisión hasta el %(due)s.", **dates))
    elif n.kind == "review_overdue":
        title = _("Revisión fuera del plazo: %(song)s", song=song)
        dates = {"date": _day(p.get("delivered")), "due": _day(p.get("review_due"))}
        lines.append(_("Entregada el %(date)s; el plazo de revisión venció el %(due)s.", **dates))
    elif n.kind == "four_eyes_waiting":
        from app.domain import four_eyes

        title = _("Cambio por confirmar (cuatro ojos): %(kind)s", kind=four_eyes.kind_name(p.get("change_kind", "")))
        lines.append(
            _(
                "Pedido por %(who)s; lo confirma o rechaza una segunda persona de la coordinación.",
                who=p.get("requested_by", ""),
            )
        )
        if song:
            lines.append(song)
    elif n.kind == "integrity_alert":
        from app.domain import integrity

        names = {k.code: k.title for k in integrity.kinds()}
        title = _("Alertas de integridad nuevas: %(label)s", label=p.get("label", ""))
        for code, (before, now) in sorted((p.get("grown") or {}).items()):
            lines.append(_("%(kind)s: %(now)s (antes %(before)s).", kind=names.get(code, code), now=now, before=before))
    elif n.kind in ("survey_invitation", "survey_reminder"):
        if n.kind == "survey_invitation":
            title = _(
                "¿Cómo le pareció la asistencia técnica en %(municipality)s?", municipality=p.get("municipality", "")
            )
        else:
            title = _(
                "Recordatorio: encuesta sobre la asistencia técnica en %(municipality)s",
                municipality=p.get("municipality", ""),
            )
        lines.append(
            _(
                "La Dirección Territorial le acompañó en «%(album)s». Cuéntenos en cinco preguntas (unos dos minutos) qué tan útil fue.",
                album=p.get("album", ""),
            )
        )
        lines.append(_("El enlace es personal y vale hasta el %(date)s.", date=_day(p.get("expires"))))
        lines.append(
            _(
                "Recibe este correo porque su correo institucional quedó registrado como contacto de la alcaldía para esta asistencia. Su correo se usa solo para esta encuesta y su validación, y se borra al cumplirse el plazo de conservación (Ley 1581 de 2012). No le escribiremos más que esta invitación y un recordatorio."
            )
        )
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


def song_title(municipality: str, album: str) -> str:
    return f"{municipality} · {album}"


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


def _recipients(events: list[Event]) -> dict[int, list[tuple[str, User | None, str | None]]]:
    """Per event (by index): (recipient key, user or None, outside e-mail or None)."""
    team = _team_recipients([e for e in events if e.user_ids is None and e.email is None])
    named = {uid for e in events for uid in e.user_ids or []}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(named), User.active.is_(True)))}
        if named
        else {}
    )
    out = {}
    for i, e in enumerate(events):
        if e.email is not None:
            out[i] = [(f"contact:{e.email.lower()}", None, e.email)]
        elif e.user_ids is not None:
            out[i] = [(f"user:{uid}", users[uid], None) for uid in e.user_ids if uid in users]
        else:
            out[i] = [(f"user:{u.id}", u, None) for u in team.get((e.label_id, e.artist_id), [])]
    return out


def store(events: list[Event], now: datetime) -> int:
    """Write one notification per event and recipient not told yet; flushes. Returns how many are new."""
    if not events:
        return 0
    recipients = _recipients(events)
    user_ids = sorted({u.id for rows in recipients.values() for _key, u, _email in rows if u is not None})
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
    default_locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "es")
    added = 0
    for i, e in enumerate(events):
        kind = KINDS[e.kind]
        for recipient, user, email in recipients.get(i, []):
            if (e.kind, e.key, recipient) in existing:
                continue
            if user is None:  # the municipal contact: mail only, and only when mail is configured
                if not mailing:
                    continue
                status, locale = "pending", default_locale
            else:
                pref = prefs.get((user.id, e.kind))
                if pref is not None and not pref.enabled:
                    continue
                delivery = pref.delivery if pref else kind.default_delivery
                status = "none"
                if mailing and user.email:
                    status = "digest" if delivery == "digest" and e.kind != "label_weekly" else "pending"
                locale = user.locale or default_locale
            db.session.add(
                Notification(
                    kind=e.kind,
                    event_key=e.key,
                    recipient_key=recipient,
                    user_id=user.id if user is not None else None,
                    email=email,
                    locale=locale,
                    song_id=e.song_id,
                    label_id=e.label_id,
                    payload=e.payload,
                    created_at=now,
                    mail_status=status,
                    read_at=now if user is None else None,
                )
            )
            existing.add((e.kind, e.key, recipient))
            added += 1
    db.session.flush()
    return added


def digests(on: date, now: datetime) -> int:
    """One digest per user gathering their 'digest' notifications: the coordinators' kinds every
    day (unique per day), the team's on Mondays (unique per ISO week)."""
    added = _digest(DAILY_DIGEST, on.isoformat(), now)
    if on.weekday() == 0:
        added += _digest(DIGEST, "{}-W{:02d}".format(*on.isocalendar()[:2]), now)
    return added


def _digest(digest_kind: str, period: str, now: datetime) -> int:
    kinds = [k.key for k in KINDS.values() if k.digest == digest_kind]
    waiting: dict[int, list[int]] = {}
    for nid, user_id in db.session.execute(
        select(Notification.id, Notification.user_id)
        .where(Notification.mail_status == "digest", Notification.kind.in_(kinds))
        .order_by(Notification.id)
    ):
        waiting.setdefault(user_id, []).append(nid)
    done = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.kind == digest_kind, Notification.event_key == period)
        )
    )
    added = 0
    for user_id, ids in waiting.items():
        if user_id in done:
            continue  # this period's digest exists: these wait for the next one
        user = db.session.get(User, user_id)
        db.session.add(
            Notification(
                kind=digest_kind,
                event_key=period,
                recipient_key=f"user:{user_id}",
                user_id=user_id,
                locale=user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "es"),
                payload={"ids": ids, "period": period},
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
    from app.domain import notification_events

    now = now or utcnow()
    on = on or now.astimezone(BOGOTA).date()
    added = store(notification_events.collect_all(now, on), now)
    added += digests(on, now)
    return added


# --------------------------------------------------------------------------- sending


def _absolute(path: str) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://localhost:5000").rstrip("/")
    return base + path


def render_message(n: Notification) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in the recipient's language."""
    with force_locale(n.locale or "es"):
        if n.kind in DIGEST_KINDS:
            items = list(db.session.scalars(select(Notification).where(Notification.id.in_(n.payload.get("ids", [])))))
            entries = [describe(item) for item in items]
            if n.kind == DAILY_DIGEST:
                subject = _("Sinfonía: su resumen del día (%(n)s avisos)", n=len(entries))
            else:
                subject = _("Sinfonía: su resumen semanal (%(n)s avisos)", n=len(entries))
        else:
            entries = [describe(n)]
            subject = entries[0]["title"] if n.kind in CONTACT_KINDS else "Sinfonía: " + entries[0]["title"]
        for entry in entries:
            entry["url"] = _absolute(entry["link"])
        privacy_url = current_app.config.get("PRIVACY_NOTICE_URL") or None
        name = n.user.name if n.user else None
        if n.kind in CONTACT_KINDS:
            # The privacy notice is always linked for the municipal contact: the configured one,
            # else the notice printed on the survey page itself (Ley 1581 de 2012, art. 12).
            privacy_url = privacy_url or entries[0]["url"] + "#privacy"
            song = db.session.get(Song, n.song_id) if n.song_id else None
            name = song.contact_name if song is not None else None
        context = {
            "subject": subject,
            "entries": entries,
            "name": name,
            "contact": n.kind in CONTACT_KINDS,
            "preferences_url": _absolute(_path("notifications.preferences")) if n.user_id else None,
            "privacy_url": privacy_url,
        }
        text = render_template("notifications/mail.txt", **context)
        html = render_template("notifications/mail.html", **context)
    return subject, text, html


def _contact_link_current(n: Notification) -> bool:
    """A contact's mail goes only while its link is the song's current one and unanswered."""
    song = db.session.get(Song, n.song_id) if n.song_id else None
    return (
        song is not None
        and song.contact_email is not None
        and song.survey_nonce == (n.payload or {}).get("nonce")
        and song.survey is None
    )


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
            if not address or (n.kind in CONTACT_KINDS and not _contact_link_current(n)):
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
    """Collect and send under the database lease; flushes, never commits. None when another
    process holds the lease. The caller commits once (the ``notifications send`` command, the
    scheduler job: app/transaction.py); the lease is given back when that transaction ends, so a
    second worker never sees these messages as still queued."""
    with lease.held(LEASE) as got:
        if not got:
            return None
        added = collect(now)
        result = send(now)
    result["new"] = added
    return result


def retention_days() -> int:
    """How long the notification log is kept (docs/PRIVACY.md): NOTIFICATIONS_RETENTION_DAYS, never
    less than what de-duplication needs (the look-back window and a survey link's life)."""
    config = current_app.config
    floor = int(config.get("SURVEY_LINK_DAYS", 30)) + int(config.get("NOTIFICATIONS_LOOKBACK_DAYS", 7)) + 1
    return max(floor, int(config.get("NOTIFICATIONS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)))


def purge(now: datetime | None = None, days: int | None = None) -> int:
    """Delete notifications older than the retention period (read or not, mailed or not) and the
    digests that gathered them; flushes. Returns how many rows went. The municipal contact's
    address goes with its rows (docs/PRIVACY.md)."""
    days = retention_days() if days is None else max(days, retention_days())
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(
        Notification.__table__.delete().where(Notification.created_at < cutoff),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
    return result.rowcount or 0


def _register_hooks() -> None:
    from app.domain import notification_events

    notification_events.register_hooks()


_register_hooks()
