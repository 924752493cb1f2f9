"""Quality review by coordinators (issue 6): domain rules, pages, API, the song-page partial.

Expected numbers are computed by hand from DESIGN.md §4 in each test.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import func, select

from app.domain import reviews
from app.domain.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, Review, Song
from tests.factories import make_song

GOOD = {"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}


def delivered(world, **kw):
    kw.setdefault("delivered_on", kw.get("due", date(2024, 4, 1)))
    return make_song(world, state="delivered", **kw)


def audits(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


# --- domain -----------------------------------------------------------------------------------


def test_review_sets_state_and_hand_computed_terms(world):
    # mun_plain (cat 1, E = 1.0), album INN (w 1.0), delivered on the due date: T = 1.
    song = delivered(world)
    review = reviews.review_song(world.coordinator, song, GOOD, "Buen trabajo")
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.state == "reviewed"
    assert review.evidence_quality == 4 and review.comment == "Buen trabajo"
    # R = (4 - 1) / 4 = 0.75; no survey: Q = R; points = round(100 · (0.6·0.75 + 0.4·1) · 1 · 1) = 85
    assert song.review_score == pytest.approx(0.75)
    assert song.quality == pytest.approx(0.75)
    assert song.points == 85
    event = audits("song_reviewed")[-1]
    assert event.actor_id == world.coordinator.id
    assert event.changes["state"] == ["delivered", "reviewed"]
    assert event.changes["evidence_quality"] == [None, 4]
    assert event.changes["points"] == [None, 85]


def test_review_points_with_equity_and_album_weight(world):
    # PDET + category 6: E = min(1.5, 1 + 0.25 + 0.15) = 1.4; album PAZ weight 1.2; all 5s: R = 1, T = 1.
    song = delivered(world, municipality=world.mun_pdet, album=world.album_paz)
    reviews.review_song(world.coordinator, song, dict.fromkeys(GOOD, 5), None)
    db.session.commit()
    assert db.session.get(Song, song.id).points == 168  # round(100 · 1 · 1.4 · 1.2)


def test_weak_review_earns_no_points(world):
    song = delivered(world)
    reviews.review_song(world.coordinator, song, {"pertinence": 3, "rigour": 3, "usefulness": 2, "evidence": 2}, None)
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.review_score == pytest.approx(0.375)  # mean 2.5
    assert song.points == 0 and song.state == "reviewed"


def test_segregation_of_duties_own_label_refused(world):
    world.coordinator.home_labels = [world.label_a]
    db.session.commit()
    own = delivered(world)
    other = delivered(world, artist=world.artist_b)
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        reviews.review_song(world.coordinator, own, GOOD, None)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        reviews.return_song(world.coordinator, own, "Ajustar")
    db.session.rollback()
    assert db.session.get(Song, own.id).state == "delivered"
    assert db.session.scalar(select(func.count(Review.id))) == 0
    reviews.review_song(world.coordinator, other, GOOD, None)
    db.session.commit()
    assert db.session.get(Song, other.id).state == "reviewed"


@pytest.mark.parametrize("who", ["territorial_a", "manager", "admin"])
def test_only_coordinators_review(world, who):
    song = delivered(world)
    with pytest.raises(PermissionDenied, match="coordinación"):
        reviews.review_song(getattr(world, who), song, GOOD, None)


@pytest.mark.parametrize("state", ["planned", "in_progress", "returned", "cancelled"])
def test_only_delivered_songs_are_reviewable(world, state):
    song = make_song(world, state=state)
    with pytest.raises(Conflict, match="entregadas"):
        reviews.review_song(world.coordinator, song, GOOD, None)
    with pytest.raises(Conflict):
        reviews.return_song(world.coordinator, song, "Ajustar")


def test_scores_validated_per_field(world):
    song = delivered(world)
    with pytest.raises(ValidationFailed) as exc:
        reviews.review_song(world.coordinator, song, {"pertinence": 0, "rigour": "x", "usefulness": True}, None)
    assert set(exc.value.details) == {"pertinence", "rigour", "usefulness", "evidence"}
    assert db.session.get(Song, song.id).state == "delivered"


def test_return_requires_comment_and_counts_as_not_delivered(world):
    song = delivered(world)
    assert song.timeliness == pytest.approx(1.0)
    with pytest.raises(ValidationFailed):
        reviews.return_song(world.coordinator, song, "   ")
    db.session.rollback()
    reviews.return_song(world.coordinator, song, "Falta el acta firmada")
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.state == "returned" and song.return_comment == "Falta el acta firmada"
    # returned counts as not delivered: no T, no late days, no points
    assert song.timeliness is None and song.late_business_days is None and song.points is None
    event = audits("song_returned")[-1]
    assert event.changes["state"] == ["delivered", "returned"]
    assert event.changes["return_comment"] == [None, "Falta el acta firmada"]


def test_correct_review_audits_before_after_and_restores_terms(world):
    song = delivered(world)
    reviews.review_song(world.coordinator, song, GOOD, "ok")
    db.session.commit()
    reviews.correct_review(world.coordinator, song, {"pertinence": 2, "rigour": 3, "usefulness": 3, "evidence": 2}, "x")
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.review.pertinence == 2 and song.review_score == pytest.approx(0.375) and song.points == 0
    event = audits("review_corrected")[-1]
    assert event.changes["pertinence"] == [4, 2]
    assert event.changes["rigour"] == [4, 3]
    assert event.changes["usefulness"] == [4, 3]
    assert event.changes["evidence_quality"] == [4, 2]
    assert event.changes["review_score"] == [0.75, 0.375]
    assert event.changes["points"] == [85, 0]
    assert event.changes["comment"] == ["ok", "x"]


def test_correct_needs_reviewed_song(world):
    song = delivered(world)
    with pytest.raises(Conflict):
        reviews.correct_review(world.coordinator, song, GOOD, None)


# --- pages ------------------------------------------------------------------------------------


def test_queue_oldest_first_filters_and_htmx_partial(client, auth, world):
    newer = delivered(world, due=date(2024, 5, 2))
    older = delivered(world, artist=world.artist_b, due=date(2024, 4, 2))
    make_song(world, state="planned")
    auth.login(world.coordinator)
    html = client.get("/reviews").get_data(as_text=True)
    assert html.index(f"/reviews/{older.id}") < html.index(f"/reviews/{newer.id}")
    assert "Baranoa" in html and "Medellín" in html
    res = client.get(f"/reviews?label={world.label_a.id}", headers={"HX-Request": "true"})
    part = res.get_data(as_text=True)
    assert res.status_code == 200 and "<html" not in part
    assert f"/reviews/{newer.id}" in part and f"/reviews/{older.id}" not in part
    assert "Dirección Territorial Atlántico" in part  # counts per label keep the other labels visible
    res = client.get(f"/reviews?department={world.dep_b.id}&album={world.album_paz.id}")
    assert "No hay canciones entregadas" in res.get_data(as_text=True)


def test_queue_pages_count_only_the_filtered_label(client, auth, world, app):
    """The queue's page count comes from the per-label counts (no second count query)."""
    app.config["PAGE_SIZE"] = 2
    for day in (2, 3, 4):
        delivered(world, due=date(2024, 4, day))
    for day in (2, 3, 4, 5, 8):
        delivered(world, artist=world.artist_b, due=date(2024, 4, day))
    auth.login(world.coordinator)
    assert "Página 1 de 4" in client.get("/reviews").get_data(as_text=True)
    assert "Página 1 de 2" in client.get(f"/reviews?label={world.label_a.id}").get_data(as_text=True)
    last = client.get(f"/reviews?label={world.label_b.id}&page=3").get_data(as_text=True)
    assert "Página 3 de 3" in last and 'rel="next"' not in last


