"""Benchmark steps that run in their own process (``python -m bench.worker COMMAND …``).

Each command prints one JSON line with its figures. Running them as subprocesses keeps
measurements independent (peak memory is the process's own ``ru_maxrss``) and lets a
broken step be recorded as an error instead of stopping the run.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import random
import resource
import statistics
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import BENCH_TODAY, DATA_DIR, app_config, sqlalchemy_url

MARKER_TABLE = "bench_dataset"


def _rss_mb() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class PeakMemory:
    """Samples /proc/self/status every 10 ms: peak anonymous (private) resident memory.

    ``ru_maxrss`` also counts file pages a process touches through a memory map (SQLite's
    ``mmap_size``): those live in the OS page cache, shared by every worker, so the private
    peak is reported beside it.
    """

    def __init__(self) -> None:
        import threading

        self.peak_anon_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def anon_mb() -> float:
        try:
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_anon_mb = max(self.peak_anon_mb, self.anon_mb())
            self._stop.wait(0.01)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_anon_mb = max(self.peak_anon_mb, self.anon_mb())


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _rss_mb()


def _app(url: str, upload: str | None = None):
    from app import create_app

    return create_app(app_config(url, upload))


# --------------------------------------------------------------------------- datasets
def cmd_check(args) -> dict:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(sqlalchemy_url(args.url))
    try:
        with engine.connect() as conn:
            if MARKER_TABLE not in inspect(conn).get_table_names():
                return {"ready": False}
            row = conn.execute(text(f"SELECT key, built_at, seed_seconds, songs FROM {MARKER_TABLE}")).first()
    finally:
        engine.dispose()
    if row is None or row[0] != args.key:
        return {"ready": False, "found": row[0] if row else None}
    return {"ready": True, "built_at": row[1], "seed_seconds": row[2], "songs": row[3]}


def cmd_build(args) -> dict:
    """Migrate an empty database, load the reference data and seed N demo songs; mark it."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models import Song
    from seeds.demo import seed_demo

    app = _app(args.url, str(DATA_DIR / "uploads-build"))
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        migrate_seconds = time.perf_counter() - started
        started, cpu = time.perf_counter(), _cpu_seconds()
        seed_demo(songs=args.songs, seed=args.seed, today=BENCH_TODAY)
        seed_seconds = time.perf_counter() - started
        seed_cpu = _cpu_seconds() - cpu
        count = db.session.scalar(select(func.count(Song.id)))
        db.session.execute(text(f"DROP TABLE IF EXISTS {MARKER_TABLE}"))
        db.session.execute(
            text(
                f"CREATE TABLE {MARKER_TABLE} (key VARCHAR(200), built_at VARCHAR(40), seed_seconds FLOAT, songs INTEGER)"
            )
        )
        db.session.execute(
            text(f"INSERT INTO {MARKER_TABLE} VALUES (:k, :b, :s, :n)"),
            {"k": args.key, "b": datetime.now(UTC).isoformat(timespec="seconds"), "s": seed_seconds, "n": count},
        )
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return {
        "songs": count,
        "seed_seconds": round(seed_seconds, 2),
        "seed_cpu_seconds": round(seed_cpu, 2),
        "songs_per_second": round(count / seed_seconds) if seed_seconds else None,
        "migrate_seconds": round(migrate_seconds, 2),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def cmd_sync_indexes(args) -> dict:
    """Bring a reused dataset's indexes in line with the models (an index-only schema change):
    create the missing ones, drop the ones the models no longer declare ("-name" in the result)."""
    from sqlalchemy import inspect

    from app.extensions import db

    app = _app(args.url)
    created = []
    started = time.perf_counter()
    with app.app_context():
        inspector = inspect(db.engine)
        tables = set(inspector.get_table_names())
        for table in db.metadata.sorted_tables:
            if table.name not in tables:
                continue
            existing = {ix["name"] for ix in inspector.get_indexes(table.name)}
            wanted = {index.name for index in table.indexes}
            for name in sorted(existing - wanted):  # an index the models no longer declare
                if name and name.startswith("ix_"):
                    with db.engine.connect() as conn:
                        conn.exec_driver_sql(f'DROP INDEX "{name}"')
                        conn.commit()
                    created.append(f"-{name}")
            for index in sorted(table.indexes, key=lambda ix: ix.name):
                if index.name not in existing:
                    index.create(db.engine)
                    created.append(index.name)
        if db.engine.dialect.name == "postgresql":
            from app.models.songs import SONG_GROUP_STATISTICS, SONG_GROUP_STATISTICS_SQL

            with db.engine.connect() as conn:
                known = conn.exec_driver_sql(
                    "SELECT 1 FROM pg_statistic_ext WHERE stxname = %s", (SONG_GROUP_STATISTICS,)
                ).first()
                if known is None:
                    conn.exec_driver_sql(SONG_GROUP_STATISTICS_SQL)
                    conn.commit()
                    created.append(SONG_GROUP_STATISTICS)
        if created:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
    return {"created": created, "seconds": round(time.perf_counter() - started, 2)}


# --------------------------------------------------------------------------- recompute vs floor
FLOOR_SQL = (
    "SELECT label_id, count(*), sum(timeliness), avg(quality) FROM songs WHERE season_id = :season GROUP BY label_id"
)


def _seasons():
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Season

    # A closed season's final snapshot is frozen (issue 16): the recompute covers the others.
    return list(db.session.scalars(select(Season).where(Season.state != "closed").order_by(Season.year)))


def cmd_recompute(args) -> dict:
    """Full chart recompute (every season) timed ``reps`` times; the bare aggregate beside it."""
    from sqlalchemy import text

    from app.extensions import db

    app = _app(args.url)
    out: dict = {"as_of": BENCH_TODAY.isoformat(), "memory_method": "ru_maxrss of the worker process"}
    with app.app_context():
        try:
            from app.domain import charts
        except Exception as exc:  # noqa: BLE001 - a helper's module may be mid-change
            return {"error": f"app.domain.charts import failed: {exc}"}
        seasons = _seasons()
        season_ids = [s.id for s in seasons]
        out["seasons"] = [s.year for s in seasons]
        db.session.execute(text("SELECT count(*) FROM songs")).scalar()  # connection + page cache warm
        db.session.commit()
        gc.collect()
        out["baseline_rss_mb"] = round(_current_rss_mb(), 1)
        out["baseline_anon_mb"] = round(PeakMemory.anon_mb(), 1)
        sampler = PeakMemory().__enter__()
        # Interleaved (recompute, floor, recompute, floor, …) so that both see the same machine load;
        # wall time and this process's CPU time (for PostgreSQL the server's CPU is not in it).
        times, cpus, floor, floor_cpus = [], [], [], []
        available = hasattr(charts, "recompute_charts")
        if not available:
            out["recompute"] = "not available"
        for _ in range(args.reps):
            if available:
                started, cpu = time.perf_counter(), _cpu_seconds()
                for season in _seasons():
                    charts.recompute_charts(season, as_of=BENCH_TODAY)
                db.session.commit()
                times.append(time.perf_counter() - started)
                cpus.append(_cpu_seconds() - cpu)
                db.session.expunge_all()
            started, cpu = time.perf_counter(), _cpu_seconds()
            for sid in season_ids:
                db.session.execute(text(FLOOR_SQL), {"season": sid}).all()
            db.session.commit()
            floor.append(time.perf_counter() - started)
            floor_cpus.append(_cpu_seconds() - cpu)
        sampler.__exit__()
        if times:
            out["peak_anon_mb"] = round(sampler.peak_anon_mb, 1)
            out["recompute_runs_s"] = [round(t, 3) for t in times]
            out["recompute_s"] = round(statistics.median(times), 3)
            out["recompute_cpu_s"] = round(statistics.median(cpus), 3)
            out["peak_rss_mb"] = round(_rss_mb(), 1)
        out["floor_runs_s"] = [round(t, 4) for t in floor]
        out["floor_s"] = round(statistics.median(floor), 4)
        out["floor_cpu_s"] = round(statistics.median(floor_cpus), 4)
        if times:
            out["ratio_to_floor"] = round(out["recompute_s"] / out["floor_s"], 2) if out["floor_s"] else None
            if out["floor_cpu_s"] > 0.01:
                out["cpu_ratio_to_floor"] = round(out["recompute_cpu_s"] / out["floor_cpu_s"], 2)
        out["floor_sql"] = FLOOR_SQL
    return out


def cmd_naive(args) -> dict:
    """The label index the naive way: ORM Song objects aggregated in a Python loop.

    Also checks it against the latest snapshot the recompute wrote (same figures).
    """
    from sqlalchemy import select

    from app.domain import scoring
    from app.extensions import db
    from app.models import LabelChartEntry, Playlist, Song
    from app.models.charts import ChartSnapshot

    app = _app(args.url)
    with app.app_context():
        seasons = _seasons()
        try:  # a fresh snapshot (untimed): the HTTP step may have written songs since the last one
            from app.domain import charts

            for season in seasons:
                charts.recompute_charts(season, as_of=BENCH_TODAY)
            db.session.commit()
        except Exception:  # noqa: BLE001 - the comparison below then uses whatever snapshot exists
            db.session.rollback()
        db.session.expunge_all()
        seasons = _seasons()
        started, cpu = time.perf_counter(), _cpu_seconds()
        results: dict[tuple[int, int], float] = {}
        for season in seasons:
            targets = {
                p.label_id: p.target
                for p in db.session.scalars(
                    select(Playlist).where(Playlist.season_id == season.id, Playlist.album_id.is_(None))
                )
            }
            acc: dict[int, dict] = {}
            for song in db.session.scalars(select(Song).where(Song.season_id == season.id)):
                a = acc.setdefault(song.label_id, {"q": [], "t": 0.0, "credited": 0, "not_approved": 0, "late": 0})
                if song.standing == "credited":
                    a["credited"] += 1
                    a["t"] += song.timeliness or 0.0
                elif song.standing == "not_approved":
                    a["not_approved"] += 1
                elif song.standing in ("late_cancelled", "carried_over") or (
                    song.standing == "open" and song.due_date < BENCH_TODAY
                ):
                    a["late"] += 1
                if song.state == "reviewed" and song.quality is not None:
                    a["q"].append(song.quality)
            for label_id, a in acc.items():
                q_mean = sum(a["q"]) / len(a["q"]) if a["q"] else 0.0
                on_time = scoring.on_time_ratio(a["t"], a["credited"], a["not_approved"], a["late"])
                target = targets.get(label_id)
                prog = scoring.progress(a["credited"], target)
                results[(season.id, label_id)] = scoring.label_index(
                    q_mean, on_time, prog, season, has_target=bool(target)
                )
            db.session.expunge_all()
        elapsed = time.perf_counter() - started
        elapsed_cpu = _cpu_seconds() - cpu
        # Agreement with the recompute's latest snapshot per season (when there is one).
        worst, compared = 0.0, 0
        for season in seasons:
            snapshot = db.session.scalar(
                select(ChartSnapshot)
                .where(ChartSnapshot.season_id == season.id, ChartSnapshot.complete.is_(True))
                .order_by(ChartSnapshot.computed_at.desc(), ChartSnapshot.id.desc())
                .limit(1)
            )
            if snapshot is None:
                continue
            for entry in db.session.scalars(select(LabelChartEntry).where(LabelChartEntry.snapshot_id == snapshot.id)):
                mine = results.get((season.id, entry.label_id), 0.0)
                worst = max(worst, abs(mine - entry.index_value))
                compared += 1
    return {
        "naive_s": round(elapsed, 3),
        "naive_cpu_s": round(elapsed_cpu, 3),
        "peak_rss_mb": round(_rss_mb(), 1),
        "labels_compared_with_snapshot": compared,
        "max_abs_difference_vs_snapshot": round(worst, 6) if compared else None,
    }


# --------------------------------------------------------------------------- HTTP preparation
def cmd_prepare(args) -> dict:
    """Ids, filters and survey links the HTTP scenarios need (read from the bench database)."""
    from sqlalchemy import func, select, update

    from app.domain.surveys import survey_token
    from app.extensions import db
    from app.models import Album, Artist, Department, Label, Municipality, Season, Song, Survey, User

    app = _app(args.url)
    with app.app_context():
        year = BENCH_TODAY.year
        season_id = db.session.scalar(select(Season.id).filter_by(year=year))
        try:  # the boards read the latest snapshot: make sure there is one
            from app.domain import charts
            from app.models.charts import ChartSnapshot

            if season_id and not db.session.scalar(
                select(func.count(ChartSnapshot.id)).where(
                    ChartSnapshot.season_id == season_id, ChartSnapshot.complete.is_(True)
                )
            ):
                charts.recompute_charts(db.session.get(Season, season_id), as_of=BENCH_TODAY)
                db.session.commit()
        except Exception:  # noqa: BLE001 - the board scenarios then report what the server says
            db.session.rollback()
        user = db.session.scalar(select(User).filter_by(email="territorial1@sinfonia.demo"))
        label = db.session.get(Label, user.label_id)
        artist = db.session.scalar(
            select(Artist).where(Artist.label_id == label.id, Artist.members.any(User.id == user.id)).limit(1)
        ) or db.session.scalar(select(Artist).where(Artist.label_id == label.id).limit(1))
        albums = list(db.session.scalars(select(Album.id).order_by(Album.code)))
        municipalities = list(
            db.session.scalars(
                select(Municipality.id)
                .join(Department, Department.id == Municipality.department_id)
                .where(Department.label_id == label.id)
                .order_by(Municipality.code)
            )
        )
        departments = list(
            db.session.scalars(select(Department.code).where(Department.label_id == label.id).order_by(Department.code))
        )
        label_ids = list(db.session.scalars(select(Label.id).order_by(Label.code)))
        # Survey links: delivered songs without a survey, the link (re)issued now so it is valid.
        candidates = list(
            db.session.execute(
                select(Song.id, Song.survey_nonce)
                .outerjoin(Survey, Survey.song_id == Song.id)
                .where(Song.state.in_(("delivered", "reviewed")), Survey.id.is_(None), Song.survey_nonce.is_not(None))
                .order_by(Song.id.desc())
                .limit(args.surveys)
            )
        )
        tokens = []
        if candidates:
            ids = [c[0] for c in candidates]
            for start in range(0, len(ids), 500):
                db.session.execute(
                    update(Song)
                    .where(Song.id.in_(ids[start : start + 500]))
                    .values(survey_issued_at=datetime.now(UTC))
                    .execution_options(synchronize_session=False)
                )
            db.session.commit()

            class _Link:
                def __init__(self, song_id, nonce):
                    self.id, self.survey_nonce = song_id, nonce

            tokens = [survey_token(_Link(sid, nonce)) for sid, nonce in candidates]
        total = db.session.scalar(select(func.count(Song.id)))
        label_id = label.id
        artist_id = artist.id if artist else None
    return {
        "year": year,
        "season_id": season_id,
        "songs": total,
        "label_id": label_id,
        "label_ids": label_ids,
        "departments": departments,
        "artist_id": artist_id,
        "album_ids": albums,
        "municipality_ids": municipalities,
        "survey_tokens": tokens,
    }


# --------------------------------------------------------------------------- import + seed demo
def write_import_csv(path: Path, rows: int, seed: int = 8, delivered: bool = True) -> None:
    """A CSV with the DESIGN.md §8 columns, from the reference data and the demo teams."""
    from sqlalchemy import select

    from app.domain.calendar import is_business_day
    from app.domain.imports import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
    from app.extensions import db
    from app.models import Album, Artist, Department, Label, Municipality

    rng = random.Random(seed)
    labels = {lab.id: lab.code for lab in db.session.scalars(select(Label))}
    teams: dict[str, list[str]] = {}
    for artist in db.session.scalars(select(Artist).order_by(Artist.id)):
        teams.setdefault(labels[artist.label_id], []).append(artist.name)
    municipalities: dict[str, list[str]] = {}
    for code, label_id in db.session.execute(
        select(Municipality.code, Department.label_id).join(Department, Department.id == Municipality.department_id)
    ):
        municipalities.setdefault(labels[label_id], []).append(code)
    albums = list(db.session.scalars(select(Album.code).order_by(Album.code)))
    label_codes = sorted(code for code in teams if code in municipalities)
    first = BENCH_TODAY.replace(month=2, day=1)
    span = (BENCH_TODAY.replace(month=12, day=15) - first).days
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        # The import's own column names, required ones first: each row below follows this order.
        out.writerow((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if delivered else REQUIRED_COLUMNS)
        for i in range(rows):
            label = rng.choice(label_codes)
            due = first + timedelta(days=rng.randrange(span))
            while not is_business_day(due):
                due += timedelta(days=1)
            start = due - timedelta(days=rng.randint(20, 60))
            row = [
                label,
                rng.choice(teams[label]),
                rng.choice(albums),
                rng.choice(municipalities[label]),
                f"Asistencia importada {i + 1}",
                start.isoformat(),
                due.strftime("%d/%m/%Y") if i % 2 else due.isoformat(),
            ]
            if delivered:
                if due < BENCH_TODAY and rng.random() < 0.4:
                    done = min(BENCH_TODAY, due + timedelta(days=rng.randint(-5, 5)))
                    done = max(done, start)
                    row += ["delivered", done.isoformat(), "Documento técnico", str(rng.randint(3, 40))]
                else:
                    row += ["planned", "", "", ""]
            out.writerow(row)


def cmd_import(args) -> dict:
    """On a scratch database: seed the default demo (timed), then import N CSV rows (timed)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Song
    from seeds.demo import seed_demo

    out: dict = {}
    app = _app(args.url, str(DATA_DIR / "uploads-import"))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed_demo(songs=args.demo_songs, seed=42, today=BENCH_TODAY)
        out["seed_demo_songs"] = args.demo_songs
        out["seed_demo_s"] = round(time.perf_counter() - started, 2)
        try:
            from app.domain import imports
        except Exception as exc:  # noqa: BLE001
            out["import"] = f"not available ({exc})"
            return out
        before = db.session.scalar(select(func.count(Song.id)))
        path = DATA_DIR / f"import-{args.rows}.csv"
        for delivered in (True, False):
            write_import_csv(path, args.rows, delivered=delivered)
            db.session.remove()
            started = time.perf_counter()
            try:
                report = imports.import_songs_path(str(path), actor_email="coordinador@sinfonia.demo")
            except Exception as exc:  # noqa: BLE001 - recorded, not fatal
                db.session.rollback()
                out["import"] = f"error: {type(exc).__name__}: {exc}"
                return out
            db.session.commit()  # the domain only flushes (app/transaction.py): the import's one commit
            elapsed = time.perf_counter() - started
            db.session.remove()
            created = db.session.scalar(select(func.count(Song.id))) - before
            if not report.errors:
                break
            out.setdefault("import_attempts", []).append(
                {
                    "with_optional_columns": delivered,
                    "errors": len(report.errors),
                    "first_errors": [f"línea {e.line}: {e.message}" for e in report.errors[:3]],
                }
            )
        out.update(
            {
                "import_rows": args.rows,
                "import_s": round(elapsed, 2),
                "import_rows_per_second": round(args.rows / elapsed) if elapsed else None,
                "import_created": created,
                "import_with_optional_columns": delivered,
                "import_errors": len(report.errors),
                "peak_rss_mb": round(_rss_mb(), 1),
            }
        )
    return out


# --------------------------------------------------------------------------- homes (issue 18)
def cmd_homes(args) -> dict:
    """Each role's home (GET /) in process, one request at a time: the first (cold) request, then
    ``reps`` warm ones (median, p95, worst) and the SQL statements each warm request ran.

    Issue 18's target: under 150 ms warm at 1,000,000 songs on both databases. "Today" is the
    dataset's day (BENCH_TODAY), so a run in December times the same homes as one in November.
    The in-process caches (coverage, the coordinators' integrity totals) are warm after the first
    request, as in a serving worker; the cold figure shows what the first visitor pays.
    """
    from sqlalchemy import event, select

    from app.domain import calendar
    from app.extensions import db
    from app.models import User
    from bench.http_load import HOME_USERS

    calendar.today = lambda: BENCH_TODAY  # the homes read "today" through app.domain.calendar
    app = _app(args.url)
    with app.app_context():
        users = {role: db.session.scalar(select(User).filter_by(email=email)) for role, email in HOME_USERS.items()}
        sessions = {
            role: {"_user_id": str(u.id), "_fresh": True, "_auth_at": time.time(), "_sv": u.session_version or 0}
            for role, u in users.items()
            if u is not None
        }
        engine = db.engine
    statements = [0]

    def count(*_args, **_kwargs) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    out: dict = {"as_of": BENCH_TODAY.isoformat(), "reps": args.reps, "method": "Flask test client, in process"}
    # Each role's home, and the coordinator's integrity alerts (issue 15: < 200 ms warm at 1M).
    pages = [(role, role, "/") for role in HOME_USERS] + [
        ("alerts_page", "coordinator", "/reviews/alerts"),
        ("alerts_api", "coordinator", "/api/v1/alerts"),
    ]
    try:
        for name, role, path in pages:
            if role not in sessions:
                out[name] = {"error": f"no demo user {HOME_USERS[role]}"}
                continue
            client = app.test_client()
            with client.session_transaction() as session:
                session.update(sessions[role])
            started = time.perf_counter()
            response = client.get(path)
            cold_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                out[name] = {"error": f"HTTP {response.status_code}"}
                continue
            times, counts = [], []
            for _ in range(args.reps):
                statements[0] = 0
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                counts.append(statements[0])
            times.sort()
            out[name] = {
                "path": path,
                "cold_ms": round(cold_ms, 1),
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], 1),
                "max_ms": round(times[-1], 1),
                "statements": max(counts),
                "bytes": len(response.get_data()),
            }
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return out


COMMANDS = {
    "check": cmd_check,
    "homes": cmd_homes,
    "sync-indexes": cmd_sync_indexes,
    "build": cmd_build,
    "recompute": cmd_recompute,
    "naive": cmd_naive,
    "prepare": cmd_prepare,
    "import": cmd_import,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--songs", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--surveys", type=int, default=500)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--demo-songs", type=int, default=5000)
    args = parser.parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
    except Exception as exc:  # noqa: BLE001 - reported to the driver as JSON
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
