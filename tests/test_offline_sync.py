"""Offline deliveries synced through the JSON API (issue 22): the draft id made on the device is
the idempotency key, a change made meanwhile on the server is a 409, and the declaration window
counts from the device's recorded time within a bounded sync delay. Runs on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import song_rules
from app.domain.calendar import BOGOTA
from app.extensions import db
from app.models import AuditEvent, Evidence, OfflineSync, Song
from tests.factories import make_song
from tests.test_concurrency import _in_parallel

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
TODAY = date(2024, 6, 19)  # Wednesday


@pytest.fixture
def clock(monkeypatch):
    """The server's Bogotá date is TODAY (the domain's ``today``)."""
    import app.domain.lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "today", lambda: TODAY)
    return TODAY


def _at(day: date, hour: int = 10) -> str:
    return datetime.combine(day, time(hour, 0), tzinfo=BOGOTA).isoformat()


def _body(song: Song, draft_id: str | None = None, **overrides):
    body = {
        "draft_id": draft_id or str(uuid.uuid4()),
        "recorded_at": _at(TODAY),
        "version": overrides.pop("version") if "version" in overrides else str(song.version),
        "delivered_on": TODAY.isoformat(),
        "product": "Plan de acción firmado",
        "beneficiaries": "14",
        "contact_name": "Ana Pérez",
        "contact_email": "ana.perez@alcaldia.gov.co",
    }
    body.update(overrides)
    files = body.pop("files", [(JPEG, "foto.jpg")])
    body["file"] = [(io.BytesIO(content), name) for content, name in files]
    return body


def _sync(client, song_id: int, body: dict):
    return client.post(f"/api/v1/songs/{song_id}/offline-deliveries", data=body, content_type="multipart/form-data")


def _counts(song_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    evidence = db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.song_id == song_id))
    syncs = db.session.scalar(select(func.count()).select_from(OfflineSync).where(OfflineSync.song_id == song_id))
    deliveries = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity_id == song_id, AuditEvent.action == "song_transition")
    )
    return evidence, syncs, deliveries


@pytest.fixture
def song(world, clock):
    return make_song(world, state="in_progress", planned_start=date(2024, 5, 2), due=date(2024, 6, 28))


def test_a_draft_delivers_the_song_with_its_files_once(client, auth, world, song):
    auth.login(world.territorial_a)
    draft = str(uuid.uuid4())
    first = _sync(client, song.id, _body(song, draft, files=[(JPEG, "foto.jpg"), (PDF, "acta.pdf")]))
    assert first.status_code == 201, first.get_json()
    data = first.get_json()
    assert data["replayed"] is False and data["draft_id"] == draft
    assert data["song"]["state"] == "delivered" and len(data["song"]["evidence"]) == 2
    assert _counts(song.id) == (2, 1, 1)
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "song_transition")).all()
    assert trail[-1].changes["recorded_on_device"][1].startswith("2024-06-19T10:00")

    for _ in range(2):  # the same draft replayed twice creates nothing
        again = _sync(client, song.id, _body(song, draft, files=[(JPEG, "foto.jpg"), (PDF, "acta.pdf")]))
        assert again.status_code == 200, again.get_json()
        assert again.get_json()["replayed"] is True and again.get_json()["song"]["state"] == "delivered"
    assert _counts(song.id) == (2, 1, 1)


def test_a_draft_id_belongs_to_one_song_and_one_user(client, auth, world, song):
    other = make_song(world, state="in_progress", planned_start=date(2024, 5, 2), due=date(2024, 6, 28))
    auth.login(world.territorial_a)
    draft = str(uuid.uuid4())
    assert _sync(client, song.id, _body(song, draft)).status_code == 201
    reused = _sync(client, other.id, _body(other, draft))
    assert reused.status_code == 409 and reused.get_json()["error"]
    assert _counts(other.id) == (0, 0, 0)


def test_a_song_changed_on_the_server_meanwhile_is_a_conflict_not_an_overwrite(client, auth, world, song):
    auth.login(world.territorial_a)
    seen = song.version
    patched = client.patch(f"/api/v1/songs/{song.id}", json={"scope": "Alcance ajustado en la oficina"})
    assert patched.status_code == 200
    draft = str(uuid.uuid4())
    conflict = _sync(client, song.id, _body(song, draft, version=str(seen)))
    assert conflict.status_code == 409
    details = conflict.get_json()["details"]
    assert details["expected_version"] == seen and details["current_version"] == seen + 1
    assert details["fields"] == {"scope": "Alcance ajustado en la oficina"}
    assert db.session.get(Song, song.id).state == "in_progress"
    assert _counts(song.id) == (0, 0, 0)  # nothing written, the key is still free
    # The user saw the change and chose to deliver over the current version: the same draft goes.
    resolved = _sync(client, song.id, _body(song, draft, version=str(details["current_version"])))
    assert resolved.status_code == 201 and _counts(song.id) == (1, 1, 1)


def test_a_device_clock_in_the_future_is_refused(client, auth, world, song):
    auth.login(world.territorial_a)
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    response = _sync(client, song.id, _body(song, recorded_at=ahead))
    assert response.status_code == 422
    assert "adelantado" in " ".join(response.get_json()["details"]["recorded_at"])
    assert _counts(song.id) == (0, 0, 0)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"draft_id": "borrador-1"}, "draft_id"),
        ({"recorded_at": "2024-06-19T10:00:00"}, "recorded_at"),  # no offset
        ({"recorded_at": ""}, "recorded_at"),
        ({"version": ""}, "version"),
        ({"files": []}, "file"),
        ({"surveyed_by": "yo"}, "surveyed_by"),
    ],
)
def test_bad_drafts_are_422_and_write_nothing(client, auth, world, song, overrides, field):
    auth.login(world.territorial_a)
    response = _sync(client, song.id, _body(song, **overrides))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["details"]
    assert _counts(song.id) == (0, 0, 0)


def test_only_the_songs_label_syncs(client, auth, world, song):
    auth.login(world.territorial_b)
    assert _sync(client, song.id, _body(song)).status_code in (403, 404)
    assert _counts(song.id) == (0, 0, 0)


def test_the_window_counts_from_the_device_time_within_the_sync_bound(client, auth, world, song):
    """Recorded offline 3 business days ago, a delivery dated 10 business days before that is
    accepted (online today it would not be); a device time older than the bound counts as the
    bound, so a back-dated clock does not stretch the window."""
    world.season.declaration_window_days = 10
    db.session.commit()
    auth.login(world.territorial_a)
    device_day = song_rules.earliest_declarable(TODAY, 3)
    declared = song_rules.earliest_declarable(device_day, 10)
    online = client.post(
        f"/api/v1/songs/{song.id}/transitions",
        json={"to": "delivered", "delivered_on": declared.isoformat(), "product": "x", "beneficiaries": 1},
    )
    assert online.status_code == 422  # (no evidence either, but the date is refused on its own)
    assert "delivered_on" in online.get_json()["details"]

    ok = _sync(client, song.id, _body(song, recorded_at=_at(device_day), delivered_on=declared.isoformat()))
    assert ok.status_code == 201, ok.get_json()


def test_a_back_dated_device_clock_gains_at_most_the_bound(client, auth, world, song):
    world.season.declaration_window_days = 10
    db.session.commit()
    auth.login(world.territorial_a)
    backdated = song_rules.earliest_declarable(TODAY, 20)  # "recorded" four weeks ago
    bound = song_rules.earliest_declarable(TODAY, song_rules.MAX_SYNC_DELAY_DAYS)
    too_early = song_rules.earliest_declarable(backdated, 5)
    refused = _sync(client, song.id, _body(song, recorded_at=_at(backdated), delivered_on=too_early.isoformat()))
    assert refused.status_code == 422 and "delivered_on" in refused.get_json()["details"]
    assert _counts(song.id) == (0, 0, 0)
    at_the_bound = song_rules.earliest_declarable(bound, 10)
    ok = _sync(client, song.id, _body(song, recorded_at=_at(backdated), delivered_on=at_the_bound.isoformat()))
    assert ok.status_code == 201, ok.get_json()


def test_a_replay_that_loses_the_race_for_the_key_answers_as_a_replay(client, auth, world, song, monkeypatch):
    """Two syncs of one draft at once: the second finds no key yet, and its insert meets the
    unique constraint; it rolls back (its files with it) and answers with the first's result."""
    from app.domain import offline

    auth.login(world.territorial_a)
    draft = str(uuid.uuid4())
    assert _sync(client, song.id, _body(song, draft)).status_code == 201
    real, calls = offline.find_sync, []

    def blind_the_first_time(key):
        calls.append(key)
        return None if len(calls) == 1 else real(key)

    monkeypatch.setattr(offline, "find_sync", blind_the_first_time)
    again = _sync(client, song.id, _body(song, draft))
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert _counts(song.id) == (1, 1, 1)


