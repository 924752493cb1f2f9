"""Parsing of untrusted numbers from query strings, forms and JSON.

``str.isdigit()`` accepts characters such as "²" that ``int()`` refuses, and an
unbounded integer can overflow a database INTEGER column; both used to end in a 500.
"""

from __future__ import annotations

import re
from datetime import date

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


# Dates any song, review or survey can carry. Outside this range date arithmetic (a month
# before, business days after) overflows Python's ``date`` (year 1 to 9999): issue 19.
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2099, 12, 31)


def plausible_date(value: date | None) -> bool:
    """``value`` lies between ``DATE_MIN`` and ``DATE_MAX`` (inclusive)."""
    return value is not None and DATE_MIN <= value <= DATE_MAX
