"""CSRF on every state-changing songs request (forms and session-authenticated API)."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_song


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _token(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_forms_need_the_token(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_a)
    refused = client.post(f"/songs/{song.id}/transition/cancelled", data={"reason": "Sin token"})
    assert refused.status_code in (400, 422)
    token = _token(client, f"/songs/{song.id}")
    ok = client.post(f"/songs/{song.id}/transition/cancelled", data={"reason": "Con token", "csrf_token": token})
    assert ok.status_code == 303


def test_session_api_writes_need_the_header(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_a)
    assert client.patch(f"/api/v1/songs/{song.id}", json={"scope": "x"}).status_code == 400
    token = _token(client, f"/songs/{song.id}")
    ok = client.patch(f"/api/v1/songs/{song.id}", json={"scope": "Nuevo"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json()["song"]["scope"] == "Nuevo"


def test_htmx_list_pushes_a_clean_url(client, auth, world):
    make_song(world)
    auth.login(world.territorial_a)
    response = client.get(
        "/songs?season=&state=planned&q=&sort=urgency", headers={"HX-Request": "true", "HX-Target": "songs-results"}
    )
    assert response.headers["HX-Push-Url"] == "/songs?state=planned&sort=urgency"
    assert "HX-Request" in response.headers["Vary"]
    history = client.get(
        "/songs?state=planned",
        headers={"HX-Request": "true", "HX-Target": "songs-results", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in history.get_data(as_text=True)  # history restore gets the whole page


def test_detail_ids_unique_with_csrf_fields(client, auth, world):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    html = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert html.count('name="csrf_token"') >= 4
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
