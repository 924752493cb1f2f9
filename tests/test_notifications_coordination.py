"""Issue 18: what coordinators, a held survey's team and the municipal contact are told, once each,
through a REAL SMTP server on loopback (aiosmtpd; the fixtures of tests/test_notifications.py),
and the notification log's retention and transaction rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import calendar, notifications, review_queue, surveys
from app.extensions import db
from app.models import Notification, NotificationPreference, PendingChange, Song, User
from tests import test_notifications as mail_tests
from tests.factories import make_song

# The real SMTP server and its inbox (aiosmtpd on loopback), shared with tests/test_notifications.py.
smtp, app_config, inbox = mail_tests.smtp, mail_tests.app_config, mail_tests.inbox
TUESDAY, run, subject, _bodies = mail_tests.TUESDAY, mail_tests.run, mail_tests.subject, mail_tests._bodies

ON = TUESDAY.date()  # 9 April 2024
FIVE = {"q1": 5, "q2": 5, "q3": 5, "q4": 5, "q5": 5}


def immediate(user: User, *kinds: str) -> None:
    """The user asks for these kinds by mail at once (coordinators' kinds default to the daily digest)."""
    db.session.add_all(
        NotificationPreference(user_id=user.id, kind=k, enabled=True, delivery="immediate") for k in kinds
    )
    db.session.commit()


def off(user: User, *kinds: str) -> None:
    db.session.add_all(
        NotificationPreference(user_id=user.id, kind=k, enabled=False, delivery="immediate") for k in kinds
    )
    db.session.commit()


def kinds_of(user: User) -> list[str]:
    return sorted(db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


@pytest.fixture
def second(world):
    """A second coordinator whose home directorate is label A: never told about label A."""
    user = User(email="coord2@test.co", name="Coordinación Antioquia", role="coordinator", password_hash="x")
    user.home_labels.append(world.label_a)
    db.session.add(user)
    db.session.commit()
    return user


def test_a_review_assigned_tells_the_reviewer_once(world, inbox, second):
    w = world
    off(w.coordinator, "integrity_alert")
    song = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 5))
    assert review_queue.assign_reviewer(song) == w.coordinator  # label A: the second one may not
    db.session.commit()
    run()
    (message,) = inbox.to("coord@test.co")
    assert subject(message) == "Sinfonía: Revisión asignada a usted: Medellín · Innovación pública"
    text, _html = _bodies(message)
    assert "plazo de revisión hasta el 19/04/2024" in text and f"https://sinfonia.test/songs/{song.id}" in text
    assert inbox.to("coord2@test.co") == [] and inbox.to("ta@test.co") == []
    run(TUESDAY + timedelta(hours=1))
    assert len(inbox.messages) == 1


def test_a_coordinators_message_is_in_their_language(world, inbox):
    w = world
    w.coordinator.locale = "en"
    off(w.coordinator, "integrity_alert")
    song = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 5))
    review_queue.assign_reviewer(song)
    db.session.commit()
    run()
    (message,) = inbox.to("coord@test.co")
    assert subject(message) == "Sinfonía: Review assigned to you: Medellín · Innovación pública"
    assert "review due by 19/04/2024" in _bodies(message)[0]


def test_reviews_past_the_service_level_go_in_the_daily_digest_once(world, inbox, second):
    w = world
    off(w.coordinator, "integrity_alert")  # the backlog is an integrity alert too: its own test below
    off(second, "integrity_alert")
    delivered = calendar.subtract_business_days(ON, 11)  # one business day past the 10-day level
    assigned = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=delivered)
    assigned.assigned_reviewer_id = w.coordinator.id
    unassigned_b = make_song(w, artist=w.artist_b, state="delivered", due=date(2024, 4, 30), delivered_on=delivered)
    ancient = make_song(
        w, state="delivered", planned_start=date(2024, 1, 2), due=date(2024, 2, 1), delivered_on=date(2024, 1, 15)
    )
    db.session.commit()

    run()
    (digest,) = inbox.to("coord@test.co")
    assert subject(digest) == "Sinfonía: su resumen del día (2 avisos)"
    text, _html = _bodies(digest)
    assert text.count("Revisión fuera del plazo") == 2 and "venció el" in text
    # Label B's unassigned song reaches every coordinator who may review it; label A's is not the second's.
    assert [
        n.song_id
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == second.id, Notification.kind == "review_overdue")
        )
    ] == [unassigned_b.id]
    assert all(n.song_id != ancient.id for n in db.session.scalars(select(Notification)))  # not nagged about
    # The next days: still overdue, never told again (one notice per delivery).
    for days in (1, 2, 3):
        run(TUESDAY + timedelta(days=days))
    overdue = select(func.count()).where(Notification.kind == "review_overdue")
    assert db.session.scalar(overdue.where(Notification.user_id == w.coordinator.id)) == 2
    assert len(inbox.to("coord@test.co")) == 1


