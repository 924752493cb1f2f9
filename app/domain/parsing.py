"""Parsing of untrusted numbers from query strings, forms and JSON.

``str.isdigit()`` accepts characters such as "²" that ``int()`` refuses, and an
unbounded integer can overflow a database INTEGER column; both used to end in a 500.
"""

from __future__ import annotations

import re

_INT = re.compile(r"-?[0-9]{1,16}")
DB_INT_MAX = 2_000_000_000


def ascii_int(raw: object, *, minimum: int | None = None, maximum: int = DB_INT_MAX) -> int | None:
    """The integer written in ASCII digits in ``raw`` within [minimum, maximum], else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _INT.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        return None
    if (minimum is not None and value < minimum) or value > maximum or value < -DB_INT_MAX:
        return None
    return value
