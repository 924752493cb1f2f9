"""Issue 14/15: a declared delivery date before the season's declaration window needs a
coordinator's approval (DESIGN.md §3). A team asks for it (``request_earlier``): the delivery is
recorded today and measured at today's date until a coordinator (not of the label's home
directorate, not its reviewer) approves the earlier date; then it is measured at the earlier date.
Without asking, the date is refused as before; a coordinator records it directly."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.domain import calendar, four_eyes, lifecycle
from app.domain.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, PendingChange, Song
from tests.factories import add_coordinator, make_song
from tests.strategy import DUE, TOLERANCE, Sim, honest_base
from tests.test_permissions_matrix import _evidence

TODAY = date(2024, 6, 14)  # Friday
EARLY = date(2024, 5, 24)  # three weeks back: beyond a window of 10 business days
FIELDS = {"product": "Acta", "beneficiaries": 3}


@pytest.fixture
def song(app, world, monkeypatch):
    monkeypatch.setattr(calendar, "today", lambda: TODAY)
    world.season.declaration_window_days = 10
    song = make_song(world, state="in_progress", due=date(2024, 5, 31))
    _evidence(app, song, world.territorial_a)
    db.session.commit()
    return song


def test_without_asking_the_earlier_date_is_refused(world, song):
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.transition_song(world.territorial_a, song, "delivered", delivered_on=EARLY, **FIELDS)
    assert "delivered_on" in refused.value.details


def test_asking_records_today_until_a_coordinator_approves(world, song):
    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on=EARLY, request_earlier=True, **FIELDS
    )
    db.session.commit()
    assert (song.state, song.delivered_on) == ("delivered", TODAY)  # measured at the recording date
    late_today = song.late_business_days
    change = lifecycle.pending_earlier_delivery(song)
    assert change.payload == {"declared": EARLY.isoformat(), "recorded_on": TODAY.isoformat()}
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        four_eyes.decide(add_coordinator("casa@test.co", world.label_a), change, True)
    db.session.rollback()
    with pytest.raises(PermissionDenied):  # the team does not approve its own date
        four_eyes.decide(world.territorial_a, change, True)
    db.session.rollback()
    four_eyes.decide(world.coordinator, db.session.get(PendingChange, change.id), True)
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert song.delivered_on == EARLY and song.late_business_days == 0 < late_today
    assert song.declared_lag_days == 13  # business days from 24/05 to 14/06 (Corpus Christi, Sagrado Corazón off)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery_date_approved")).one()
    assert event.changes["delivered_on"] == [TODAY.isoformat(), EARLY.isoformat()]
    assert event.actor_id == world.territorial_a.id and event.changes["confirmed_by"] == [None, world.coordinator.id]


def test_the_reviewer_does_not_approve_and_a_re_delivery_voids_the_request(world, song):
    from app.domain import reviews

    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on=EARLY, request_earlier=True, **FIELDS
    )
    db.session.commit()
    change = lifecycle.pending_earlier_delivery(song)
    reviewer = db.session.get(type(world.coordinator), song.assigned_reviewer_id)
    reviews.review_song(reviewer, song, {"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}, None)
    db.session.commit()
    assert four_eyes.confirm_refusal(reviewer, change) is not None
    other = add_coordinator("dos@test.co")
    four_eyes.decide(other, change, True)  # a reviewed song may still get its earlier date
    db.session.commit()
    assert db.session.get(Song, song.id).delivered_on == EARLY


def test_a_request_on_a_song_delivered_again_cannot_apply(app, world, song):
    from app.domain import reviews

    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on=EARLY, request_earlier=True, **FIELDS
    )
    db.session.commit()
    change = lifecycle.pending_earlier_delivery(song)
    reviewer = db.session.get(type(world.coordinator), song.assigned_reviewer_id)
    reviews.return_song(reviewer, song, "Falta el acta")
    db.session.commit()
    with pytest.raises(Conflict, match="ya no se puede aplicar"):
        four_eyes.decide(add_coordinator("dos@test.co"), change, True)


def test_only_the_window_is_waived_by_asking(world, song):
    with pytest.raises(ValidationFailed):  # a future date is refused even when asking
        lifecycle.transition_song(
            world.territorial_a, song, "delivered", delivered_on=date(2024, 6, 20), request_earlier=True, **FIELDS
        )
    db.session.rollback()
    # inside the window, asking changes nothing: the date is recorded as declared, nothing pending
    song = db.session.get(Song, song.id)
    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on=date(2024, 6, 12), request_earlier=True, **FIELDS
    )
    assert song.delivered_on == date(2024, 6, 12) and lifecycle.pending_earlier_delivery(song) is None


def test_the_ui_and_the_api_ask_and_show_it(client, auth, world, song):
    auth.login(world.territorial_a)
    page = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert 'name="request_earlier"' in page
    res = client.post(
        f"/api/v1/songs/{song.id}/transitions",
        json={"to": "delivered", "delivered_on": EARLY.isoformat(), "request_earlier": True, **FIELDS},
    )
    assert res.status_code == 200 and res.get_json()["delivered_on"] == TODAY.isoformat()
    page = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert "Fecha de entrega anterior pendiente de aprobación: 24/05/2024" in page
    auth.login(world.coordinator)
    pending = client.get("/reviews/pending").get_data(as_text=True)
    assert "Fecha de entrega anterior a la ventana de declaración" in pending and "24/05/2024" in pending


def test_the_form_asks_too(client, auth, world, song):
    auth.login(world.territorial_a)
    form = {"delivered_on": EARLY.isoformat(), "request_earlier": "y", "product": "Acta", "beneficiaries": "3"}
    assert client.post(f"/songs/{song.id}/transition/delivered", data=form).status_code == 303
    db.session.expire_all()
    assert db.session.get(Song, song.id).delivered_on == TODAY
    assert db.session.scalar(select(PendingChange.kind)) == "earlier_delivery"


# --------------------------------------------------------------------------- the strategy lever


def backdated_on_request(sim: Sim) -> float:
    """Both teams have two songs due 15/05 whose work ends 19/06; HONEST records the true date,
    GAMING declares 15/05 and asks the coordination to approve it. Nobody else approves."""
    honest_base(sim)
    late = {key: [sim.plan(key) for _ in range(2)] for key in sim.teams}
    for key in sim.teams:
        for song in late[key]:
            sim.on(date(2024, 6, 19))
            song = sim.start(song)
            sim.attach_evidence(song)
            client = sim.as_user(sim.teams[key].user)
            body = {"to": "delivered", "delivered_on": "2024-06-19", "product": "Plan", "beneficiaries": 12}
            if key == "gaming":
                body.update(delivered_on=DUE.isoformat(), request_earlier=True)
            assert client.post(f"/api/v1/songs/{song['id']}/transitions", json=body).status_code == 200
    sim.on(date(2024, 6, 20))
    for key in sim.teams:
        for song in late[key]:
            sim.review(sim.song(song["id"]), (4, 4, 4, 4))
    return sim.gap(date(2024, 7, 15))


def test_asking_for_an_earlier_date_does_not_lift_the_team(client, auth, monkeypatch):
    assert backdated_on_request(Sim(client, auth, monkeypatch)) <= TOLERANCE


def test_the_approval_is_what_holds_the_lever(client, auth, monkeypatch):
    from tests.test_strategy_four_eyes import _without_four_eyes

    _without_four_eyes(monkeypatch)  # the request applies at once
    assert backdated_on_request(Sim(client, auth, monkeypatch)) > TOLERANCE
