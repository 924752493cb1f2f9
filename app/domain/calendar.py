"""Colombian business days (DESIGN.md §4).

Business days are Monday–Friday minus Colombian public holidays (Ley Emiliani
included), from the ``holidays`` package, country ``CO``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BOGOTA = ZoneInfo("America/Bogota")

_FIRST_YEAR = 2015
_LAST_YEAR = 2040


@lru_cache(maxsize=1)
def _colombian_holidays() -> frozenset[date]:
    return frozenset(holidays.country_holidays("CO", years=range(_FIRST_YEAR, _LAST_YEAR + 1)))


def today() -> date:
    """Today's date in Colombia (times are stored in UTC, days are Bogotá days)."""
    return datetime.now(BOGOTA).date()


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _colombian_holidays()


@lru_cache(maxsize=1)
def _business_day_table() -> tuple[date, list[int]]:
    """Cumulative count of business days from 1 Jan of the first year (fast lookups)."""
    start = date(_FIRST_YEAR, 1, 1)
    end = date(_LAST_YEAR, 12, 31)
    counts: list[int] = []
    total = 0
    day = start
    while day <= end:
        if is_business_day(day):
            total += 1
        counts.append(total)
        day += timedelta(days=1)
    return start, counts


def business_day_number(day: date) -> int:
    """Business days from the table's start up to and including ``day``."""
    start, counts = _business_day_table()
    offset = (day - start).days
    if 0 <= offset < len(counts):
        return counts[offset]
    # Outside the table: count directly (rare, slow path).
    if offset < 0:
        return -business_days_between(day, start - timedelta(days=1))
    return counts[-1] + business_days_between(start + timedelta(days=len(counts) - 1), day)


def business_days_between(after: date, until: date) -> int:
    """Business days ``d`` with ``after < d <= until`` (negative if ``until`` is earlier)."""
    if until < after:
        return -business_days_between(until, after)
    start, counts = _business_day_table()
    a, b = (after - start).days, (until - start).days
    if 0 <= a < len(counts) and 0 <= b < len(counts):
        return counts[b] - counts[a]
    n, day = 0, after + timedelta(days=1)
    while day <= until:
        n += is_business_day(day)
        day += timedelta(days=1)
    return n


def late_business_days(due: date, delivered: date) -> int:
    """Business days after the due date up to the delivery; 0 when on time."""
    return max(0, business_days_between(due, delivered))


def add_business_days(day: date, n: int) -> date:
    """The n-th business day after ``day`` (n ≥ 0; n = 0 gives ``day`` itself)."""
    result = day
    while n > 0:
        result += timedelta(days=1)
        if is_business_day(result):
            n -= 1
    return result


def subtract_business_days(day: date, n: int) -> date:
    """The n-th business day before ``day`` (n ≥ 0; n = 0 gives ``day`` itself)."""
    result = day
    while n > 0:
        result -= timedelta(days=1)
        if is_business_day(result):
            n -= 1
    return result


def holidays_between(first: date, last: date) -> list[date]:
    return sorted(d for d in _colombian_holidays() if first <= d <= last)


def business_days_left(due: date, today: date) -> int:
    """Positive: business days left until the due date; negative: business days late."""
    if today <= due:
        return business_days_between(today, due)
    return -business_days_between(due, today)


__all__ = [
    "add_business_days",
    "business_day_number",
    "business_days_between",
    "business_days_left",
    "holidays_between",
    "is_business_day",
    "late_business_days",
    "today",
    "subtract_business_days",
    "today",
]
