"""APScheduler: periodic chart recompute and daily closing snapshot (DESIGN.md §5).

Started only when ``SCHEDULER_ENABLED`` is true (it is off in tests), and only in
a serving process: never in the reloader's watcher process and never for other
CLI commands (``flask db upgrade``, ``flask seed …``). With several worker
processes or hosts every one runs a scheduler; the database lease in
``app.domain.lease`` makes sure only one of them recomputes at a time.

Jobs:
- ``charts-recompute``: every ``CHARTS_RECOMPUTE_MINUTES`` minutes, a live
  snapshot of every season that has songs (first run shortly after start-up).
- ``charts-closing``: every day at ``CHARTS_CLOSING_TIME`` (default 23:55)
  America/Bogota, the daily closing snapshot used for rank movement and history.
- ``seasons-advance``: every day at 00:10 America/Bogota (and shortly after start-up),
  the season job of ``app.domain.seasons.advance`` under its own database lease:
  opens next year's season on ``SEASON_OPENS_ON``, moves states on, closes past seasons.
- ``notifications-send``: every ``NOTIFICATIONS_MINUTES`` minutes, collect new
  notifications and mail the queued ones (``app.domain.notifications.run``, its own lease),
  one unit of work (app/transaction.py).
- ``notifications-purge``: every day at 03:30 America/Bogota, the notification log past its
  retention period (``app.domain.notifications.purge``; docs/PRIVACY.md).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, timedelta

from flask import Flask

log = logging.getLogger(__name__)

TIMEZONE = "America/Bogota"


def _is_serving_process(app: Flask) -> bool:
    """False for the reloader's parent process and for CLI commands other than ``run``."""
    argv = [os.path.basename(a) for a in sys.argv[:3]]
    if argv and (argv[0] in ("flask", "flask.exe") or sys.argv[0].endswith(os.path.join("flask", "__main__.py"))):
        if "run" not in sys.argv[1:]:
            return False
        # Under the Werkzeug reloader, only the child (WERKZEUG_RUN_MAIN=true) serves.
        if app.debug or os.environ.get("FLASK_DEBUG") in ("1", "true"):
            return os.environ.get("WERKZEUG_RUN_MAIN") == "true"
    if "pytest" in sys.modules or app.config.get("TESTING"):
        return False
    return True


def _run_job(app: Flask, kind: str, min_age_seconds: int = 0) -> None:
    from app.domain import charts
    from app.transaction import unit_of_work

    with app.app_context():
        try:
            with unit_of_work():  # the job's one commit: the whole snapshot or nothing
                snapshots = charts.recompute_all(kind=kind, min_age_seconds=min_age_seconds)
            if snapshots:
                log.info("charts %s recompute: %d season(s)", kind, len(snapshots))
            else:
                log.info("charts %s recompute skipped (lease held elsewhere or no songs)", kind)
        except Exception:  # a failed run must not kill the scheduler; the previous snapshot stays
            log.exception("charts %s recompute failed", kind)


def _run_seasons(app: Flask) -> None:
    from app.domain import seasons
    from app.transaction import unit_of_work

    with app.app_context():
        try:
            with unit_of_work():  # the job's one commit: every season moved on, or none
                lines = seasons.advance_under_lease()
            for line in lines or []:
                log.info("seasons: %s", line)
        except Exception:  # the next run tries again
            log.exception("season job failed")


def _run_notifications(app: Flask) -> None:
    from app.domain import notifications
    from app.transaction import unit_of_work

    with app.app_context():
        try:
            with unit_of_work():  # the job's one commit, made while the lease is held
                result = notifications.run()
            if result:
                log.info("notifications: %s", result)
        except Exception:  # the next run retries; the queue is in the database
            log.exception("notifications run failed")


def _purge_notifications(app: Flask) -> None:
    from app.domain import notifications
    from app.transaction import unit_of_work

    with app.app_context():
        try:
            with unit_of_work():
                count = notifications.purge()
            log.info("notifications purge: %d row(s) past the retention period", count)
        except Exception:  # tomorrow's run tries again
            log.exception("notifications purge failed")


def init_app(app: Flask) -> None:
    if not app.config.get("SCHEDULER_ENABLED") or not _is_serving_process(app):
        return
    if app.extensions.get("charts_scheduler") is not None:
        return
    from apscheduler.schedulers.background import BackgroundScheduler

    minutes = max(1, int(app.config.get("CHARTS_RECOMPUTE_MINUTES", 5)))
    hour, minute = (int(x) for x in str(app.config.get("CHARTS_CLOSING_TIME", "23:55")).split(":"))
    scheduler = BackgroundScheduler(timezone=TIMEZONE, daemon=True)
    scheduler.add_job(
        _run_job,
        "interval",
        args=(app, "live", minutes * 30),  # skip if another worker recomputed in the last half period
        minutes=minutes,
        id="charts-recompute",
        next_run_time=datetime.now().astimezone() + timedelta(seconds=20),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=60,
    )
    scheduler.add_job(
        _run_job,
        "cron",
        args=(app, "closing"),
        hour=hour,
        minute=minute,
        id="charts-closing",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        _run_seasons,
        "cron",
        args=(app,),
        hour=0,
        minute=10,
        id="seasons-advance",
        next_run_time=datetime.now().astimezone() + timedelta(seconds=10),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        _run_notifications,
        "interval",
        args=(app,),
        minutes=max(1, int(app.config.get("NOTIFICATIONS_MINUTES", 5))),
        id="notifications-send",
        next_run_time=datetime.now().astimezone() + timedelta(seconds=40),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )
    scheduler.add_job(
        _purge_notifications,
        "cron",
        args=(app,),
        hour=3,
        minute=30,
        id="notifications-purge",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.start()
    app.extensions["charts_scheduler"] = scheduler
    log.info("charts scheduler started: every %d min, closing at %02d:%02d %s", minutes, hour, minute, TIMEZONE)
