"""Boards as people see them (issue 21): TV mode fits a 1366 × 768 wall screen and pages
through a board that does not fit a smaller one; the viewer's label stands out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import describe_violations, run_axe

pytestmark = pytest.mark.e2e


def test_tv_mode_fits_a_1366x768_screen(pages):
    page = pages.login(pages.new(viewport={"width": 1366, "height": 768}), "territorial1@sinfonia.demo")
    page.goto("/charts/tv")
    rows = page.locator("#tv-labels + .tv-list > li")
    expect(rows).to_have_count(16)
    last = rows.nth(15)
    expect(last).to_be_visible()
    box = last.bounding_box()
    assert box["y"] + box["height"] <= 768, f"rank 16 ends at {box['y'] + box['height']:.0f}px, below the screen"
    expect(page.locator("#tv-labels [data-tv-page]")).to_have_text("")  # no paging needed
    expect(page.locator("#tv-labels + .tv-list > li.own-row")).to_contain_text("Antioquia")
    pages.shot(page, "tv-1366", full_page=False)
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert not pages.console_problems, pages.console_problems


def test_tv_mode_pages_through_a_board_on_a_small_screen(pages):
    page = pages.login(pages.new(viewport={"width": 640, "height": 400}), "territorial1@sinfonia.demo")
    page.goto("/charts/tv")
    indicator = page.locator("#tv-labels [data-tv-page]")
    expect(indicator).to_have_text(re.compile(r"Página 1 de \d"))
    rows = page.locator("#tv-labels + .tv-list > li")
    first_page = rows.locator("visible=true")
    shown = first_page.count()
    assert 0 < shown < 16
    # Every shown row is within the screen; the next page follows by itself.
    for i in range(shown):
        box = first_page.nth(i).bounding_box()
        assert box["y"] + box["height"] <= 400 + 1, f"row {i + 1} of the page is cut off"
    expect(indicator).to_have_text(re.compile(r"Página 2 de \d"), timeout=15_000)
    expect(rows.first).to_be_hidden()
    pages.shot(page, "tv-small", full_page=False)
