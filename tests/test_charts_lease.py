"""The recompute lease (DESIGN.md §5): two app instances on one database, only one recompute runs."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from app.domain import charts, lease
from app.extensions import db
from app.models import ChartSnapshot, Season
from app.models.base import utcnow
from app.transaction import committing, unit_of_work
from tests.conftest import make_app


def _snapshots() -> int:
    return db.session.scalar(select(func.count()).select_from(ChartSnapshot))


def test_second_instance_cannot_recompute_while_the_first_holds_the_lease(world, _schema, tmp_path):
    other = make_app(_schema, tmp_path)
    assert lease.acquire(lease.RECOMPUTE_LEASE, "worker-1", 60)
    with other.app_context():
        lines = committing(charts.recompute_from_cli)(2024)
        assert "Otro proceso está recalculando" in lines[0]
        assert _snapshots() == 0
        db.session.remove()
    lease.release(lease.RECOMPUTE_LEASE, "worker-1")
    with other.app_context():
        lines = committing(charts.recompute_from_cli)(2024)
        assert lines[0].startswith("Temporada 2024: 2 disqueras")
        db.session.remove()
        db.engine.dispose()
    assert _snapshots() == 1


def test_two_instances_racing_only_one_recomputes(world, _schema, tmp_path, monkeypatch):
    """Instance A is inside its recompute (holding the lease) when instance B tries: B is refused."""
    app_a, app_b = make_app(_schema, tmp_path), make_app(_schema, tmp_path)
    inside, finish = threading.Event(), threading.Event()
    real = charts.recompute_charts
    calls: list[str] = []

    def slow(season, **kwargs):
        calls.append(threading.current_thread().name)
        inside.set()
        finish.wait(10)
        return real(season, **kwargs)

    monkeypatch.setattr(charts, "recompute_charts", slow)
    errors: list[BaseException] = []

    def run_a():
        try:
            with app_a.app_context():
                with unit_of_work():  # as the CLI and the scheduler run it
                    charts.run_recompute([db.session.scalar(select(Season).filter_by(year=2024))])
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=run_a, name="A")
    thread.start()
    assert inside.wait(10)
    with app_b.app_context():
        try:
            charts.run_recompute([db.session.scalar(select(Season).filter_by(year=2024))])
            refused = False
        except charts.RecomputeBusy:
            refused = True
        db.session.remove()
    finish.set()
    thread.join(20)
    assert not errors, errors
    assert refused is True
    assert calls == ["A"]
    assert _snapshots() == 1
    for a in (app_a, app_b):
        with a.app_context():
            db.engine.dispose()


def test_simultaneous_acquire_exactly_one_wins(world, _schema, tmp_path):
    """Two instances hit acquire at the same moment (the lease row does not exist yet)."""
    apps = [make_app(_schema, tmp_path) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: dict[int, bool] = {}

    def attempt(i):
        with apps[i].app_context():
            barrier.wait(5)
            results[i] = lease.acquire("race-test", f"worker-{i}", 60)
            db.session.remove()
            db.engine.dispose()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results.values()) == [False, True]


def test_expired_lease_can_be_taken_over_and_release_needs_the_holder(world):
    past = utcnow() - timedelta(hours=2)
    assert lease.acquire("t", "crashed", 60, now=past)  # expired an hour and 59 minutes ago
    assert lease.acquire("t", "alive", 60)
    assert not lease.acquire("t", "late-comer", 60)
    lease.release("t", "late-comer")  # not the holder: no effect
    assert not lease.acquire("t", "late-comer", 60)
    lease.release("t", "alive")
    assert lease.acquire("t", "late-comer", 60)


# --------------------------------------------------------------------------- issue 19 item 14: heartbeat


def test_a_dead_holder_is_replaced_in_under_a_minute(app, world):
    """A killed recompute held the lease for 10 minutes; now the lease is short and renewed."""
    assert app.config["CHARTS_LEASE_SECONDS"] < 60
    assert app.config["CHARTS_LEASE_HEARTBEAT_SECONDS"] < app.config["CHARTS_LEASE_SECONDS"] / 2
    t0 = utcnow()
    seconds = app.config["CHARTS_LEASE_SECONDS"]
    assert lease.acquire("t", "worker-a", now=t0)
    beat = app.config["CHARTS_LEASE_HEARTBEAT_SECONDS"]
    # Alive: each heartbeat pushes the expiry on, so nobody else takes it.
    for n in range(1, 6):
        assert lease.renew("t", "worker-a", now=t0 + timedelta(seconds=n * beat))
        assert not lease.acquire("t", "worker-b", now=t0 + timedelta(seconds=n * beat + 1))
    # Killed after the fifth beat: the next worker takes over once the short expiry has passed.
    last = t0 + timedelta(seconds=5 * beat)
    assert not lease.acquire("t", "worker-b", now=last + timedelta(seconds=seconds - 1))
    assert lease.acquire("t", "worker-b", now=last + timedelta(seconds=seconds + 1))
    assert seconds + beat < 60  # from the holder's death to the takeover
    assert not lease.renew("t", "worker-a", now=last + timedelta(seconds=seconds + 2))  # it lost it


def test_held_renews_the_lease_from_a_heartbeat_thread(app, world):
    renewed = threading.Event()
    count = {"n": 0}

    def on_renew(ok: bool) -> None:
        count["n"] += 1
        if count["n"] >= 3:
            renewed.set()

    with lease.held("t", seconds=30, heartbeat=0.05, on_renew=on_renew) as got:
        assert got
        assert renewed.wait(10)  # three renewals by the thread, a fraction of a second
        row = db.session.get(lease.ChartLease, "t")
        db.session.refresh(row)
        assert row.expires_at > row.acquired_at + timedelta(seconds=29)
    db.session.rollback()  # the unit of work ends: only now is the lease given back
    assert db.session.get(lease.ChartLease, "t").holder is None  # released, heartbeat stopped
