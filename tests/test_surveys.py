"""Municipal satisfaction surveys through signed links (issue 6).

Single use, expiry, tampering, regenerated links, the unique constraint under a
race, S/Q after a survey, personal data, the QR code and the song-page partial.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from flask import render_template_string
from flask_login import login_user
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain import surveys
from app.domain.surveys import SurveyUnavailable, issue_survey_nonce, submit_survey, survey_token
from app.extensions import db
from app.models import AuditEvent, Song, Survey
from app.models.base import utcnow
from tests.factories import make_song

ANSWERS = {"q1": "5", "q2": "4", "q3": "4", "q4": "5", "q5": "4", "comment": "Nos sirvió mucho"}


def linked_song(world, **kw) -> Song:
    kw.setdefault("state", "delivered")
    kw.setdefault("delivered_on", date(2024, 4, 1))
    song = make_song(world, **kw)
    issue_survey_nonce(song)
    db.session.commit()
    return song


def url_for_song(song: Song) -> str:
    return "/encuesta/" + survey_token(song)


def survey_count() -> int:
    return db.session.scalar(select(func.count(Survey.id)))


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def test_survey_page_shows_only_this_assistance(client, world):
    song = linked_song(world, municipality=world.mun_pdet, album=world.album_paz)
    make_song(world, artist=world.artist_b, state="delivered", delivered_on=date(2024, 4, 1))  # Baranoa
    res = client.get(url_for_song(song))
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "Amalfi" in html and "Consolidación de la paz total" in html and "Equipo Andino" in html
    assert "01/04/2024" in html
    assert "Baranoa" not in html and "Equipo Costa" not in html
    assert html.count('type="radio"') == 25 and html.count("<fieldset") >= 5
    assert "Ley 1581 de 2012" in html and "suprimir" in html
    assert "<script>" not in html and res.headers["Cache-Control"] == "no-store"


def test_submit_stores_survey_terms_and_audit_without_personal_data(client, world):
    # Reviewed (4,4,4,4): R = 0.75, T = 1, E = 1, album weight 1.
    song = linked_song(world, state="reviewed", review=(4, 4, 4, 4))
    assert song.points == 85
    data = {**ANSWERS, "respondent_name": "Ana Pérez", "respondent_position": "Secretaria", "consent": "y"}
    res = client.post(url_for_song(song), data=data)
    assert res.status_code == 200 and "Gracias" in res.get_data(as_text=True)
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    survey = song.survey
    assert (survey.q1, survey.q2, survey.q3, survey.q4, survey.q5) == (5, 4, 4, 5, 4)
    assert survey.respondent_name == "Ana Pérez" and survey.consent is True
    # mean 4.4 → S = 0.85; Q = 0.6·0.75 + 0.4·0.85 = 0.79; points = round(100·(0.6·0.79 + 0.4·1)) = 87
    assert song.satisfaction == pytest.approx(0.85)
    assert song.quality == pytest.approx(0.79)
    assert song.points == 87
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey_answered")).one()
    assert event.entity_id == song.id and event.actor_id is None and event.ip is None
    assert event.changes["satisfaction"] == [None, 0.85]
    assert "Ana Pérez" not in str(event.changes) and "Secretaria" not in str(event.changes)
    assert "Nos sirvió" not in str(event.changes)


def test_delivered_song_survey_sets_s_but_no_q(client, world):
    song = linked_song(world)
    assert client.post(url_for_song(song), data={**ANSWERS, "q2": "1", "q3": "1"}).status_code == 200
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    # mean (5+1+1+5+4)/5 = 3.2 → S = 0.55; not reviewed yet → no Q, no points
    assert song.satisfaction == pytest.approx(0.55)
    assert song.quality is None and song.points is None


def test_name_without_consent_is_refused_and_nothing_written(client, world):
    song = linked_song(world)
    res = client.post(url_for_song(song), data={**ANSWERS, "respondent_name": "Ana"})
    assert res.status_code == 422 and "autorización" in res.get_data(as_text=True)
    res = client.post(url_for_song(song), data={**ANSWERS, "q3": "9"})
    assert res.status_code == 422
    assert survey_count() == 0
    # anonymous answer (no name, no consent) is fine
    assert client.post(url_for_song(song), data=ANSWERS).status_code == 200
    assert db.session.scalars(select(Survey)).one().respondent_name is None


def test_single_use(client, world):
    song = linked_song(world)
    url = url_for_song(song)
    assert client.post(url, data=ANSWERS).status_code == 200
    before = audit_count()
    res = client.post(url, data={**ANSWERS, "q1": "1"})
    assert res.status_code == 409 and "ya fue respondida" in res.get_data(as_text=True)
    assert client.get(url).status_code == 409
    assert survey_count() == 1 and audit_count() == before
    assert db.session.scalars(select(Survey)).one().q1 == 5


def test_tampered_token_is_invalid_and_writes_nothing(client, world):
    song = linked_song(world)
    token = survey_token(song)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    before = audit_count()
    for bad in (tampered, "x" * 40, "a.b.c"):
        res = client.post("/encuesta/" + bad, data=ANSWERS)
        assert res.status_code == 404 and "no es válido" in res.get_data(as_text=True)
        assert "Medellín" not in res.get_data(as_text=True)
    assert survey_count() == 0 and audit_count() == before


def test_signed_token_for_other_song_or_wrong_nonce_is_invalid(client, app, world):
    song = linked_song(world)
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=surveys.SALT)
    res = client.get("/encuesta/" + serializer.dumps({"s": song.id, "n": "0" * 32}))
    assert res.status_code == 404
    res = client.get("/encuesta/" + serializer.dumps({"s": 987654, "n": song.survey_nonce}))
    assert res.status_code == 404


def test_expired_link_by_token_age(client, app, world):
    song = linked_song(world)

    class OldSigner(TimestampSigner):  # signs as if 31 days ago (itsdangerous max_age semantics)
        def get_timestamp(self):
            return int(time.time()) - 31 * 86400

    class Old(URLSafeTimedSerializer):
        default_signer = OldSigner

    token = Old(app.config["SECRET_KEY"], salt=surveys.SALT).dumps({"s": song.id, "n": song.survey_nonce})
    res = client.post("/encuesta/" + token, data=ANSWERS)
    assert res.status_code == 410 and "venció" in res.get_data(as_text=True)
    assert survey_count() == 0


def test_expired_link_by_issue_date(client, app, world):
    song = linked_song(world)
    url = url_for_song(song)
    app.config["SURVEY_LINK_DAYS"] = 0
    assert client.get(url).status_code == 410
    app.config["SURVEY_LINK_DAYS"] = 30
    song.survey_issued_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert client.post(url_for_song(song), data=ANSWERS).status_code == 410
    assert survey_count() == 0


def test_regenerated_link_invalidates_old_one(client, auth, world):
    song = linked_song(world)
    old = url_for_song(song)
    auth.login(world.coordinator)
    res = client.post(f"/encuesta-enlace/{song.id}/nuevo", data={"next": "//evil.example/x"})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/songs/{song.id}")
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    auth.logout()
    assert client.post(old, data=ANSWERS).status_code == 404
    assert survey_count() == 0
    assert client.post(url_for_song(song), data=ANSWERS).status_code == 200


def test_only_coordinators_regenerate(client, auth, world):
    song = linked_song(world)
    nonce = song.survey_nonce
    auth.login(world.territorial_a)
    assert client.post(f"/encuesta-enlace/{song.id}/nuevo").status_code == 403
    db.session.expire_all()
    assert db.session.get(Song, song.id).survey_nonce == nonce
    # the team may create the first link of a delivered song
    fresh = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    assert client.post(f"/encuesta-enlace/{fresh.id}/nuevo").status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, fresh.id).survey_nonce


@pytest.mark.parametrize("state", ["returned", "in_progress"])
def test_only_delivered_or_reviewed_songs_accept_answers(client, world, state):
    song = linked_song(world)
    url = url_for_song(song)
    song.state = state
    db.session.commit()
    res = client.post(url, data=ANSWERS)
    assert res.status_code == 409 and "no está disponible" in res.get_data(as_text=True)
    assert survey_count() == 0


def test_unique_constraint_decides_a_race_in_the_domain(app, world):
    """The song was read (no survey yet), then another transaction stored one: the loser gets 'answered'."""
    song = linked_song(world)
    token = survey_token(song)
    assert song.survey is None  # loaded now, as a request would before the other commit
    with db.engine.begin() as conn:
        conn.execute(Survey.__table__.insert().values(song_id=song.id, q1=1, q2=1, q3=1, q4=1, q5=1, consent=False))
    with pytest.raises(SurveyUnavailable) as exc:
        submit_survey(token, {"q1": 5, "q2": 5, "q3": 5, "q4": 5, "q5": 5})
    assert exc.value.reason == "answered"
    assert survey_count() == 1
    assert db.session.scalars(select(Survey)).one().q1 == 1


def test_two_direct_inserts_only_one_survives(app, world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    db.session.add(Survey(song_id=song.id, q1=3, q2=3, q3=3, q4=3, q5=3))
    db.session.commit()
    db.session.add(Survey(song_id=song.id, q1=4, q2=4, q3=4, q4=4, q5=4))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert survey_count() == 1


def test_two_simultaneous_submissions(app, world):
    song = linked_song(world)
    url = url_for_song(song)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def submit(q1: str):
        client = app.test_client()
        barrier.wait()
        results.append(client.post(url, data={**ANSWERS, "q1": q1}).status_code)

    threads = [threading.Thread(target=submit, args=(q,)) for q in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [200, 409]
    db.session.expire_all()
    assert survey_count() == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "survey_answered")) == 1


def test_qr_code_svg(client, auth, world):
    song = linked_song(world)
    auth.login(world.territorial_a)
    res = client.get(f"/encuesta-qr/{song.id}.svg")
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"
    assert b"<svg" in res.data and b"<path" in res.data
    auth.login(world.territorial_b)  # another label's song: 403 (one status per refusal, permissions.py)
    assert client.get(f"/encuesta-qr/{song.id}.svg").status_code == 403
    auth.logout()
    assert client.get(f"/encuesta-qr/{song.id}.svg").status_code in (302, 401)
    auth.login(world.coordinator)
    assert client.get(f"/encuesta-imprimir/{song.id}").status_code == 200


def render_partial(app, user, song):
    with app.test_request_context(f"/songs/{song.id}"):
        login_user(user)
        return render_template_string('{% include "surveys/_song_survey.html" ignore missing %}', song=song)


def test_song_survey_partial(app, world):
    song = linked_song(world)
    html = render_partial(app, world.coordinator, song)
    assert "/encuesta/" in html and f"/encuesta-qr/{song.id}.svg" in html and "Vence el" in html
    assert "Generar enlace nuevo" in html and "data-print" in html
    assert "Generar enlace nuevo" not in render_partial(app, world.territorial_a, song)
    answered = make_song(
        world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4), survey=(5, 4, 4, 5, 4)
    )
    answered.survey.respondent_name, answered.survey.comment = "Ana Pérez", "Muy útil"
    db.session.commit()
    html = render_partial(app, world.coordinator, answered)
    assert "Respondida" in html and "Muy útil" in html and "Ana Pérez" in html and "0,85" in html
    html = render_partial(app, world.manager, answered)
    assert "Muy útil" in html and "Ana Pérez" not in html
    assert render_partial(app, world.coordinator, make_song(world)).strip() == ""
