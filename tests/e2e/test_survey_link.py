"""Handing the survey over (issue 21): copy the link in one tap, share it through the
device's share sheet where there is one, and a print sheet that starts with the QR code."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, describe_violations, run_axe

pytestmark = pytest.mark.e2e

TERRITORIAL = "territorial1@sinfonia.demo"


def _unanswered_song_of_territorial1(live) -> int:
    def pick(session):
        from sqlalchemy import select

        from app.domain.surveys import issue_survey_nonce
        from app.models import Song, Survey, User

        user = session.scalar(select(User).where(User.email == TERRITORIAL))
        song = session.scalar(
            select(Song)
            .outerjoin(Survey, Survey.song_id == Song.id)
            .where(Song.label_id == user.label_id, Song.state == "delivered", Survey.id.is_(None))
            .order_by(Song.id)
        )
        if song is None:  # the small demo may have none: deliver the newest open song directly
            song = session.scalar(select(Song).where(Song.label_id == user.label_id).order_by(Song.id.desc()))
            song.state, song.delivered_on, song.product, song.beneficiaries = "delivered", song.planned_start, "Acta", 3
        issue_survey_nonce(song)  # a fresh link (demo links may be past their expiry)
        session.commit()
        return song.id

    return live.query(pick)


def test_copy_the_survey_link(pages, live_server):
    song_id = _unanswered_song_of_territorial1(live_server)
    page = pages.new(viewport=PHONE, permissions=["clipboard-read", "clipboard-write"])
    pages.login(page, TERRITORIAL)
    page.goto(f"/songs/{song_id}")
    url = page.locator(f"#survey-url-{song_id}").input_value()
    assert "/encuesta/" in url
    copy = page.get_by_role("button", name="Copiar enlace")
    expect(copy).to_be_visible()
    expect(page.get_by_role("button", name="Compartir…")).to_be_hidden()  # no share sheet in this browser
    copy.click()
    expect(page.get_by_role("status").filter(has_text="Enlace copiado")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert not pages.console_problems, pages.console_problems


def test_share_through_the_devices_share_sheet(pages, live_server):
    song_id = _unanswered_song_of_territorial1(live_server)
    page = pages.new(viewport=PHONE)
    # A phone's share sheet, recorded instead of opened.
    page.add_init_script("navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };")
    pages.login(page, TERRITORIAL)
    page.goto(f"/songs/{song_id}")
    share = page.get_by_role("button", name="Compartir…")
    expect(share).to_be_visible()
    share.click()
    page.wait_for_function("() => window.__shared !== undefined")
    shared = page.evaluate("() => window.__shared")
    assert shared["url"] == page.locator(f"#survey-url-{song_id}").input_value()
    assert "Encuesta" in shared["title"]


def test_the_print_sheet_starts_with_the_qr_code(pages, live_server):
    song_id = _unanswered_song_of_territorial1(live_server)
    page = pages.login(pages.new(viewport={"width": 800, "height": 1000}), TERRITORIAL)
    page.goto(f"/encuesta-imprimir/{song_id}")
    qr = page.get_by_role("img", name="Código QR de la encuesta")
    expect(qr).to_be_visible()
    address = page.locator("code.survey-url")
    assert qr.bounding_box()["y"] < address.bounding_box()["y"], "the QR code comes before the address"
    assert qr.bounding_box()["y"] < page.get_by_text("Municipio", exact=True).bounding_box()["y"]
    assert qr.bounding_box()["width"] >= 300
    expect(page.get_by_text("Escanee este código con la cámara del celular")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Imprimir")).to_be_hidden()
    expect(qr).to_be_visible()
    pages.shot(page, "print-sheet")
    page.emulate_media(media="screen")
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
