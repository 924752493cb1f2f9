"""Flask-Babel set-up: Spanish (es-CO) first, English available (DESIGN.md §7).

Catalogues live in ``app/translations/<lang>/LC_MESSAGES/messages.po`` (extracted with
``make translations-update``, see babel.cfg). The compiled ``.mo`` files are not kept
in git: ``make translations`` builds them, and the app rebuilds a missing or stale one
when it starts, so a fresh clone run with plain ``flask run`` or ``pytest`` is
translated too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import force_locale, get_translations, gettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from app.extensions import babel

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


class LazyText(LazyString):
    """A message translated when it is shown (Flask-Babel's lazy string, made safe for
    templates: it is text, so Jinja escapes it like any other text)."""

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _(message: str, **values) -> str:
    """THE gettext of the domain and the API (issue 20).

    In a request (or a ``force_locale`` block: e-mails) the text in that language; in an
    application context without a request (CLI, scheduler, tests) the text in the default
    language, as plain ``str``; with no application at all (a module-level table built at
    import time) a lazy string that translates itself where it is shown. Values go in
    named placeholders: ``_("Faltan %(n)s días.", n=3)``.
    """
    if has_request_context() or _forced_locale():
        return gettext(message, **values)
    if has_app_context():
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            return gettext(message, **values)
    return LazyText(gettext, message, **values)


def _l(message: str, **values) -> LazyText:
    """Always lazy: for tables and cached objects that are read in several languages
    (extracted by `make translations-update`: -k _l)."""
    return LazyText(gettext, message, **values)


def text(value):
    """``value`` as plain str if it is a lazy message (JSON bodies, database columns)."""
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, dict):
        return {key: text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [text(item) for item in value]
    return value


def _has_lazy(value) -> bool:
    if isinstance(value, LazyString):
        return True
    if isinstance(value, dict):
        return any(_has_lazy(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_lazy(item) for item in value)
    return False


def _store_lazy_as_text(session, _flush_context, _instances) -> None:
    """A message made outside a request (CLI, scheduler) is stored as its text, in the
    language it reads in now: a database column never holds a lazy string."""
    for obj in (*session.new, *session.dirty):
        state = sa_inspect(obj)
        for attr in state.mapper.column_attrs:
            value = state.dict.get(attr.key)
            if value is not None and not isinstance(value, (str, int, float)) and _has_lazy(value):
                setattr(obj, attr.key, text(value))


if not event.contains(Session, "before_flush", _store_lazy_as_text):
    event.listen(Session, "before_flush", _store_lazy_as_text)


def _forced_locale() -> bool:
    return has_app_context() and hasattr(g.get("_flask_babel"), "forced_babel_locale")


def select_locale() -> str:
    """The user's saved choice, then the session's, then the browser's, then Spanish
    (Spanish, too, outside a request: the CLI and the scheduler)."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    user_locale = _user_locale()
    if user_locale in languages:
        return user_locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _user_locale() -> str | None:
    """The signed-in user's saved language; None when the database cannot say (an error page
    while the database is down must not fail on it: issue 19)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.extensions import db, login_manager

    try:
        return getattr(current_user, "locale", None) if current_user else None
    except SQLAlchemyError:
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass
        g._login_user = login_manager.anonymous_user()
        return None


def select_timezone() -> str:
    return current_app.config["DISPLAY_TIMEZONE"]


def compile_catalogues(directory: Path = TRANSLATIONS_DIR, only_if_stale: bool = True) -> list[Path]:
    """Compile every ``messages.po`` under ``directory`` into its ``.mo``; returns the
    files written. Fuzzy entries are left out (as ``pybabel compile`` does). The file
    is written beside and renamed into place, so a reader never sees half a catalogue."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if only_if_stale and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                write_mo(out, catalog, use_fuzzy=False)
            os.replace(tmp, mo_path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(mo_path)
    return written


def _request_translations():
    """The catalogue of this request's language, looked up once per request (kept on the
    request object: ``g`` belongs to the app context, which may outlive one request)."""
    if not has_request_context():
        return get_translations()
    req = request._get_current_object()
    translations = getattr(req, "_sinfonia_translations", None)
    if translations is None:
        translations = req._sinfonia_translations = get_translations()
    return translations


def _plural(singular: str, plural: str, num) -> str:
    """Templates' ``ngettext``: the plural form, with ``%(num)s`` already in the page's number
    style ("1.017 canciones", not "1017"): Jinja formats the raw count in otherwise."""
    from app import numbers

    text = _request_translations().ungettext(singular, plural, num)
    if isinstance(num, (int, float)) and not isinstance(num, bool):
        text = text.replace("%(num)s", numbers.number(num).replace("%", "%%"))
    return text


def init_app(app: Flask) -> None:
    translations = str(app.root_path + "/translations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", translations)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Templates call gettext a few hundred times per page (table headers, per-row labels);
    # Flask-Babel's callables look the request's catalogue up again on every call. These
    # look it up once per request (issue 8: ~4 ms of CPU per song list page).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _request_translations().ugettext(s),
        ngettext=_plural,
        newstyle=True,
        pgettext=lambda c, s: _request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _request_translations().unpgettext(c, s, p, n),
    )
    try:
        compile_catalogues(Path(translations))
    except OSError:  # a read-only install: `make translations` compiled them at build time
        app.logger.warning("Could not compile the translation catalogues in %s", translations)
