"""Issue 18: notifications told once to the right people, by a REAL SMTP server on loopback.

Each test starts aiosmtpd on a free 127.0.0.1 port; the app sends to it through
Flask-Mailman's SMTP backend exactly as in production. Nothing is mocked.
"""

from __future__ import annotations

import email
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.domain import calendar, lifecycle, notifications, reviews, surveys
from app.extensions import db, mail
from app.models import Notification, NotificationPreference
from app.transaction import unit_of_work
from tests.factories import make_song

GOOD = {"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}
MONDAY = datetime(2024, 4, 8, 15, 0, tzinfo=UTC)  # 10:00 in Bogotá
TUESDAY = MONDAY + timedelta(days=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subject(message) -> str:
    return " ".join(str(message["Subject"]).split())


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]

    def subjects(self) -> list[str]:
        return sorted(subject(m) for m in self.messages)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def app_config(smtp):
    controller, _inbox = smtp
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_USE_TLS": False,
        "MAIL_TIMEOUT": 5,
        "MAIL_DEFAULT_SENDER": "Sinfonía <avisos@sinfonia.test>",
        "PUBLIC_BASE_URL": "https://sinfonia.test",
        "PRIVACY_NOTICE_URL": "https://sinfonia.test/privacidad",
    }


@pytest.fixture
def inbox(smtp):
    return smtp[1]


def run(now=TUESDAY):
    """One run as the CLI or the scheduler job does it: one unit of work (app/transaction.py)."""
    with unit_of_work():
        result = notifications.run(now)
    assert result is not None
    return result


