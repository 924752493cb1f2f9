"""The municipal map, the official figures and a municipality's page in a real browser
(issue 17): axe finds nothing, at desktop width and at 375 px, keyboard zoom works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, overflowing_elements, run_axe
from tests.e2e.test_accessibility import SVG_ALTERNATIVES

pytestmark = pytest.mark.e2e

PAGES = (
    "/coverage/map",
    "/coverage/map?department=05",
    "/coverage/map?department=88&show=songs",
    "/coverage/reference",
    "/coverage/municipalities/05088",
    "/coverage/municipalities/88001",
    "/coverage/gaps?department=27",
    "/coverage/impact?indicator=idf&year_from=2020&year_to=2023",
)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_map_and_official_figures_pass_axe(pages, live_server, viewport):
    page = pages.login(pages.new(viewport=viewport), "gestor@sinfonia.demo")
    problems = []
    for url in PAGES:
        response = page.goto(url)
        assert response.status == 200, url
        violations = run_axe(page)
        if violations:
            problems.append(describe_violations(page.url, violations))
        if viewport and horizontal_overflow(page) > 0:
            problems.append(f"{url}: {horizontal_overflow(page)}px sideways at 375px: {overflowing_elements(page)}")
    pages.shot(page, "impact")
    assert not problems, "\n".join(problems)
    assert not pages.console_problems, "\n".join(pages.console_problems)


def test_map_is_named_has_its_table_and_zooms_by_keyboard(pages, live_server):
    page = pages.login(pages.new(viewport=PHONE), "gestor@sinfonia.demo")
    page.goto("/coverage/map")
    drawings = page.evaluate(SVG_ALTERNATIVES)
    assert len(drawings) == 1 and drawings[0]["table"] and drawings[0]["unnamedLinks"] == 0, drawings
    assert "Mapa municipal de Colombia" in drawings[0]["name"]
    svg = page.locator("svg.municipal-map")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box["width"] <= 375, box  # scales down to the phone's width
    assert page.locator("svg.municipal-map a").count() == 33  # one link per department, not 1,121
    pages.shot(page, "country")
    antioquia = page.locator('svg.municipal-map a[href*="department=05"]')
    antioquia.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Antioquia")
    expect(page.locator("svg.municipal-map a")).to_have_count(125)
    expect(page.locator("table caption")).to_contain_text("Antioquia")
    pages.shot(page, "antioquia")
    page.locator('svg.municipal-map a[href*="/municipalities/05088"]').focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Bello")
    expect(page.locator("main")).to_contain_text("G1")
