"""WCAG 2.1 AA in a real browser (DESIGN.md §7): axe-core on every main page, keyboard
use, text alternatives for charts and the map, no sideways scrolling on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, describe_violations, horizontal_overflow, overflowing_elements, run_axe

pytestmark = pytest.mark.e2e


def _check(pages, page, name: str, problems: list[str], phone: bool = False) -> None:
    """axe on the page as it stands; collects problems instead of stopping at the first."""
    pages.shot(page, name)
    violations = run_axe(page)
    if violations:
        problems.append(describe_violations(page.url, violations))
    if phone and horizontal_overflow(page) > 0:
        problems.append(f"{page.url}: {horizontal_overflow(page)}px sideways at 375px: {overflowing_elements(page)}")


def _first_link(page, pattern: str) -> str | None:
    """The href of the first link on the page whose href matches ``pattern``."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    return next((h for h in hrefs if re.search(pattern, h)), None)


def test_login_page_keyboard_only(pages):
    """Tab from the top: the skip link comes first and jumps to the content; every
    control shows a visible focus; one can sign in without a mouse; focus never gets stuck."""
    page = pages.new()
    page.goto("/login")
    expect(page.locator("#email"), "the e-mail field has the focus").to_be_focused()
    for _ in range(8):  # backwards from the form, the skip link is the first stop of the page
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.className") == "skip-link":
            break
    expect(page.locator(".skip-link")).to_be_focused()
    assert page.evaluate("() => document.activeElement.getBoundingClientRect().left") >= 0, "skip link stays hidden"
    pages.shot(page, "skip-link")
    page.keyboard.press("Enter")
    # The jump is a navigation the browser finishes after the key press returns: expect() waits.
    expect(page).to_have_url(re.compile("#main$"))
    expect(page.locator("#main")).to_be_focused()

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
    expect(page).not_to_have_url(re.compile("/login"))


def test_login_page_has_no_wcag_violations_in_both_languages(pages):
    problems: list[str] = []
    page = pages.new(viewport=PHONE)
    page.goto("/login")
    _check(pages, page, "login-es", problems, phone=True)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
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


# --- every main page, per role: axe (WCAG 2.1 A/AA), broken links, CSP, phone width ---------------

SKIP_LINKS = re.compile(
    r"(\.(csv|xlsx|svg|json|pdf|png|jpg)(\?|$))|/evidence/|/export|/api/|/lang/|/static/|/encuesta-qr/|/template|logout"
)


RAW_CODES = re.compile(r"\b(planned|in_progress|delivered|returned|reviewed|cancelled|coordinator|manager)\b")
VISIBLE_TEXT = """() => { const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('code, kbd, samp, pre, script, style, [hidden]').forEach(e => e.remove());
    return main.textContent; }"""


def _raw_codes(page) -> list[str]:
    """Internal codes (song states, roles) shown as words on a Spanish page instead of their names."""
    return sorted(set(RAW_CODES.findall(page.evaluate(VISIBLE_TEXT))))


def _sample_ids(live):
    """A few real ids from the demo data for pages that need one."""
    from sqlalchemy import func, select

    from app.domain.surveys import issue_survey_nonce, survey_token
    from app.models import Song, Survey, User

    def pick(session):
        territorial = session.scalar(select(User).where(User.email == "territorial1@sinfonia.demo"))
        own = select(Song.id).where(Song.label_id == territorial.label_id).order_by(Song.id)
        ids = {
            "label": territorial.label_id,
            "own_editable": session.scalar(own.where(Song.state.in_(("planned", "in_progress", "returned"))))
            or session.scalar(own),
            "delivered": session.scalar(
                select(Song.id)
                .where(Song.state == "delivered", Song.label_id != territorial.label_id)
                .order_by(Song.id)
            ),
        }
        unanswered = session.scalar(
            select(Song)
            .outerjoin(Survey, Survey.song_id == Song.id)
            .where(Song.state == "delivered", Survey.id.is_(None), Song.id != ids["delivered"])
            .order_by(Song.id.desc())
        )
        issue_survey_nonce(unanswered)  # a fresh link (demo links may be past their expiry)
        session.commit()
        ids["survey_path"] = f"/encuesta/{survey_token(unanswered)}"
        ids["songs"] = session.scalar(select(func.count(Song.id)))
        return ids

    return live.query(pick)


