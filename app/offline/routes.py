"""Offline in the field (issue 22): the installable web app's pieces served by the app itself.

- ``GET /sw.js``: the service worker, scope ``/`` (``Service-Worker-Allowed: /``), never cached
  by HTTP. Its first lines carry the cache version (a hash of every precached file) and the list
  of files to precache, so any change of an asset makes a new worker with new cache names.
- ``GET /manifest.webmanifest``: name, icons (served from /static/icons, no CDN), start URL.
- ``GET /offline``: what can and cannot be done without a connection, and the device's queue of
  deliveries waiting to sync (filled in by static/offline/offline.js from IndexedDB).
- ``GET /offline/songs/ID/deliver``: the delivery form that works offline (drafts in IndexedDB,
  photos shrunk on the device); the sync goes through ``POST /api/v1/songs/ID/offline-deliveries``.
- ``GET /offline/session``: a fresh CSRF token for the sync (the page may be days old).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Response, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from app.domain import calendar, lifecycle, permissions, song_rules
from app.domain.errors import Conflict
from app.offline import bp
from app.songs.forms import DeliverForm, StartForm

SW_SOURCE = Path(__file__).resolve().parent.parent / "static" / "offline" / "sw.js"
# Static files every page needs, precached when the worker installs (paths under /static).
PRECACHED_STATIC = (
    "app.css",
    "app.js",
    "favicon.svg",
    "vendor/htmx/htmx-2.0.4.min.js",
    "vendor/idb/idb-8.0.4.umd.js",
    "vendor/browser-image-compression/browser-image-compression-2.0.2.js",
    "offline/offline.js",
    "offline/offline.css",
    "icons/icon-192.png",
    "icons/icon-512.png",
)


def precached_urls() -> list[str]:
    """Every URL the worker stores when it installs: the static files and the offline page."""
    return [url_for("static", filename=name) for name in PRECACHED_STATIC] + [
        url_for("offline.manifest"),
        url_for("offline.offline_page"),
    ]


def cache_version() -> str:
    """A hash of the worker and every precached static file: a changed asset is a new version."""
    digest = hashlib.sha256(SW_SOURCE.read_bytes())
    static = Path(current_app.static_folder)
    for name in PRECACHED_STATIC:
        digest.update(name.encode())
        digest.update((static / name).read_bytes())
    digest.update(current_app.config.get("OFFLINE_CACHE_REVISION", "1").encode())
    return digest.hexdigest()[:12]


@bp.get("/sw.js")
def service_worker():
    head = f"const VERSION = {json.dumps(cache_version())};\nconst PRECACHE = {json.dumps(precached_urls())};\n"
    response = Response(head + SW_SOURCE.read_text(encoding="utf-8"), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new worker on each visit
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": _("Sinfonía · Asistencia técnica territorial"),
        "short_name": "Sinfonía",
        "description": _("Registre entregas con fotos en el territorio, también sin conexión."),
        "lang": "es-CO",
        "start_url": url_for("songs.list_songs"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#3f1d5e",
        "icons": [
            {"src": url_for("static", filename=f"icons/icon-{n}.png"), "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ]
        + [
            {
                "src": url_for("static", filename="icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline_page():
    return render_template("offline/page.html", max_sync_delay=song_rules.MAX_SYNC_DELAY_DAYS)


@bp.get("/offline/songs/<int:song_id>/deliver")
@login_required
def deliver(song_id: int):
    song = lifecycle.get_song(current_user, song_id)
    permissions.require(
        permissions.can_edit_song(current_user, song), _("No puede modificar canciones de otra disquera.")
    )
    planned = song.state == lifecycle.PLANNED  # started and delivered in one sync
    if lifecycle.DELIVERED not in lifecycle.allowed_transitions(song) and not planned:
        raise Conflict(_("Esta canción no se puede entregar en su estado actual."))
    form = DeliverForm(formdata=None)
    form.delivered_on.data = calendar.today()
    if song.state == lifecycle.RETURNED:
        form.product.data = song.product
        form.beneficiaries.data = song.beneficiaries
    return render_template(
        "offline/deliver.html",
        song=song,
        form=form,
        start_form=StartForm(formdata=None) if planned else None,
        photo_max_px=current_app.config["OFFLINE_PHOTO_MAX_PX"],
        max_bytes=current_app.config["EVIDENCE_MAX_BYTES"],
    )


@bp.get("/offline/session")
@login_required
def session_info():
    """Who is signed in and a fresh CSRF token for the sync (never cached)."""
    response = jsonify({"user_id": current_user.id, "csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response
