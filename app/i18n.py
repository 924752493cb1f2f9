"""Flask-Babel set-up: Spanish (es-CO) first, English available (DESIGN.md §7)."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_login import current_user

from app.extensions import babel


def select_locale() -> str:
    """The user's saved choice, then the session's, then the browser's, then Spanish."""
    languages = current_app.config["LANGUAGES"]
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in languages:
        return user_locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DISPLAY_TIMEZONE"]


def init_app(app: Flask) -> None:
    translations = str(app.root_path + "/translations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", translations)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