def _sweep(pages, page, seeds: list[str], allow: tuple[str, ...], limit: int = 30) -> tuple[list[str], dict]:
    """Visit the seed pages and the pages they link to (one per route shape), checking each."""
    problems: list[str] = []
    report: dict[str, int] = {}
    queue, shapes = [(url, "start") for url in seeds], set()
    while queue and len(report) < limit:
        url, referrer = queue.pop(0)
        path = url.split("?")[0].split("#")[0]
        shape = re.sub(r"/\d+", "/N", path)
        if shape in shapes:
            continue
        shapes.add(shape)
        response = page.goto(url)
        status = response.status if response else 0
        if status >= 400:
            problems.append(f"{url}: HTTP {status} (linked from {referrer})")
            continue
        violations = run_axe(page)
        report[url] = len(violations)
        if violations:
            problems.append(describe_violations(url, violations))
            pages.shot(page, re.sub(r"\W+", "_", shape).strip("_") or "root", full_page=False)
        codes = _raw_codes(page)
        if codes:
            problems.append(f"{url}: internal codes shown instead of their Spanish names: {codes}")
        hrefs = page.eval_on_selector_all(
            "main a[href]:not([download]), nav a[href]", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            if href.startswith("/") and href.startswith(allow) and not SKIP_LINKS.search(href):
                queue.append((href, path))
    return problems, report


def _save_report(name: str, report: dict) -> None:
    import json

    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(report, indent=1))


@pytest.mark.parametrize(
    ("role", "email", "allow"),
    [
        ("territorial", "territorial1@sinfonia.demo", ("/songs", "/charts", "/encuesta-imprimir")),
        ("coordinator", "coordinador@sinfonia.demo", ("/reviews", "/charts", "/songs/due-date", "/encuesta-imprimir")),
        ("manager", "gestor@sinfonia.demo", ("/coverage", "/open-data")),
        ("admin", "admin@sinfonia.demo", ("/admin",)),
    ],
)
def test_every_page_a_role_sees_meets_wcag_21_aa(pages, live_server, role, email, allow):
    ids = _sample_ids(live_server)
    seeds = {
        "territorial": [
            "/songs",
            "/songs/new",
            f"/songs/{ids['own_editable']}",
            f"/songs/{ids['own_editable']}/edit",
            "/songs/import",
            "/charts",
            "/charts/tv",
            f"/charts/labels/{ids['label']}",
            f"/charts/labels/{ids['label']}/breakdown",
        ],
        "coordinator": [
            "/reviews",
            f"/reviews/{ids['delivered']}",
            "/reviews/surveys",
            "/songs/due-date-requests",
            "/charts",
            f"/songs/{ids['delivered']}",
        ],
        # the gaps list of one department: the whole country is ~10,000 nodes (30 s of axe)
        "manager": ["/coverage", "/coverage/gaps?department=05", "/coverage/targets", "/coverage/impact", "/open-data"],
        "admin": ["/admin", "/admin/users", "/admin/users/new", "/admin/audit"],
    }[role]
    page = pages.login(pages.new(), email)
    problems, report = _sweep(pages, page, seeds, allow)
    _save_report(role, report)
    assert len(report) >= len(seeds) - 2, f"too few pages checked: {report}"
    assert not problems, "\n".join(problems)
    assert not pages.console_problems, "\n".join(pages.console_problems)


def test_public_pages_meet_wcag_21_aa(pages, live_server):
    ids = _sample_ids(live_server)
    page = pages.new()
    problems, report = _sweep(pages, page, ["/open-data", ids["survey_path"]], ("/open-data",), limit=5)
    response = page.goto("/no-such-page")
    assert response.status == 404
    violations = run_axe(page)
    report["/no-such-page (404)"] = len(violations)
    if violations:
        problems.append(describe_violations(page.url, violations))
    _save_report("public", report)
    assert not problems, "\n".join(problems)


def test_phone_width_has_no_sideways_scrolling(pages, live_server):
    """Territorial teams work on phones: song list and forms, survey and boards at 375 px."""
    ids = _sample_ids(live_server)
    problems: list[str] = []
    page = pages.login(pages.new(viewport=PHONE), "territorial1@sinfonia.demo")
    for url in (
        "/songs",
        "/songs/new",
        f"/songs/{ids['own_editable']}",
        f"/songs/{ids['own_editable']}/edit",
        "/charts",
    ):
        page.goto(url)
        if horizontal_overflow(page) > 0:
            problems.append(
                f"{url}: {horizontal_overflow(page)}px of sideways scrolling at 375px: {overflowing_elements(page)}"
            )
            pages.shot(page, "phone-" + re.sub(r"\W+", "_", url))
    coordinator = pages.login(pages.new(viewport=PHONE), "coordinador@sinfonia.demo")
    for url in (f"/reviews/{ids['delivered']}", "/reviews"):
        coordinator.goto(url)
        if horizontal_overflow(coordinator) > 0:
            problems.append(
                f"{url}: {horizontal_overflow(coordinator)}px sideways at 375px: {overflowing_elements(coordinator)}"
            )
    visitor = pages.new(viewport=PHONE)
    visitor.goto(ids["survey_path"])
    if horizontal_overflow(visitor) > 0:
        problems.append(f"survey: {horizontal_overflow(visitor)}px sideways at 375px: {overflowing_elements(visitor)}")
    assert not problems, "\n".join(problems)