def test_parallel_replays_of_one_draft_deliver_once(app, world, song):
    from tests.factories import PASSWORD

    token_client = app.test_client()
    token = token_client.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD}).get_json()["token"]
    draft, song_id, version = str(uuid.uuid4()), song.id, song.version

    def send(c):
        body = _body(song, draft, version=str(version))  # files made per thread
        return c.post(
            f"/api/v1/songs/{song_id}/offline-deliveries",
            data=body,
            content_type="multipart/form-data",
            headers={"Authorization": f"Bearer {token}"},
        )

    results = _in_parallel(app, [send] * 4)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201}, results
    assert _counts(song_id) == (1, 1, 1)


def test_a_song_still_planned_is_started_and_delivered_in_one_sync(client, auth, world, clock):
    planned = make_song(world, state="planned", planned_start=date(2024, 5, 2), due=date(2024, 6, 28))
    auth.login(world.territorial_a)
    missing = _sync(client, planned.id, _body(planned))
    assert missing.status_code == 422 and "diagnosis" in missing.get_json()["details"]
    assert _counts(planned.id) == (0, 0, 0) and db.session.get(Song, planned.id).state == "planned"

    draft = str(uuid.uuid4())
    body = _body(planned, draft, diagnosis="Diagnóstico hecho en la vereda", action_plan="Plan concertado")
    first = _sync(client, planned.id, body)
    assert first.status_code == 201, first.get_json()
    song = db.session.get(Song, planned.id)
    assert song.state == "delivered" and song.diagnosis == "Diagnóstico hecho en la vereda"
    assert song.committed_due == date(2024, 6, 28)
    assert _counts(planned.id) == (1, 1, 2)  # started, then delivered: two transitions, one file
    assert _sync(client, planned.id, _body(planned, draft, diagnosis="otra")).get_json()["replayed"] is True
    assert _counts(planned.id) == (1, 1, 2)
