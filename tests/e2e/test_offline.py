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
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.domain.calendar import today as bogota_today
from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, run_axe
from tests.e2e.test_phone import _plan_song

pytestmark = pytest.mark.e2e

TERRITORIAL = "territorial1@sinfonia.demo"
BOGOTA = "America/Bogota"


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
    page = pages.login(pages.new(viewport=viewport, timezone_id=BOGOTA), TERRITORIAL)
    page.goto("/songs")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    # The first page may have started loading before the worker was active: the next one is its.
    page.goto("/songs")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
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


PHOTO = png(3000, 1500)  # wider than 2,000 px: shrunk on the device


def _list_once_online(pages, scope: str, song_id: int, viewport=None):
    """Open the song list (filtered to the test's song) once with a connection: the worker keeps
    the listed song's page and its offline delivery form."""
    page = pages.login(pages.new(viewport=viewport, timezone_id=BOGOTA), TERRITORIAL)  # a device in Colombia
    page.goto(f"/songs?q={scope}")
    expect(page.locator(f"main a[href='/songs/{song_id}']").first).to_be_visible()
    # The worker answers once it has fetched and stored them.
    expect(page.locator("html")).to_have_attribute("data-offline-pages", "cached")
    return page


def _fill_and_save(page, product: str, beneficiaries: str = "14", photo: bytes = PHOTO) -> None:
    """Fill the offline delivery form (product, beneficiaries, one photo) and save it on the device."""
    page.get_by_label("Producto entregado").fill(product)
    page.get_by_label("Beneficiarios (servidores públicos alcanzados)").fill(beneficiaries)
    page.get_by_label("Fotos o PDF de la entrega").set_input_files(
        {"name": "foto-entrega.png", "mimeType": "image/png", "buffer": photo}
    )
    page.get_by_role("button", name="Guardar la entrega en el dispositivo").click()
    expect(page.locator("[data-form-status]")).to_have_text(
        "Entrega guardada en este dispositivo. Se sincroniza sola cuando haya conexión."
    )


def _record_offline(page, song_id: int, product: str = "Plan de acción firmado en campo"):
    page.goto(f"/offline/songs/{song_id}/deliver")  # never opened before: from the list's visit
    expect(page.get_by_role("heading", level=1)).to_contain_text("Registrar entrega sin conexión")
    page.get_by_label("Contacto de la alcaldía: nombre").fill("Ana Pérez")
    page.get_by_label("Correo institucional del contacto").fill("ana.perez@alcaldia.gov.co")
    _fill_and_save(page, product)


def _draft_offline(pages, scope: str, product: str = "Plan de acción firmado en campo"):
    """A song of the user's label; the list opened once online; offline, a delivery recorded."""
    song_id = _song_in_progress(pages.live, scope)
    page = _list_once_online(pages, scope, song_id)
    page.context.set_offline(True)
    _record_offline(page, song_id, product=product)
    return page, song_id


DRAFTS_JS = """() => idb.openDB('sinfonia-offline', 1).then(db => db.getAll('drafts'))"""