def test_survey_keyboard_only(pages, live_server):
    """The municipality can answer with the keyboard alone: arrows move within a question,
    Tab moves between questions, focus is always visible, Enter on the button sends."""
    ids = _sample_ids(live_server)
    page = pages.new(viewport=PHONE)
    page.goto(ids["survey_path"])
    # Sent empty: an error summary (role=alert) links to each unanswered question; still WCAG-clean.
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar mis respuestas").click()
    summary = page.locator("[role=alert]").first
    expect(summary).to_be_visible()
    expect(summary.locator("a").nth(4), "a link to each of the five unanswered questions").to_be_visible()
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert horizontal_overflow(page) <= 0
    pages.shot(page, "survey-errors")
    page.goto(ids["survey_path"])
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    names = []
    for _ in range(40):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                return {tag: e.tagName, type: e.type || '', name: e.name || '', text: e.textContent.trim().slice(0, 30),
                        visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'}; }"""
        )
        if info["tag"] == "BODY":
            break
        assert info["visible"], f"no visible focus on {info}"
        if info["type"] == "radio":
            page.keyboard.press("ArrowDown")  # moves to (and checks) the next option of the group
            page.keyboard.press("ArrowDown")
            page.keyboard.press("ArrowDown")
            names.append(info["name"])
        if info["tag"] == "BUTTON" and info["text"].startswith("Enviar"):
            break
    assert names[:5] == ["q1", "q2", "q3", "q4", "q5"], f"radio groups reached by Tab: {names}"
    checked = page.eval_on_selector_all("input[type=radio]:checked", "els => els.map(e => e.name + '=' + e.value)")
    assert len(checked) == 5, checked
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Gracias")


SVG_ALTERNATIVES = """() => Array.from(document.querySelectorAll('main svg')).filter(svg =>
    !svg.closest('[aria-hidden=true]')).map(svg => {
        const ids = (svg.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
        const labelled = ids.map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
        const title = svg.querySelector(':scope > title');
        const name = (svg.getAttribute('aria-label') || labelled || (title && title.textContent) || '').trim();
        const section = svg.closest('section') || document.querySelector('main');
        return {role: svg.getAttribute('role'), name: name, table: !!section.querySelector('table'),
                unnamedLinks: Array.from(svg.querySelectorAll('a')).filter(a => !(a.getAttribute('aria-label') ||
                    (a.querySelector('title') || {}).textContent)).length};
    })"""


def test_charts_and_the_map_have_text_alternatives(pages, live_server):
    """Every drawing is named (role=img/group + a name) and its figures are also in a table."""
    ids = _sample_ids(live_server)
    manager = pages.login(pages.new(), "gestor@sinfonia.demo")
    coordinator = pages.login(pages.new(), "coordinador@sinfonia.demo")
    checked = []
    for page, url in (
        (manager, "/coverage"),
        (coordinator, f"/charts/labels/{ids['label']}"),
        (coordinator, "/charts"),
    ):
        page.goto(url)
        for svg in page.evaluate(SVG_ALTERNATIVES):
            checked.append(url)
            assert svg["role"] in ("img", "group", "graphics-document"), f"{url}: an SVG without a role: {svg}"
            assert len(svg["name"]) > 5, f"{url}: an SVG without a text alternative: {svg}"
            assert svg["table"], f"{url}: a chart without a table of the same data: {svg}"
            assert svg["unnamedLinks"] == 0, f"{url}: map areas without a name: {svg}"
    assert "/coverage" in checked, "the coverage map is missing"


def test_language_choice_follows_the_user_to_a_new_browser(pages):
    """A coordinator who reads English switches once; on another browser (Spanish) the app
    is in English again as soon as they sign in (User.locale), and dates/numbers follow."""
    page = pages.login(pages.new(), "coordinador2@sinfonia.demo")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    other = pages.login(pages.new(locale="es-CO"), "coordinador2@sinfonia.demo")
    other.goto("/charts")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    expect(other.get_by_role("link", name="Skip to content")).to_have_count(1)
    expect(other.get_by_role("button", name="Sign out")).to_have_count(1)
    pages.shot(other, "charts-en")
    with other.expect_navigation():
        other.get_by_role("button", name="Español").click()
    expect(other.locator("html")).to_have_attribute("lang", "es")
    expect(other.get_by_role("button", name="Cerrar sesión")).to_have_count(1)