@pytest.mark.parametrize("who", ["territorial_a", "manager"])
def test_queue_is_for_coordinators(client, auth, world, who):
    auth.login(getattr(world, who))
    assert client.get("/reviews").status_code == 403


def test_review_form_posts_and_redirects(client, auth, world):
    song = delivered(world)
    auth.login(world.coordinator)
    page = client.get(f"/reviews/{song.id}").get_data(as_text=True)
    assert "<fieldset" in page and "<legend>Pertinencia" in page and "Devolver para ajustes" in page
    res = client.post(f"/reviews/{song.id}", data={"pertinence": "4", "rigour": "4", "usefulness": "4"})
    assert res.status_code == 422 and db.session.get(Song, song.id).state == "delivered"
    res = client.post(f"/reviews/{song.id}", data={**{k: str(v) for k, v in GOOD.items()}, "comment": "Bien"})
    assert res.status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, song.id).points == 85


def test_return_form_requires_comment(client, auth, world):
    song = delivered(world)
    auth.login(world.coordinator)
    assert client.post(f"/reviews/{song.id}/return", data={"return_comment": ""}).status_code == 422
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "delivered"
    assert client.post(f"/reviews/{song.id}/return", data={"return_comment": "Falta evidencia"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "returned"


def test_review_page_refuses_own_label(client, auth, world):
    world.coordinator.home_labels = [world.label_a]
    db.session.commit()
    song = delivered(world)
    auth.login(world.coordinator)
    res = client.post(f"/reviews/{song.id}", data={k: str(v) for k, v in GOOD.items()})
    assert res.status_code == 403 and "dirección de origen" in res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "delivered"


def test_survey_results_hide_personal_data_from_managers(client, auth, world):
    song = make_song(
        world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4), survey=(5, 5, 5, 5, 5)
    )
    song.survey.respondent_name, song.survey.respondent_position = "Ana Pérez", "Secretaria de Planeación"
    song.survey.comment = "Muy útil"
    db.session.commit()
    auth.login(world.coordinator)
    html = client.get("/reviews/surveys").get_data(as_text=True)
    assert "Ana Pérez" in html and "Muy útil" in html
    auth.login(world.manager)
    res = client.get("/reviews/surveys")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Muy útil" in html
    assert "Ana Pérez" not in html and "Secretaria de Planeación" not in html
    auth.login(world.territorial_a)
    assert client.get("/reviews/surveys").status_code == 403


# --- partial ----------------------------------------------------------------------------------


def render_partial(app, user, song, name):
    with app.test_request_context(f"/songs/{song.id}"):
        login_user(user)
        return render_template_string('{% include "' + name + '" ignore missing %}', song=song)


def test_song_review_partial(app, world):
    song = make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(5, 4, 3, 2))
    html = render_partial(app, world.coordinator, song, "reviews/_song_review.html")
    assert "Corregir revisión" in html and "Coordinación" in html
    for score in ("5 / 5", "4 / 5", "3 / 5", "2 / 5"):
        assert score in html
    assert "Corregir revisión" not in render_partial(app, world.territorial_a, song, "reviews/_song_review.html")
    pending = delivered(world)
    html = render_partial(app, world.coordinator, pending, "reviews/_song_review.html")
    assert f"/reviews/{pending.id}" in html and "Devolver para ajustes" in html


