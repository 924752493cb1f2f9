"""The review page previews a PDF evidence inline (issue 21): pdf.js (vendored) draws its first
pages on canvas from the same-origin preview URL, under the page's strict CSP (no eval, worker
from 'self'); a damaged PDF says so in plain words; without JavaScript the link still opens it.
"""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, overflowing_elements, run_axe
from tests.pdf_writer import scanned_pdf, tiny_pdf

pytestmark = pytest.mark.e2e

COORDINATOR = "coordinador@sinfonia.demo"
GOOD = "acta-entrega.pdf"
BROKEN = "acta-dañada.pdf"
SCANNED = "acta-escaneada.pdf"

# How many dark pixels a drawn page has: the text is black on pdf.js's white page.
DARK_PIXELS = """canvas => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let dark = 0;
    for (let i = 0; i < data.length; i += 4) { if (data[i + 3] > 0 && data[i] < 100) dark++; }
    return dark;
}"""


def _delivered_song_with_pdfs(session):
    """A delivered song (in the review queue) gets a 4-page PDF, a damaged one and a fax-coded
    scan after the evidence
    it already has (the demo's): their previews start closed, and open when asked."""
    from sqlalchemy import select
    from werkzeug.datastructures import FileStorage

    from app.domain import evidence as evidence_domain
    from app.models import Evidence, Song, User

    coordinator = session.scalar(select(User).where(User.email == COORDINATOR))
    song = session.scalar(
        select(Song).where(Song.state == "delivered", Song.evidence.any()).order_by(Song.id.desc()).limit(1)
    )
    assert song is not None, "the demo has no delivered song with evidence"
    before = [e.id for e in song.evidence]
    good = tiny_pdf("Acta de entrega", "Asistentes", "Compromisos", "Firmas")
    broken = b"%PDF-1.7\n" + b"\x00 esto no es un PDF " * 40
    ids = []
    for data, name in ((good, GOOD), (broken, BROKEN), (scanned_pdf(), SCANNED)):
        stored = evidence_domain.add_evidence(coordinator, song, FileStorage(io.BytesIO(data), filename=name))
        session.commit()
        ids.append(stored.id)
    listed = session.scalars(select(Evidence.id).where(Evidence.song_id == song.id).order_by(Evidence.id))
    assert list(listed) == sorted(before) + ids
    return song.id, *ids


def test_coordinator_sees_pdf_pages_drawn_inline(pages, live_server):
    song_id, good_id, broken_id, scanned_id = live_server.query(_delivered_song_with_pdfs)
    page = pages.login(pages.new(), COORDINATOR)
    page.goto(f"/reviews/{song_id}")

    # Opened, the preview draws up to 3 pages with "Página X de N"; the rest by the link.
    page.locator("details.evidence-preview summary", has_text=f": {GOOD}").click()
    good = page.locator(f"[data-pdf-preview][data-src='/songs/{song_id}/evidence/{good_id}/preview']")
    expect(good.locator("figure.pdf-page[data-rendered] canvas")).to_have_count(3)
    expect(good.locator("figcaption")).to_have_text(["Página 1 de 4", "Página 2 de 4", "Página 3 de 4"])
    expect(good.get_by_role("img", name=f"Página 1 de 4: {GOOD}")).to_be_visible()
    expect(good.get_by_role("status")).to_have_text(
        "Se muestran las primeras 3 páginas de 4; abra el PDF para ver el resto."
    )
    first = good.locator("canvas").first
    assert first.evaluate(DARK_PIXELS) > 100, "the first page's text was not drawn"
    assert first.evaluate("c => c.width") >= 300, "the page is drawn smaller than the PDF's own size"
    item = page.locator("li", has=good)
    expect(item.get_by_role("link", name="Abrir el PDF completo en otra pestaña")).to_have_attribute(
        "href", f"/songs/{song_id}/evidence/{good_id}/preview"
    )
    pages.shot(page, "pdf-preview")

    # A damaged PDF, previewed when its box is opened: a plain message, no canvas.
    page.locator("details.evidence-preview summary", has_text=f": {BROKEN}").click()
    broken = page.locator(f"[data-pdf-preview][data-src='/songs/{song_id}/evidence/{broken_id}/preview']")
    expect(broken.get_by_role("status")).to_have_text(
        "No se pudo mostrar la vista previa: el PDF parece dañado o no se puede leer. Descárguelo para revisarlo."
    )
    expect(broken.locator("canvas")).to_have_count(0)

    # A black-and-white scan (CCITT fax image): pdf.js's plain-JavaScript decoder, imported by
    # the worker from 'self' (no WebAssembly, no eval), draws the black square.
    page.locator("details.evidence-preview summary", has_text=f": {SCANNED}").click()
    scanned = page.locator(f"[data-pdf-preview][data-src='/songs/{song_id}/evidence/{scanned_id}/preview']")
    expect(scanned.locator("figure.pdf-page[data-rendered] canvas")).to_have_count(1)
    expect(scanned.locator("figcaption")).to_have_text("Página 1 de 1")
    canvas = scanned.locator("canvas")
    share = canvas.evaluate(DARK_PIXELS) / canvas.evaluate("c => c.width * c.height")
    assert share > 0.15, f"the scanned image was not drawn ({share:.1%} dark)"

    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)

    # On a phone the pages shrink to the column: no sideways scrolling.
    phone = pages.login(pages.new(viewport=PHONE), COORDINATOR)
    phone.goto(f"/reviews/{song_id}")
    phone.locator("details.evidence-preview summary", has_text=f": {GOOD}").click()
    expect(phone.locator("figure.pdf-page[data-rendered]")).to_have_count(3)
    assert horizontal_overflow(phone) <= 0, overflowing_elements(phone)
    pages.shot(phone, "pdf-preview-phone")
    assert not pages.console_problems, "\n".join(pages.console_problems)
