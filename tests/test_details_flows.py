"""The small flows of issue 21: a temporary password must be changed, territorial teams
follow their own due-date requests, a request cannot outlive its song's review, the
import page is linked, evidence is previewed during review, the queue filters by season,
and /favicon.ico answers."""

from __future__ import annotations

import io
import re
from datetime import date

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.domain import due_dates, lifecycle
from app.domain import evidence as evidence_domain
from app.domain import reviews as review_domain
from app.extensions import db
from app.models import AuditEvent, DueDateChange, Season, User
from tests.factories import PASSWORD, make_song
from tests.pdf_writer import tiny_pdf

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
TEMPORARY = "Temporal-Segura-2026"


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.get_data()[:4] == b"\x00\x00\x01\x00", "an ICO file"
    assert "max-age" in response.headers["Cache-Control"]


def test_the_import_page_is_linked_from_the_song_list(client, auth, world):
    for user, shown in ((world.territorial_a, True), (world.coordinator, True), (world.manager, False)):
        auth.login(user)
        html = client.get("/songs").get_data(as_text=True)
        assert ('href="/songs/import"' in html) is shown, user.email
    assert client.get("/songs/import").status_code == 403  # the manager cannot import


def test_a_password_set_by_an_admin_must_be_changed_first(client, auth, world):
    auth.login(world.admin)
    response = client.post(f"/admin/users/{world.territorial_a.id}/password", data={"password": TEMPORARY})
    assert response.status_code in (302, 303)
    db.session.refresh(world.territorial_a)
    assert world.territorial_a.must_change_password
    auth.logout()

    response = auth.login_with_password(world.territorial_a.email, TEMPORARY)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    for path in ("/songs", "/charts", f"/songs/{make_song(world).id}"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/password"), path
    api = client.get("/api/v1/songs")
    assert api.status_code == 403 and api.get_json()["details"] == {"password": "must_change"}
    assert client.get("/account/password").status_code == 200
    response = client.post(
        "/account/password",
        data={"current": TEMPORARY, "new": "Mi-clave-propia-2026", "confirm": "Mi-clave-propia-2026"},
    )
    assert response.status_code in (302, 303)
    db.session.refresh(world.territorial_a)
    assert not world.territorial_a.must_change_password
    assert client.get("/songs").status_code == 200


def test_users_created_by_an_admin_start_with_a_temporary_password(client, auth, world):
    auth.login(world.admin)
    client.post(
        "/admin/users/new",
        data={"email": "nuevo@test.co", "name": "Nuevo", "role": "manager", "label": "", "password": TEMPORARY},
    )
    user = db.session.scalar(select(User).where(User.email == "nuevo@test.co"))
    assert user is not None and user.must_change_password
    # Users from the command line (the operator's own) and the existing ones are not forced.
    assert not world.manager.must_change_password
    assert auth.login_with_password(world.manager.email, PASSWORD).headers["Location"].endswith("/")


def _request_change(world, song):
    change = lifecycle.request_due_date_change(world.territorial_a, song, "2024-05-20", "La alcaldía pidió aplazar.")
    db.session.commit()
    return change


def _request_left_pending_at_delivery(world, song):
    """A request made while the song was in progress and still pending when it was delivered
    (requests after delivery are refused since the scoring rules; older data may hold them)."""
    song.state = "in_progress"
    change = _request_change(world, song)
    song.state = "delivered"
    db.session.commit()
    return change


def test_territorial_teams_list_their_own_due_date_requests(client, auth, world):
    song = make_song(world, state="in_progress")
    _request_change(world, song)
    other = make_song(world, artist=world.artist_b, state="in_progress")
    lifecycle.request_due_date_change(world.territorial_b, other, "2024-05-21", "Otra disquera.")
    db.session.commit()
    auth.login(world.territorial_a)
    response = client.get("/songs/due-date-requests")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"#{song.id} ·" in html and f"#{other.id} ·" not in html
    assert "Pendiente" in html and "La alcaldía pidió aplazar." in html
    assert 'name="decision"' not in html, "read-only for the team"
    assert 'href="/songs/due-date-requests"' in client.get("/songs").get_data(as_text=True)
    auth.login(world.manager)
    assert client.get("/songs/due-date-requests").status_code == 403


def test_a_request_left_pending_at_delivery_is_closed_when_the_song_is_reviewed(app, client, auth, world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 3, 30))
    change = _request_left_pending_at_delivery(world, song)
    assert [c.id for c in due_dates.pending_queue()] == [change.id]
    with app.test_request_context():
        review_domain.review_song(
            world.coordinator, song, {"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}, None
        )
        db.session.commit()
    db.session.refresh(change)
    assert change.status == "rejected" and "revisada" in change.decision_comment
    assert due_dates.pending_queue() == []
    assert lifecycle.pending_due_date_change(song) is None
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "due_date_change_closed"))
    auth.login(world.coordinator)
    assert f"#{song.id} ·" not in client.get("/songs/due-date-requests").get_data(as_text=True)


def test_a_stale_request_left_from_before_does_not_sit_in_the_queue(client, auth, world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 3, 30))
    _request_left_pending_at_delivery(world, song)
    song.state = "reviewed"  # as data written before the rule existed
    db.session.commit()
    assert due_dates.pending_queue() == []
    auth.login(world.coordinator)
    html = client.get("/songs/due-date-requests").get_data(as_text=True)
    assert "No hay solicitudes pendientes." in html
    api = client.get("/api/v1/due-date-changes").get_json()
    assert api["items"] == []


def test_cancelling_closes_the_pending_request(app, world):
    song = make_song(world, state="in_progress")
    change = _request_change(world, song)
    with app.test_request_context():
        lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="La alcaldía desistió.")
        db.session.commit()
    assert db.session.get(DueDateChange, change.id).status == "rejected"


