"""Issue 15: four eyes (DESIGN.md §9). A review correction that raises R and a new survey link
after the old one expired wait, pending and visible, until a second coordinator confirms."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain import four_eyes, reviews, surveys
from app.domain.errors import PermissionDenied
from app.extensions import db
from app.models import PendingChange, Song, User
from app.models.base import utcnow
from tests.factories import make_song

HIGH = {"pertinence": 5, "rigour": 5, "usefulness": 5, "evidence": 5}
LOW = {"pertinence": 2, "rigour": 2, "usefulness": 2, "evidence": 2}


def second(world, email="dos@test.co", *home) -> User:
    user = User(email=email, name="Segunda", role="coordinator", password_hash="x")
    user.home_labels = list(home)
    db.session.add(user)
    db.session.commit()
    return user


def reviewed(world, scores=(3, 3, 3, 3)) -> Song:
    return make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=scores)


def test_a_raising_correction_is_pending_until_a_second_coordinator_confirms(world):
    song = reviewed(world)
    r_before = song.review_score
    review = reviews.correct_review(world.coordinator, song, HIGH, "Mejor de lo que pensé")
    db.session.commit()
    assert review.pending_change is not None
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    assert song.review_score == r_before and song.review.pertinence == 3  # nothing moved yet
    change = db.session.get(PendingChange, review.pending_change.id)
    with pytest.raises(PermissionDenied, match="cuatro ojos"):
        four_eyes.decide(world.coordinator, change, True)  # not the one who asked
    db.session.rollback()
    four_eyes.decide(second(world), db.session.get(PendingChange, change.id), True)
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.review_score == 1.0 and song.review.reviewer_id == world.coordinator.id


def test_a_lowering_correction_applies_at_once(world):
    song = reviewed(world)
    review = reviews.correct_review(world.coordinator, song, LOW, None)
    db.session.commit()
    assert review.pending_change is None and db.session.get(Song, song.id).review.pertinence == 2


def test_the_confirmer_is_outside_the_home_directorate_and_may_review_the_song(world):
    song = reviewed(world)
    reviews.correct_review(world.coordinator, song, HIGH, None)
    db.session.commit()
    change = db.session.scalar(db.select(PendingChange))
    home = second(world, "home@test.co", world.label_a)
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        four_eyes.decide(home, change, True)
    db.session.rollback()
    planner = second(world, "planner@test.co")
    song = db.session.get(Song, song.id)
    song.created_by_id = planner.id
    db.session.commit()
    with pytest.raises(PermissionDenied, match="planeó o entregó"):
        four_eyes.decide(planner, db.session.get(PendingChange, change.id), True)


def test_rejected_changes_change_nothing(world):
    song = reviewed(world)
    reviews.correct_review(world.coordinator, song, HIGH, None)
    db.session.commit()
    change = db.session.scalar(db.select(PendingChange))
    four_eyes.decide(second(world), change, False, "No se justifica")
    db.session.commit()
    assert db.session.get(Song, song.id).review.pertinence == 3 and change.status == "rejected"


def test_the_ui_and_api_show_and_confirm_pending_changes(client, auth, world):
    song = reviewed(world)
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/songs/{song.id}/review", json=HIGH)
    assert res.status_code == 202 and res.get_json()["pending_change"]["kind"] == "review_raise"
    change_id = res.get_json()["pending_change"]["id"]
    page = client.get("/reviews/pending").get_data(as_text=True)
    assert "Corrección que sube la revisión" in page and "lo confirma una segunda persona" in page
    res = client.post(f"/api/v1/pending-changes/{change_id}", json={"confirm": True})
    assert res.status_code == 403
    other = second(world)
    auth.login(other)
    assert client.get("/api/v1/pending-changes").get_json()["items"][0]["id"] == change_id
    res = client.post(f"/reviews/pending/{change_id}", data={"decision": "confirm"})
    assert res.status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, song.id).review_score == 1.0


def test_regenerating_an_expired_link_needs_a_second_coordinator(client, auth, world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    surveys.issue_survey_nonce(song)
    song.survey_issued_at = utcnow() - timedelta(days=60)
    db.session.commit()
    nonce = song.survey_nonce
    auth.login(world.coordinator)
    res = client.post(f"/encuesta-enlace/{song.id}/nuevo")
    assert res.status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, song.id).survey_nonce == nonce  # still the expired link
    change = db.session.scalar(db.select(PendingChange).where(PendingChange.kind == "survey_regenerate"))
    assert change is not None and change.status == "pending"
    four_eyes.decide(second(world), change, True)
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.survey_nonce != nonce and surveys.survey_status(song) == "open"


def test_a_live_link_is_regenerated_at_once(world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    surveys.issue_survey_nonce(song)
    db.session.commit()
    nonce = song.survey_nonce
    assert surveys.regenerate_survey_link(world.coordinator, song) is None
    assert song.survey_nonce != nonce
