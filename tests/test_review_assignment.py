"""Issue 15: review assignment in turn and the review service level (DESIGN.md §9)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.domain import evidence, lifecycle, review_queue, reviews
from app.domain.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, Song, User
from tests.factories import add_coordinator, make_song
from tests.test_permissions_matrix import _evidence

GOOD = {"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}


def deliver(app, world, artist=None) -> Song:
    artist = artist or world.artist_a
    user = world.territorial_a if artist.id == world.artist_a.id else world.territorial_b
    song = make_song(world, artist=artist, state="in_progress")
    _evidence(app, song, user)
    db.session.commit()
    lifecycle.transition_song(user, song, "delivered", delivered_on="2024-04-01", product="Acta", beneficiaries=3)
    db.session.commit()
    return song


def test_delivered_songs_are_assigned_in_turn_to_eligible_coordinators(app, world):
    north = add_coordinator("norte@test.co", world.label_a)  # never label A
    # label A: only the national coordinator (world.coordinator) is eligible
    a1, a2 = deliver(app, world), deliver(app, world)
    assert a1.assigned_reviewer_id == world.coordinator.id and a2.assigned_reviewer_id == world.coordinator.id
    # label B: in turn, the one with fewer waiting songs first
    b1 = deliver(app, world, world.artist_b)
    b2 = deliver(app, world, world.artist_b)
    assert b1.assigned_reviewer_id == north.id
    assert b2.assigned_reviewer_id == north.id  # north waits on 1 song, the national one on 2
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review_assigned")).all()
    assert len(events) == 4


def test_turns_alternate_between_equally_loaded_coordinators(app, world):
    other = add_coordinator("otra@test.co")
    first, second, third = (deliver(app, world, world.artist_b) for _ in range(3))
    assert {first.assigned_reviewer_id, second.assigned_reviewer_id} == {world.coordinator.id, other.id}
    assert third.assigned_reviewer_id == first.assigned_reviewer_id


def test_only_the_assigned_reviewer_reviews_until_reassigned(app, client, auth, world):
    other = add_coordinator("otra@test.co")
    song = deliver(app, world)
    assigned = db.session.get(User, song.assigned_reviewer_id)
    not_assigned = other if assigned.id == world.coordinator.id else world.coordinator
    with pytest.raises(PermissionDenied, match="asignada a otra persona"):
        reviews.review_song(not_assigned, song, GOOD, None)
    db.session.rollback()
    auth.login(not_assigned)
    res = client.post(f"/reviews/{song.id}/reassign", data={"reviewer": str(not_assigned.id)})
    assert res.status_code == 302
    db.session.expire_all()
    song = db.session.get(Song, song.id)
    assert song.assigned_reviewer_id == not_assigned.id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review_reassigned")).one()
    assert event.changes["assigned_reviewer_id"] == [assigned.id, not_assigned.id] and event.actor_id == not_assigned.id
    reviews.review_song(not_assigned, song, GOOD, None)
    db.session.commit()
    assert song.state == "reviewed"


def test_reassigning_to_an_ineligible_coordinator_is_refused(app, world):
    north = add_coordinator("norte@test.co", world.label_a)
    song = deliver(app, world)
    with pytest.raises(ValidationFailed, match="no puede revisar"):
        review_queue.reassign_reviewer(world.coordinator, song, north.id)
    db.session.rollback()
    with pytest.raises(PermissionDenied, match="dirección de origen"):  # nor may north move it
        review_queue.reassign_reviewer(north, song, world.coordinator.id)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        review_queue.reassign_reviewer(world.manager, song, world.coordinator.id)


def test_overdue_reviews_in_the_queue_and_on_the_board(client, auth, world):
    old = make_song(world, state="delivered", delivered_on=date(2024, 3, 1))
    make_song(world, state="delivered", delivered_on=date(2024, 3, 1), artist=world.artist_b)
    auth.login(world.coordinator)
    html = client.get("/reviews").get_data(as_text=True)
    assert html.count("Vencida") == 2
    only = client.get("/reviews?overdue=1").get_data(as_text=True)
    assert f"/reviews/{old.id}" in only
    board = client.get("/charts").get_data(as_text=True)
    assert "2 canciones entregadas esperan revisión más allá del plazo" in board
    assert review_queue.overdue_count(world.season, date(2024, 3, 8)) == 0  # 5 business days: within 10


def test_the_service_level_is_a_season_setting(world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    today = date(2024, 4, 22)  # 15 business days later
    assert review_queue.is_overdue(song, today)
    world.season.review_sla_days = 20
    db.session.commit()
    assert not review_queue.is_overdue(song, today)
    assert review_queue.overdue_count(world.season, today) == 0
    assert review_queue.review_due(song) == date(2024, 4, 29)


def test_imported_deliveries_are_assigned_in_turn(app, world, monkeypatch):
    """Issue 15: a file's delivered rows get a reviewer in turn, as deliveries through the API do;
    a row nobody may review (the importer's own, a home directorate) waits unassigned until its
    evidence is attached, and is assigned then."""
    from app.domain import calendar
    from app.domain.imports import import_songs
    from tests.test_imports import csv_bytes, row

    monkeypatch.setattr(calendar, "today", lambda: date(2024, 3, 26))
    other = add_coordinator("otra@test.co")
    north = add_coordinator("norte@test.co", world.label_a)
    delivered = dict(state="delivered", delivered_on="2024-03-22", product="Acta", beneficiaries="3")
    rows = [row(**delivered, municipality_code=code) for code in ("05001", "05002", "05031", "05001")] + [row()]
    report = import_songs(csv_bytes(rows), "x.csv", world.territorial_a)
    assert report.errors == [] and report.created == 5
    songs = db.session.scalars(select(Song).order_by(Song.id)).all()
    assigned = [s.assigned_reviewer_id for s in songs]
    assert assigned[4] is None  # planned: nothing to review
    assert north.id not in assigned  # label A is north's home directorate
    assert sorted(assigned[:4]) == sorted([world.coordinator.id, world.coordinator.id, other.id, other.id])
    assert all(s.review_assigned_at is not None for s in songs[:4])
    history = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "song_imported")).all()
    assert {e.changes["assigned_reviewer_id"][1] for e in history if "assigned_reviewer_id" in e.changes} == {
        world.coordinator.id,
        other.id,
    }
    # imported by the only eligible coordinator: nobody may review it yet, it waits unassigned
    other.active = False
    db.session.commit()
    alone = import_songs(csv_bytes([row(**delivered, municipality_code="05002")]), "y.csv", world.coordinator)
    assert alone.errors == []
    song = db.session.scalars(select(Song).order_by(Song.id.desc())).first()
    assert song.assigned_reviewer_id is None and song.awaiting_evidence
    later = add_coordinator("tarde@test.co")
    pdf = FileStorage(io.BytesIO(b"%PDF-1.4\n%test\n"), filename="acta.pdf")
    evidence.add_evidence(world.coordinator, song, pdf)
    db.session.commit()
    assert song.assigned_reviewer_id == later.id
