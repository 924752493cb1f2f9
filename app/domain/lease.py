"""A database lease: only one chart recompute at a time across processes and hosts (DESIGN.md §5).

The lease is a row in ``chart_leases``. Acquiring it is one atomic
``UPDATE … WHERE name = ? AND (holder IS NULL OR expires_at < now)``: the database
decides who wins, whatever the number of workers or hosts. The lease is short
(``CHARTS_LEASE_SECONDS``, 30) and, while its holder runs, a heartbeat thread renews it
every ``CHARTS_LEASE_HEARTBEAT_SECONDS`` (10): a killed holder stops renewing, so another
worker takes over within about half a minute instead of waiting out a long expiry (issue 19).

Lease statements run on their own connection and commit at once, so the lease
is visible to other processes while the recompute's own transaction is open.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, event, insert, or_, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ChartLease
from app.models.base import utcnow

RECOMPUTE_LEASE = "charts-recompute"

_lease = ChartLease.__table__


def new_holder() -> str:
    """A name that is unique to this attempt: host, process and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _ensure_row(name: str) -> None:
    """Insert the lease row if missing; a concurrent insert by someone else is fine."""
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(_lease).values(name=name, holder=None, expires_at=None, acquired_at=None))
    except IntegrityError:
        pass  # another process inserted it first (unique primary key): that is what we wanted


def acquire(name: str, holder: str, seconds: int | None = None, now: datetime | None = None) -> bool:
    """Take the lease ``name`` for ``holder`` if it is free or expired. True when taken."""
    seconds = seconds if seconds is not None else int(current_app.config.get("CHARTS_LEASE_SECONDS", 30))
    now = now or utcnow()
    if _take(name, holder, now, seconds):
        return True
    # No row matched: either it is held, or it does not exist yet.
    _ensure_row(name)
    return _take(name, holder, now, seconds)


def _take(name: str, holder: str, now: datetime, seconds: int) -> bool:
    """One atomic UPDATE that takes the lease row only if it is free or expired."""
    with db.engine.begin() as conn:
        result = conn.execute(
            update(_lease)
            .where(
                and_(
                    _lease.c.name == name,
                    or_(_lease.c.holder.is_(None), _lease.c.expires_at.is_(None), _lease.c.expires_at < now),
                )
            )
            .values(holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=seconds))
        )
        return result.rowcount == 1


def renew(name: str, holder: str, seconds: int | None = None, now: datetime | None = None) -> bool:
    """Push the expiry of a lease we hold ``seconds`` past ``now``; False if we lost it."""
    seconds = seconds if seconds is not None else int(current_app.config.get("CHARTS_LEASE_SECONDS", 30))
    now = now or utcnow()
    with db.engine.begin() as conn:
        result = conn.execute(
            update(_lease)
            .where(_lease.c.name == name, _lease.c.holder == holder)
            .values(expires_at=now + timedelta(seconds=seconds))
        )
        return result.rowcount == 1


class _Heartbeat(threading.Thread):
    """Renews the lease every ``interval`` seconds until stopped (its own app context)."""

    def __init__(self, app, name: str, holder: str, seconds: int, interval: float, on_renew=None):
        super().__init__(name=f"lease-heartbeat-{name}", daemon=True)
        self.app, self.lease_name, self.holder, self.seconds, self.interval = app, name, holder, seconds, interval
        self.on_renew = on_renew
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(self.interval):
                try:
                    ok = renew(self.lease_name, self.holder, self.seconds)
                except Exception:  # the database may be briefly away: try again at the next beat
                    self.app.logger.exception("lease heartbeat failed")
                    ok = False
                if not ok:
                    self.app.logger.warning("lease %s: renewal failed for %s", self.lease_name, self.holder)
                if self.on_renew is not None:
                    self.on_renew(ok)


def release(name: str, holder: str) -> None:
    """Give the lease back (only if we still hold it)."""
    with db.engine.begin() as conn:
        conn.execute(
            update(_lease).where(_lease.c.name == name, _lease.c.holder == holder).values(holder=None, expires_at=None)
        )


def release_when_transaction_ends(name: str, holder: str) -> None:
    """Give the lease back once the session's transaction ends, so the lease covers the
    recompute's commit (made by the caller, app/transaction.py). On SQLite this is also what
    lets the release write at all: the open transaction holds the database's write lock."""
    session = db.session()
    if not session.in_transaction():
        release(name, holder)
        return
    done = []

    def _release(*_args) -> None:
        if not done:
            done.append(True)
            release(name, holder)

    event.listen(session, "after_commit", _release, once=True)
    event.listen(session, "after_rollback", _release, once=True)


@contextmanager
def held(
    name: str = RECOMPUTE_LEASE, seconds: int | None = None, heartbeat: float | None = None, on_renew=None
) -> Iterator[bool]:
    """``with held() as got:`` — ``got`` is False when someone else holds the lease. While the
    block runs, a heartbeat thread renews the lease (``on_renew(ok)`` is called after each beat);
    it is given back when the transaction of the work done under it ends."""
    config = current_app.config
    seconds = seconds if seconds is not None else int(config.get("CHARTS_LEASE_SECONDS", 30))
    interval = heartbeat if heartbeat is not None else float(config.get("CHARTS_LEASE_HEARTBEAT_SECONDS", 10))
    holder = new_holder()
    got = acquire(name, holder, seconds)
    beat = None
    if got:
        beat = _Heartbeat(current_app._get_current_object(), name, holder, seconds, interval, on_renew)
        beat.start()
    try:
        yield got
    finally:
        if beat is not None:
            beat.stopped.set()
            beat.join(timeout=interval + 30)
        if got:
            release_when_transaction_ends(name, holder)
