"""Issue 15: surveys reach the municipality, not the team (DESIGN.md §9).

An answer from a signed-in session of the song's label or of a staff role, from an address the
label's users used recently, or faster than a person reads five questions is stored but held:
it does not count (S stays empty) until a coordinator validates it; discarding it reopens the
link. Only a keyed hash of the address, the browser family and the answering time are kept.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from app.domain import audit, surveys
from app.domain.errors import PermissionDenied
from app.extensions import db
from app.models import AuditEvent, Song, Survey, User
from tests.factories import make_song
from tests.test_permissions_matrix import _evidence

ANSWERS = {"q1": "5", "q2": "5", "q3": "5", "q4": "5", "q5": "5"}


def linked_song(world, **kw) -> Song:
    kw.setdefault("state", "delivered")
    kw.setdefault("delivered_on", date(2024, 4, 1))
    song = make_song(world, **kw)
    surveys.issue_survey_nonce(song)
    db.session.commit()
    return song


def url(song: Song) -> str:
    return "/encuesta/" + surveys.survey_token(song)


def stamp(app, seconds_ago: int) -> str:
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=surveys.STARTED_SALT)
    return serializer.dumps(int(time.time()) - seconds_ago)


def survey_of(song: Song) -> Survey | None:
    db.session.expire_all()
    return db.session.scalar(select(Survey).where(Survey.song_id == song.id))


def national_coordinator(world) -> User:
    user = User(email="nacional@test.co", name="Nacional", role="coordinator", password_hash="x")
    db.session.add(user)
    db.session.commit()
    return user


@pytest.mark.parametrize("who", ["territorial_a", "manager", "coordinator", "admin"])
def test_an_answer_from_the_labels_or_a_staff_session_is_held(client, auth, world, who):
    song = linked_song(world)
    auth.login(getattr(world, who))
    assert client.post(url(song), data=ANSWERS).status_code == 200
    survey = survey_of(song)
    assert survey.held and survey.hold_reasons == "session" and survey.answered_by_id == getattr(world, who).id
    assert db.session.get(Song, song.id).satisfaction is None  # does not count yet


def test_another_labels_session_and_an_anonymous_browser_are_not_held(client, auth, world):
    song = linked_song(world)
    auth.login(world.territorial_b)
    client.post(url(song), data=ANSWERS)
    assert not survey_of(song).held and db.session.get(Song, song.id).satisfaction == 1.0


def test_an_address_the_label_used_recently_holds_the_answer(client, world):
    song = linked_song(world)
    other = linked_song(world)
    audit.record("login", "user", world.territorial_b.id, actor_id=world.territorial_b.id, ip="127.0.0.1")
    db.session.commit()
    client.post(url(other), data=ANSWERS)  # label B used this address, the song is label A's
    assert not survey_of(other).held
    audit.record("login", "user", world.territorial_a.id, actor_id=world.territorial_a.id, ip="127.0.0.1")
    db.session.commit()
    client.post(url(song), data=ANSWERS, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    survey = survey_of(song)
    assert survey.held and survey.hold_reasons == "address"


def test_faster_than_reading_five_questions_is_held(app, client, world):
    app.config["SURVEY_MIN_SECONDS"] = 20
    fast, slow, bare = linked_song(world), linked_song(world), linked_song(world)
    client.post(url(fast), data={**ANSWERS, "started": stamp(app, 5)})
    client.post(url(slow), data={**ANSWERS, "started": stamp(app, 90)})
    client.post(url(bare), data=ANSWERS)  # no stamp (a script that never opened the form)
    assert survey_of(fast).held and survey_of(fast).hold_reasons == "speed" and survey_of(fast).answer_seconds < 20
    assert not survey_of(slow).held and survey_of(slow).answer_seconds >= 90
    assert survey_of(bare).held
    # the form carries its own stamp
    assert 'name="started"' in client.get(url(linked_song(world))).get_data(as_text=True)


def test_only_a_keyed_hash_of_the_address_and_the_browser_family_are_kept(client, world):
    song = linked_song(world)
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
    client.post(url(song), data=ANSWERS, headers={"User-Agent": agent}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    survey = survey_of(song)
    assert survey.browser_family == "Chrome"
    assert survey.ip_hash == surveys.address_hash("10.1.2.3") and "10.1.2.3" not in survey.ip_hash
    assert len(survey.ip_hash) == 64


def test_history_says_answered_through_the_link_and_whether_held(client, auth, world):
    song = linked_song(world)
    auth.login(world.territorial_a)
    client.post(url(song), data=ANSWERS)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey_answered")).one()
    assert event.changes["channel"] == [None, "link"] and event.changes["held"] == [None, True]
    assert event.actor_id == world.territorial_a.id and event.ip is None  # the address is never kept
    auth.login(world.coordinator)
    html = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert "Encuesta respondida a través del enlace" in html and "Retenida" in html


def test_validating_a_held_answer_makes_it_count(client, auth, world):
    song = linked_song(world)
    auth.login(world.territorial_a)
    client.post(url(song), data=ANSWERS)
    auth.login(world.coordinator)
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["survey_status"] == "held"
    res = client.post(f"/encuesta-retenida/{song.id}/validar")
    assert res.status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, song.id).satisfaction == 1.0
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["survey_status"] == "validated"


def test_discarding_a_held_answer_reopens_the_link(client, auth, world):
    song = linked_song(world)
    auth.login(world.territorial_a)
    client.post(url(song), data=ANSWERS)
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/songs/{song.id}/survey/discard")
    assert res.status_code == 200 and res.get_json()["survey_status"] == "discarded"
    assert survey_of(song) is None
    auth.logout()
    assert client.get(url(song)).status_code == 200  # the municipality can answer again
    client.post(url(song), data=ANSWERS, environ_base={"REMOTE_ADDR": "10.9.9.9"})  # the team's address holds it
    assert not survey_of(song).held
    auth.login(world.coordinator)
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["survey_status"] == "answered"


def test_validation_is_refused_for_the_home_directorate_and_the_deliverer(client, auth, world):
    song = linked_song(world)
    auth.login(world.territorial_a)
    client.post(url(song), data=ANSWERS)
    world.coordinator.home_labels = [world.label_a]
    db.session.commit()
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/songs/{song.id}/survey/validate")
    assert res.status_code == 403 and "dirección de origen" in res.get_json()["error"]
    assert client.post(f"/encuesta-retenida/{song.id}/validar").status_code == 403
    assert client.post(f"/encuesta-retenida/{song.id}/descartar").status_code == 403
    national = national_coordinator(world)
    song.delivered_by_id = national.id
    db.session.commit()
    with pytest.raises(PermissionDenied, match="planeó o entregó"):
        surveys.validate_survey(national, db.session.get(Song, song.id))
    auth.login(world.manager)
    assert client.post(f"/encuesta-retenida/{song.id}/validar").status_code == 403
    assert survey_of(song).validated_at is None


def test_survey_status_values(app, client, auth, world):
    auth.login(world.coordinator)
    planned = make_song(world)
    assert client.get(f"/api/v1/songs/{planned.id}").get_json()["survey_status"] == "none"
    song = linked_song(world)
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["survey_status"] == "open"
    app.config["SURVEY_LINK_DAYS"] = 0
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["survey_status"] == "expired"
    app.config["SURVEY_LINK_DAYS"] = 30
    auth.logout()
    client.post(url(song), data=ANSWERS)
    auth.login(world.coordinator)
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["survey_status"] == "answered"
    assert set(surveys.SURVEY_STATUSES) == {"none", "open", "expired", "answered", "held", "validated", "discarded"}


# --------------------------------------------------------------------------- municipal contact


def test_delivery_records_the_municipal_contact(app, client, auth, world):
    song = make_song(world, state="in_progress")
    _evidence(app, song, world.territorial_a)
    db.session.commit()
    auth.login(world.territorial_a)
    body = {"to": "delivered", "delivered_on": "2024-04-01", "product": "Acta", "beneficiaries": 3}
    bad = client.post(
        f"/api/v1/songs/{song.id}/transitions", json={**body, "contact_name": "Luz", "contact_email": "x"}
    )
    assert bad.status_code == 422 and "contact_email" in bad.get_json()["details"]
    nothing = client.post(
        f"/api/v1/songs/{song.id}/transitions",
        json={**body, "contact_name": "Luz Díaz", "contact_position": "Secretaria"},
    )
    assert nothing.status_code == 422 and "contact_email" in nothing.get_json()["details"]
    res = client.post(
        f"/api/v1/songs/{song.id}/transitions",
        json={
            **body,
            "contact_name": "Luz Díaz",
            "contact_position": "Secretaria de Planeación",
            "contact_email": "planeacion@amalfi.gov.co",
        },
    )
    assert res.status_code == 200, res.get_json()
    auth.login(world.coordinator)
    contact = client.get(f"/api/v1/songs/{song.id}").get_json()["municipal_contact"]
    assert contact == {
        "name": "Luz Díaz",
        "position": "Secretaria de Planeación",
        "email": "planeacion@amalfi.gov.co",
        "phone": None,
    }
    auth.login(world.manager)  # personal data: not for managers
    assert "municipal_contact" not in client.get(f"/api/v1/songs/{song.id}").get_json()
    with app.test_request_context():
        invitation = surveys.invitation(db.session.get(Song, song.id))
    assert invitation["to"] == "planeacion@amalfi.gov.co" and "/encuesta/" in invitation["url"]


def test_link_issued_hook_is_called(world):
    seen = []
    surveys.on_link_issued(seen.append)
    try:
        song = linked_song(world)
    finally:
        surveys.LINK_ISSUED_HOOKS.remove(seen.append)
    assert seen == [song]


def test_retention_blanks_the_contact_and_the_answer_trace(world):
    from datetime import UTC, datetime

    from app.domain.privacy import anonymise_surveys

    song = linked_song(world)
    song.contact_name, song.contact_email = "Luz Díaz", "planeacion@amalfi.gov.co"
    db.session.add(
        Survey(
            song_id=song.id,
            q1=5,
            q2=5,
            q3=5,
            q4=5,
            q5=5,
            ip_hash="f" * 64,
            browser_family="Chrome",
            submitted_at=datetime(2024, 4, 2, tzinfo=UTC),
        )
    )
    db.session.commit()
    anonymise_surveys(30)
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    assert song.contact_name is None and song.contact_email is None
    assert song.survey.ip_hash is None and song.survey.browser_family is None and song.survey.q1 == 5