def test_a_delivery_recorded_offline_with_a_photo_syncs_once(pages):
    live = pages.live
    page, song_id = _draft_offline(pages, "Entrega sin señal en la vereda")
    expect(page.locator("#offline-queue")).to_have_text("1 entrega por sincronizar")
    drafts = page.evaluate(DRAFTS_JS)
    assert len(drafts) == 1 and drafts[0]["status"] in ("pending", "error"), drafts
    # The photo was shrunk on the device to the configured 2,000 px before it was stored.
    size = page.evaluate(
        """() => idb.openDB('sinfonia-offline', 1).then(db => db.getAll('drafts'))
             .then(d => createImageBitmap(d[0].files[0].blob)).then(b => [b.width, b.height])"""
    )
    assert max(size) == 2000, size
    # Drafts are never in the Cache Storage (only the versioned static cache and the pages).
    names = page.evaluate("() => caches.keys()")
    assert all(re.fullmatch(r"sinfonia-(static-[0-9a-f]{12}|pages-v1)", n) for n in names), names
    urls = page.evaluate(
        "() => caches.keys().then(ns => Promise.all(ns.map(n => caches.open(n).then(c => c.keys()))))"
        ".then(lists => lists.flat().map(r => r.url))"
    )
    assert not [u for u in urls if "/api/" in u], urls

    page.reload()  # offline: the page comes from the cache, the draft from IndexedDB
    expect(page.locator("#offline-queue")).to_have_text("1 entrega por sincronizar")
    expect(page.locator("[data-draft] [data-draft-status]")).to_have_text(
        re.compile("Pendiente|No se pudo enviar todavía")
    )
    pages.shot(page, "draft-offline")
    assert _song(live, song_id) == {**_song(live, song_id), "state": "in_progress", "evidence": 0}
    # A copy with its photo, as a device that never heard back from the server would hold it.
    page.evaluate(
        "() => idb.openDB('sinfonia-offline', 1).then(db => db.getAll('drafts')).then(d => { window.kept = d[0]; })"
    )

    page.context.set_offline(False)  # the "online" event starts the sync
    expect(page.locator("[data-draft] [data-draft-status]")).to_have_text(
        "Sincronizada: la canción quedó entregada en el servidor."
    )
    expect(page.locator("#offline-queue")).to_be_hidden()
    after = _song(live, song_id)
    assert after["state"] == "delivered" and after["evidence"] == 1, after
    assert after["product"] == "Plan de acción firmado en campo"

    # The same draft replayed twice (the response was lost): nothing new on the server.
    for _ in range(2):
        page.evaluate(
            """() => idb.openDB('sinfonia-offline', 1)
                 .then(db => db.put('drafts', Object.assign({}, window.kept, {status: 'pending'})))
                 .then(() => window.sinfoniaOffline.sync())"""
        )
        expect(page.locator("[data-draft] [data-draft-status]")).to_have_text(
            "Sincronizada: la canción quedó entregada en el servidor."
        )
    assert _song(live, song_id) == after
    assert not pages.console_problems, pages.console_problems


def test_a_change_made_on_the_server_meanwhile_is_reported_not_overwritten(pages):
    live = pages.live
    page, song_id = _draft_offline(pages, "Entrega con cambio en la oficina", product="Producto registrado en campo")

    def change_on_the_server(session):
        from sqlalchemy import select

        from app.domain import lifecycle
        from app.models import Song, User

        coordinator = session.scalar(select(User).where(User.email == "coordinador@sinfonia.demo"))
        lifecycle.update_song(coordinator, session.get(Song, song_id), {"scope": "Alcance ajustado en la oficina"})
        session.commit()

    live.query(change_on_the_server)
    page.context.set_offline(False)
    item = page.locator("[data-draft]")
    expect(item.locator("[data-draft-status]")).to_have_text(re.compile("^Conflicto: la canción cambió en el servidor"))
    expect(item).to_contain_text("Alcance ajustado en la oficina")
    expect(page.locator("#offline-queue")).to_contain_text("1 con problemas")
    assert _song(live, song_id)["state"] == "in_progress" and _song(live, song_id)["evidence"] == 0
    pages.shot(page, "conflict")
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)

    item.get_by_role("button", name="Enviar mi entrega sobre la versión actual").click()  # the user decides
    expect(item.locator("[data-draft-status]")).to_have_text("Sincronizada: la canción quedó entregada en el servidor.")
    after = _song(live, song_id)
    assert (
        after["state"] == "delivered" and after["evidence"] == 1 and after["product"] == "Producto registrado en campo"
    )


def test_a_service_worker_update_keeps_the_drafts(pages):
    live = pages.live
    page, song_id = _draft_offline(pages, "Entrega durante una actualización")
    old_caches = page.evaluate("() => caches.keys()")
    # The session ends while the device is offline: the draft waits, it is not lost.
    page.context.clear_cookies()
    page.context.set_offline(False)
    expect(page.locator("[data-draft] .draft-error")).to_have_text(re.compile("Su sesión terminó"))

    live.app.config["OFFLINE_CACHE_REVISION"] = "e2e-update"  # a new release: a new worker
    try:
        page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
        page.wait_for_function(
            "(old) => caches.keys().then(ks => ks.some(k => k.startsWith('sinfonia-static-') && !old.includes(k))"
            " && !ks.some(k => old.includes(k) && k.startsWith('sinfonia-static-')))",
            arg=old_caches,
        )
        assert len(page.evaluate(DRAFTS_JS)) == 1  # IndexedDB is untouched by the update
        # The new worker controls the page before the sign-in navigates through it.
        page.wait_for_function(
            "() => navigator.serviceWorker.getRegistration().then(r => !!r && !r.installing && !r.waiting"
            " && !!r.active && r.active.state === 'activated' && navigator.serviceWorker.controller === r.active)"
        )

        pages.login(page, TERRITORIAL)  # signed in again: the start-up sync sends it
        page.goto("/offline")
        expect(page.locator("[data-draft] [data-draft-status]")).to_have_text(
            "Sincronizada: la canción quedó entregada en el servidor."
        )
    finally:
        live.app.config.pop("OFFLINE_CACHE_REVISION", None)
    after = _song(live, song_id)
    assert after["state"] == "delivered" and after["evidence"] == 1, after

    # Signing out takes the signed-in pages off the device; the drafts' store stays.
    with page.expect_navigation():
        page.get_by_role("button", name="Cerrar sesión").click()
    assert "sinfonia-pages-v1" not in page.evaluate("() => caches.keys()")
    assert len(page.evaluate(DRAFTS_JS)) == 1


