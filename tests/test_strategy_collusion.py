"""Issue 15: a friendly coordinator's levers (DESIGN.md §9).

Label A (favoured) and label B (its honest twin) deliver the same work. A coordinator who
favours A pulls every lever: reviewing A's songs, approving A's due-date requests, raising A's
reviews by mass corrections, returning B's deliveries. Each lever is refused or waits for a
second coordinator, so A ends no better than B on the board. (Minimal helpers: the scoring
issue's tests/test_strategy.py had not landed when this was written.)
"""

from __future__ import annotations

from datetime import date

import pytest

from app.domain import lifecycle, reviews
from app.domain.charts import recompute_charts
from app.domain.errors import PermissionDenied
from app.extensions import db
from app.models import DueDateChange, LabelChartEntry, PendingChange, Song, User
from tests.factories import add_playlist, make_song

MEDIUM = {"pertinence": 3, "rigour": 3, "usefulness": 3, "evidence": 3}
TOP = {"pertinence": 5, "rigour": 5, "usefulness": 5, "evidence": 5}


def _coordinator(email: str, *home) -> User:
    user = User(email=email, name=email.split("@")[0], role="coordinator", password_hash="x")
    user.home_labels = list(home)
    db.session.add(user)
    db.session.commit()
    return user


def _twin_songs(world, state: str, **kw) -> tuple[list[Song], list[Song]]:
    a = [make_song(world, artist=world.artist_a, state=state, **kw) for _ in range(3)]
    b = [make_song(world, artist=world.artist_b, state=state, **kw) for _ in range(3)]
    return a, b


def _index(world) -> dict[str, float]:
    snapshot = recompute_charts(world.season, as_of=date(2024, 6, 1))
    db.session.commit()
    rows = db.session.scalars(db.select(LabelChartEntry).where(LabelChartEntry.snapshot_id == snapshot.id)).all()
    return {row.label.code: row.index_value for row in rows}


@pytest.fixture
def scene(world):
    add_playlist(world, world.label_a, 6)
    add_playlist(world, world.label_b, 6)
    friend = _coordinator("amigo@test.co", world.label_a)  # home directorate: the favoured label
    honest = world.coordinator  # the national office
    return world, friend, honest


def test_self_review_and_returning_the_rival_are_refused(scene):
    world, friend, honest = scene
    delivered_a, delivered_b = _twin_songs(world, "delivered", delivered_on=date(2024, 4, 1))
    for song in delivered_a:
        with pytest.raises(PermissionDenied, match="dirección de origen"):
            reviews.review_song(friend, song, TOP, None)
        db.session.rollback()
    # the rival's songs are assigned in turn; the friend cannot return what is not his
    for song in delivered_b:
        song.assigned_reviewer_id = honest.id
    db.session.commit()
    for song in delivered_b:
        with pytest.raises(PermissionDenied, match="asignada a otra persona"):
            reviews.return_song(friend, song, "Rehacer todo")
        db.session.rollback()
    # the honest coordinator reviews both labels alike: the twins stay level
    for song in delivered_a + delivered_b:
        reviews.review_song(honest, db.session.get(Song, song.id), MEDIUM, None)
    db.session.commit()
    board = _index(world)
    assert board["DT01"] <= board["DT02"]


def test_self_approval_of_a_due_date_request_is_refused(scene):
    world, friend, honest = scene
    late = make_song(world, artist=world.artist_a, state="in_progress", due=date(2024, 4, 1))
    change = DueDateChange(
        song_id=late.id,
        requested_by_id=friend.id,
        previous_due=late.due_date,
        proposed_due=date(2024, 8, 1),
        reason="Lluvias",
    )
    db.session.add(change)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        lifecycle.decide_due_date_change(friend, change, True)
    db.session.rollback()
    # even without a home directorate, nobody decides their own request
    friend.home_labels = []
    db.session.commit()
    with pytest.raises(PermissionDenied, match="propia solicitud"):
        lifecycle.decide_due_date_change(friend, db.session.get(DueDateChange, change.id), True)
    db.session.rollback()
    assert db.session.get(Song, late.id).due_date == date(2024, 4, 1)


def test_mass_corrections_wait_for_a_second_coordinator(scene):
    world, friend, honest = scene
    reviewed_a, reviewed_b = _twin_songs(world, "reviewed", delivered_on=date(2024, 4, 1), review=(3, 3, 3, 3))
    before = _index(world)
    assert before["DT01"] == before["DT02"]
    # a friendly coordinator outside A's directorate (the national office) tries mass corrections
    friend.home_labels = []
    db.session.commit()
    for song in reviewed_a:
        review = reviews.correct_review(friend, db.session.get(Song, song.id), TOP, "Revisado de nuevo")
        assert review.pending_change is not None
    db.session.commit()
    after = _index(world)
    assert after["DT01"] == after["DT02"] == before["DT01"]  # nothing moved
    pending = db.session.scalars(db.select(PendingChange).where(PendingChange.status == "pending")).all()
    assert len(pending) == 3  # visible to every coordinator, and an integrity alert once confirmed
