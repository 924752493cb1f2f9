"""Offline in the field (issue 22), measured: the size of the offline bundle (the JS and CSS the
service worker keeps) and the time to sync 20 deliveries queued offline, each with a phone-sized
photo (4,000 × 3,000 JPEG, shrunk on the device to 2,000 px). Figures, not timed assertions:
they are printed and written to test-artifacts/e2e/offline-bench.json.

OFFLINE_BENCH_DRAFTS changes the number of deliveries (default 20).
"""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_offline import _list_once_online, _song, _song_in_progress

pytestmark = [pytest.mark.e2e, pytest.mark.bench]  # run by `make bench-offline`, not `make test`

DRAFTS = int(os.environ.get("OFFLINE_BENCH_DRAFTS", "20"))

PHONE_PHOTO_JS = """() => new Promise(resolve => {
    const c = document.createElement('canvas'); c.width = 4000; c.height = 3000;
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 4000, 3000);
    grad.addColorStop(0, '#2d6a4f'); grad.addColorStop(0.5, '#d8a657'); grad.addColorStop(1, '#457b9d');
    g.fillStyle = grad; g.fillRect(0, 0, 4000, 3000);
    const img = g.getImageData(0, 0, 4000, 3000), d = img.data;  // sensor-like noise: JPEG-sized
    let seed = 7; for (let i = 0; i < d.length; i += 4) { seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = (seed % 41) - 20; d[i] += n; d[i + 1] += n; d[i + 2] += n; }
    g.putImageData(img, 0, 0);
    c.toBlob(b => { const r = new FileReader(); r.onload = () => resolve(r.result.split(',')[1]);
        r.readAsDataURL(b); }, 'image/jpeg', 0.92);
})"""

BUNDLE_JS = """() => caches.keys().then(names => Promise.all(names.filter(n => n.startsWith('sinfonia-static-'))
    .map(n => caches.open(n).then(c => c.keys().then(reqs => Promise.all(reqs.map(r => c.match(r)
        .then(res => res.clone().arrayBuffer()).then(buf => ({url: r.url, bytes: buf.byteLength}))))))))).then(l => l.flat())"""


def test_offline_bundle_size_and_time_to_sync_queued_deliveries(pages):
    live = pages.live
    scope = "Medición de sincronización"
    songs = [_song_in_progress(live, scope) for _ in range(DRAFTS)]
    page = _list_once_online(pages, scope, songs[-1])
    kept = page.evaluate(
        "(ps) => caches.open('sinfonia-pages-v1').then(c => Promise.all(ps.map(p => c.match(p))))"
        ".then(hits => hits.filter(Boolean).length)",
        [f"/offline/songs/{song_id}/deliver" for song_id in songs],
    )
    assert kept == DRAFTS, f"{kept} of {DRAFTS} delivery forms kept after one visit of the list"

    files = page.evaluate(BUNDLE_JS)
    js_css = sum(f["bytes"] for f in files if f["url"].endswith((".js", ".css")))
    everything = sum(f["bytes"] for f in files)
    photo = base64.b64decode(page.evaluate(PHONE_PHOTO_JS))

    page.context.set_offline(True)
    started = time.perf_counter()
    for n, song_id in enumerate(songs, start=1):
        page.goto(f"/offline/songs/{song_id}/deliver")
        page.get_by_label("Producto entregado").fill(f"Acta de entrega {n}")
        page.get_by_label("Beneficiarios (servidores públicos alcanzados)").fill("9")
        page.get_by_label("Fotos o PDF de la entrega").set_input_files(
            {"name": f"foto-{n}.jpg", "mimeType": "image/jpeg", "buffer": photo}
        )
        page.get_by_role("button", name="Guardar la entrega en el dispositivo").click()
        expect(page.locator("[data-form-status]")).to_have_text(
            "Entrega guardada en este dispositivo. Se sincroniza sola cuando haya conexión.", timeout=30_000
        )
    recording = time.perf_counter() - started
    page.goto("/offline")
    expect(page.locator("#offline-queue")).to_have_text(f"{DRAFTS} entregas por sincronizar")
    stored = page.evaluate(
        "() => idb.openDB('sinfonia-offline', 1).then(db => db.getAll('drafts'))"
        ".then(ds => ds.filter(d => d.status !== 'synced').map(d => d.fileBytes))"
    )

    started = time.perf_counter()
    page.context.set_offline(False)  # the "online" event starts the sync
    expect(page.locator("#offline-queue")).to_be_hidden(timeout=300_000)
    syncing = time.perf_counter() - started

    for song_id in songs:
        assert _song(live, song_id)["state"] == "delivered" and _song(live, song_id)["evidence"] == 1
    figures = {
        "offline_bundle_js_css_bytes": js_css,
        "offline_bundle_all_precached_bytes": everything,
        "precached_files": len(files),
        "drafts": DRAFTS,
        "photo_original_bytes": len(photo),
        "photo_stored_bytes_mean": round(sum(stored) / len(stored)),
        "seconds_to_record_offline": round(recording, 2),
        "seconds_to_sync": round(syncing, 2),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "offline-bench.json").write_text(json.dumps(figures, indent=2))
    print("\noffline bench:", json.dumps(figures))