def _bodies(message) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_each_event_mails_the_team_once_and_a_second_run_sends_nothing(world, inbox):
    w = world
    returned = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviewed = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    other = make_song(w, artist=w.artist_b, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(w.coordinator, returned, "Falta el acta firmada")
    reviews.review_song(w.coordinator, reviewed, GOOD, None)
    reviews.review_song(w.coordinator, other, GOOD, None)
    db.session.commit()

    result = run()
    # The team's three, and the coordinator's daily digest (two songs for Medellín within 90 days:
    # a possible-splitting integrity alert).
    assert result["sent"] == 4 and result["queued"] == 0, inbox.subjects()
    assert [subject(m) for m in inbox.to("coord@test.co")] == ["Sinfonía: su resumen del día (1 avisos)"]
    to_a = inbox.to("ta@test.co")
    assert sorted(subject(m) for m in to_a) == sorted(
        [
            "Sinfonía: Devuelta para ajustes: Medellín · Innovación pública",
            "Sinfonía: Revisada: Medellín · Innovación pública",
        ]
    )
    assert [subject(m) for m in inbox.to("tb@test.co")] == ["Sinfonía: Revisada: Baranoa · Innovación pública"]
    text, html = _bodies(next(m for m in to_a if "Devuelta" in subject(m)))
    assert "Falta el acta firmada" in text and "Falta el acta firmada" in html
    assert f"https://sinfonia.test/songs/{returned.id}" in text
    assert "<img" not in html.lower()  # no tracking pixels, no images at all
    assert "https://sinfonia.test/notifications/preferences" in text

    assert run() == {"sent": 0, "failed": 0, "queued": 0, "new": 0}
    assert len(inbox.messages) == 4
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 5  # + the digest row


def test_due_date_decision_and_survey_answer_reach_the_team(world, inbox):
    w = world
    song = make_song(w, state="in_progress", due=date(2024, 4, 30))
    change = lifecycle.request_due_date_change(w.territorial_a, song, date(2024, 5, 15), "La alcaldía aplazó")
    lifecycle.decide_due_date_change(w.coordinator, change, True)
    delivered = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    surveys.issue_survey_nonce(delivered)
    db.session.commit()
    surveys.submit_survey(surveys.survey_token(delivered), dict(q1=5, q2=5, q3=5, q4=5, q5=5))
    db.session.commit()  # as the request would (app/transaction.py)

    run()
    subjects = [subject(m) for m in inbox.to("ta@test.co")]
    assert sorted(subjects) == [
        "Sinfonía: Cambio de fecha aprobado: Medellín · Innovación pública",
        "Sinfonía: Encuesta respondida: Medellín · Innovación pública",
    ]
    assert inbox.to("tb@test.co") == []
    text, _html = _bodies(next(m for m in inbox.messages if "aprobado" in subject(m)))
    assert "15/05/2024" in text


def test_due_soon_tomorrow_and_capped_overdue_reminders(world, inbox):
    w = world
    on = MONDAY.date()
    in_five = make_song(w, state="planned", due=calendar.add_business_days(on, 5))
    tomorrow = make_song(w, state="in_progress", due=calendar.add_business_days(on, 1))
    late = make_song(w, state="in_progress", due=calendar.subtract_business_days(on, 1))
    ancient = make_song(w, state="planned", planned_start=date(2023, 1, 2), due=date(2023, 3, 1))
    run(MONDAY)
    kinds = {(n.kind, n.song_id) for n in db.session.scalars(select(Notification))}
    assert ("due_5", in_five.id) in kinds and ("due_1", tomorrow.id) in kinds and ("overdue", late.id) in kinds
    assert all(song_id != ancient.id for _kind, song_id in kinds)  # a year-old song is not nagged about
    team = [m for m in inbox.to("ta@test.co") if "Resumen semanal" not in subject(m)]
    assert len(team) == 3  # Monday: + the label digest

    # Every day for three weeks: the late song is reminded at 5 and 10 business days late, then never again.
    day = MONDAY
    for _ in range(21):
        day += timedelta(days=1)
        run(day)
    overdue = db.session.scalars(
        select(Notification.event_key).where(Notification.kind == "overdue", Notification.song_id == late.id)
    ).all()
    assert sorted(k.rsplit(":", 1)[1] for k in overdue) == ["1", "10", "5"]


def test_preferences_off_and_weekly_digest_are_honoured(world, inbox):
    w = world
    db.session.add_all(
        [
            NotificationPreference(user_id=w.territorial_a.id, kind="returned", enabled=False, delivery="immediate"),
            NotificationPreference(user_id=w.territorial_a.id, kind="reviewed", enabled=True, delivery="digest"),
        ]
    )
    first = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    second = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    third = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(w.coordinator, first, "Ajustes")
    reviews.review_song(w.coordinator, second, GOOD, None)
    reviews.review_song(w.coordinator, third, GOOD, None)
    db.session.commit()

    run(TUESDAY)
    assert inbox.to("ta@test.co") == []  # returned is off, reviewed waits for the digest
    in_app = db.session.scalars(select(Notification).where(Notification.user_id == w.territorial_a.id)).all()
    assert sorted(n.kind for n in in_app) == ["reviewed", "reviewed"]  # nothing for the kind turned off

    next_monday = TUESDAY + timedelta(days=6)
    run(next_monday)
    digests = [m for m in inbox.to("ta@test.co") if "resumen semanal (2 avisos)" in subject(m)]
    assert len(digests) == 1
    text, _html = _bodies(digests[0])
    assert text.count("Revisada: Medellín") == 2
    count = len(inbox.messages)
    run(next_monday + timedelta(hours=2))
    assert len(inbox.messages) == count  # the digest went once


def test_monday_digest_per_label_once_a_week(world, inbox):
    from app.domain import charts

    charts.recompute_charts(world.season, as_of=MONDAY.date())
    db.session.commit()  # as the CLI or the job would (app/transaction.py)
    run(MONDAY)
    weekly = [m for m in inbox.messages if "Resumen semanal de" in subject(m)]
    assert sorted(m["X-Envelope-To"] for m in weekly) == ["ta@test.co", "tb@test.co"]
    text, _html = _bodies(next(m for m in weekly if m["X-Envelope-To"] == "ta@test.co"))
    assert "Puesto" in text and "Canciones vencidas sin entregar: 0." in text
    run(MONDAY + timedelta(hours=3))
    run(TUESDAY)
    assert len([m for m in inbox.messages if "Resumen semanal de" in subject(m)]) == 2


def test_message_in_the_recipients_language(world, inbox):
    w = world
    w.territorial_a.locale = "en"
    song = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(w.coordinator, song, "Falta el acta")
    db.session.commit()
    run()
    (message,) = inbox.to("ta@test.co")
    assert subject(message) == "Sinfonía: Returned for changes: Medellín · Innovación pública"
    text, html = _bodies(message)
    assert "Coordination's comment: Falta el acta" in text
    assert 'lang="en"' in html


def test_a_dead_server_leaves_messages_queued_and_the_pages_work(app, client, auth, world, inbox):
    w = world
    song = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(w.coordinator, song, "Ajustes")
    db.session.commit()
    live_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    mail.init_app(app)

    result = run()
    assert result["queued"] == 1 and result["sent"] == 0
    n = db.session.scalar(select(Notification))
    assert n.mail_status == "pending" and n.mail_attempts == 1 and n.mail_error
    assert inbox.messages == []
    auth.login(w.territorial_a)
    page = client.get("/notifications")
    assert page.status_code == 200 and "Devuelta para ajustes" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200
    auth.login(w.admin)
    assert "se reintentará" in client.get("/").get_data(as_text=True)

    assert run()["sent"] == 0  # before the back-off: not retried yet
    app.config["MAIL_PORT"] = live_port
    mail.init_app(app)
    assert run(TUESDAY + timedelta(minutes=10))["sent"] == 1
    assert len(inbox.to("ta@test.co")) == 1
    db.session.refresh(n)
    assert n.mail_status == "sent"


def test_in_app_list_unread_count_and_preferences_page(client, auth, world, inbox):
    w = world
    song = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(w.coordinator, song, "Ajustes")
    db.session.commit()
    run()
    auth.login(w.territorial_a)
    page = client.get("/songs").get_data(as_text=True)
    assert '<span class="notif-count">1</span>' in page
    n = db.session.scalar(select(Notification))
    r = client.get(f"/notifications/{n.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/songs/{song.id}")
    assert 'class="notif-count"' not in client.get("/songs").get_data(as_text=True)

    auth.login(w.territorial_b)
    assert client.get(f"/notifications/{n.id}").status_code == 404  # not theirs

    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Devuelta para ajustes" in page
    form = {f"{k}-enabled": "on" for k in notifications.KINDS} | {
        f"{k}-delivery": "immediate" for k in notifications.KINDS
    }
    form.pop("returned-enabled")
    form["reviewed-delivery"] = "digest"
    assert client.post("/notifications/preferences", data=form).status_code == 302
    prefs = notifications.preferences(w.territorial_b)
    assert prefs["returned"]["enabled"] is False and prefs["reviewed"]["delivery"] == "digest"
    form["reviewed-delivery"] = "weekly?"
    assert client.post("/notifications/preferences", data=form).status_code == 422


def test_without_mail_settings_nothing_is_sent_but_the_app_shows_them(app, world, inbox):
    app.config["MAIL_SERVER"] = ""
    song = make_song(world, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(world.coordinator, song, "Ajustes")
    db.session.commit()
    assert run()["sent"] == 0
    assert inbox.messages == []
    n = db.session.scalar(select(Notification))
    assert n.mail_status == "none" and notifications.unread_count(world.territorial_a) == 1


def test_cli_send(runner, world, inbox):
    song = make_song(world, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    reviews.return_song(world.coordinator, song, "Ajustes")
    db.session.commit()
    result = runner.invoke(args=["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "correos enviados: 1" in result.output
    assert len(inbox.messages) == 1
