"""Internationalisation (DESIGN.md §7): every string on screen goes through Flask-Babel,
English is complete, numbers follow the locale, and the language choice sticks."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages import checkers
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from flask import g, render_template_string
from flask_babel import force_locale
from jinja2 import Environment

from app.extensions import db
from app.i18n import compile_catalogues
from app.models import User
from tests.conftest import FreshUserClient

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "app"
TRANSLATIONS = APP_DIR / "translations"

# Text that is the same in every language: the product's name, format names, symbols.
ALLOWED_WORDS = {
    "sinfonía",
    "svg",
    "csv",
    "xlsx",
    "json",
    "pdf",
    "api",
    "dane",
    "divipola",
    "pdet",
    "mdm",
    "http",
    "https",
    "url",
    "id",
    "ok",
    "ip",
    "kb",
    "mb",
    "excel",
    "tv",
    "round",
    "min",
    "max",
    "σt",  # formulas of DESIGN.md §4, shown as they are
}
CODE_TAGS = {"code", "kbd", "samp", "pre", "script", "style"}  # code reads the same in every language
IDENTIFIER = re.compile(r"^[a-z0-9]+([_-][a-z0-9]+)+$")  # a CSS class or a column name in a block
TRANSLATABLE_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "aria-description", "aria-roledescription"}
EXPR = "\ue000"  # stands for a Jinja expression or tag inside the reconstructed HTML
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def _template_files() -> list[Path]:
    return sorted(p for p in APP_DIR.glob("**/templates/**/*.html") if "translations" not in p.parts)


def _strip_jinja(source: str) -> str:
    """The template as HTML, with each expression/tag replaced by a marker and the
    bodies of {% trans %} blocks (already translatable) removed."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    out: list[str] = []
    in_trans = 0
    block: list[str] = []
    in_block = False
    for _line, kind, value in env.lex(source):
        if kind == "block_begin":
            in_block, block = True, []
            out.append(EXPR)
            continue
        if in_block:
            if kind == "block_end":
                in_block = False
                name = block[0] if block else ""
                if name == "trans":
                    in_trans += 1
                elif name == "endtrans":
                    in_trans -= 1
            elif kind == "name" or kind == "operator":
                block.append(value)
            continue
        if kind == "data":
            out.append(EXPR if in_trans else value)
        elif kind in ("variable_begin", "raw_begin"):
            out.append(EXPR)
    return "".join(out)


class _LiteralFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    @staticmethod
    def _words(text: str) -> bool:
        segments = [seg for seg in text.split(EXPR) if not IDENTIFIER.match(seg.strip())]
        words = [w for seg in segments for w in re.split(r"[^\w]+", seg) if LETTER.search(w) and len(w) > 1]
        return any(w.lower() not in ALLOWED_WORDS for w in words)  # one-letter words: formula variables

    def handle_starttag(self, tag, attrs):
        if tag in CODE_TAGS:
            self._skip += 1
        for name, value in attrs:
            if name in TRANSLATABLE_ATTRIBUTES and value and self._words(value):
                self.found.append(f'<{tag} {name}="{value.replace(EXPR, "{{…}}")}">')

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in CODE_TAGS:
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in CODE_TAGS:
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip and self._words(data):
            self.found.append(data.strip().replace(EXPR, "{{…}}"))


def untranslated_literals(source: str) -> list[str]:
    """Literal words in a template that do not go through gettext."""
    finder = _LiteralFinder()
    finder.feed(_strip_jinja(source))
    finder.close()
    return finder.found


def test_literal_finder_flags_plain_text_and_attributes():
    assert untranslated_literals("<p>Hola mundo</p>") == ["Hola mundo"]
    assert untranslated_literals('<img alt="Mapa de Colombia" src="{{ x }}">')
    assert untranslated_literals('<input placeholder="Buscar">')
    assert untranslated_literals('<svg role="img" aria-label="Gráfico"></svg>')
    assert untranslated_literals("{% if x %}<b>Entregada</b>{% endif %}") == ["Entregada"]
    assert untranslated_literals("{% block body_class %}tv-mode{% endblock %}{% block t %}Modo TV{% endblock %}")
    ok = (
        '<p title="{{ _("Ayuda") }}">{{ _("Hola") }} · {{ n|number }} %</p>'
        "{% trans n=3 %}Hay {{ n }} canciones{% endtrans %}{# comentario #}"
        '<a class="btn primary" href="{{ url_for(\'x\') }}">♪ Sinfonía</a> &nbsp;&mdash; (CSV, XLSX)'
        "{% block title %}{{ _('Listas') }}{% endblock %}<script src=\"x.js\"></script>"
    )
    assert untranslated_literals(ok) == []


def test_every_template_translates_its_text():
    templates = _template_files()
    assert templates, "no templates found"
    problems = []
    for path in templates:
        for literal in untranslated_literals(path.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(ROOT)}: {literal[:80]!r}")
    assert not problems, "Text not wrapped in _() / {% trans %}:\n" + "\n".join(problems)