def test_four_eyes_waiting_tells_who_may_confirm_never_who_asked(world, inbox, second):
    w = world
    immediate(w.coordinator, "four_eyes_waiting")
    immediate(second, "four_eyes_waiting")
    off(w.coordinator, "integrity_alert")
    song = make_song(w, artist=w.artist_b, state="reviewed", delivered_on=date(2024, 3, 20), review=(3, 3, 3, 3))
    db.session.add(
        PendingChange(kind="review_raise", song_id=song.id, label_id=w.label_b.id, requested_by_id=second.id)
    )
    db.session.commit()
    run()
    (message,) = inbox.to("coord@test.co")
    assert subject(message) == "Sinfonía: Cambio por confirmar (cuatro ojos): Corrección que sube la revisión (R)"
    text, _html = _bodies(message)
    assert "Pedido por Coordinación Antioquia" in text and "https://sinfonia.test/reviews/pending" in text
    assert inbox.to("coord2@test.co") == []  # the one who asked
    run(TUESDAY + timedelta(hours=2))
    assert len(inbox.messages) == 1


def test_new_integrity_alerts_once_a_day_and_only_when_they_grow(world, inbox, second):
    w = world
    immediate(w.coordinator, "integrity_alert")
    immediate(second, "integrity_alert")
    for day in (1, 15):  # two songs for one municipality within 90 days: possible splitting
        make_song(w, state="planned", planned_start=date(2024, 4, day), due=date(2024, 5, 30))
    run()
    (message,) = inbox.to("coord@test.co")
    assert subject(message) == "Sinfonía: Alertas de integridad nuevas: Dirección Territorial Antioquia"
    assert "Posible fraccionamiento: 2 (antes 0)." in _bodies(message)[0]
    assert inbox.to("coord2@test.co") == []  # label A is the second's home directorate
    run(TUESDAY + timedelta(hours=3))
    run(TUESDAY + timedelta(days=1))  # the next day, nothing grew: nothing said
    assert len(inbox.messages) == 1
    make_song(w, state="planned", planned_start=date(2024, 4, 20), due=date(2024, 5, 30))
    run(TUESDAY + timedelta(days=2))
    assert len(inbox.to("coord@test.co")) == 2
    assert "Posible fraccionamiento: 3 (antes 2)." in _bodies(inbox.to("coord@test.co")[-1])[0]


