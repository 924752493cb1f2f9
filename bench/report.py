"""BENCHMARKS.json (all measured runs, merged by database and size) and BENCHMARKS.md.

Only the part of BENCHMARKS.md between ``<!-- bench:start -->`` and ``<!-- bench:end -->``
is regenerated; anything else in the file (e.g. the "Load and soak (issue 9)" section) is
kept as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.common import ROOT

OUTPUT_DIR = Path(os.environ.get("BENCH_OUTPUT_DIR", ROOT))  # tests point this at a temporary folder
JSON_PATH = OUTPUT_DIR / "BENCHMARKS.json"
MD_PATH = OUTPUT_DIR / "BENCHMARKS.md"
FINDINGS_PATH = ROOT / "bench" / "FINDINGS.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
BIG = 1_000_000

# Targets of issue 8 (reported against, not asserted by tests).
TARGETS = {
    "recompute_s": 10.0,  # 1M songs on SQLite
    "recompute_vs_floor": 5.0,
    "board_p95_ms": 25.0,  # at 1M songs
    "board_vs_healthz": 3.0,
    "page_p95_ms": 200.0,
    "home_p95_ms": 150.0,  # issue 18: each role's home at 1M songs (HTTP, under load)
    "alerts_warm_ms": 200.0,  # issue 15: the integrity alerts (page and API) at 1M songs, warm
    "home_warm_ms": 150.0,  # issue 18: each role's home at 1M songs, warm, one request at a time
    "recompute_rss_mb": 300.0,
    "speedup_vs_naive": 50.0,
}

# The demo generator before and after issue 8, measured with bench-style timing of seed_demo()
# alone (same machine, same seed, 20,000 songs on SQLite including the evidence files; identical
# rows, checked by a digest of every table). CPU = user + system time of the process.
SEEDER_HISTORY = [
    {
        "generator": "before (ORM bulk insert, per-row work)",
        "songs": 20000,
        "database": "SQLite",
        "seconds": 65.46,
        "cpu_seconds": 14.5,
    },
    {
        "generator": "after (driver bulk writes, cached per-song work)",
        "songs": 20000,
        "database": "SQLite",
        "seconds": 13.97,
        "cpu_seconds": 3.38,
    },
]

PAGES = ("board_html", "songs_html", "coverage_html")
HTTP_ORDER = (
    "healthz",
    "board_html",
    "board_api",
    "songs_html",
    "songs_api",
    "coverage_html",
    "coverage_api",
    "home_territorial",
    "home_coordinator",
    "home_manager",
    "home_admin",
    "create_song",
    "survey",
)
HOMES = ("home_territorial", "home_coordinator", "home_manager", "home_admin")


def load(path: Path = JSON_PATH) -> dict:
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data.setdefault("runs", {})
            return data
        except ValueError:
            pass
    return {"runs": {}}


def save(results: dict, keys: list[str] | None = None, json_path: Path = JSON_PATH, md_path: Path = MD_PATH) -> None:
    """Write ``results``; with ``keys``, merge only those runs into what is on disk (under a lock),
    so that two benchmark processes running at once do not drop each other's figures."""
    import fcntl
    import hashlib
    import tempfile

    lock_name = f"sinfonia-bench-{hashlib.sha1(str(json_path.resolve()).encode()).hexdigest()[:10]}.lock"
    with open(Path(tempfile.gettempdir()) / lock_name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if keys is not None:
            merged = load(json_path)
            for key in keys:
                if key in results["runs"]:
                    merged["runs"][key] = results["runs"][key]
            results = merged
        results["seeder_history"] = SEEDER_HISTORY
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        write_markdown(render(results), md_path)


def write_markdown(section: str, md_path: Path = MD_PATH) -> None:
    block = f"{START}\n{section.rstrip()}\n{END}"
    if md_path.exists():
        text = md_path.read_text(encoding="utf-8")
        if START in text and END in text:
            before, rest = text.split(START, 1)
            _, after = rest.split(END, 1)
            md_path.write_text(before + block + after, encoding="utf-8")
            return
        if text.strip():  # someone else's content without markers: keep it after ours
            md_path.write_text(f"# Benchmarks\n\n{block}\n\n{text.lstrip()}", encoding="utf-8")
            return
    md_path.write_text(f"# Benchmarks\n\n{block}\n", encoding="utf-8")


# --------------------------------------------------------------------------- rendering helpers
def _f(value, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}{unit}"
    return str(value)


def _runs(results: dict) -> list[tuple[str, dict]]:
    order = {"sqlite": 0, "postgresql": 1}
    return sorted(results["runs"].items(), key=lambda kv: (kv[1].get("songs", 0), order.get(kv[1].get("database"), 9)))


def _name(run: dict) -> str:
    db = "SQLite" if run.get("database") == "sqlite" else "PostgreSQL"
    return f"{db} · {run.get('songs', 0):,}"


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**missed**")


def render(results: dict) -> str:
    runs = _runs(results)
    lines: list[str] = []
    add = lines.append
    add("## How to run")
    add("")
    add("```sh")
    add("make bench                                              # 100,000 songs on SQLite")
    add("BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sinfonia_bench \\")
    add('  make bench BENCH_ARGS="--songs 1000000 --db sqlite,postgres"')
    add('make bench BENCH_ARGS="--songs 1000000 --steps homes"    # only each role\'s home, warm (issue 18)')
    add("```")
    add("")
    add(
        "Datasets are the deterministic demo (`seeds/demo.py`, seed 42, built as of "
        "20/11/2026) cached by (songs, seed, generator version, migration digest): SQLite files under "
        "`bench/data/` (git-ignored) and PostgreSQL databases named after the key; a re-run reuses them. "
        "Each step runs in its own process (`python -m bench.worker …`). Results merge into "
        "`BENCHMARKS.json` per (database, songs); this section is regenerated from it."
    )
    add("")
    # Machine.
    add("## Machine")
    add("")
    if runs:
        add("| run | date (UTC) | CPU | cores | RAM | load avg at start | Python | SQLite | PostgreSQL | commit |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for _, run in runs:
            m = run.get("machine", {})
            load = m.get("load_average_at_start")
            add(
                f"| {_name(run)} | {m.get('date', '—')} | {m.get('cpu_model', '—')} | {m.get('cores', '—')} | "
                f"{_f(m.get('ram_gib'), 1, ' GiB')} | {', '.join(str(x) for x in load) if load else '—'} | "
                f"{m.get('python', '—')} | {m.get('sqlite', '—')} | {m.get('postgresql') or '—'} | "
                f"{m.get('git_commit', '—')} |"
            )
        add("")
        add(
            "Everything runs on this one machine: the server, the database and the load generator share its "
            "cores (see the load average at the start of each run; a load well above the core count means "
            "other work was running and latencies are inflated). The ratios to the floors, measured in the "
            "same run on the same database, and the server CPU per request are the numbers to compare "
            "across machines."
        )
    else:
        add("No run recorded yet.")
    add("")
    # Datasets.
    add("## Datasets and `seed demo`")
    add("")
    add("| run | dataset key | reused | built (UTC) | seed time (wall) | songs/s | CPU time | songs per CPU s |")
    add("|---|---|---|---|---|---|---|---|")
    for _, run in runs:
        d = run.get("dataset", {})
        if "error" in d:
            add(f"| {_name(run)} | error: {d['error'][:200]} | | | | | | |")
            continue
        seconds = d.get("seed_seconds")
        rate = round(run.get("songs", 0) / seconds) if seconds else None
        cpu = d.get("seed_cpu_seconds")
        add(
            f"| {_name(run)} | `{d.get('key', '—')}` | {'yes' if d.get('reused') else 'no'} | "
            f"{d.get('built_at', '—')} | {_f(seconds, 1, ' s')} | {_f(rate, 0)} | "
            f"{_f(cpu, 1, ' s')} | {_f(run.get('songs', 0) / cpu if cpu else None, 0)} |"
        )
    add("")
    seeder = results.get("seeder_history")
    if seeder:
        add("Demo generator before/after (same machine, same seed, same rows — checked by a digest of every row):")
        add("")
        add("| generator | songs | database | wall time | CPU time | songs per CPU second |")
        add("|---|---|---|---|---|---|")
        for row in seeder:
            add(
                f"| {row['generator']} | {row['songs']:,} | {row['database']} | {_f(row['seconds'], 1, ' s')} | "
                f"{_f(row['cpu_seconds'], 1, ' s')} | {_f(row['songs'] / row['cpu_seconds'], 0)} |"
            )
        add("")
    # Recompute.
    add("## Chart recompute vs the floor")
    add("")
    add(
        "Full recompute = `recompute_charts(season, as_of=20/11/2026)` for every season (2023, 2024, 2026), "
        "median of 3 runs in one worker process. Floor = the bare aggregate "
        "`SELECT label_id, count(*), sum(timeliness), avg(quality) FROM songs WHERE season_id=? GROUP BY label_id` "
        "for the same seasons, same process, same database; the two are interleaved so they see the same "
        "machine load. Wall time and the worker's CPU time (user + system; on PostgreSQL the server's CPU is not "
        "in it). Memory: peak `ru_maxrss` of the worker process (whole process: interpreter + app + recompute; "
        "on SQLite it also counts the database pages read through the memory map, which are OS page cache "
        "shared by all processes) and the peak private (anonymous) resident memory sampled every 10 ms from "
        "`/proc/self/status`; in brackets, the same just before the first recompute."
    )
    add("")
    add(
        "| run | recompute wall (CPU) | floor wall (CPU) | ratio wall (CPU) | peak ru_maxrss (before) | "
        "peak private memory (before) | naive ORM loop wall (CPU) | speed-up vs naive wall (CPU) | "
        "naive = snapshot? |"
    )
    add("|---|---|---|---|---|---|---|---|---|")
    for _, run in runs:
        r = run.get("recompute") or {}
        n = run.get("naive") or {}
        if "error" in r:
            add(f"| {_name(run)} | error: {r['error'][:160]} | | | | | | | |")
            continue
        if not r:
            continue
        rec = r.get("recompute_s")
        speed = speed_cpu = None
        if rec and n.get("naive_s"):
            speed = n["naive_s"] / rec
        postgres = run.get("database") == "postgresql"  # the server's CPU is not in the worker's
        if r.get("recompute_cpu_s") and n.get("naive_cpu_s") and not postgres:
            speed_cpu = n["naive_cpu_s"] / r["recompute_cpu_s"]
        agree = "—"
        if n.get("labels_compared_with_snapshot"):
            agree = f"max diff {n['max_abs_difference_vs_snapshot']} over {n['labels_compared_with_snapshot']} labels"
        naive_cell = (
            f"{_f(n.get('naive_s'), 2, ' s')} ({_f(n.get('naive_cpu_s'), 2, ' s')})"
            if "naive_s" in n
            else (n.get("skipped") or n.get("error") or "—")
        )
        rec_cell = (
            f"{_f(rec, 2, ' s')} ({_f(r.get('recompute_cpu_s'), 2, ' s')})"
            if rec is not None
            else r.get("recompute", "—")
        )
        add(
            f"| {_name(run)} | {rec_cell} | {_f(r.get('floor_s'), 3, ' s')} ({_f(r.get('floor_cpu_s'), 3, ' s')}) | "
            f"{_f(r.get('ratio_to_floor'), 1, '×')} ({_f(None if postgres else r.get('cpu_ratio_to_floor'), 1, '×')}) | "
            f"{_f(r.get('peak_rss_mb'), 0, ' MB')} ({_f(r.get('baseline_rss_mb'), 0, ' MB')}) | "
            f"{_f(r.get('peak_anon_mb'), 0, ' MB')} ({_f(r.get('baseline_anon_mb'), 0, ' MB')}) | {naive_cell} | "
            f"{_f(speed, 1, '×')} ({_f(speed_cpu, 1, '×')}) | {agree} |"
        )
    add("")
    # HTTP.
    add("## HTTP under gunicorn")
    add("")
    add(
        "`gunicorn -c gunicorn.conf.py wsgi:app` on 127.0.0.1 (APP_ENV=production, SCHEDULER_ENABLED=0, "
        "rate limits off so that one loopback client is not throttled), 32 concurrent clients (Python threads, "
        "keep-alive `http.client`), a fixed number of requests per scenario with a time cap, after 10 warm-up "
        "requests. Pages with the coordinator's (boards, songs) or the manager's (coverage) session cookie; "
        "the API with bearer tokens. Writes: new songs through the API as `territorial1`, surveys for distinct "
        "delivered songs. Ratio = p95 / p95 of `/healthz` (the trivial endpoint of the same server). Server CPU "
        "per request = user + system CPU of the gunicorn workers during the scenario / requests (the load "
        "generator and, on PostgreSQL, the database server are not in it): unlike the latencies it hardly "
        "depends on how busy the shared machine was."
    )
    add("")
    for _, run in runs:
        h = run.get("http")
        if not h:
            continue
        add(f"### {_name(run)} songs")
        add("")
        if "error" in h:
            add(f"Error: {h['error']}")
            add("")
            continue
        add("| endpoint | requests | req/s | p50 | p95 | p99 | p95 / healthz | server CPU / request | failures |")
        add("|---|---|---|---|---|---|---|---|---|")
        for name in HTTP_ORDER:
            s = h.get(name)
            if not isinstance(s, dict):
                continue
            if not s.get("available"):
                add(
                    f"| {s.get('label', name).replace('|', ' or ')} | not available: {s.get('reason', '')[:120]} | | | | | | | |"
                )
                continue
            failures = ", ".join(f"{k}×{v}" for k, v in s.get("failures", {}).items()) or "0"
            capped = " (time cap)" if s.get("capped") else ""
            add(
                f"| {s['label'].replace('|', ' or ')} | {s['requests']:,}{capped} | {_f(s['throughput_rps'], 0)} | "
                f"{_f(s['p50_ms'], 1, ' ms')} | {_f(s['p95_ms'], 1, ' ms')} | {_f(s['p99_ms'], 1, ' ms')} | "
                f"{_f(s.get('p95_vs_healthz'), 1, '×') if name != 'healthz' else '1×'} | "
                f"{_f(s.get('server_cpu_ms_per_request'), 1, ' ms')} | {failures} |"
            )
        add("")
    # Homes (issue 18).
    add("## Each role's home, warm (in process)")
    add("")
    add(
        '`GET /` for each demo role through the Flask test client, one request at a time, "today" '
        "being the dataset's day: the first request of the worker process (templates compiled, caches "
        "empty), then the warm ones (`--home-reps`)."
    )
    add("")
    add("| run | home | cold | warm median | warm p95 | worst | SQL statements |")
    add("|---|---|---|---|---|---|---|")
    for _, run in runs:
        homes = run.get("homes")
        if not homes:
            continue
        if "error" in homes:
            add(f"| {_name(run)} | error: {str(homes['error'])[:200]} | | | | | |")
            continue
        for role in ("territorial", "coordinator", "manager", "admin", "alerts_page", "alerts_api"):
            h = homes.get(role) or {}
            if role.startswith("alerts_") and not h:
                continue  # runs from before the alerts were measured
            if "error" in h or not h:
                add(f"| {_name(run)} | {role} | {h.get('error', 'not measured')} | | | | |")
                continue
            add(
                f"| {_name(run)} | {role} | {_f(h['cold_ms'], 1, ' ms')} | {_f(h['median_ms'], 1, ' ms')} | "
                f"{_f(h['p95_ms'], 1, ' ms')} | {_f(h['max_ms'], 1, ' ms')} | {h['statements']} |"
            )
    add("")
    # Import.
    add("## Import and `seed demo` on a scratch database")
    add("")
    add("| run | seed demo (5,000 songs) | import of 10,000 CSV rows | rows/s | notes |")
    add("|---|---|---|---|---|")
    for _, run in runs:
        i = run.get("import")
        if not i:
            continue
        if "error" in i:
            add(f"| {_name(run)} | error: {i['error'][:200]} | | | |")
            continue
        notes = []
        if isinstance(i.get("import"), str):
            notes.append(i["import"][:160])
        for attempt in i.get("import_attempts", []):
            notes.append(
                f"{'with' if attempt['with_optional_columns'] else 'without'} optional columns: "
                f"{attempt['errors']} bad rows, e.g. {'; '.join(attempt['first_errors'])[:200]}"
            )
        if i.get("import_errors"):
            notes.append(f"{i['import_errors']} bad rows")
        elif "import_s" in i:
            notes.append(f"{i.get('import_created', 0):,} songs created")
        add(
            f"| {_name(run)} | {_f(i.get('seed_demo_s'), 1, ' s')} | {_f(i.get('import_s'), 1, ' s')} | "
            f"{_f(i.get('import_rows_per_second'), 0)} | {'; '.join(notes)} |"
        )
    add("")
    # Targets.
    add("## Targets")
    add("")
    add("| target | run | measured | result |")
    add("|---|---|---|---|")
    for line in targets(results):
        add(line)
    add("")
    if FINDINGS_PATH.exists():
        add(FINDINGS_PATH.read_text(encoding="utf-8").strip())
        add("")
    return "\n".join(lines)


def targets(results: dict) -> list[str]:
    out = []
    runs = _runs(results)
    for _, run in runs:
        big = run.get("songs", 0) >= BIG
        r = run.get("recompute") or {}
        h = run.get("http") or {}
        name = _name(run)
        if big and r.get("recompute_s") is not None:
            if run.get("database") == "sqlite":
                out.append(
                    f"| recompute of 1,000,000 songs < {TARGETS['recompute_s']:.0f} s (SQLite; wall, CPU in brackets) | "
                    f"{name} | {_f(r['recompute_s'], 2, ' s')} ({_f(r.get('recompute_cpu_s'), 2, ' s')}) | "
                    f"{_met(r['recompute_s'] < TARGETS['recompute_s'])} |"
                )
            ratio = r.get("ratio_to_floor")
            out.append(
                f"| recompute within {TARGETS['recompute_vs_floor']:.0f}× the bare aggregate | {name} | "
                f"{_f(ratio, 1, '×')} | {_met(ratio is not None and ratio <= TARGETS['recompute_vs_floor'])} |"
            )
        if r.get("peak_rss_mb") is not None and big:
            private = r.get("peak_anon_mb")
            judged = private if private is not None else r["peak_rss_mb"]
            out.append(
                f"| recompute peak memory < {TARGETS['recompute_rss_mb']:.0f} MB (private; ru_maxrss in brackets) | "
                f"{name} | {_f(private, 0, ' MB')} ({_f(r['peak_rss_mb'], 0, ' MB')}) | "
                f"{_met(judged < TARGETS['recompute_rss_mb'])} |"
            )
        n = run.get("naive") or {}
        if r.get("recompute_s") and n.get("naive_s"):
            speed = n["naive_s"] / r["recompute_s"]
            out.append(
                f"| recompute ≥ {TARGETS['speedup_vs_naive']:.0f}× faster than the naive loop | {name} | "
                f"{_f(speed, 1, '×')} | {_met(speed >= TARGETS['speedup_vs_naive'])} |"
            )
        if big:
            for board in ("board_html", "board_api"):
                s = h.get(board) or {}
                if s.get("available"):
                    out.append(
                        f"| board p95 < {TARGETS['board_p95_ms']:.0f} ms ({board}; server CPU per request in brackets) | "
                        f"{name} | {_f(s['p95_ms'], 1, ' ms')} ({_f(s.get('server_cpu_ms_per_request'), 1, ' ms')}) | "
                        f"{_met(s['p95_ms'] < TARGETS['board_p95_ms'])} |"
                    )
                    vs = s.get("p95_vs_healthz")
                    out.append(
                        f"| board p95 within {TARGETS['board_vs_healthz']:.0f}× /healthz ({board}) | {name} | "
                        f"{_f(vs, 1, '×')} | {_met(vs is not None and vs <= TARGETS['board_vs_healthz'])} |"
                    )
        for page in PAGES:
            s = h.get(page) or {}
            if s.get("available"):
                out.append(
                    f"| page p95 < {TARGETS['page_p95_ms']:.0f} ms ({page}) | {name} | {_f(s['p95_ms'], 1, ' ms')} | "
                    f"{_met(s['p95_ms'] < TARGETS['page_p95_ms'])} |"
                )
        homes = run.get("homes") or {}
        for role in ("territorial", "coordinator", "manager", "admin"):
            w = homes.get(role) if isinstance(homes, dict) else None
            if big and isinstance(w, dict) and w.get("p95_ms") is not None:
                out.append(
                    f"| home warm p95 < {TARGETS['home_warm_ms']:.0f} ms ({role}, in process) | {name} | "
                    f"{_f(w['p95_ms'], 1, ' ms')} | {_met(w['p95_ms'] < TARGETS['home_warm_ms'])} |"
                )
        for page in ("alerts_page", "alerts_api"):
            w = homes.get(page) if isinstance(homes, dict) else None
            if big and isinstance(w, dict) and w.get("p95_ms") is not None:
                out.append(
                    f"| integrity alerts warm p95 < {TARGETS['alerts_warm_ms']:.0f} ms ({w.get('path', page)}, "
                    f"in process) | {name} | {_f(w['p95_ms'], 1, ' ms')} | {_met(w['p95_ms'] < TARGETS['alerts_warm_ms'])} |"
                )
        for page in HOMES:
            s = h.get(page) or {}
            if s.get("available"):
                out.append(
                    f"| home p95 < {TARGETS['home_p95_ms']:.0f} ms ({page}) | {name} | {_f(s['p95_ms'], 1, ' ms')} | "
                    f"{_met(s['p95_ms'] < TARGETS['home_p95_ms'])} |"
                )
    if not out:
        out.append("| (no measurement yet) | | | |")
    return out