def _evidence(world, song, data, name):
    stored = evidence_domain.add_evidence(world.territorial_a, song, FileStorage(io.BytesIO(data), filename=name))
    db.session.commit()
    return stored


def test_evidence_preview_inline_with_safe_headers(client, auth, world):
    song = make_song(world, state="in_progress")
    image = _evidence(world, song, PNG, "foto.png")
    pdf = _evidence(world, song, PDF, "acta.pdf")
    song.state, song.delivered_on, song.product, song.beneficiaries = "delivered", date(2024, 3, 30), "Acta", 3
    db.session.commit()
    auth.login(world.coordinator)
    response = client.get(f"/songs/{song.id}/evidence/{image.id}/preview")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    response = client.get(f"/songs/{song.id}/evidence/{pdf.id}/preview")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    # The download stays an attachment.
    download = client.get(f"/songs/{song.id}/evidence/{image.id}")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Frame-Options"] == "DENY"

    html = client.get(f"/reviews/{song.id}").get_data(as_text=True)
    assert re.search(rf'<img src="/songs/{song.id}/evidence/{image.id}/preview" alt="Evidencia: foto.png"', html)
    # A PDF is drawn by pdf.js from the same URL (no frame: Chromium has no PDF viewer in a
    # sandboxed one); without JavaScript the link opens it in its own tab.
    assert f'data-pdf-preview data-src="/songs/{song.id}/evidence/{pdf.id}/preview"' in html
    assert re.search(rf'<a href="/songs/{song.id}/evidence/{pdf.id}/preview" target="_blank" rel="noopener">', html)
    assert "<iframe" not in html

    auth.login(world.territorial_b)  # another label
    assert client.get(f"/songs/{song.id}/evidence/{image.id}/preview").status_code == 403


def test_pdf_preview_by_pdfjs_keeps_the_file_response_locked_down(client, auth, world):
    """The PDF's bytes are fetched by pdf.js (vendored, never a CDN) on the review page: the
    file response stays inert (CSP default-src 'none', nosniff, framed by the app only, no
    cache), and the page runs only its own static scripts, worker from 'self', no eval."""
    song = make_song(world, state="in_progress")
    pdf = _evidence(world, song, tiny_pdf("Acta de entrega", "Firmas"), "acta.pdf")
    song.state, song.delivered_on, song.product, song.beneficiaries = "delivered", date(2024, 3, 30), "Acta", 3
    db.session.commit()
    auth.login(world.coordinator)

    response = client.get(f"/songs/{song.id}/evidence/{pdf.id}/preview")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF-1.4")
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert csp[0] == "default-src 'none'" and "frame-ancestors 'self'" in csp
    assert not any(part.startswith(("script-src", "connect-src", "worker-src", "object-src")) for part in csp), csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "private, no-store"

    page = client.get(f"/reviews/{song.id}")
    html = page.get_data(as_text=True)
    # No inline script: every <script> has a src under /static.
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts and all(re.search(r'src="/static/', attrs) for attrs in scripts), scripts
    assert '<script src="/static/evidence-preview.js" defer></script>' in html
    # The page's CSP lets pdf.js fetch from and run its worker from 'self' only, and never eval.
    page_csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page_csp and "connect-src 'self'" in page_csp
    assert "eval" not in page_csp and "worker-src" not in page_csp and "child-src" not in page_csp
    assert "Página {n} de {total}" in html
    for attribute in ("data-pdfjs", "data-worker"):
        url = re.search(rf'{attribute}="([^"]+)"', html).group(1)
        assert url.startswith("/static/vendor/pdfjs/"), url
        asset = client.get(url)
        assert asset.status_code == 200 and asset.mimetype == "text/javascript", url
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
        asset.close()
    decoders = re.search(r'data-decoders="([^"]+)"', html).group(1)
    for name in ("jbig2_nowasm_fallback.js", "openjpeg_nowasm_fallback.js"):
        asset = client.get(decoders + name)
        assert asset.status_code == 200 and asset.mimetype == "text/javascript", name
        asset.close()

    client.post("/lang/en", data={"next": "/"})
    html = client.get(f"/reviews/{song.id}").get_data(as_text=True)
    assert "Page {n} of {total}" in html and "Open the whole PDF in another tab" in html


def test_no_preview_for_office_files(client, auth, world):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in ("[Content_Types].xml", "word/document.xml"):
            archive.writestr(part, "<x/>")
    song = make_song(world, state="in_progress")
    docx = _evidence(world, song, buffer.getvalue(), "informe.docx")
    auth.login(world.territorial_a)
    assert client.get(f"/songs/{song.id}/evidence/{docx.id}/preview").status_code == 404


def test_review_queue_filters_by_season(client, auth, world):
    older = Season(year=2023, starts_on=date(2023, 1, 1), ends_on=date(2023, 12, 31))
    db.session.add(older)
    db.session.flush()
    this = make_song(world, state="delivered", delivered_on=date(2024, 3, 30))
    last = make_song(
        world, state="delivered", delivered_on=date(2023, 3, 30), planned_start=date(2023, 3, 1), due=date(2023, 4, 1)
    )
    last.season_id = older.id
    db.session.commit()
    auth.login(world.coordinator)
    html = client.get("/reviews?season=2023").get_data(as_text=True)
    assert f"/reviews/{last.id}" in html and f"/reviews/{this.id}" not in html
    assert '<option value="2023" selected>' in html
    html = client.get("/reviews").get_data(as_text=True)
    assert f"/reviews/{last.id}" in html and f"/reviews/{this.id}" in html
