"""APScheduler: periodic chart recompute and daily closing snapshot (DESIGN.md §5).

Started only when ``SCHEDULER_ENABLED`` is true (off in tests). The database lease
in ``app.domain.charts`` makes sure only one process recomputes at a time.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    if not app.config.get("SCHEDULER_ENABLED"):
        return
    # Filled in by the charts area (issue 5).
