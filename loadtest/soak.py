"""Load and soak test for Sinfonía (issue 9): mixed traffic from every role, loopback only.

Closed loop: N virtual users (threads), each a role with its own keep-alive connection and
session, request after request for a bounded time (and a bounded number of requests).
Reports throughput, latency percentiles, errors, and the RSS of the gunicorn workers at
the start and the end (memory growth).

Usage (against a server you started, e.g. ``gunicorn -c gunicorn.conf.py wsgi:app`` on
127.0.0.1:5106 with the demo data)::

    python loadtest/soak.py --base http://127.0.0.1:5106 --users 8 --duration 300 \\
        --master-pid $(cat /tmp/gunicorn.pid)

    python loadtest/soak.py --ramp 2,4,8,12 --step-seconds 20   # find the highest sustained rate

Only 127.0.0.1/localhost targets are accepted. Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

PASSWORD = os.environ.get("DEMO_PASSWORD", "sinfonia-demo")
ROLE_USERS = {
    "territorial": [f"territorial{i}@sinfonia.demo" for i in range(1, 17)],
    "coordinator": ["coordinador@sinfonia.demo"],
    "manager": ["gestor@sinfonia.demo"],
    "admin": ["admin@sinfonia.demo"],
    "anonymous": [None],
}
# Share of virtual users per role (territorial teams are most of the traffic).
ROLE_MIX = ["territorial", "coordinator", "manager", "territorial", "admin", "anonymous", "territorial", "coordinator", "territorial"]

PAGES = {
    "territorial": [
        ("GET", "/"),
        ("GET", "/notifications"),
        ("GET", "/offline"),
        ("GET", "/songs/due-date-requests"),
        ("GET", "/songs"),
        ("GET", "/songs?state=in_progress"),
        ("GET", "/songs/{song}"),
        ("GET", "/charts"),
        ("GET", "/api/v1/songs?per_page=20"),
        ("GET", "/api/v1/songs/{song}"),
        ("PATCH", "/api/v1/songs/{song}"),  # a write: the team edits its own song's scope
    ],
    "coordinator": [
        ("GET", "/"),
        ("GET", "/reviews/alerts"),
        ("GET", "/reviews/pending"),
        ("GET", "/api/v1/alerts"),
        ("GET", "/seasons"),
        ("GET", "/reviews"),
        ("GET", "/songs?page={page}"),
        ("GET", "/songs/{song}"),
        ("GET", "/charts"),
        ("GET", "/coverage"),
        ("GET", "/api/v1/charts/labels"),
        ("GET", "/admin/audit"),
    ],
    "manager": [
        ("GET", "/"),
        ("GET", "/coverage/map"),
        ("GET", "/coverage/impact"),
        ("GET", "/coverage/reference"),
        ("GET", "/coverage"),
        ("GET", "/coverage/gaps"),
        ("GET", "/coverage/targets"),
        ("GET", "/charts"),
        ("GET", "/api/v1/coverage/departments"),
        ("GET", "/songs?page={page}"),
    ],
    "admin": [
        ("GET", "/"),
        ("GET", "/admin/locked"),
        ("GET", "/seasons"),
        ("GET", "/admin"),
        ("GET", "/admin/users"),
        ("GET", "/admin/audit?page={page}"),
        ("GET", "/charts"),
        ("GET", "/songs"),
    ],
    "anonymous": [
        ("GET", "/open-data"),
        ("GET", "/api/v1/open/coverage"),
        ("GET", "/login"),
        ("GET", "/healthz"),
        ("GET", "/favicon.ico"),
        ("GET", "/manifest.webmanifest"),
    ],
}


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_path: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_path.setdefault(key, []).append(seconds)
            if error:
                self.errors.append(error)


class Client:
    """One keep-alive connection with a cookie jar of one (the session cookie)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        all_headers = {"Accept": "text/html,application/json", **self.headers, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data


def login(client: Client, email: str) -> None:
    status, _, body = client.request("GET", "/login")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode()
    status, _, _ = client.request(
        "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    if status != 302:
        raise SystemExit(f"sign-in failed for {email}: {status}")
    _, _, page = client.request("GET", "/songs")
    match = re.search(rb'"X-CSRFToken": "([^"]+)"', page)
    client.headers["X-CSRFToken"] = match.group(1).decode() if match else token


def own_songs(client: Client) -> list[int]:
    status, _, body = client.request("GET", "/api/v1/songs?per_page=50", headers={"Accept": "application/json"})
    if status != 200:
        return []
    return [item["id"] for item in json.loads(body)["items"]]


def virtual_user(index: int, role: str, args, stats: Stats, stop: threading.Event, budget: list[int]) -> None:
    rng = random.Random(index)
    client = Client(args.host, args.port)
    users = ROLE_USERS[role]
    email = users[index % len(users)]
    if email:
        login(client, email)
    songs = own_songs(client) if email else []
    my_song = songs[index % len(songs)] if songs and role == "territorial" else None
    pages = PAGES[role]
    interval = args.users_now / args.rate if args.rate else 0.0  # paced (open loop) when --rate is set
    next_at = time.perf_counter() + rng.random() * interval
    while not stop.is_set():
        if interval:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            next_at = max(next_at + interval, time.perf_counter() - interval)
        with stats.lock:
            if budget[0] <= 0:
                return
            budget[0] -= 1
        method, template = rng.choice(pages)
        song = rng.choice(songs) if songs else 1
        if method == "PATCH":
            if my_song is None:
                continue
            song = my_song
        path = template.format(song=song, page=rng.randint(1, 20))
        body, headers, expect = None, None, (200,)
        if method == "PATCH":
            _, _, current = client.request("GET", f"/api/v1/songs/{song}", headers={"Accept": "application/json"})
            version = json.loads(current).get("version")
            body = json.dumps({"scope": f"Alcance revisado {rng.randint(1, 10**6)}", "version": version}).encode()
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            expect = (200, 409, 422)  # 422: a song past "planned" may refuse scope changes
        started = time.perf_counter()
        error = None
        try:
            status, _, _ = client.request(method, path, body, headers)
            if status not in expect:
                error = f"{method} {path} → {status}"
        except Exception as exc:  # noqa: BLE001 - every failure is counted as an error
            error = f"{method} {path} → {type(exc).__name__}"
        stats.add(f"{method} {template}", time.perf_counter() - started, error)


def worker_pids(master_pid: int | None) -> list[int]:
    if not master_pid:
        return []
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """``VmRSS`` (all resident pages) or ``RssAnon`` (private memory only). With SQLite's memory
    map, VmRSS also counts the database pages a worker has read — page cache shared with every
    other process, which comes and goes — so a leak shows in RssAnon."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def private_kb(pid: int) -> int:
    return rss_kb(pid, "RssAnon")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args, users: int, duration: float) -> dict:
    args.users_now = users
    stats, stop, budget = Stats(), threading.Event(), [args.max_requests]
    roles = [ROLE_MIX[i % len(ROLE_MIX)] for i in range(users)]
    threads = [
        threading.Thread(target=virtual_user, args=(i, role, args, stats, stop, budget), daemon=True)
        for i, role in enumerate(roles)
    ]
    for t in threads:
        t.start()
    time.sleep(min(5, duration / 10))  # warm-up: sign-ins, first pages
    with stats.lock:
        stats.latencies.clear()
        stats.errors.clear()
        stats.by_path.clear()
    pids = worker_pids(args.master_pid)
    rss_start = {pid: rss_kb(pid) for pid in pids}
    private_start = {pid: private_kb(pid) for pid in pids}
    started = time.perf_counter()
    samples, private_samples = [], []
    while time.perf_counter() - started < duration and any(t.is_alive() for t in threads):
        time.sleep(min(10, duration / 5))
        samples.append(sum(rss_kb(p) for p in worker_pids(args.master_pid)))
        private_samples.append(sum(private_kb(p) for p in worker_pids(args.master_pid)))
    elapsed = time.perf_counter() - started
    stop.set()
    for t in threads:
        t.join(timeout=35)
    rss_end = {pid: rss_kb(pid) for pid in worker_pids(args.master_pid)}
    private_end = {pid: private_kb(pid) for pid in worker_pids(args.master_pid)}
    lat = stats.latencies
    result = {
        "users": users,
        "target_rps": args.rate,
        "roles": {r: roles.count(r) for r in sorted(set(roles))},
        "seconds": round(elapsed, 1),
        "requests": len(lat),
        "rps": round(len(lat) / elapsed, 1) if elapsed else 0,
        "p50_ms": round(percentile(lat, 0.50) * 1000, 1),
        "p95_ms": round(percentile(lat, 0.95) * 1000, 1),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        "max_ms": round(max(lat) * 1000, 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
        "errors": len(stats.errors),
        "error_samples": stats.errors[:10],
        "rss_start_kb": rss_start,
        "rss_end_kb": rss_end,
        "rss_total_samples_kb": samples,
        "private_start_kb": private_start,
        "private_end_kb": private_end,
        "private_total_samples_kb": private_samples,
        "slowest_p95_ms": sorted(
            ((k, round(percentile(v, 0.95) * 1000, 1), len(v)) for k, v in stats.by_path.items()),
            key=lambda x: -x[1],
        )[:5],
    }
    common = set(rss_start) & set(rss_end)
    if common:
        before = sum(rss_start[p] for p in common)
        after = sum(rss_end[p] for p in common)
        result["rss_growth_pct"] = round(100 * (after - before) / before, 1) if before else None
        before = sum(private_start.get(p, 0) for p in common)
        after = sum(private_end.get(p, 0) for p in common)
        result["private_growth_pct"] = round(100 * (after - before) / before, 1) if before else None
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:5106")
    parser.add_argument("--users", type=int, default=8, help="virtual users (threads)")
    parser.add_argument("--duration", type=float, default=300, help="seconds of measured traffic")
    parser.add_argument("--max-requests", type=int, default=500_000, help="hard cap on requests")
    parser.add_argument("--rate", type=float, default=0, help="total requests/second to pace at (0: as fast as possible)")
    parser.add_argument("--ramp", default="", help="comma-separated user counts: short steps to find the knee")
    parser.add_argument("--rates", default="", help="comma-separated paced rates (with --users): steps to find the knee")
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--master-pid", type=int, default=None, help="gunicorn master PID (for worker RSS)")
    parser.add_argument("--json", dest="json_out", default=None, help="write the results here")
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.base)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback targets only")
    args.host, args.port = url.hostname, url.port or 80
    results = []
    if args.rates:
        for rate in [float(x) for x in args.rates.split(",")]:
            args.rate = rate
            result = run(args, args.users, args.step_seconds)
            results.append(result)
            print(json.dumps({k: result[k] for k in ("users", "target_rps", "rps", "p50_ms", "p95_ms", "p99_ms", "errors")}), flush=True)
    elif args.ramp:
        for users in [int(x) for x in args.ramp.split(",")]:
            result = run(args, users, args.step_seconds)
            results.append(result)
            print(json.dumps({k: result[k] for k in ("users", "rps", "p50_ms", "p95_ms", "p99_ms", "errors")}), flush=True)
    else:
        result = run(args, args.users, args.duration)
        results.append(result)
        print(json.dumps(result, indent=2), flush=True)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(results, fh, indent=2)
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
