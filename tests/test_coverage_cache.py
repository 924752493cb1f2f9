"""The coverage cache (COVERAGE_CACHE_SECONDS > 0): served from memory, refreshed in the background."""

from __future__ import annotations

import time
from datetime import date

import pytest

from app.domain import coverage
from tests import factories


@pytest.fixture
def app_config():
    return {"COVERAGE_CACHE_SECONDS": 60}


@pytest.fixture(autouse=True)
def _fresh_cache():
    coverage.clear_cache()
    yield
    coverage.clear_cache()


def _delivered(world) -> int:
    return coverage.national_summary(world.season).figure("delivered").value


def test_cached_until_cleared(world):
    factories.make_song(world, state="delivered", delivered_on=date(2024, 3, 20))
    assert _delivered(world) == 1
    factories.make_song(world, state="delivered", delivered_on=date(2024, 3, 21))
    assert _delivered(world) == 1  # still the cached aggregate
    coverage.clear_cache()
    assert _delivered(world) == 2


def test_stale_value_is_served_then_refreshed(app, world):
    factories.make_song(world, state="delivered", delivered_on=date(2024, 3, 20))
    assert _delivered(world) == 1
    factories.make_song(world, state="delivered", delivered_on=date(2024, 3, 21))
    for key, (_, value) in list(coverage._CACHE.items()):  # expire every entry
        coverage._CACHE[key] = (0, value)
    assert _delivered(world) == 1  # stale, while a background thread recomputes
    deadline = time.monotonic() + 5
    while coverage._REFRESHING and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _delivered(world) == 2


def test_indicator_import_clears_the_cache(world):
    from app.domain import impact

    factories.make_song(world, state="delivered", delivered_on=date(2024, 3, 20))
    assert _delivered(world) == 1
    factories.make_song(world, state="delivered", delivered_on=date(2024, 3, 21))
    assert not impact.import_indicators(b"municipality_code,indicator,year,value\n05031,mdm,2022,1\n").errors
    assert _delivered(world) == 2
