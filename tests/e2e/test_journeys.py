"""The app as people use it (DESIGN.md §1, §3): one song from plan to the board, in a
real browser, with CSRF on. Screenshots of every step go to test-artifacts/e2e/.

A territorial user plans a song, starts it, uploads evidence and delivers it; the
municipality answers the survey on a phone; a coordinator reviews the song and
recomputes the charts; the board shows the label's new figures; a manager exports
coverage as XLSX and opens the gaps list.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain.calendar import today as bogota_today
from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, run_axe

pytestmark = pytest.mark.e2e

TERRITORIAL = "territorial1@sinfonia.demo"  # DT01, Antioquia (DESIGN.md §8)
COORDINATOR = "coordinador@sinfonia.demo"
MANAGER = "gestor@sinfonia.demo"
MUNICIPALITY = "Amalfi"  # Antioquia, PDET
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _dates() -> tuple[date, date]:
    """Planned start and due date in the current season, due no earlier than today (on time)."""
    from app.domain.calendar import is_business_day

    today = bogota_today()
    due = today + timedelta(days=7)
    while not is_business_day(due):  # a due date is a business day (DESIGN.md §3)
        due += timedelta(days=1)
    if due.year != today.year:  # stay in the current season: its last business day
        due = date(today.year, 12, 31)
        while not is_business_day(due):
            due -= timedelta(days=1)
    return today - timedelta(days=3), due


def _label_of(live, email: str):
    from app.extensions import db
    from app.models import User

    with live.app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return user.label.code, user.label.name


def _label_row(page, label_name: str) -> str:
    page.goto("/charts")
    row = page.locator("table").first.locator("tbody tr", has_text=label_name)
    expect(row, f"{label_name} not on the labels board").to_have_count(1)
    return " ".join(row.inner_text().split())


def _plan_a_twin(live, start: date, due: date) -> int:
    """A song on the same municipality and album, so planning ours always meets the
    duplicate warning (DESIGN.md §3) and the journey takes the same steps every run.
    Returns the album's id."""
    from app.domain import lifecycle
    from app.models import Album, Artist, Municipality, User

    def plan(session):
        user = session.scalar(select(User).where(User.email == TERRITORIAL))
        data = {
            "artist_id": session.scalar(select(Artist.id).where(Artist.label_id == user.label_id).order_by(Artist.id)),
            "album_id": session.scalar(select(Album.id).where(Album.name.contains("Innovación")).order_by(Album.id)),
            "municipality_id": session.scalar(select(Municipality.id).where(Municipality.name == MUNICIPALITY)),
            "scope": "Canción gemela para el aviso de duplicado (prueba e2e)",
            "planned_start": start,
            "due_date": due,
        }
        lifecycle.create_song(user, data)
        session.commit()
        return data["album_id"]

    return live.query(plan)


def _no_axe_violations(page) -> None:
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)


