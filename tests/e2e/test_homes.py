"""Issue 18 in a real browser: each role's home at 1280 and 375 px, axe with no WCAG 2.1 AA
violations, no sideways scrolling on a phone, every control of the page reachable by keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, describe_violations, horizontal_overflow, overflowing_elements, run_axe

pytestmark = pytest.mark.e2e

HOMES = [
    ("territorial1@sinfonia.demo", ["Vencidas sin entregar", "Encuestas sin respuesta", "Posición de la disquera"]),
    (
        "coordinador@sinfonia.demo",
        [
            "Cola de revisión",
            "Solicitudes de cambio de fecha por decidir",
            "Cuatro ojos: cambios por confirmar",
            "Alertas de integridad",
            "Disqueras en riesgo de no cumplir la meta",
            "Temporadas que requieren acción",
        ],
    ),
    ("gestor@sinfonia.demo", ["Cobertura y tendencia", "Metas en riesgo", "Entregas recientes"]),
    (
        "admin@sinfonia.demo",
        ["Temporadas", "Usuarios territoriales sin equipo", "Coordinación sin dirección de origen", "Correo"],
    ),
]

FOCUSABLE = """() => Array.from(document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), summary, [tabindex]:not([tabindex="-1"])'
  )).filter(e => e.offsetParent !== null || e.getClientRects().length).map((e, i) => {
    e.dataset.focusIndex = String(i); return i; })"""


def _keyboard_reaches_everything(page) -> list[str]:
    """Tab from the top of the page round to the start: every visible control gets the focus once."""
    ids = page.evaluate(FOCUSABLE)
    seen: set[str] = set()
    page.locator("body").focus()
    for _ in range(len(ids) + 5):
        page.keyboard.press("Tab")
        index = page.evaluate("() => document.activeElement && document.activeElement.dataset.focusIndex || null")
        if index is not None:
            seen.add(index)
    missing = [i for i in ids if str(i) not in seen]
    return [
        page.evaluate(f"() => document.querySelector('[data-focus-index=\"{i}\"]').outerHTML.slice(0, 120)")
        for i in missing
    ]


@pytest.mark.parametrize(("email", "sections"), HOMES, ids=["territorial", "coordinator", "manager", "admin"])
def test_each_home_at_desktop_and_phone_width_is_accessible(pages, live_server, email, sections):
    problems: list[str] = []
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = pages.login(pages.new(viewport=viewport), email)
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Inicio")
        for section in sections:
            expect(page.get_by_role("heading", level=2, name=re.compile(re.escape(section)))).to_be_visible()
        pages.shot(page, f"home-{name}")
        violations = run_axe(page)
        if violations:
            problems.append(f"{name}: " + describe_violations(page.url, violations))
        if viewport is PHONE and horizontal_overflow(page) > 0:
            problems.append(
                f"{page.url}: {horizontal_overflow(page)}px sideways at 375px: {overflowing_elements(page)}"
            )
        unreachable = _keyboard_reaches_everything(page)
        if unreachable:
            problems.append(f"{name}: not reachable by keyboard: {unreachable}")
    assert not problems, "\n".join(problems)
    assert not pages.console_problems, pages.console_problems


def test_territorial_home_highlights_its_own_row_and_leads_to_the_notifications(pages, live_server):
    page = pages.login(pages.new(viewport=PHONE), "territorial1@sinfonia.demo")
    page.goto("/")
    own = page.locator("tr.own-row")
    expect(own).to_have_count(1)
    expect(own).to_contain_text("(su disquera)")
    expect(page.get_by_text(re.compile(r"Puesto \d+ de 16"))).to_be_visible()
    page.get_by_role("button", name="Menú").click()  # at phone width the header folds into a menu
    page.get_by_role("link", name=re.compile("^Notificaciones")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notificaciones")
    page.get_by_role("link", name=re.compile("Preferencias")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preferencias de notificación")
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    page.get_by_role("checkbox").first.uncheck()
    page.get_by_role("button", name="Guardar preferencias").click()
    expect(page.get_by_text("Preferencias guardadas.")).to_be_visible()
    expect(page.get_by_role("checkbox").first).not_to_be_checked()