def test_a_refused_draft_says_why_in_spanish_and_can_be_corrected(pages):
    live = pages.live
    song_id = _song_in_progress(live, "Entrega con fecha fuera de la ventana")
    page = _list_once_online(pages, "Entrega con fecha fuera de la ventana", song_id)
    page.context.set_offline(True)
    page.goto(f"/offline/songs/{song_id}/deliver")
    page.get_by_label("Fecha de entrega").fill((bogota_today() - timedelta(days=120)).isoformat())
    _fill_and_save(page, "Acta de la mesa técnica", "8", png(400, 300))
    page.context.set_offline(False)
    item = page.locator("[data-draft]")
    expect(item.locator("[data-draft-status]")).to_have_text(re.compile("^El servidor no aceptó la entrega"))
    expect(item.locator(".draft-error")).to_contain_text("días hábiles anterior al registro")
    assert _song(live, song_id)["state"] == "in_progress"

    item.get_by_role("link", name="Corregir").click()
    expect(page.locator("[data-form-status]")).to_contain_text("Está corrigiendo la entrega")
    expect(page.get_by_label("Producto entregado")).to_have_value("Acta de la mesa técnica")
    page.get_by_label("Fecha de entrega").fill((bogota_today() - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Guardar la entrega en el dispositivo").click()  # its photo is kept
    expect(page.locator("[data-draft] [data-draft-status]")).to_have_text(
        "Sincronizada: la canción quedó entregada en el servidor."
    )
    after = _song(live, song_id)
    assert after["state"] == "delivered" and after["evidence"] == 1, after
    assert page.locator("[data-draft]").count() == 1  # corrected in place, not a second draft


def test_the_offline_delivery_form_works_at_375_px(pages):
    song_id = _song_in_progress(pages.live, "Entrega en el teléfono sin señal")
    page = _list_once_online(pages, "Entrega en el teléfono sin señal", song_id, viewport=PHONE)
    page.context.set_offline(True)
    page.goto(f"/offline/songs/{song_id}/deliver")
    expect(page.get_by_role("button", name="Guardar la entrega en el dispositivo")).to_be_visible()
    _clean(page)
    page.get_by_role("button", name="Guardar la entrega en el dispositivo").click()  # nothing filled in
    expect(page.locator("[data-form-errors]")).to_have_text("Revise los datos marcados.")
    expect(page.locator("#offline-files-offline-error")).to_have_text("Adjunte al menos una foto o un PDF.")
    expect(page.get_by_label("Producto entregado")).to_be_focused()
    _clean(page)
    pages.shot(page, "deliver-375")
    assert not pages.console_problems, pages.console_problems


def test_a_song_still_planned_is_started_and_delivered_offline(pages):
    live = pages.live
    song_id = _plan_song(live)
    page = pages.login(pages.new(timezone_id=BOGOTA), TERRITORIAL)
    page.goto(f"/songs/{song_id}")
    page.get_by_text("Iniciar: pasar a «en curso»").click()  # the next-step box
    page.get_by_role("link", name="Iniciar y entregar sin conexión (con fotos, se sincroniza sola)").click()
    expect(page.get_by_label("Diagnóstico · caracterización")).to_be_visible()
    page.context.set_offline(True)
    page.reload()  # the form was kept when it was opened
    page.get_by_label("Diagnóstico · caracterización").fill("Diagnóstico levantado en la vereda")
    _fill_and_save(page, "Plan de acción concertado", "11", png(600, 400))
    expect(page.locator("#offline-queue")).to_have_text("1 entrega por sincronizar")
    assert _song(live, song_id)["state"] == "planned"
    page.context.set_offline(False)
    expect(page.locator("[data-draft] [data-draft-status]")).to_have_text(
        "Sincronizada: la canción quedó entregada en el servidor."
    )
    assert _song(live, song_id)["state"] == "delivered" and _song(live, song_id)["evidence"] == 1
