"""The scheduler never starts in tests; its jobs recompute inside an app context (DESIGN.md §5)."""

from datetime import date

from sqlalchemy import func, select

from app import scheduler
from app.domain import calendar, charts
from app.extensions import db
from app.models import ChartSnapshot
from tests.conftest import make_app
from tests.factories import make_song


def test_scheduler_does_not_start_in_tests_even_if_enabled(_schema, tmp_path):
    app = make_app(_schema, tmp_path, SCHEDULER_ENABLED=True)
    assert app.extensions.get("charts_scheduler") is None


def test_jobs_recompute_every_season_with_songs(app, world):
    make_song(world, state="delivered", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1))
    scheduler._run_job(app, "live")
    scheduler._run_job(app, "closing")
    kinds = sorted(db.session.scalars(select(ChartSnapshot.kind).where(ChartSnapshot.complete.is_(True))))
    assert kinds == ["closing", "live"]
    closing = charts.latest_snapshot(world.season.id, kind="closing")
    assert closing.closing_date == calendar.today()


def test_a_failing_job_is_logged_not_raised(app, world, monkeypatch, caplog):
    make_song(world, state="delivered", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1))

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(charts, "recompute_charts", boom)
    scheduler._run_job(app, "live")  # must not raise: the scheduler thread keeps running
    assert "recompute failed" in caplog.text
    assert db.session.scalar(select(func.count()).select_from(ChartSnapshot)) == 0


def test_live_job_skips_a_season_another_worker_just_recomputed(app, world):
    make_song(world, state="delivered", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1))
    scheduler._run_job(app, "live", 150)
    scheduler._run_job(app, "live", 150)  # a second worker 1 s later: nothing to do
    assert db.session.scalar(select(func.count()).select_from(ChartSnapshot)) == 1
    scheduler._run_job(app, "live", 0)
    assert db.session.scalar(select(func.count()).select_from(ChartSnapshot)) == 2