def test_a_held_answer_tells_the_team_it_waits_for_validation(world, inbox):
    w = world
    off(w.coordinator, "integrity_alert")
    song = make_song(w, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    surveys.issue_survey_nonce(song)
    db.session.commit()
    context = surveys.AnswerContext(user=w.territorial_a, seconds=120)  # the label's own session
    assert surveys.submit_survey(surveys.survey_token(song), FIVE, context).held
    db.session.commit()
    run()
    (message,) = inbox.to("ta@test.co")
    assert subject(message) == "Sinfonía: Encuesta respondida pero retenida: Medellín · Innovación pública"
    assert "cuenta cuando la coordinación la valide" in _bodies(message)[0]
    assert kinds_of(w.territorial_a) == ["survey_held"]  # not also "answered"


def _contact_song(world) -> Song:
    song = make_song(world, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    song.contact_name, song.contact_email = "Luz Marina Restrepo", "secretaria.planeacion@amalfi.gov.co"
    surveys.issue_survey_nonce(song)  # as the delivery does: surveys.on_link_issued queues the invitation
    db.session.commit()
    return song


def test_the_municipal_contact_gets_the_invitation_and_one_reminder(world, inbox):
    w = world
    off(w.coordinator, "integrity_alert")
    song = _contact_song(w)
    assert db.session.scalar(select(func.count()).where(Notification.kind == "survey_invitation")) == 1
    now = datetime.now(UTC)
    run(now)
    (invitation,) = inbox.to("secretaria.planeacion@amalfi.gov.co")
    assert subject(invitation) == "¿Cómo le pareció la asistencia técnica en Medellín?"
    text, html = _bodies(invitation)
    assert "Hola, Luz Marina Restrepo:" in text
    assert "https://sinfonia.test/encuesta/" + surveys.survey_token(song) in text
    assert "Ley 1581 de 2012" in text and "https://sinfonia.test/privacidad" in text
    assert "preferences" not in text and "<img" not in html.lower()
    assert "Innovación pública" in text and "Asistencia de prueba" not in text  # no more than needed
    run(now + timedelta(days=1))
    assert len(inbox.messages) == 1

    for days in (8, 9, 20):
        run(now + timedelta(days=days))
    reminders = [m for m in inbox.to("secretaria.planeacion@amalfi.gov.co") if "Recordatorio" in subject(m)]
    assert len(reminders) == 1 and len(inbox.messages) == 2
    assert not db.session.scalars(select(Notification.user_id).where(Notification.email.is_not(None))).first()


def test_a_delivery_with_a_contact_queues_the_invitation_in_its_own_request(app, client, auth, world, inbox):
    from tests.test_permissions_matrix import _evidence

    w = world
    off(w.coordinator, "integrity_alert")
    song = make_song(w, state="in_progress")
    _evidence(app, song, w.territorial_a)
    db.session.commit()
    auth.login(w.territorial_a)
    body = {"to": "delivered", "delivered_on": "2024-04-01", "product": "Acta", "beneficiaries": 3}
    body |= {"contact_name": "Luz Díaz", "contact_email": "planeacion@amalfi.gov.co"}
    assert client.post(f"/api/v1/songs/{song.id}/transitions", json=body).status_code == 200
    db.session.expire_all()
    (queued,) = db.session.scalars(select(Notification).where(Notification.kind == "survey_invitation"))
    assert queued.mail_status == "pending" and queued.email == "planeacion@amalfi.gov.co"
    run(datetime.now(UTC))
    (invitation,) = inbox.to("planeacion@amalfi.gov.co")
    assert "Hola, Luz Díaz:" in _bodies(invitation)[0]


def test_no_reminder_once_answered_and_nothing_for_the_contact_without_mail(app, world, inbox):
    w = world
    off(w.coordinator, "integrity_alert")
    song = _contact_song(w)
    run()
    surveys.submit_survey(surveys.survey_token(song), FIVE)
    db.session.commit()
    run(datetime.now(UTC) + timedelta(days=8))
    assert [subject(m) for m in inbox.to("secretaria.planeacion@amalfi.gov.co")] == [
        "¿Cómo le pareció la asistencia técnica en Medellín?"
    ]

    app.config["MAIL_SERVER"] = ""  # without mail the team hands the link over: nothing is recorded
    other = _contact_song(w)
    run()
    assert db.session.scalar(select(func.count()).where(Notification.song_id == other.id)) == 0


def test_run_leaves_the_commit_to_its_caller(world, inbox):
    song = make_song(world, state="delivered", due=date(2024, 4, 30), delivered_on=date(2024, 4, 1))
    from app.domain import reviews

    reviews.return_song(world.coordinator, song, "Ajustes")
    db.session.commit()
    assert notifications.run(TUESDAY)["new"] >= 1
    db.session.rollback()  # nothing committed by run itself
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_purge_deletes_the_log_past_its_retention(app, runner, world):
    now = datetime.now(UTC)
    for age, key in ((400, "old"), (100, "recent"), (1, "new")):
        db.session.add(
            Notification(
                kind="returned",
                event_key=key,
                recipient_key=f"user:{world.territorial_a.id}",
                user_id=world.territorial_a.id,
                payload={},
                created_at=now - timedelta(days=age),
            )
        )
    db.session.commit()
    assert notifications.retention_days() == 180
    result = runner.invoke(args=["notifications", "purge"])
    assert result.exit_code == 0, result.output
    assert "borradas (más de 180 días): 1" in result.output
    assert sorted(db.session.scalars(select(Notification.event_key))) == ["new", "recent"]
    app.config["NOTIFICATIONS_RETENTION_DAYS"] = 5  # never below what de-duplication needs (38 days)
    assert notifications.purge() == 1
    assert list(db.session.scalars(select(Notification.event_key))) == ["new"]


def test_coordinators_choose_their_kinds_and_a_daily_digest(client, auth, world):
    auth.login(world.coordinator)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Revisión asignada a usted" in page and "Alertas de integridad nuevas" in page
    assert "resumen diario" in page and "Invitación a la encuesta" not in page
    prefs = notifications.preferences(world.coordinator)
    assert prefs["review_overdue"]["delivery"] == "digest" and prefs["review_assigned"]["delivery"] == "immediate"
