"""Issue 15: segregation of duties (DESIGN.md §1, §9) and home directorates.

Each protection has a test here that fails when the protection is removed: the home directorate
on every review / correct / return / approve / regenerate path (domain, UI and API), creator ≠
deliverer ≠ reviewer ≠ due-date approver, and the admin's and the CLI's way to set a
coordinator's home directorate.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.domain import accounts, lifecycle, reviews, surveys
from app.domain.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, DueDateChange, Song, User
from tests.factories import PASSWORD, make_song

GOOD = {"pertinence": 5, "rigour": 5, "usefulness": 5, "evidence": 5}
FORM_GOOD = {k: str(v) for k, v in GOOD.items()}


def delivered(world, **kw) -> Song:
    kw.setdefault("delivered_on", date(2024, 4, 1))
    return make_song(world, state="delivered", **kw)


def second_coordinator(world, email="coord2@test.co") -> User:
    user = User(email=email, name="Coordinación 2", role="coordinator", password_hash=world.coordinator.password_hash)
    db.session.add(user)
    db.session.commit()
    return user


def home(world, user=None, *labels) -> User:
    user = user or world.coordinator
    user.home_labels = list(labels or [world.label_a])
    db.session.commit()
    return user


def pending_change(world, song, requested_by) -> DueDateChange:
    change = DueDateChange(
        song_id=song.id,
        requested_by_id=requested_by.id,
        previous_due=song.due_date,
        proposed_due=date(2024, 5, 2),
        reason="Lluvias",
    )
    db.session.add(change)
    db.session.commit()
    return change


# --------------------------------------------------------------------------- home directorate


def test_home_directorate_refuses_review_return_and_correction_in_the_domain(world):
    home(world)
    own = delivered(world)
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        reviews.review_song(world.coordinator, own, GOOD, None)
    db.session.rollback()
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        reviews.return_song(world.coordinator, own, "Ajustar")
    db.session.rollback()
    corrected = make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(2, 2, 2, 2))
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        reviews.correct_review(world.coordinator, corrected, GOOD, None)
    db.session.rollback()
    # another label is fine for the same coordinator
    other = delivered(world, artist=world.artist_b)
    reviews.review_song(world.coordinator, other, GOOD, None)
    db.session.commit()
    assert db.session.get(Song, other.id).state == "reviewed"
    assert db.session.get(Song, own.id).state == "delivered"


def test_home_directorate_refused_on_the_review_page_and_the_api(client, auth, world):
    home(world)
    song = delivered(world)
    auth.login(world.coordinator)
    res = client.get(f"/reviews/{song.id}")
    assert res.status_code == 403 and "dirección de origen" in res.get_data(as_text=True)
    res = client.post(f"/reviews/{song.id}", data=FORM_GOOD)
    assert res.status_code == 403 and "dirección de origen" in res.get_data(as_text=True)
    res = client.post(f"/reviews/{song.id}/return", data={"return_comment": "Ajustar"})
    assert res.status_code == 403
    res = client.post(f"/api/v1/songs/{song.id}/review", json=GOOD)
    assert res.status_code == 403 and "dirección de origen" in res.get_json()["error"]
    res = client.post(f"/api/v1/songs/{song.id}/transitions", json={"to": "returned", "comment": "Ajustar"})
    assert res.status_code == 403 and "dirección de origen" in res.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "delivered"


def test_song_page_says_why_a_home_coordinator_cannot_review(client, auth, world):
    home(world)
    song = delivered(world)
    auth.login(world.coordinator)
    html = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert "dirección de origen" in html and f'href="/reviews/{song.id}"' not in html


def test_home_directorate_refuses_due_date_decisions(client, auth, world):
    home(world)
    song = make_song(world, state="in_progress")
    change = pending_change(world, song, world.territorial_a)
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        lifecycle.decide_due_date_change(world.coordinator, change, True)
    db.session.rollback()
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/due-date-changes/{change.id}", json={"approve": True})
    assert res.status_code == 403 and "dirección de origen" in res.get_json()["error"]
    res = client.post(f"/songs/due-date-requests/{change.id}", data={"decision": "approve"})
    assert res.status_code == 403
    db.session.expire_all()
    assert db.session.get(DueDateChange, change.id).status == "pending"


def test_home_directorate_refuses_regenerating_a_survey_link(client, auth, world):
    home(world)
    song = delivered(world)
    surveys.issue_survey_nonce(song)
    db.session.commit()
    nonce = song.survey_nonce
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        surveys.regenerate_survey_link(world.coordinator, song)
    db.session.rollback()
    auth.login(world.coordinator)
    res = client.post(f"/encuesta-enlace/{song.id}/nuevo")
    assert res.status_code == 403
    db.session.expire_all()
    assert db.session.get(Song, song.id).survey_nonce == nonce
    # the national office (no home directorate) may
    other = second_coordinator(world)
    surveys.regenerate_survey_link(other, db.session.get(Song, song.id))
    assert db.session.get(Song, song.id).survey_nonce != nonce


# --------------------------------------------------------------------------- nobody acts twice


def test_whoever_planned_a_song_never_reviews_it(world):
    song = delivered(world)
    song.created_by_id = world.coordinator.id
    db.session.commit()
    with pytest.raises(PermissionDenied, match="planeó o entregó"):
        reviews.review_song(world.coordinator, song, GOOD, None)
    db.session.rollback()
    reviews.review_song(second_coordinator(world), db.session.get(Song, song.id), GOOD, None)


def test_whoever_delivered_a_song_never_reviews_it(app, world):
    from tests.test_permissions_matrix import _evidence

    song = make_song(world, state="in_progress")
    _evidence(app, song, world.coordinator)
    db.session.commit()
    lifecycle.transition_song(
        world.coordinator, song, "delivered", delivered_on="2024-04-01", product="Acta", beneficiaries=3
    )
    db.session.commit()
    assert song.delivered_by_id == world.coordinator.id
    with pytest.raises(PermissionDenied, match="planeó o entregó"):
        reviews.review_song(world.coordinator, song, GOOD, None)


def test_nobody_decides_their_own_due_date_request(world):
    song = make_song(world, state="in_progress")
    change = pending_change(world, song, world.coordinator)
    with pytest.raises(PermissionDenied, match="propia solicitud"):
        lifecycle.decide_due_date_change(world.coordinator, change, True)
    db.session.rollback()
    lifecycle.decide_due_date_change(second_coordinator(world), db.session.get(DueDateChange, change.id), True)
    db.session.commit()
    assert db.session.get(DueDateChange, change.id).status == "approved"


def test_the_reviewer_never_decides_the_songs_due_date_change(world):
    song = make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4))
    change = pending_change(world, song, world.territorial_a)
    with pytest.raises(PermissionDenied, match="revisó esta canción"):
        lifecycle.decide_due_date_change(world.coordinator, change, False, "No")


def test_whoever_approved_a_due_date_change_never_reviews_the_song(world):
    song = make_song(world, state="in_progress")
    change = pending_change(world, song, world.territorial_a)
    lifecycle.decide_due_date_change(world.coordinator, change, True)
    db.session.commit()
    song.state, song.delivered_on = "delivered", date(2024, 4, 20)
    db.session.commit()
    with pytest.raises(PermissionDenied, match="aprobó un cambio de fecha"):
        reviews.review_song(world.coordinator, song, GOOD, None)
    db.session.rollback()
    reviews.review_song(second_coordinator(world), db.session.get(Song, song.id), GOOD, None)


# --------------------------------------------------------------------------- setting it: admin UI and CLI


def test_admin_sets_a_home_directorate_in_the_ui(client, auth, world):
    auth.login(world.admin)
    page = client.get(f"/admin/users/{world.coordinator.id}/edit")
    assert page.status_code == 200 and "Dirección de origen" in page.get_data(as_text=True)
    res = client.post(
        f"/admin/users/{world.coordinator.id}/edit",
        data={
            "name": "Coordinación Norte",
            "role": "coordinator",
            "label": "",
            "home_labels": [str(world.label_a.id), str(world.label_b.id)],
        },
    )
    assert res.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, world.coordinator.id)
    assert user.name == "Coordinación Norte" and {lb.code for lb in user.home_labels} == {"DT01", "DT02"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user_updated")).one()
    assert event.changes["home_labels"] == [[], ["DT01", "DT02"]] and event.actor_id == world.admin.id
    detail = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "DT01, DT02" in detail


def test_admin_edits_role_label_and_team(client, auth, world):
    auth.login(world.admin)
    res = client.post(
        f"/admin/users/{world.manager.id}/edit",
        data={
            "name": "Ex gestor",
            "role": "territorial",
            "label": str(world.label_b.id),
            "teams": [str(world.artist_b.id)],
        },
    )
    assert res.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, world.manager.id)
    assert (user.role, user.label_id, [a.id for a in user.artists]) == (
        "territorial",
        world.label_b.id,
        [world.artist_b.id],
    )
    # a team of another label, or a home directorate for a territorial user, is a 422 with the field marked
    res = client.post(
        f"/admin/users/{user.id}/edit",
        data={"name": "X", "role": "territorial", "label": str(world.label_b.id), "teams": [str(world.artist_a.id)]},
    )
    assert res.status_code == 422 and "propia disquera" in res.get_data(as_text=True)
    res = client.post(
        f"/admin/users/{user.id}/edit",
        data={
            "name": "X",
            "role": "territorial",
            "label": str(world.label_b.id),
            "home_labels": [str(world.label_a.id)],
        },
    )
    assert res.status_code == 422 and "Solo la coordinación tiene dirección de origen" in res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Ex gestor"


def test_admin_cannot_change_their_own_role_and_others_cannot_edit(client, auth, world):
    with pytest.raises(ValidationFailed, match="propio rol"):
        accounts.update_user(world.admin, role="manager", actor=world.admin)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        accounts.update_user(world.manager, name="Y", actor=world.coordinator)
    db.session.rollback()
    auth.login(world.coordinator)
    assert (
        client.post(f"/admin/users/{world.coordinator.id}/edit", data={"name": "Yo", "role": "admin"}).status_code
        == 403
    )


def test_admin_creates_a_coordinator_with_a_home_directorate(client, auth, world):
    auth.login(world.admin)
    res = client.post(
        "/admin/users/new",
        data={
            "email": "norte@test.co",
            "name": "Coordinación Norte",
            "role": "coordinator",
            "label": "",
            "home_labels": [str(world.label_b.id)],
            "password": "clave-nueva-2025",
        },
    )
    assert res.status_code == 302
    user = db.session.scalar(select(User).filter_by(email="norte@test.co"))
    assert [lb.code for lb in user.home_labels] == ["DT02"]


def test_cli_create_and_edit_home_directorate(runner, world):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "c3@test.co",
            "--name",
            "C3",
            "--role",
            "coordinator",
            "--home-label",
            "DT01",
            "--home-label",
            "dt02",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "origen DT01, DT02" in result.output
    user = db.session.scalar(select(User).filter_by(email="c3@test.co"))
    assert {lb.code for lb in user.home_labels} == {"DT01", "DT02"}
    result = runner.invoke(args=["users", "edit", "c3@test.co", "--home-label", "DT02"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert [lb.code for lb in db.session.get(User, user.id).home_labels] == ["DT02"]
    result = runner.invoke(args=["users", "edit", "c3@test.co", "--national"])
    assert result.exit_code == 0 and "home_labels" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).home_labels == []
    bad = runner.invoke(args=["users", "edit", "c3@test.co", "--home-label", "DT99"])
    assert bad.exit_code != 0 and "DT99" in bad.output
    bad = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "t9@test.co",
            "--name",
            "T",
            "--role",
            "territorial",
            "--label",
            "DT01",
            "--home-label",
            "DT01",
            "--password",
            PASSWORD,
        ]
    )
    assert bad.exit_code != 0 and "dirección de origen" in bad.output


def test_demo_gives_every_coordinator_but_the_national_one_a_home_directorate(app):
    from seeds.demo import seed_demo

    seed_demo(songs=20, seed=3, today=date(2024, 6, 1))
    db.session.commit()
    coordinators = db.session.scalars(select(User).where(User.role == "coordinator").order_by(User.email)).all()
    homes = {u.email: [lb.code for lb in u.home_labels] for u in coordinators}
    assert homes["coordinador@sinfonia.demo"] == []
    assert all(codes for email, codes in homes.items() if email != "coordinador@sinfonia.demo")
