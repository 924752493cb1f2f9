"""``python -m bench`` — build or reuse datasets, measure, write BENCHMARKS.md/.json.

Examples::

    python -m bench                                   # 100,000 songs on SQLite (+ PG if BENCH_DATABASE_URL)
    python -m bench --songs 1000000 --db sqlite,postgres
    python -m bench --songs 1000000 --build-only      # just build (or find) the datasets
    python -m bench --steps recompute,http            # only some measurements
    python -m bench --songs 1000000 --steps homes     # each role's home, warm, in process (issue 18)

Results are merged into BENCHMARKS.json by (database, songs), so runs at different sizes
accumulate; BENCHMARKS.md is regenerated between its bench markers from that file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench import machine, report
from bench.common import DATA_DIR, dataset_key, run_worker
from bench.http_load import run_http

STEPS = ("recompute", "naive", "homes", "http", "import")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- datasets
def _pg_admin_url(url: str, database: str = "postgres") -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


def _pg_execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_admin_url(url), autocommit=True) as conn:
        conn.execute(sql)


def _pg_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(_pg_admin_url(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def dataset(db: str, songs: int, seed: int, base_pg: str | None, rebuild: bool) -> dict:
    """Find the cached dataset for (songs, seed, schema) or build it; returns its URL and facts."""
    key = dataset_key(songs, seed)
    if db == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = DATA_DIR / f"sinfonia_{key}.db"
        url = f"sqlite:///{path}"
        building = DATA_DIR / f"sinfonia_{key}.building.db"
    else:
        base_name = base_pg.rpartition("/")[2] or "sinfonia_bench"
        name = f"{base_name}_{key}"[:63]
        url = _pg_admin_url(base_pg, name)
        tmp_name = (name[:55] + "_build").lower()
        building = _pg_admin_url(base_pg, tmp_name)
        if not _pg_exists(base_pg, base_name):  # the database BENCH_DATABASE_URL names: create it if missing
            _pg_execute(base_pg, f'CREATE DATABASE "{base_name}"')
    info: dict = {"key": key, "url": url}
    exists = Path(url[len("sqlite:///") :]).exists() if db == "sqlite" else _pg_exists(base_pg, name)
    if exists and not rebuild:
        check = run_worker("check", "--url", url, "--key", key)
        if check.get("ready"):
            log(f"{db}: reusing dataset {key} (built {check['built_at']})")
            info.update(
                reused=True, built_at=check["built_at"], seed_seconds=check["seed_seconds"], songs=check["songs"]
            )
            synced = run_worker("sync-indexes", "--url", url, timeout=3600)
            if synced.get("created"):
                log(f"{db}: created missing indexes in place: {synced}")
                info["indexes_created_in_place"] = synced
            elif "error" in synced:
                log(f"{db}: index check failed: {synced['error']}")
            return info
    log(f"{db}: building dataset {key} ({songs:,} songs) …")
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        result = run_worker(
            "build",
            "--url",
            f"sqlite:///{building}",
            "--songs",
            str(songs),
            "--seed",
            str(seed),
            "--key",
            key,
            timeout=4 * 3600,
        )
        if "error" in result:
            raise RuntimeError(result["error"])
        os.replace(building, path)
        for suffix in ("-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
    else:
        _pg_execute(base_pg, f'DROP DATABASE IF EXISTS "{tmp_name}" WITH (FORCE)')
        _pg_execute(base_pg, f'CREATE DATABASE "{tmp_name}"')
        result = run_worker(
            "build", "--url", building, "--songs", str(songs), "--seed", str(seed), "--key", key, timeout=4 * 3600
        )
        if "error" in result:
            raise RuntimeError(result["error"])
        _pg_execute(base_pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_execute(base_pg, f'ALTER DATABASE "{tmp_name}" RENAME TO "{name}"')
    log(f"{db}: built in {result['seed_seconds']} s ({result['songs_per_second']} songs/s)")
    info.update(reused=False, built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result)
    return info


def scratch_url(db: str, base_pg: str | None, tag: str) -> str:
    if db == "sqlite":
        path = DATA_DIR / f"scratch-{tag}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"sinfonia_bench_scratch_{tag}"
    _pg_execute(base_pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_execute(base_pg, f'CREATE DATABASE "{name}"')
    return _pg_admin_url(base_pg, name)


# --------------------------------------------------------------------------- measurements
def measure(db: str, args, base_pg: str | None, results: dict, entry_key: str) -> None:
    entry = results["runs"].setdefault(entry_key, {})
    entry.update(database=db, songs=args.songs, seed=args.seed, machine=machine.describe(base_pg))
    previous = entry.get("dataset") or {}
    try:
        entry["dataset"] = dataset(db, args.songs, args.seed, base_pg, args.rebuild)
        if entry["dataset"].get("reused") and previous.get("key") == entry["dataset"]["key"]:
            for fact in ("seed_cpu_seconds", "songs_per_second", "migrate_seconds", "peak_rss_mb"):
                if fact in previous:  # the build's own figures, kept from the run that built it
                    entry["dataset"].setdefault(fact, previous[fact])
    except Exception as exc:  # noqa: BLE001
        entry["dataset"] = {"error": str(exc)}
        log(f"{db}: dataset failed: {exc}")
        return
    finally:
        report.save(results, [entry_key])
    if args.build_only:
        return
    url = entry["dataset"]["url"]
    steps = args.steps
    if "recompute" in steps:
        log(f"{db}: recompute vs bare aggregate ({args.reps} runs each) …")
        entry["recompute"] = run_worker("recompute", "--url", url, "--reps", str(args.reps), timeout=3600)
        log(f"{db}: recompute → {short(entry['recompute'])}")
        report.save(results, [entry_key])
    if "naive" in steps:
        if args.songs <= args.naive_max:
            log(f"{db}: naive ORM baseline …")
            entry["naive"] = run_worker("naive", "--url", url, timeout=3600)
            log(f"{db}: naive → {short(entry['naive'])}")
        else:
            entry["naive"] = {"skipped": f"above --naive-max {args.naive_max:,} songs (see the 100,000-song run)"}
        report.save(results, [entry_key])
    if "homes" in steps:
        log(f"{db}: each role's home, in process, {args.home_reps} warm requests each …")
        entry["homes"] = run_worker("homes", "--url", url, "--reps", str(args.home_reps), timeout=3600)
        log(
            f"{db}: homes → "
            + ", ".join(f"{k} p95={v.get('p95_ms')}" for k, v in entry["homes"].items() if isinstance(v, dict))
        )
        report.save(results, [entry_key])
    if "http" in steps:
        log(f"{db}: HTTP under gunicorn, {args.clients} clients …")
        prep = run_worker("prepare", "--url", url, "--surveys", str(args.requests // 2 + 11))
        if "error" in prep:
            entry["http"] = {"error": prep["error"]}
        else:
            port = args.port + (1 if db == "postgresql" else 0)
            log_path = f"/tmp/bench-gunicorn-{db}-{args.songs}.log"
            try:
                entry["http"] = run_http(url, port, prep, args.clients, args.requests, args.time_cap, log_path)
            except Exception as exc:  # noqa: BLE001
                entry["http"] = {"error": str(exc)}
        log(
            f"{db}: http → "
            + ", ".join(
                f"{k} p95={v.get('p95_ms')}"
                for k, v in entry["http"].items()
                if isinstance(v, dict) and v.get("available")
            )
        )
        report.save(results, [entry_key])
    if "import" in steps:
        log(f"{db}: seed demo (5,000) and import of {args.import_rows:,} rows on a scratch database …")
        scratch = scratch_url(db, base_pg, "import")
        entry["import"] = run_worker("import", "--url", scratch, "--rows", str(args.import_rows), timeout=3600)
        if db == "postgresql":
            _pg_execute(base_pg, 'DROP DATABASE IF EXISTS "sinfonia_bench_scratch_import" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{scratch[len('sqlite:///') :]}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(DATA_DIR / "uploads-import", ignore_errors=True)
        log(f"{db}: import → {short(entry['import'])}")
        report.save(results, [entry_key])


def short(result: dict) -> str:
    return json.dumps({k: v for k, v in result.items() if not isinstance(v, list | dict)}, default=str)[:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--db", default=None, help="sqlite,postgres (default: sqlite, plus postgres when BENCH_DATABASE_URL is set)"
    )
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma list of {', '.join(STEPS)}")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of the recompute and of the floor")
    parser.add_argument("--home-reps", type=int, default=30, help="warm requests per role's home (homes step)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=1000, help="requests per HTTP scenario")
    parser.add_argument("--time-cap", type=float, default=30.0, help="seconds per HTTP scenario at most")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "5110")))
    parser.add_argument("--naive-max", type=int, default=200_000, help="largest size for the naive baseline")
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the datasets even when cached")
    parser.add_argument("--report-only", action="store_true", help="regenerate BENCHMARKS.md from the JSON")
    args = parser.parse_args(argv)
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    results = report.load()
    if args.report_only:
        report.save(results, [])
        return 0
    base_pg = os.environ.get("BENCH_DATABASE_URL")
    wanted = [d.strip() for d in (args.db or ("sqlite,postgres" if base_pg else "sqlite")).split(",") if d.strip()]
    for db in wanted:
        db = "postgresql" if db.startswith("postg") else db
        if db == "postgresql" and not base_pg:
            log(
                "postgres: BENCH_DATABASE_URL is not set — skipped "
                "(e.g. BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sinfonia_bench)"
            )
            continue
        if db not in ("sqlite", "postgresql"):
            log(f"unknown database {db!r}: skipped")
            continue
        measure(db, args, base_pg, results, f"{db}:{args.songs}")
    report.save(results, [])
    log(f"wrote {report.MD_PATH} and {report.JSON_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
