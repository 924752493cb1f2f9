"""Issue 16: a demo that looks like a real year (relative to the day it runs)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import charts, seasons
from app.domain.calendar import business_days_between
from app.extensions import db
from app.models import AuditEvent, BadgeAward, ChartSnapshot, Evidence, Review, Season, Song, Survey
from seeds.demo import seed_demo

DAY = date(2026, 12, 1)
END_OF_DAY = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # midnight in Bogotá, in UTC


@pytest.fixture
def demo(app):
    seed_demo(songs=400, seed=5, today=DAY, history_days=14)
    return {s.year: s for s in db.session.scalars(select(Season))}


def test_seasons_are_where_the_calendar_puts_them(demo):
    assert {y: s.state for y, s in demo.items()} == {
        2023: "closed",
        2024: "closed",
        2025: "closed",
        2026: "open",
        2027: "planning",
    }
    assert demo[2027].has_drafts and demo[2027].drafts_from_year == 2026
    for year in (2023, 2024, 2025):
        final = seasons.final_snapshot(demo[year])
        assert final is not None and final.as_of == date(year, 12, 31)
    # the same seed and day, the same standings
    assert seasons.final_standings(demo[2025]).podium


def test_nothing_is_dated_after_the_day_it_runs(demo):
    assert db.session.scalar(select(func.max(Song.delivered_on))) <= DAY
    for column in (
        Song.created_at,
        Song.survey_issued_at,
        Review.created_at,
        Survey.submitted_at,
        Evidence.uploaded_at,
        AuditEvent.at,
        ChartSnapshot.computed_at,
        BadgeAward.awarded_at,
        Season.closed_at,
    ):
        latest = db.session.scalar(select(func.max(column)))
        assert latest is None or latest < END_OF_DAY, column
    closings = db.session.scalar(select(func.max(ChartSnapshot.closing_date)).where(ChartSnapshot.kind == "closing"))
    assert closings < DAY


def test_past_seasons_are_settled_and_this_one_is_plausible(demo):
    past = [demo[y].id for y in (2023, 2024, 2025)]
    states = set(db.session.scalars(select(Song.state).where(Song.season_id.in_(past)).distinct()))
    assert states <= {"reviewed", "cancelled"}
    carried = db.session.scalars(select(Song).where(Song.carried_over_to_id.is_not(None))).all()
    assert carried, "some songs were carried over to the next season"
    for song in carried:
        copy = db.session.get(Song, song.carried_over_to_id)
        assert song.state == "cancelled" and copy.season.year == song.season.year + 1
        assert song.standing == "carried_over" and song.carried_over  # late in its own season
    # the review queue holds recent deliveries only
    waiting = db.session.scalars(select(Song.delivered_on).where(Song.state == "delivered")).all()
    assert waiting and max(business_days_between(d, DAY) for d in waiting) <= 12
    # a few late songs in the open season, none months late
    late = db.session.scalars(
        select(Song.due_date).where(
            Song.season_id == demo[2026].id, Song.state.in_(("planned", "in_progress", "returned")), Song.due_date < DAY
        )
    ).all()
    assert late and max((DAY - d).days for d in late) <= 45
    # next year's songs are planned, none delivered
    assert set(db.session.scalars(select(Song.state).where(Song.season_id == demo[2027].id).distinct())) == {"planned"}


def test_history_exists_for_movement_and_rank_over_time(demo):
    current = demo[2026]
    closings = db.session.scalars(
        select(ChartSnapshot.closing_date).where(ChartSnapshot.season_id == current.id, ChartSnapshot.kind == "closing")
    ).all()
    assert DAY - timedelta(days=1) in closings and len(closings) >= 14
    live = charts.recompute_charts(current, as_of=DAY)
    assert all(e.previous_rank is not None for e, _label in charts.label_board(live))
    label_id = charts.label_board(live)[0][1].id
    assert len(charts.rank_history(current.id, label_id)) >= 14
    assert [r["year"] for r in seasons.rank_across_seasons(label_id)] == [2023, 2024, 2025]