def test_a_song_from_plan_to_the_board(pages, live_server):
    start, due = _dates()
    label_code, label_name = _label_of(live_server, TERRITORIAL)
    album = str(_plan_a_twin(live_server, start, due))

    # The coordinator's board before: the label's row as it stands.
    coordinator = pages.login(pages.new(), COORDINATOR)
    before = _label_row(coordinator, label_name)

    # 1. A territorial user plans a song.
    page = pages.login(pages.new(), TERRITORIAL)
    page.goto("/songs")
    page.get_by_role("link", name=re.compile("Nueva canción")).first.click()
    page.wait_for_url(re.compile(r"/songs/new"))
    artist = page.locator("select#artist_id option:not([value=''])").first.get_attribute("value")
    page.select_option("select#artist_id", artist)
    page.select_option("select#album_id", album)
    page.fill("#municipality", MUNICIPALITY)
    page.fill("#scope", "Laboratorio de innovación pública con el equipo de la alcaldía (prueba e2e)")
    page.fill("#planned_start", start.isoformat())
    page.fill("#due_date", due.isoformat())
    pages.shot(page, "1-plan")
    with page.expect_navigation():
        page.get_by_role("button", name="Planear canción").click()
    # The twin starts on the same day: the form asks to confirm that ours is no duplicate.
    expect(page.locator("input[name=confirm_duplicate]")).to_be_visible()
    page.check("input[name=confirm_duplicate]")
    with page.expect_navigation():
        page.get_by_role("button", name="Planear canción").click()
    expect(page, "the song was not created").to_have_url(re.compile(r"/songs/\d+$"))
    song_id = int(re.search(r"/songs/(\d+)$", page.url).group(1))
    expect(page.locator("h1")).to_contain_text(MUNICIPALITY)

    # 2. Starts it, uploads evidence and delivers it.
    page.locator("summary", has_text="en curso").click()
    page.fill("#diagnosis", "Diagnóstico con la secretaría de planeación.")
    with page.expect_navigation():
        page.get_by_role("button", name="Iniciar", exact=True).click()
    page.set_input_files("#evidence-file", files=[{"name": "acta.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    with page.expect_navigation():
        page.get_by_role("button", name="Subir archivo").click()
    expect(page.get_by_role("link", name="acta.pdf")).to_be_visible()
    page.locator("summary", has_text="Registrar la entrega").click()
    expect(page.locator("#delivered_on")).to_be_visible()
    page.fill("#delivered_on", bogota_today().isoformat())
    page.fill("#product", "Hoja de ruta de innovación municipal")
    page.fill("#beneficiaries", "12")
    pages.shot(page, "2-deliver")
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar entrega").click()
    expect(page.locator(".badge", has_text="Entregada").first).to_be_visible()
    # Delivering issues the survey link (DESIGN.md §3): it is on the page at once.
    expect(page.locator("input.survey-url-input")).to_have_value(re.compile("/encuesta/"))
    survey_url = page.locator("input.survey-url-input").input_value()
    pages.shot(page, "2-delivered")

    # 3. The municipality answers the survey on a phone, without an account.
    phone = pages.new(viewport=PHONE)
    phone.goto(survey_url)
    assert horizontal_overflow(phone) <= 0, "the survey scrolls sideways on a phone"
    _no_axe_violations(phone)
    for item in ("q1", "q2", "q3", "q4", "q5"):
        phone.check(f"input[name={item}][value='5']")
    phone.fill("#comment", "Muy útil para la alcaldía.")
    pages.shot(phone, "3-survey")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Enviar mis respuestas").click()
    expect(phone.locator("h1")).to_contain_text("Gracias")
    assert horizontal_overflow(phone) <= 0
    _no_axe_violations(phone)
    pages.shot(phone, "3-thanks")

    # 4. A coordinator reviews it from the queue and recomputes the charts.
    coordinator.goto("/reviews")
    expect(
        coordinator.locator(f"a[href$='/reviews/{song_id}']"), "the delivered song is not in the queue"
    ).not_to_have_count(0)
    coordinator.goto(f"/reviews/{song_id}")
    for criterion, score in (("pertinence", 5), ("rigour", 4), ("usefulness", 5), ("evidence", 5)):
        coordinator.check(f"input[name={criterion}][value='{score}']")
    pages.shot(coordinator, "4-review")
    with coordinator.expect_navigation():
        coordinator.get_by_role("button", name="Aprobar revisión").click()
    coordinator.goto(f"/songs/{song_id}")
    expect(coordinator.locator(".badge", has_text="Revisada").first).to_be_visible()
    coordinator.goto("/charts")
    with coordinator.expect_response(lambda r: "/charts/recompute" in r.url) as response:
        coordinator.get_by_role("button", name="Recalcular ahora").click()  # HTMX swaps the board in place
    assert response.value.ok
    # HTMX swaps the board in after the response: expect() waits for the swap.
    expect(coordinator.get_by_text("Listas recalculadas.")).to_be_visible()

    # 5. The board shows the label's new figures, and its breakdown lists the song.
    after = _label_row(coordinator, label_name)
    assert after != before, f"{label_code}'s figures did not change: {after}"
    pages.shot(coordinator, "5-board")
    with coordinator.expect_navigation():
        coordinator.locator("table").first.locator("tbody tr", has_text=label_name).locator("a.figure").click()
    expect(
        coordinator.locator(f"a[href$='/songs/{song_id}']"), "the song is not in the label's breakdown"
    ).not_to_have_count(0)
    pages.shot(coordinator, "5-breakdown")

    # 6. A manager exports coverage as XLSX and opens the gaps list.
    manager = pages.login(pages.new(), MANAGER)
    manager.goto("/coverage")
    with manager.expect_download() as download_info:
        manager.get_by_role("link", name=re.compile("XLSX")).first.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert len(rows) >= 2 and any(isinstance(v, str) and v for v in rows[0]), rows[:2]
    pages.shot(manager, "6-coverage")
    manager.get_by_role("link", name="Brechas").first.click()
    manager.wait_for_url(re.compile(r"/coverage/gaps"))
    expect(manager.locator("table tbody tr"), "the gaps list is empty").not_to_have_count(0)
    pages.shot(manager, "6-gaps", full_page=False)  # the whole country: hundreds of rows
    assert not pages.console_problems, pages.console_problems
