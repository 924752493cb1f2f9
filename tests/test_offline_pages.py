"""Offline in the field (issue 22): the installable web app's pieces served by the app."""

from __future__ import annotations

import json
import re
from datetime import date

from app.domain import song_rules
from tests.factories import make_song


def test_service_worker_is_served_for_scope_root_and_never_cached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = response.get_data(as_text=True)
    version = re.search(r'^const VERSION = "([0-9a-f]{12})";', body, re.M).group(1)
    precache = json.loads(re.search(r"^const PRECACHE = (\[.*\]);", body, re.M).group(1))
    assert "/offline" in precache and "/static/offline/offline.js" in precache
    for url in precache:  # every precached URL exists, none from another host
        assert url.startswith("/") and client.get(url).status_code == 200, url
    assert client.get("/sw.js").get_data(as_text=True).startswith(f'const VERSION = "{version}"')


def test_cache_version_follows_the_assets(app, client, monkeypatch):
    from app.offline import routes

    first = re.search(r'VERSION = "(\w+)"', client.get("/sw.js").get_data(as_text=True)).group(1)
    monkeypatch.setitem(app.config, "OFFLINE_CACHE_REVISION", "2")
    second = re.search(r'VERSION = "(\w+)"', client.get("/sw.js").get_data(as_text=True)).group(1)
    assert first != second
    assert routes.PRECACHED_STATIC  # the list the hash covers


def test_manifest_is_installable_with_local_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["scope"] == "/" and manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/static/icons/") and client.get(icon["src"]).status_code == 200


def test_offline_page_says_what_can_and_cannot_be_done_in_both_languages(client):
    page = client.get("/offline").get_data(as_text=True)
    assert "Lo que puede hacer sin conexión" in page and "Lo que necesita conexión" in page
    assert f"{song_rules.MAX_SYNC_DELAY_DAYS} días hábiles" in page
    assert "<script>" not in page and "onclick" not in page
    english = client.get("/offline", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "What you can do offline" in english and "What needs a connection" in english
    assert "1 delivery waiting to sync" in english  # the words offline.js shows


def test_delivery_form_for_an_open_song_of_the_users_own_label(client, auth, world):
    song = make_song(world, state="in_progress")
    other = make_song(world, artist=world.artist_b, state="in_progress")
    planned = make_song(world, state="planned")
    assert client.get(f"/offline/songs/{song.id}/deliver").status_code == 302  # sign-in first
    auth.login(world.territorial_a)
    page = client.get(f"/offline/songs/{song.id}/deliver")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-song-version="{song.version}"' in html and 'data-photo-max-px="2000"' in html
    assert client.get(f"/offline/songs/{other.id}/deliver").status_code in (403, 404)
    started_and_delivered = client.get(f"/offline/songs/{planned.id}/deliver")
    assert started_and_delivered.status_code == 200 and 'name="diagnosis"' in started_and_delivered.get_data(
        as_text=True
    )
    assert 'name="diagnosis"' not in html  # already in progress: nothing to start
    delivered = make_song(world, state="delivered", delivered_on=date(2024, 3, 20))
    assert client.get(f"/offline/songs/{delivered.id}/deliver").status_code == 409
    session = client.get("/offline/session")
    assert session.headers["Cache-Control"] == "no-store"
    assert session.get_json()["user_id"] == world.territorial_a.id and session.get_json()["csrf_token"]


def test_photo_size_is_configurable(app, client, auth, world, monkeypatch):
    monkeypatch.setitem(app.config, "OFFLINE_PHOTO_MAX_PX", 1280)
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    assert 'data-photo-max-px="1280"' in client.get(f"/offline/songs/{song.id}/deliver").get_data(as_text=True)


def test_nothing_served_names_a_cdn():
    """Front-end assets are served by the app (issue 22): no static file or template may point a
    browser at a CDN, not even a default that the app never uses (the image library's worker URL)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "app"
    cdn = re.compile(r"https?://[^\s\"')]*(cdn|unpkg\.com|jsdelivr|cdnjs|googleapis|gstatic)", re.I)
    files = [*(root / "static").rglob("*.js"), *(root / "static").rglob("*.css"), *root.rglob("*.html")]
    assert files
    offenders = [f"{p.relative_to(root)}: {m.group(0)}" for p in files for m in cdn.finditer(p.read_text("utf-8"))]
    assert offenders == []
