"""Offline in the field (issue 22), in Chromium with Playwright's ``context.set_offline``.

A territorial user opens the app once with a connection: the service worker (scope "/")
keeps the static files, the song list, each listed song's page and its offline delivery
form. Offline, a delivery with a photo is kept as a draft in IndexedDB (never in the Cache
Storage), survives a reload and a service-worker update, and is sent when the connection
returns: the song is delivered with exactly one evidence file. A replayed draft creates
nothing; a change made meanwhile on the server is shown, not overwritten.
"""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, run_axe
from tests.e2e.test_phone import _plan_song

pytestmark = pytest.mark.e2e

TERRITORIAL = "territorial1@sinfonia.demo"


def png(width: int, height: int) -> bytes:
    """A real PNG photo stand-in (a colour gradient), big enough to be shrunk."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 120)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _song_in_progress(live, scope: str) -> int:
    """A song of territorial1's label, planned (as test_phone does) and started through the domain."""
    song_id = _plan_song(live)

    def start(session):
        from sqlalchemy import select

        from app.domain import lifecycle
        from app.models import Song, User

        user = session.scalar(select(User).where(User.email == TERRITORIAL))
        song = session.get(Song, song_id)
        song.scope = scope
        lifecycle.transition_song(user, song, "in_progress", diagnosis="Diagnóstico en campo")
        session.commit()
        return song.id

    return live.query(start)


def _song(live, song_id: int) -> dict:
    def read(session):
        from app.models import Song

        song = session.get(Song, song_id)
        return {"state": song.state, "evidence": len(song.evidence), "version": song.version, "product": song.product}

    return live.query(read)


def _online_once(pages, viewport=None):
    """Sign in and open the song list with a connection; wait until the worker controls the page."""
    page = pages.login(pages.new(viewport=viewport), TERRITORIAL)
    page.goto("/songs")
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    return page


def _clean(page) -> None:
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert horizontal_overflow(page) <= 0, f"{page.url} scrolls sideways at 375 px"


def test_installable_and_the_offline_page_works_without_a_connection(pages):
    page = _online_once(pages, viewport=PHONE)
    scope = page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == pages.live.url + "/", scope
    manifest = page.evaluate("() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["scope"] == "/" and {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    caches = page.evaluate("() => caches.keys()")
    assert any(re.fullmatch(r"sinfonia-static-[0-9a-f]{12}", name) for name in caches), caches

    page.context.set_offline(True)
    page.goto("/offline")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trabajo sin conexión")
    expect(page.get_by_role("heading", name="Lo que puede hacer sin conexión")).to_be_visible()
    expect(page.get_by_role("heading", name="Lo que necesita conexión")).to_be_visible()
    expect(page.locator("[data-offline-summary]")).to_have_text("No hay entregas guardadas en este dispositivo.")
    expect(page.locator("#offline-queue")).to_contain_text("Sin conexión")
    _clean(page)
    pages.shot(page, "offline-page-375")
    # A page never opened with a connection falls back to the offline page.
    page.goto("/charts/never-opened")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trabajo sin conexión")
    assert not pages.console_problems, pages.console_problems
