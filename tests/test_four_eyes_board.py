"""Issue 15: four eyes for the other two things that move the board after the fact (DESIGN.md
§3, §5, §9): approving a late cancellation as not the team's doing, and changing a playlist
target after the season's target date. Each waits, pending and visible on the song page, the
playlists page and the pending list, until a second coordinator confirms it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.domain import calendar, catalogue, charts, four_eyes, lifecycle
from app.domain import seasons as season_life
from app.domain.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, PendingChange, Playlist, Song
from tests.factories import add_coordinator, add_playlist, make_song


@pytest.fixture
def late_cancelled(world, monkeypatch):
    monkeypatch.setattr(calendar, "today", lambda: date(2024, 6, 14))
    song = make_song(world, state="in_progress", due=date(2024, 5, 31))
    lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="No alcanzamos")
    db.session.commit()
    assert song.standing == "late_cancelled"
    return song


# --------------------------------------------------------------------------- late cancellations


def test_a_late_cancellation_approval_waits_for_a_second_coordinator(world, late_cancelled):
    song = late_cancelled
    change = lifecycle.approve_late_cancellation(world.coordinator, song, "public_order", "Paro armado")
    db.session.commit()
    assert (change.kind, change.status, change.payload["reason"]) == ("late_cancellation", "pending", "public_order")
    assert (song.standing, song.late_cancel_reason) == ("late_cancelled", None)  # still late
    with pytest.raises(Conflict):  # one pending approval per song
        lifecycle.approve_late_cancellation(world.coordinator, song, "force_majeure")
    db.session.rollback()
    with pytest.raises(PermissionDenied, match="segunda persona"):  # not the one who asked
        four_eyes.decide(world.coordinator, change, True)
    db.session.rollback()
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        four_eyes.decide(add_coordinator("casa@test.co", world.label_a), change, True)
    db.session.rollback()
    four_eyes.decide(add_coordinator("dos@test.co"), db.session.get(PendingChange, change.id), True)
    db.session.commit()
    song = db.session.get(Song, song.id)
    assert (song.standing, song.late_cancel_reason, song.late_cancel_approved_by_id) == (
        "cancelled",
        "public_order",
        world.coordinator.id,
    )
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "late_cancellation_approved")).one()
    assert event.changes["confirmed_by"][1] is not None and event.actor_id == world.coordinator.id


def test_a_rejected_approval_leaves_the_song_late(world, late_cancelled):
    change = lifecycle.approve_late_cancellation(world.coordinator, late_cancelled, "public_order")
    four_eyes.decide(add_coordinator("dos@test.co"), change, False, "No hay soporte")
    db.session.commit()
    assert db.session.get(Song, late_cancelled.id).standing == "late_cancelled"
    assert four_eyes.pending_for(late_cancelled, "late_cancellation") is None


def test_late_cancellation_refusals_say_why(world, late_cancelled):
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        lifecycle.approve_late_cancellation(
            add_coordinator("casa@test.co", world.label_a), late_cancelled, "public_order"
        )
    with pytest.raises(ValidationFailed) as bad:
        lifecycle.approve_late_cancellation(world.coordinator, late_cancelled, "se nos pasó")
    assert "reason" in bad.value.details
    on_time = make_song(world, state="planned", due=date(2024, 7, 31))
    lifecycle.transition_song(world.territorial_a, on_time, "cancelled", reason="Ya no")
    with pytest.raises(Conflict, match="después de su fecha de compromiso"):
        lifecycle.approve_late_cancellation(world.coordinator, on_time, "public_order")
    assert db.session.scalar(select(PendingChange.id)) is None


def test_the_song_page_and_the_api_ask_and_confirm(client, auth, world, late_cancelled):
    song = late_cancelled
    auth.login(world.territorial_a)
    page = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert "Cancelación tardía" in page and "Pedir la aprobación" not in page
    assert client.post(f"/api/v1/songs/{song.id}/late-cancellation", json={"reason": "public_order"}).status_code == 403
    auth.login(world.coordinator)
    assert "Pedir la aprobación" in client.get(f"/songs/{song.id}").get_data(as_text=True)
    bad = client.post(f"/songs/{song.id}/late-cancellation", data={"reason": "otra"})
    assert bad.status_code == 422 and "Elija uno de los motivos" in bad.get_data(as_text=True)
    res = client.post(f"/songs/{song.id}/late-cancellation", data={"reason": "public_order", "comment": "Paro"})
    assert res.status_code == 303
    page = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert "Pendiente de confirmación" in page and "una segunda persona de la coordinación" in page
    again = client.post(f"/api/v1/songs/{song.id}/late-cancellation", json={"reason": "force_majeure"})
    assert again.status_code == 409 and again.get_json()["error"]
    assert client.post(f"/api/v1/songs/{song.id}/late-cancellation", data="x").status_code == 400
    bad_comment = client.post(
        f"/api/v1/songs/{song.id}/late-cancellation", json={"reason": "public_order", "comment": 7}
    )
    assert bad_comment.status_code == 422 and "comment" in bad_comment.get_json()["details"]
    other = add_coordinator("dos@test.co")
    auth.login(other)
    pending = client.get("/reviews/pending").get_data(as_text=True)
    assert "Aprobación de una cancelación tardía" in pending and "Situación de orden público" in pending
    change_id = client.get("/api/v1/pending-changes").get_json()["items"][0]["id"]
    res = client.post(f"/reviews/pending/{change_id}", data={"decision": "confirm", "back": "song"})
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/songs/{song.id}")
    db.session.expire_all()
    assert db.session.get(Song, song.id).standing == "cancelled"
    assert "No cuenta como tardía" in client.get(f"/songs/{song.id}").get_data(as_text=True)


def test_the_api_request_answers_202_with_the_pending_change(client, auth, world, late_cancelled):
    auth.login(world.coordinator)
    res = client.post(f"/api/v1/songs/{late_cancelled.id}/late-cancellation", json={"reason": "force_majeure"})
    assert res.status_code == 202
    body = res.get_json()
    assert body["pending_change"]["kind"] == "late_cancellation" and body["song"]["state"] == "cancelled"
    auth.login(add_coordinator("dos@test.co"))
    res = client.post(f"/api/v1/pending-changes/{body['pending_change']['id']}", json={"confirm": True})
    assert res.status_code == 200 and res.get_json()["status"] == "confirmed"
    db.session.expire_all()
    assert db.session.get(Song, late_cancelled.id).late_cancel_reason == "force_majeure"


# --------------------------------------------------------------------------- targets after the target date


@pytest.fixture
def frozen(world, monkeypatch):
    add_playlist(world, world.label_a, 10)
    world.season.target_date = date(2024, 1, 31)
    db.session.commit()
    monkeypatch.setattr(season_life, "today", lambda: date(2024, 3, 1))
    assert season_life.targets_frozen(world.season)
    return world


def _target(world, label) -> int | None:
    return db.session.scalar(
        select(Playlist.target).where(
            Playlist.season_id == world.season.id, Playlist.label_id == label.id, Playlist.album_id.is_(None)
        )
    )


def test_a_late_target_change_waits_for_a_second_coordinator(frozen):
    world = frozen
    saved = catalogue.set_playlists(world.season, {(world.label_a.id, None): "6"}, world.coordinator)
    db.session.commit()
    assert saved.changed == 0 and len(saved.pending) == 1
    assert _target(world, world.label_a) == 10  # nothing moved yet
    assert catalogue.pending_targets(world.season)[(world.label_a.id, None)].payload == {
        "season_id": world.season.id,
        "album_id": None,
        "target": 6,
        "before": 10,
    }
    with pytest.raises(Conflict, match="pendiente"):  # one pending change per target
        catalogue.set_playlists(world.season, {(world.label_a.id, None): "7"}, world.coordinator)
    db.session.rollback()
    change = saved.pending[0]
    with pytest.raises(PermissionDenied):
        four_eyes.decide(world.coordinator, change, True)
    db.session.rollback()
    with pytest.raises(PermissionDenied, match="dirección de origen"):
        four_eyes.decide(add_coordinator("casa@test.co", world.label_a), change, True)
    db.session.rollback()
    four_eyes.decide(add_coordinator("dos@test.co"), db.session.get(PendingChange, change.id), True)
    db.session.commit()
    assert _target(world, world.label_a) == 6
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "playlist_target_set").order_by(AuditEvent.id.desc())
    ).first()
    assert event.changes["target"] == [10, 6] and event.actor_id == world.coordinator.id
    assert event.changes["confirmed_by"][1] is not None


def test_a_confirmed_target_is_checked_against_the_grid_again(frozen):
    world = frozen
    album = world.album_inn
    saved = catalogue.set_playlists(world.season, {(world.label_a.id, album.id): "8"}, world.coordinator)
    lower = catalogue.set_playlists(world.season, {(world.label_b.id, None): "3"}, world.coordinator)
    assert saved.pending and lower.pending
    # meanwhile the total of label A is lowered to 5 (confirmed): the album target 8 no longer fits
    total = catalogue.set_playlists(world.season, {(world.label_a.id, None): "5"}, world.coordinator)
    other = add_coordinator("dos@test.co")
    four_eyes.decide(other, total.pending[0], True)
    with pytest.raises(Conflict, match="ya no se puede aplicar: La suma de las metas por álbum"):
        four_eyes.decide(other, saved.pending[0], True)


def test_the_playlists_page_shows_pending_targets(client, auth, frozen):
    world = frozen
    auth.login(world.coordinator)
    res = client.post(f"/admin/playlists?season={world.season.year}", data={f"t_{world.label_a.id}_0": "4"})
    assert res.status_code == 302
    page = client.get(f"/admin/playlists?season={world.season.year}").get_data(as_text=True)
    assert "pendiente: 4" in page and "1 cambio(s) pendiente(s) de confirmación" in page
    auth.login(add_coordinator("dos@test.co"))
    pending = client.get("/reviews/pending").get_data(as_text=True)
    assert "Cambio de meta después de la fecha de metas" in pending and "10 → 4" in pending
    bad = client.post(f"/admin/playlists?season={world.season.year}", data={f"t_{world.label_a.id}_0": "-3"})
    assert bad.status_code == 422
    assert db.session.scalar(select(PendingChange.id).where(PendingChange.status == "pending")) is not None


def test_a_confirmed_late_target_change_is_shown_on_the_board(client, auth, frozen):
    world = frozen
    saved = catalogue.set_playlists(world.season, {(world.label_a.id, None): "6"}, world.coordinator)
    four_eyes.decide(add_coordinator("dos@test.co"), saved.pending[0], True)
    db.session.commit()
    charts.recompute_charts(world.season, as_of=date(2024, 6, 1))
    db.session.commit()
    auth.login(world.manager)
    board = client.get("/charts?season=2024").get_data(as_text=True)
    assert "Meta cambiada tras la fecha de metas: 10 → 6" in board
    items = client.get("/api/v1/charts/labels?season=2024").get_json()["items"]
    late = {item["label"]["code"]: item["late_target_changes"] for item in items}
    assert [(c["before"], c["target"]) for c in late["DT01"]] == [(10, 6)] and late["DT02"] == []
