"""Real-browser fixtures: a live Sinfonía server on a free port, Debian's Chromium
driven by Playwright (sync API), axe-core injected for accessibility checks.

One server and one browser per test session. The server runs in a thread of the
test process on its own database (a temporary SQLite file, or with TEST_DATABASE_URL
a database of its own on that PostgreSQL server), seeded through the CLI with the
reference data and a small demo (DESIGN.md §8). CSRF is ON, as in production.

Screenshots go to test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parent.parent
AXE_JS = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DEMO_PASSWORD = "sinfonia-demo"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}: browser tests skipped")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


class LiveServer:
    """The app served over real HTTP, plus direct access to its database."""

    def __init__(self, app, host: str, port: int):
        self.app = app
        self.url = f"http://{host}:{port}"

    def query(self, fn):
        """Run ``fn(db.session)`` against the server's database (inside a request
        context, so url_for works) and return what it returns."""
        from app.extensions import db

        with self.app.test_request_context("/", base_url=self.url):
            try:
                return fn(db.session)
            finally:
                db.session.remove()

    def cli(self, *args: str) -> str:
        result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, f"flask {' '.join(args)} failed:\n{result.output}\n{result.exception!r}"
        return result.output


def _plan_a_song_for_territorial1(session) -> None:
    """The small demo may leave a label without an editable song: plan one (through the
    domain, as the UI does) so the pages of a planned song can be checked."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from app.domain import lifecycle
    from app.domain.calendar import today as bogota_today
    from app.models import Album, Artist, Department, Municipality, User

    user = session.scalar(select(User).where(User.email == "territorial1@sinfonia.demo"))
    artist = session.scalar(select(Artist).where(Artist.label_id == user.label_id).order_by(Artist.id))
    municipality = session.scalar(
        select(Municipality).join(Department).where(Department.label_id == user.label_id).order_by(Municipality.code)
    )
    today = bogota_today()
    data = {
        "artist_id": artist.id,
        "album_id": session.scalar(select(Album.id).order_by(Album.id)),
        "municipality_id": municipality.id,
        "scope": "Acompañamiento al plan de desarrollo municipal",
        "planned_start": today,
        "due_date": min(today + timedelta(days=20), date(today.year, 12, 31)),
    }
    lifecycle.create_song(user, data)
    session.commit()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from app import create_app
    from app.extensions import db
    from config import TestingConfig
    from tests.conftest import _normalise, create_test_database, drop_test_database

    base = tmp_path_factory.mktemp("e2e")
    pg_server = os.environ.get("TEST_DATABASE_URL")
    database_url = create_test_database(_normalise(pg_server)) if pg_server else f"sqlite:///{base / 'e2e.db'}"
    app = create_app(
        {
            "CONFIG_CLASS": TestingConfig,
            "TESTING": False,  # errors render as pages, as in production
            "WTF_CSRF_ENABLED": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_FOLDER": str(base / "uploads"),
            "DEMO_PASSWORD": DEMO_PASSWORD,
        }
    )
    server = LiveServer(app, "127.0.0.1", 0)
    with app.app_context():
        db.create_all()
    server.cli("seed", "reference")
    server.cli("seed", "demo", "--songs", "40", "--seed", "7")
    server.cli("charts", "recompute")
    server.query(_plan_a_song_for_territorial1)

    httpd = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    server.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if pg_server:
            drop_test_database(database_url)


def _closing(app):
    """Werkzeug's development server skips the response's ``close()`` when the client drops the
    connection while it drains the request (its ``finally`` reads the socket first): a static
    file being sent when a test's browser closes — the service worker precaching, say — stays
    open and is collected later as an unclosed file inside another test. This wrapper closes the
    response whatever the server does (a generator's ``finally`` runs when it is collected)."""

    def wsgi(environ, start_response):
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Pages:
    """A browser context for one test: new pages, sign-in, screenshots, checks."""

    def __init__(self, browser, live_server, request):
        self.browser = browser
        self.live = live_server
        self.test_name = re.sub(r"\W+", "-", request.node.name).strip("-")
        self.contexts = []
        self.console_problems: list[str] = []

    def new(self, viewport=None, locale="es-CO", **options):
        # The people are in Colombia: the browser's day is Bogotá's, as the server's is
        # (calendar.today()); in UTC the two differ from 19:00 to midnight.
        options.setdefault("timezone_id", "America/Bogota")
        context = self.browser.new_context(
            base_url=self.live.url, viewport=viewport or DESKTOP, locale=locale, accept_downloads=True, **options
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()

        def on_console(message):
            text = message.text
            if message.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
                self.console_problems.append(f"{page.url}: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.console_problems.append(f"{page.url}: JS error {exc}"))
        return page

    def login(self, page, email: str, password: str = DEMO_PASSWORD):
        page.goto("/login")
        page.get_by_label(re.compile("Correo|Email")).fill(email)
        page.get_by_label(re.compile("Contraseña|Password")).fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile("^(Entrar|Sign in)$")).click()
        assert "/login" not in page.url, f"sign-in failed for {email}: {page.url}"
        return page

    def shot(self, page, step: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page, timeout=15_000)
        return path

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server, request):
    helper = Pages(browser, live_server, request)
    try:
        yield helper
    finally:
        helper.close()


def run_axe(page, tags=WCAG_TAGS) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the current page. The script is
    evaluated through the DevTools protocol, which the page's CSP does not block,
    so the page is checked with its real Content-Security-Policy in force."""
    assert AXE_JS.exists(), f"axe-core is missing at {AXE_JS}: run `make install-dev` (npm ci in tests/e2e)"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n')[1])}));
        }""",
        tags,
    )
    return result


def describe_violations(url: str, violations: list[dict]) -> str:
    lines = [f"{url}: {len(violations)} WCAG violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"      {node}" for node in v["nodes"][:5])
    return "\n".join(lines)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 = no sideways scrolling)."""
    return page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")


def overflowing_elements(page, limit: int = 5) -> list[str]:
    """The outermost elements that stick out past the right edge of the viewport (for messages)."""
    return page.evaluate(
        """(limit) => {
            const width = document.documentElement.clientWidth, out = [];
            const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
                const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
                return false; };
            for (const e of document.querySelectorAll('body *')) {
                const r = e.getBoundingClientRect();
                if (r.right > width + 1 && !scrolls(e) && !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 1)) {
                    out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                             (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
                             ' (right edge ' + Math.round(r.right) + 'px)');
                    if (out.length >= limit) break;
                }
            }
            return out; }""",
        limit,
    )