def _extract(tmp_path: Path) -> Path:
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_ngettext:1,2",
            "-o",
            str(pot),
            str(APP_DIR),
        ]
    )
    return pot


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Every string wrapped anywhere in app/: templates and Python (babel.cfg)."""
    return _read(_extract(tmp_path_factory.mktemp("pot")))


def untranslated(template, english) -> list[str]:
    """The msgids of ``template`` that ``english`` leaves empty, fuzzy or out."""
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = english.get(message.id)
        strings = translated.string if translated else None
        if isinstance(strings, tuple):
            empty = not all(strings)
        else:
            empty = not strings
        if translated is None or empty or translated.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def test_english_catalogue_is_complete(extracted):
    english = _read(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    assert len([m for m in extracted if m.id]) > 20, "extraction found almost nothing: check babel.cfg"
    missing = untranslated(extracted, english)
    assert not missing, (
        f"{len(missing)} strings without English (run `make translations-update` and translate):\n"
        + "\n".join(missing[:60])
    )


def test_extraction_covers_the_python_of_the_domain_and_the_api(extracted):
    """Issue 20: the domain's and the API's messages are extracted too, not only templates."""
    places = {
        Path(location).resolve().relative_to(APP_DIR).parts[0]
        for m in extracted
        if m.id
        for location, _line in m.locations
    }
    assert {"domain", "api", "templates"} <= places, places
    for msgid in (
        "Esta canción es de otra disquera.",  # app/domain/lifecycle.py
        "Se requiere autenticación (sesión o token Bearer).",  # app/api/core.py
        "planeada",  # app/domain/names.py, the one table of state names
        "fecha de compromiso",
    ):
        assert extracted.get(msgid) is not None, msgid


def test_the_completeness_check_fails_on_one_emptied_english_string(extracted):
    english = _read(TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po")
    assert untranslated(extracted, english) == []
    english.get("Esta canción es de otra disquera.").string = ""
    assert untranslated(extracted, english) == ["Esta canción es de otra disquera."]


def test_catalogues_have_consistent_placeholders():
    for lang in ("es", "en"):
        catalog = _read(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
        errors = []
        for message in catalog:
            if not message.id or not message.string:
                continue
            try:
                checkers.python_format(catalog, message)
            except Exception as exc:  # TranslationError
                errors.append(f"{message.id!r}: {exc}")
        assert not errors, f"{lang}: " + "\n".join(errors)


def test_catalogues_compile(tmp_path):
    import shutil

    shutil.copytree(TRANSLATIONS, tmp_path / "t")
    written = compile_catalogues(tmp_path / "t", only_if_stale=False)
    assert {p.parent.parent.name for p in written} == {"es", "en"}


# --- the language switcher and the user's remembered choice -------------------------------


class FreshLocaleClient(FreshUserClient):
    """The test app context outlives requests; Flask-Babel caches the locale on ``g``,
    so forget it per request, as a real server does."""

    def open(self, *args, **kwargs):
        g.pop("_flask_babel", None)
        try:
            return super().open(*args, **kwargs)
        finally:
            g.pop("_flask_babel", None)


@pytest.fixture
def client(app):
    app.test_client_class = FreshLocaleClient
    return app.test_client()


def test_spanish_by_default_and_english_from_the_browser(client):
    page = client.get("/login").get_data(as_text=True)
    assert "Iniciar sesión" in page and 'lang="es"' in page
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in page and "Iniciar sesión" not in page and 'lang="en"' in page


def test_switcher_renders_the_next_page_in_english(client):
    response = client.post("/lang/en", data={"next": "/login"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in" in page and "Skip to content" in page and "Password" in page
    assert "Iniciar sesión" not in page
    client.post("/lang/es", data={"next": "/login"})
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)


def test_switcher_ignores_unknown_languages_and_foreign_redirects(client):
    response = client.post("/lang/fr", data={"next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)


def test_users_choice_is_remembered_on_a_new_session(app, world, client, auth):
    auth.login_with_password(world.territorial_a.email)
    client.post("/lang/en", data={"next": "/login"})
    db.session.expire_all()
    assert db.session.get(User, world.territorial_a.id).locale == "en"

    fresh = app.test_client()  # another browser: no session cookie, Spanish browser
    fresh.post("/login", data={"email": world.territorial_a.email, "password": "clave-segura-2024"})
    page = fresh.get("/no-such-page", headers={"Accept-Language": "es-CO"}).get_data(as_text=True)
    assert "Page not found" in page and "Sign out" in page
    assert "Página no encontrada" not in page

    other = app.test_client()  # another user keeps Spanish
    other.post("/login", data={"email": world.territorial_b.email, "password": "clave-segura-2024"})
    assert "Página no encontrada" in other.get("/no-such-page").get_data(as_text=True)


# --- numbers, percentages and dates in the locale's format --------------------------------


@pytest.mark.parametrize(
    ("locale", "number", "percent", "score"),
    [("es", "1.234.567,9", "45,7 %", "0,75"), ("en", "1,234,567.9", "45.7 %", "0.75")],
)
def test_numbers_follow_the_locale(app, locale, number, percent, score):
    with app.test_request_context("/"), force_locale(locale):
        text = render_template_string(
            "{{ 1234567.89|number(1) }}|{{ 0.4567|percent(1) }}|{{ 0.75|score }}|{{ d|date }}|{{ none|score }}",
            d=date(2024, 3, 5),
            none=None,
        )
    empty = "sin datos" if locale == "es" else "no data"
    assert text == f"{number}|{percent}|{score}|05/03/2024|{empty}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_number_filters_match_babel_in_each_language(app, lang):
    """fmt_number/fmt_percent parse their patterns once (issue 8); the text must stay Babel's."""
    from flask_babel import format_decimal, format_percent

    from app.web import fmt_number, fmt_percent

    with app.test_request_context(), force_locale(lang):
        for value in (0, 0.375, 1234567.891, -2.5, 0.12345, 1, 99.995, 0.9999):
            for digits in (0, 1, 2):
                pattern = "#,##0" + ("." + "0" * digits if digits else "")
                assert fmt_number(value, digits) == format_decimal(value, format=pattern)
                if 0 < value < 1 and round(value * 100, digits) in (0, 100):
                    continue  # never "100 %" for less than all (test_numbers.py)
                assert fmt_percent(value, digits) == format_percent(value, format=pattern + " %")
        assert fmt_number(1234567.891, 2) == ("1.234.567,89" if lang == "es" else "1,234,567.89")
        assert fmt_percent(0.375) == "38 %"
