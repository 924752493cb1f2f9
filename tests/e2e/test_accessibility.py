"""WCAG 2.1 AA in a real browser (DESIGN.md §7): axe-core on every main page, keyboard
use, text alternatives for charts and the map, no sideways scrolling on a phone."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, run_axe

pytestmark = pytest.mark.e2e


def _check(pages, page, name: str, problems: list[str], phone: bool = False) -> None:
    """axe on the page as it stands; collects problems instead of stopping at the first."""
    pages.shot(page, name)
    violations = run_axe(page)
    if violations:
        problems.append(describe_violations(page.url, violations))
    if phone and horizontal_overflow(page) > 0:
        problems.append(f"{page.url}: {horizontal_overflow(page)}px of horizontal scrolling at 375px wide")


def _first_link(page, pattern: str) -> str | None:
    """The href of the first link on the page whose href matches ``pattern``."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return next((h for h in hrefs if re.search(pattern, h)), None)


def test_login_page_keyboard_only(pages):
    """Tab from the top: the skip link comes first and jumps to the content; every
    control shows a visible focus; one can sign in without a mouse; focus never gets stuck."""
    page = pages.new()
    page.goto("/login")
    assert page.evaluate("() => document.activeElement.id") == "email", "the e-mail field has the focus"
    for _ in range(8):  # backwards from the form, the skip link is the first stop of the page
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.className") == "skip-link":
            break
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    assert page.evaluate("() => document.activeElement.getBoundingClientRect().left") >= 0, "skip link stays hidden"
    pages.shot(page, "skip-link")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    assert page.evaluate("() => document.activeElement.id") == "main"

    page.goto("/login")
    seen = []
    for _ in range(16):  # round the page twice: every stop visible, nothing holds the focus
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                return {tag: e.tagName, name: e.name || e.id || e.textContent.trim().slice(0, 20),
                        outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                        shadow: s.boxShadow !== 'none'}; }"""
        )
        if info["tag"] == "BODY":  # focus went to the browser's own controls and comes back
            continue
        assert info["outline"] or info["shadow"], f"no visible focus on {info}"
        seen.append(info["name"])
    assert {"email", "password", "Saltar al contenido"} <= set(seen), seen
    assert seen.count("email") >= 2, f"focus does not go round the page: {seen}"

    page.goto("/login")
    page.focus("#email")
    page.keyboard.type("territorial1@sinfonia.demo")
    page.keyboard.press("Tab")
    page.keyboard.type("sinfonia-demo")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, page.locator("main").inner_text()


def test_login_page_has_no_wcag_violations_in_both_languages(pages):
    problems: list[str] = []
    page = pages.new(viewport=PHONE)
    page.goto("/login")
    _check(pages, page, "login-es", problems, phone=True)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Sign in").is_visible()
    _check(pages, page, "login-en", problems, phone=True)
    # A failed sign-in shows its errors accessibly too.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    _check(pages, page, "login-errors", problems, phone=True)
    assert not problems, "\n".join(problems)
    assert not pages.console_problems, pages.console_problems


def test_axe_finds_a_known_violation(pages):
    """The checker itself works: a page with an unlabeled field and an image without alt fails."""
    page = pages.new()
    page.set_content('<html lang="es"><body><main><img src="x.png"><input type="text"></main></body></html>')
    ids = {v["id"] for v in run_axe(page)}
    assert {"image-alt", "label"} <= ids, ids