# --- API --------------------------------------------------------------------------------------


def test_api_review_created_then_corrected(client, auth, world):
    song = delivered(world)
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/songs/{song.id}/review", json={**GOOD, "comment": "ok"})
    assert res.status_code == 201
    body = res.get_json()
    assert body["created"] is True and body["review"]["evidence"] == 4
    assert body["song"]["state"] == "reviewed" and body["song"]["R"] == pytest.approx(0.75)
    assert body["song"]["Q"] == pytest.approx(0.75) and body["song"]["points"] == 85
    res = client.post(f"/api/v1/songs/{song.id}/review", json={**GOOD, "pertinence": 2})
    assert res.status_code == 200 and res.get_json()["created"] is False
    assert res.get_json()["song"]["R"] == pytest.approx((3.5 - 1) / 4)


def test_api_review_errors(client, auth, world):
    song = delivered(world)
    planned = make_song(world)
    auth.login(world.territorial_a)
    assert client.post(f"/api/v1/songs/{song.id}/review", json=GOOD).status_code == 403
    auth.login(world.manager)
    assert client.post(f"/api/v1/songs/{song.id}/review", json=GOOD).status_code == 403
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/songs/{planned.id}/review", json=GOOD)
    assert res.status_code == 409 and "entregadas" in res.get_json()["error"]
    res = client.post(f"/api/v1/songs/{song.id}/review", data="{no json", content_type="application/json")
    assert res.status_code == 400
    res = client.post(f"/api/v1/songs/{song.id}/review", json={**GOOD, "rigour": 7})
    assert res.status_code == 422 and "rigour" in res.get_json()["details"]
    assert client.post("/api/v1/songs/999999/review", json=GOOD).status_code == 404
    world.coordinator.home_labels = [world.label_a]
    db.session.commit()
    res = client.post(f"/api/v1/songs/{song.id}/review", json=GOOD)
    assert res.status_code == 403 and "dirección de origen" in res.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "delivered"


def test_correction_page_is_prefilled_and_saves(client, auth, world):
    song = make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(5, 4, 3, 2))
    auth.login(world.coordinator)
    html = client.get(f"/reviews/{song.id}").get_data(as_text=True)
    assert "Corregir revisión" in html and "Devolver para ajustes" not in html
    assert '<input checked id="pertinence-4" name="pertinence"' in html  # 5 (current score) pre-selected
    assert '<input checked id="evidence-1" name="evidence"' in html  # 2
    res = client.post(f"/reviews/{song.id}", data={k: "3" for k in GOOD})
    assert res.status_code == 302
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    assert song.review.pertinence == 3 and song.review_score == pytest.approx(0.5)
    # R = 0.5 is approved (mean 3): points = round(100 · (0.6·0.5 + 0.4·1)) = 70
    assert song.points == 70
    assert audits("review_corrected")[-1].changes["pertinence"] == [5, 3]


def test_too_long_comment_is_refused(world):
    song = delivered(world)
    with pytest.raises(ValidationFailed):
        reviews.review_song(world.coordinator, song, GOOD, "x" * 5001)
    with pytest.raises(ValidationFailed):
        reviews.return_song(world.coordinator, song, "x" * 5001)


# --------------------------------------------------------------------------- one rule, one status


@pytest.mark.parametrize("state", ["planned", "in_progress", "returned", "cancelled"])
def test_returning_a_song_that_is_not_delivered_is_409_on_every_path(client, auth, world, state):
    """The same rule answers the same: the API's transition, the review page and the domain."""
    song = make_song(world, artist=world.artist_b, state=state)
    auth.login(world.coordinator)
    api = client.post(f"/api/v1/songs/{song.id}/transitions", json={"to": "returned", "comment": "Falta el acta"})
    assert api.status_code == 409, api.get_json()
    page = client.post(f"/reviews/{song.id}/return", data={"return_comment": "Falta el acta"})
    assert page.status_code == 409
    from app.domain import lifecycle

    with pytest.raises(Conflict):
        lifecycle.transition_song(world.coordinator, song, "returned", comment="Falta el acta")
    with pytest.raises(Conflict):
        reviews.return_song(world.coordinator, song, "Falta el acta")
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == state
