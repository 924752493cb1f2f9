"""One clock (issue 20): "today" is the date in Bogotá everywhere, also where the server's
own clock is in another time zone (a UTC server after 19:00 Bogotá is already tomorrow)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.domain import calendar
from app.extensions import db
from app.models import Season


class _Clock(datetime):
    """2026-01-01 02:00 UTC: still 31 December 2025 (21:00) in Bogotá."""

    @classmethod
    def now(cls, tz=None):
        moment = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
        return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)


@pytest.fixture
def new_years_eve(monkeypatch):
    monkeypatch.setattr(calendar, "datetime", _Clock)


def test_today_is_the_bogota_date(new_years_eve):
    assert calendar.today() == date(2025, 12, 31)


def test_the_season_and_file_names_follow_the_bogota_date(app, new_years_eve):
    from app.domain import exports, seasons

    for year in (2025, 2026):
        db.session.add(Season(year=year, starts_on=date(year, 1, 1), ends_on=date(year, 12, 31)))
    db.session.flush()
    assert exports.export_filename("cobertura", 2025, "csv") == "cobertura-2025-2025-12-31.csv"
    assert seasons.resolve(None).year == 2025  # the server's UTC date says 2026


def test_no_other_clock_in_the_app():
    """Nothing reads the server's date or builds its own Bogotá clock: calendar.today() only."""
    root = Path(__file__).resolve().parent.parent / "app"
    offenders = []
    for path in sorted(root.glob("**/*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("date.today()", 'ZoneInfo("America/Bogota")'):
            if needle in text and path.name != "calendar.py":
                offenders.append(f"{path.relative_to(root)}: {needle}")
    assert offenders == []


def test_no_test_reads_the_servers_date():
    """The tests compare with the app's day, never the machine's: from 19:00 to midnight in
    Bogotá the UTC date is already tomorrow, and a test built on date.today() fails there."""
    root = Path(__file__).resolve().parent
    offenders = [
        str(path.relative_to(root))
        for path in sorted(root.glob("**/*.py"))
        if "node_modules" not in path.parts
        and path.name != Path(__file__).name
        and "date.today()" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
