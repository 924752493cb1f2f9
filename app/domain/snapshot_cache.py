"""What is rendered or serialised from one chart snapshot, kept in memory (issue 8).

A complete snapshot never changes, so anything computed from it (the board's HTML, the
charts API's items) is exact until the next recompute writes a new snapshot. Keys name
the snapshot by id *and* computation time (ids can be reused after a database reset),
the season's index weights, the language, and what was computed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any, TypeVar

from flask_babel import get_locale

T = TypeVar("T")


class SnapshotCache:
    """A small least-recently-used map, safe across a worker's threads."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._size = size
        self._lock = Lock()

    def get_or_compute(self, key: tuple, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def snapshot_key(what: str, snapshot: Any, season: Any) -> tuple:
    return (
        what,
        snapshot.id,
        snapshot.computed_at,
        season.id,
        season.index_quality_weight,
        season.index_ontime_weight,
        season.index_progress_weight,
        str(get_locale()),
    )
