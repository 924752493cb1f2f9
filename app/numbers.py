"""Every number on screen goes through here: es-CO by default, the reader's language
otherwise (DESIGN.md §7). Templates use the filters of the same names (app/web.py);
Python code that puts a number inside a message calls these functions, never
``str(float)`` or an f-string, so a page never shows "0.6" beside "(0,6)".

- ``number(1234.5, 1)`` → "1.234,5"; ``decimal(0.35)`` → "0,35" (only the decimals it has);
- ``percent(0.375)`` → "38 %", and a share just under 1 (or just over 0) never rounds to
  "100 %" (or "0 %"): it gains a decimal, "99,7 %", so "no alcanzaría (100 %)" cannot happen;
- ``signed(-0.001, 2)`` → "0,00" with ``direction`` 0: a change that rounds to zero has no
  sign and no colour;
- ``input_decimal(0.6)`` → "0,6" for the value of a text box (the parsers take "0,6" and "0.6").
"""

from __future__ import annotations

from functools import lru_cache

from babel.numbers import NumberPattern, parse_pattern
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _

MINUS = "−"  # U+2212, the typographic minus used on screen


@lru_cache(maxsize=64)
def _pattern(pattern: str) -> NumberPattern:
    """Babel parses a format string on every call; the few patterns used here are parsed once."""
    return parse_pattern(pattern)


def _locale():
    return (get_locale() if has_request_context() else None) or "es_CO"


def _apply(pattern: str, value: float | int) -> str:
    return _pattern(pattern).apply(value, _locale())


def number(value: float | int | None, digits: int = 0) -> str:
    """Grouped thousands and a fixed number of decimals: ``1.234,50``."""
    if value is None:
        return "—"
    return _apply("#,##0" + ("." + "0" * digits if digits else ""), value)


def decimal(value: float | int | None, max_digits: int = 4) -> str:
    """Only the decimals the value has (up to ``max_digits``): weights, thresholds (``0,35``)."""
    if value is None:
        return "—"
    return _apply("#,##0" + ("." + "#" * max_digits if max_digits else ""), value)


def input_decimal(value: float | int | str | None, max_digits: int = 4) -> str:
    """The value of a text box: ``0,6`` (no thousands separator). Text (a re-shown form) is kept."""
    if value is None or isinstance(value, str):
        return value or ""
    return _apply("0" + ("." + "#" * max_digits if max_digits else ""), value)


def percent(value: float | None, digits: int = 0) -> str:
    """``0.375`` → "38 %". Never "100 %" for less than all, nor "0 %" for more than nothing."""
    if value is None:
        return _("sin datos")
    for extra in range(3):
        shown_digits = digits + extra
        text = _apply("#,##0" + ("." + "0" * shown_digits if shown_digits else "") + " %", value)
        if not (0 < value < 1 and round(value * 100, shown_digits) in (0, 100)):
            break
    return text


def score(value: float | None, digits: int = 2) -> str:
    """A 0–1 score; ``None`` reads "sin datos", never as a bad score (DESIGN.md §4)."""
    if value is None:
        return _("sin datos")
    return number(value, digits)


def direction(value: float | int | None, digits: int = 0) -> int:
    """-1, 0 or 1: the sign of the value *as shown* with ``digits`` decimals."""
    if value is None:
        return 0
    shown = round(value, digits)
    return (shown > 0) - (shown < 0)


def signed(value: float | int | None, digits: int = 0) -> str:
    """``+1,25`` / ``−0,40`` / ``0,00``: the sign of what is shown (``direction``)."""
    if value is None:
        return "—"
    text = number(abs(value), digits)
    sign = direction(value, digits)
    return ("+" if sign > 0 else MINUS if sign < 0 else "") + text
