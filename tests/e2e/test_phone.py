"""A territorial team on a phone (375 × 740, issue 21): the header folds into a menu and
the main action of each page is within the first screen — the song list, the song page
("Siguiente paso", the return comment), the delivery, and the label's own place on the
board. axe finds no WCAG 2.1 AA violation on any of them, with the menu open or closed."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.domain.calendar import today as bogota_today
from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, run_axe

pytestmark = pytest.mark.e2e

TERRITORIAL = "territorial1@sinfonia.demo"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _above_the_fold(locator) -> None:
    """The element is shown and its top edge lies within the first screen (no scrolling)."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None and box["y"] + min(box["height"], 40) <= PHONE["height"], (
        f"below the first screen: top at {box and box['y']:.0f}px"
    )


def _clean(page) -> None:
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert horizontal_overflow(page) <= 0, f"{page.url} scrolls sideways at 375 px"


def _plan_song(live) -> int:
    """A planned song of territorial1's label, made through the domain (as the UI does)."""

    def plan(session):
        from sqlalchemy import select

        from app.domain import lifecycle
        from app.models import Album, Artist, Department, Municipality, User

        user = session.scalar(select(User).where(User.email == TERRITORIAL))
        artist = session.scalar(select(Artist).where(Artist.label_id == user.label_id).order_by(Artist.id))
        municipality = session.scalar(
            select(Municipality)
            .join(Department)
            .where(Department.label_id == user.label_id)
            .order_by(Municipality.code.desc())
        )
        today = bogota_today()
        song = lifecycle.create_song(
            user,
            {
                "artist_id": artist.id,
                "album_id": session.scalar(select(Album.id).order_by(Album.id)),
                "municipality_id": municipality.id,
                "scope": "Asistencia en el teléfono (prueba e2e)",
                "planned_start": today - timedelta(days=2),
                "due_date": min(today + timedelta(days=15), date(today.year, 12, 31)),
            },
        )
        session.commit()
        return song.id

    return live.query(plan)


def test_the_phone_header_folds_into_a_menu(pages):
    page = pages.login(pages.new(viewport=PHONE), TERRITORIAL)
    page.goto("/songs")
    toggle = page.get_by_role("button", name="Menú")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    nav_link = page.get_by_role("navigation", name="Navegación principal").get_by_role(
        "link", name=re.compile("Listas")
    )
    expect(nav_link).to_be_hidden()
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 80, f"the folded header takes {header['height']:.0f}px"
    _clean(page)
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    _clean(page)
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(nav_link).to_be_hidden()
    # On a wide screen there is no button: the menu is the header.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(toggle).to_be_hidden()
    expect(nav_link).to_be_visible()
    assert not pages.console_problems, pages.console_problems


def test_without_javascript_the_menu_is_simply_open(pages, live_server):
    page = pages.new(viewport=PHONE, java_script_enabled=False)
    pages.login(page, TERRITORIAL)
    page.goto("/songs")
    expect(page.get_by_role("button", name="Menú")).to_be_hidden()
    expect(
        page.get_by_role("navigation", name="Navegación principal").get_by_role("link", name=re.compile("Listas"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    expect(page.get_by_label("Estado")).to_be_visible()  # the filters stay unfolded too


def test_territorial_journey_on_a_phone_keeps_the_main_action_on_the_first_screen(pages, live_server):
    song_id = _plan_song(live_server)
    page = pages.login(pages.new(viewport=PHONE), TERRITORIAL)

    # The song list: the new-song button, the search and the first song, without scrolling.
    page.goto("/songs")
    _above_the_fold(page.get_by_role("link", name="Nueva canción"))
    _above_the_fold(page.get_by_role("searchbox", name="Buscar"))
    _above_the_fold(page.locator(".songs-table tbody tr").first.get_by_role("link").first)
    expect(page.get_by_label("Estado")).to_be_hidden()  # folded under "Filtros"
    page.locator(".filters-fold > summary").click()
    expect(page.get_by_label("Estado")).to_be_visible()
    pages.shot(page, "list", full_page=False)
    _clean(page)

    # The song page: "Siguiente paso" first; start the song from there.
    page.goto(f"/songs/{song_id}")
    _above_the_fold(page.get_by_role("heading", name="Siguiente paso"))
    _above_the_fold(page.locator("summary", has_text="en curso"))
    _clean(page)
    page.locator("summary", has_text="en curso").click()
    page.fill("#diagnosis", "Diagnóstico en el teléfono.")
    with page.expect_navigation():
        page.get_by_role("button", name="Iniciar", exact=True).click()
    expect(page.locator(".song-status .badge", has_text="En curso")).to_be_visible()

    # Delivery: attach the evidence, then the delivery form is at the top of the page.
    page.set_input_files("#evidence-file", files=[{"name": "acta.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    with page.expect_navigation():
        page.get_by_role("button", name="Subir archivo").click()
    expect(page.get_by_role("link", name="acta.pdf")).to_be_visible()
    deliver = page.locator("summary", has_text="Registrar la entrega")
    _above_the_fold(deliver)
    deliver.click()
    _above_the_fold(page.get_by_label("Fecha de entrega"))
    page.fill("#delivered_on", bogota_today().isoformat())
    page.fill("#product", "Hoja de ruta concertada")
    page.fill("#beneficiaries", "9")
    pages.shot(page, "deliver", full_page=False)
    _clean(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar entrega").click()
    expect(page.locator(".song-status .badge", has_text="Entregada")).to_be_visible()
    # Next, the survey for the municipality: its card starts on the first screen.
    _above_the_fold(page.get_by_role("heading", name=re.compile("Encuesta de satisfacción")))
    pages.shot(page, "delivered", full_page=False)
    _clean(page)


def test_a_returned_song_shows_the_coordinations_comment_first(pages, live_server):
    song_id = _plan_song(live_server)

    def return_it(session):
        from app.extensions import db
        from app.models import Song

        song = db.session.get(Song, song_id)
        song.state = "returned"
        song.return_comment = "Falta el acta firmada por la alcaldía."
        session.commit()

    live_server.query(return_it)
    page = pages.login(pages.new(viewport=PHONE), TERRITORIAL)
    page.goto(f"/songs/{song_id}")
    comment = page.get_by_text("Falta el acta firmada por la alcaldía.")
    _above_the_fold(comment)
    _above_the_fold(page.locator("summary", has_text="Entregar de nuevo"))
    _clean(page)


def test_the_board_shows_the_viewers_label_on_the_first_screen(pages, live_server):
    page = pages.login(pages.new(viewport=PHONE), TERRITORIAL)
    page.goto("/charts")
    own = page.locator(".own-standing")
    _above_the_fold(own)
    expect(own).to_contain_text(re.compile(r"Puesto \d+ de 16"))
    expect(page.locator("tr.own-row")).to_have_count(1)
    expect(page.locator("tr.own-row")).to_contain_text("Dirección Territorial Antioquia")
    _clean(page)
