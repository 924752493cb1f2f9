"""Issue 19 items 5 and 6: parallel writes to one song, with real threads, on the suite's database.

Every thread has its own client (its own app context, session and database connection); a
barrier starts them together. The assertions do not depend on the interleaving: every response
is 200 or 409 (never a 500 or a 503), each 409 says what changed, and the song's final version
counts exactly the successful writes.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Evidence, Song
from tests.factories import PASSWORD, make_song

THREADS = 8
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def token(client, world):
    return client.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD}).get_json()["token"]


def _in_parallel(app, requests):
    """Run each ``request(client)`` in its own thread at the same moment; their responses."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(i, request):
        client = FlaskClient(app, app.response_class, use_cookies=True)  # no shared context helpers
        barrier.wait()
        try:
            response = request(client)
            body = response.get_data()
            results[i] = (response.status_code, json.loads(body) if body[:1] == b"{" else body[:200])
        except Exception as exc:  # an exception escaping the app is a failure, recorded as such
            import traceback

            results[i] = (type(exc).__name__, traceback.format_exc()[-1500:])

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _check_conflicts(results):
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 409}, results
    for status, body in results:
        if status == 409:
            assert body["error"] and isinstance(body["details"], dict), body
            assert body["details"]["current_version"] >= 1, body
    return statuses.count(200)


@pytest.mark.parametrize("with_version", [True, False], ids=["with-version", "without-version"])
def test_parallel_patches_are_200_or_409(app, world, token, with_version):
    song_id = make_song(world).id
    headers = {"Authorization": f"Bearer {token}"}

    def patch(i):
        body = {"scope": f"Alcance escrito por el hilo {i}"}
        if with_version:
            body["version"] = 1
        return lambda client: client.patch(f"/api/v1/songs/{song_id}", json=body, headers=headers)

    results = _in_parallel(app, [patch(i) for i in range(THREADS)])
    successes = _check_conflicts(results)
    db.session.expire_all()
    final = db.session.get(Song, song_id)
    assert successes >= 1
    if with_version:
        assert successes == 1
    assert final.version == 1 + successes
    assert final.scope.startswith("Alcance escrito por el hilo")


@pytest.mark.parametrize("with_version", [True, False], ids=["with-version", "without-version"])
def test_parallel_transitions_are_200_or_409(app, world, token, with_version):
    song_id = make_song(world).id
    headers = {"Authorization": f"Bearer {token}"}
    body = {"to": "in_progress", "diagnosis": "Diagnóstico"}
    if with_version:
        body["version"] = 1
    results = _in_parallel(
        app,
        [lambda client: client.post(f"/api/v1/songs/{song_id}/transitions", json=body, headers=headers)] * THREADS,
    )
    assert _check_conflicts(results) == 1
    db.session.expire_all()
    final = db.session.get(Song, song_id)
    assert final.state == "in_progress" and final.version == 2


def test_a_stale_transition_version_is_a_409_with_what_changed(client, world, token):
    song_id = make_song(world).id
    headers = {"Authorization": f"Bearer {token}"}
    assert client.patch(f"/api/v1/songs/{song_id}", json={"scope": "Nuevo alcance"}, headers=headers).status_code == 200
    stale = client.post(
        f"/api/v1/songs/{song_id}/transitions",
        json={"to": "in_progress", "diagnosis": "D", "version": 1},
        headers=headers,
    )
    assert stale.status_code == 409
    details = stale.get_json()["details"]
    assert details["current_version"] == 2 and "scope" in details["fields"]


def _evidence(song) -> int:
    row = Evidence(
        song_id=song.id,
        original_name="acta.pdf",
        stored_name=f"{uuid.uuid4().hex}.pdf",
        content_type="application/pdf",
        size_bytes=len(PDF),
        sha256="0" * 64,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def test_parallel_evidence_deletions_keep_one_on_a_delivered_song(app, world, token):
    """Item 6: two parallel deletions of the last two files left a delivered song without evidence."""
    song = make_song(world, state="delivered", delivered_on=world.season.starts_on)
    song_id = song.id
    first, second = _evidence(song), _evidence(song)
    headers = {"Authorization": f"Bearer {token}"}
    results = _in_parallel(
        app,
        [
            lambda client, e=e: client.delete(f"/api/v1/songs/{song_id}/evidence/{e}", headers=headers)
            for e in (first, second)
        ]
        * (THREADS // 2),
    )
    statuses = [status for status, _ in results]
    assert set(statuses) <= {204, 404, 409, 422}, results
    db.session.expire_all()
    assert db.session.query(Evidence).filter_by(song_id=song_id).count() == 1
    assert statuses.count(204) == 1
