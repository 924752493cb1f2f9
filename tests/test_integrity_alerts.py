"""Issue 15: integrity alerts computed from planted data (DESIGN.md §9)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.domain import integrity
from app.extensions import db
from app.models import DueDateChange, Evidence, PendingChange, Review, Survey, User
from tests.factories import make_song

TODAY = date(2024, 6, 3)


def alerts(world, label=None):
    data = integrity.summary(world.season, TODAY)
    rows = {row["code"]: row["alerts"] for row in data["labels"]}
    return rows[(label or world.label_a).code]


def song_ids(world, kind, label=None):
    page = integrity.songs(kind, world.season, TODAY, (label or world.label_a).id, 1, 50)
    return sorted(s.id for s in page.items)


def evidence(song, sha):
    db.session.add(
        Evidence(
            song_id=song.id,
            original_name="a.pdf",
            stored_name=f"{song.id}-{sha[:8]}.pdf",
            content_type="application/pdf",
            size_bytes=9,
            sha256=sha,
        )
    )


def test_an_honest_label_has_no_alerts(world):
    song = make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4))
    evidence(song, "a" * 64)
    db.session.commit()
    assert set(alerts(world).values()) == {0}


def test_each_alert_from_planted_data(world):
    world.season.declaration_window_days = 10  # the factory's season accepts any declared date
    late = make_song(world, state="cancelled", due=date(2024, 4, 1))
    late.cancelled_on = date(2024, 4, 15)
    early = make_song(world, state="cancelled", due=date(2024, 4, 1))
    early.cancelled_on = date(2024, 3, 20)  # cancelled before it was due: no alert
    backdated = make_song(
        world,
        state="delivered",
        delivered_on=date(2024, 4, 1),
        municipality=world.mun_pdet,
        planned_start=date(2024, 1, 2),
    )
    backdated.declared_lag_days = 25
    drift = make_song(
        world, state="in_progress", municipality=world.mun_cat5, planned_start=date(2024, 8, 1), due=date(2024, 9, 1)
    )
    db.session.add(
        DueDateChange(
            song_id=drift.id,
            requested_by_id=world.territorial_a.id,
            previous_due=date(2024, 9, 1),
            proposed_due=date(2024, 11, 1),
            reason="x",
            status="approved",
        )
    )
    reused_a = make_song(
        world, state="delivered", delivered_on=date(2024, 5, 30), planned_start=date(2024, 5, 1), due=date(2024, 6, 1)
    )
    reused_b = make_song(world, state="delivered", delivered_on=date(2024, 5, 30), artist=world.artist_b)
    evidence(reused_a, "b" * 64)
    evidence(reused_b, "b" * 64)
    held = make_song(
        world,
        state="reviewed",
        delivered_on=date(2024, 4, 1),
        review=(4, 4, 4, 4),
        municipality=world.mun_pdet,
        planned_start=date(2024, 9, 1),
        due=date(2024, 10, 1),
    )
    db.session.add(Survey(song_id=held.id, q1=5, q2=5, q3=5, q4=5, q5=5, held=True, hold_reasons="session"))
    db.session.add(
        PendingChange(
            kind="target_change",
            label_id=world.label_a.id,
            requested_by_id=world.coordinator.id,
            payload={"season_id": world.season.id, "target": 5},
        )
    )
    db.session.commit()
    a = alerts(world)
    assert a["late_cancellation"] == 1 and song_ids(world, "late_cancellation") == [late.id]
    assert a["backdated_delivery"] == 1 and song_ids(world, "backdated_delivery") == [backdated.id]
    assert a["due_date_drift"] == 1 and song_ids(world, "due_date_drift") == [drift.id]
    assert a["reused_evidence"] == 1 and song_ids(world, "reused_evidence") == [reused_a.id]
    assert alerts(world, world.label_b)["reused_evidence"] == 1
    assert a["held_survey"] == 1 and song_ids(world, "held_survey") == [held.id]
    assert a["late_target_change"] == 1
    # the late and early cancellations and the reused song share Medellín within 90 days: splitting
    assert set(song_ids(world, "splitting")) >= {late.id, early.id}


def test_splitting_reviewer_share_corrections_and_backlog(world):
    first = make_song(world, municipality=world.mun_cat5, planned_start=date(2024, 2, 1), due=date(2024, 3, 1))
    second = make_song(
        world, municipality=world.mun_cat5, planned_start=date(2024, 4, 1), due=date(2024, 5, 1), state="cancelled"
    )
    far = make_song(world, municipality=world.mun_pdet, planned_start=date(2024, 1, 2), due=date(2024, 2, 1))
    make_song(world, municipality=world.mun_pdet, planned_start=date(2024, 9, 2), due=date(2024, 10, 1))
    assert song_ids(world, "splitting") == sorted([first.id, second.id])
    assert far.id not in song_ids(world, "splitting")
    other = User(email="o@test.co", name="Otra", role="coordinator", password_hash="x")
    db.session.add(other)
    db.session.commit()
    reviewed = [
        make_song(
            world,
            artist=world.artist_b,
            state="reviewed",
            delivered_on=date(2024, 4, 1),
            review=(4, 4, 4, 4),
            planned_start=date(2024, 1, 2 + i),
        )
        for i in range(4)
    ]
    # 3 of 4 reviews of label B by the factory's coordinator, 1 by another: share 75 %
    db.session.get(Review, reviewed[0].review.id).reviewer_id = other.id
    db.session.get(Review, reviewed[1].review.id).corrections = 2
    db.session.commit()
    b = alerts(world, world.label_b)
    assert b["reviewer_share"] == 3 and reviewed[0].id not in song_ids(world, "reviewer_share", world.label_b)
    assert b["review_corrections"] == 1
    make_song(
        world,
        state="delivered",
        delivered_on=date(2024, 5, 1),
        artist=world.artist_b,
        municipality=world.mun_b,
        planned_start=date(2024, 4, 20),
        due=date(2024, 6, 1),
    )
    make_song(
        world,
        state="delivered",
        delivered_on=date(2024, 5, 30),
        artist=world.artist_b,
        municipality=world.mun_b,
        planned_start=date(2024, 5, 20),
        due=date(2024, 6, 1),
    )
    assert alerts(world, world.label_b)["review_backlog"] == 1  # delivered 1 May: > 10 business days on 3 June


def test_alerts_page_and_api(client, auth, world):
    late = make_song(world, state="cancelled", due=date(2024, 4, 1))
    late.cancelled_on = date(2024, 5, 2)
    db.session.commit()
    for user in (world.territorial_a, world.manager):
        auth.login(user)
        assert client.get("/reviews/alerts").status_code == 403
        assert client.get("/api/v1/alerts").status_code == 403
    auth.login(world.coordinator)
    html = client.get("/reviews/alerts?season=2024").get_data(as_text=True)
    link = f"/reviews/alerts/late_cancellation?label={world.label_a.id}&amp;season=2024"
    assert link in html
    detail = client.get(f"/reviews/alerts/late_cancellation?label={world.label_a.id}&season=2024")
    assert detail.status_code == 200 and f"/songs/{late.id}" in detail.get_data(as_text=True)
    auth.login(world.admin)
    body = client.get("/api/v1/alerts?season=2024").get_json()
    row = next(r for r in body["labels"] if r["code"] == "DT01")
    assert row["alerts"]["late_cancellation"] == 1 and "late_cancellation" in row["songs"]
    items = client.get(row["songs"]["late_cancellation"]).get_json()["items"]
    assert [i["id"] for i in items] == [late.id]
    assert client.get("/api/v1/alerts?season=1999").status_code == 404
    assert client.get("/api/v1/alerts/nope?label=1").status_code == 404
    assert client.get("/api/v1/alerts/held_survey").status_code == 400


def test_cancelling_and_delivering_store_what_the_alerts_read(app, world):
    from app.domain import lifecycle
    from tests.test_permissions_matrix import _evidence

    song = make_song(world, state="in_progress", due=date(2024, 4, 1))
    _evidence(app, song, world.territorial_a)
    db.session.commit()
    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on="2024-04-01", product="A", beneficiaries=1
    )
    assert song.declared_lag_days > 100  # recorded in 2026 for a 2024 delivery
    other = make_song(world, state="planned", due=date(2024, 4, 1))
    lifecycle.transition_song(world.territorial_a, other, "cancelled", reason="El municipio desistió")
    assert other.cancelled_on == lifecycle.today() and other.cancelled_on > other.due_date
    assert datetime.now(UTC).date() >= other.cancelled_on


def test_the_alert_summary_is_cached_and_callers_get_a_copy(app, world):
    """The set-based alert queries read whole seasons (≈ 3 s at 1M songs): the page, the API and the
    coordinator's home read one cached summary; adding to a copy never changes the cache."""
    from sqlalchemy import event

    from app.domain import coverage

    coverage.clear_cache()
    make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4))
    db.session.commit()
    statements = []
    listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        first = integrity.cached_summary(world.season, TODAY, ttl=300)
        queried = len(statements)
        first["labels"][0]["songs"] = {"added": "by a caller"}
        second = integrity.cached_summary(world.season, TODAY, ttl=300)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        coverage.clear_cache()
    assert queried >= len(integrity.KIND_CODES) and len(statements) == queried  # the second: no query
    assert "songs" not in second["labels"][0] and second["computed_at"] == first["computed_at"]
    assert {row["code"] for row in second["labels"]} == {world.label_a.code, world.label_b.code}
