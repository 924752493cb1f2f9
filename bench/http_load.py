"""HTTP under gunicorn: start the server on a loopback port, log in, and load it.

The load generator is deliberately small and bounded: ``clients`` Python threads, each
with its own keep-alive ``http.client`` connection to 127.0.0.1, share a fixed number of
requests and a time cap per scenario. Latency is measured per request on the client.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bench.common import BENCH_TODAY, DATA_DIR, PASSWORD, ROOT, SECRET_KEY

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
PLACEHOLDER_TEXT = "Esta sección se está construyendo."


class Server:
    """gunicorn -c gunicorn.conf.py wsgi:app against the bench database (SCHEDULER_ENABLED=0)."""

    def __init__(self, url: str, port: int, log_path: str):
        self.url, self.port, self.log_path = url, port, log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": self.url,
            "SCHEDULER_ENABLED": "0",
            "RATELIMIT_ENABLED": "0",
            "PORT": str(self.port),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "UPLOAD_FOLDER": str(DATA_DIR / "uploads-http"),
            "PYTHONPATH": str(ROOT),
        }
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer /healthz in 90 s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the gunicorn workers (children of the master) so far."""
        if not self.proc:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:  # ppid
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / ticks

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Client:
    """One keep-alive connection with a small cookie jar."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status, data

    def close(self) -> None:
        """Close the keep-alive connection (an open one left to the garbage collector warns)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def csrf(self, path: str) -> str:
        status, body = self.request("GET", path)
        match = CSRF_RE.search(body.decode("utf-8", "replace"))
        if not match:
            raise RuntimeError(f"no csrf_token in GET {path} ({status})")
        return match.group(1) or match.group(2)

    def login(self, email: str) -> None:
        token = self.csrf("/login")
        form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode()
        status, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status not in (302, 303):
            raise RuntimeError(f"login {email} failed: HTTP {status}")

    def token(self, email: str) -> str:
        body = json.dumps({"email": email, "password": PASSWORD}).encode()
        status, data = self.request("POST", "/api/v1/tokens", body, {"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError(f"token {email} failed: HTTP {status} {data[:200]!r}")
        return json.loads(data)["token"]


@dataclass
class Scenario:
    name: str
    label: str
    build: Callable[[int], tuple[str, str, bytes | None, dict]]
    expect: tuple[int, ...] = (200,)
    cookies: dict | None = None
    requests: int = 2000
    setup: Callable[[Client], None] | None = None
    notes: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def run_scenario(
    port: int, scenario: Scenario, clients: int, time_cap: float, warmup: int = 10, server_cpu=None
) -> dict:
    """Warm up, then ``clients`` threads share ``scenario.requests`` requests (or stop at the cap)."""
    probe = Client(port)
    if scenario.cookies:
        probe.cookies.update(scenario.cookies)
    if scenario.setup:
        scenario.setup(probe)
    method, path, body, headers = scenario.build(-1)
    try:
        return _measure(probe, port, scenario, clients, time_cap, warmup, server_cpu, method, path, body, headers)
    finally:
        probe.close()


def _measure(probe, port, scenario, clients, time_cap, warmup, server_cpu, method, path, body, headers) -> dict:
    status, data = probe.request(method, path, body, headers)
    if status == 404 or (status == 200 and PLACEHOLDER_TEXT.encode() in data):
        return {"label": scenario.label, "available": False, "reason": f"HTTP {status} on {method} {path}"}
    if status not in scenario.expect:
        return {
            "label": scenario.label,
            "available": False,
            "reason": f"HTTP {status} on {method} {path}: {data[:160].decode('utf-8', 'replace')}",
        }
    for i in range(warmup):
        probe.request(*scenario.build(-2 - i))
    lock = threading.Lock()
    counter = iter(range(scenario.requests))
    latencies: list[float] = []
    failures: dict[int, int] = {}
    examples: list[str] = []
    deadline = time.monotonic() + time_cap

    def worker() -> None:
        client = Client(port)
        client.cookies.update(probe.cookies)
        try:
            _work(client)
        finally:
            client.close()

    def _work(client: Client) -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            method, path, body, headers = scenario.build(i)
            started = time.perf_counter()
            try:
                status, data = client.request(method, path, body, headers)
            except Exception as exc:  # noqa: BLE001 - counted as a failure
                status, data = -1, str(exc).encode()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status not in scenario.expect:
                    failures[status] = failures.get(status, 0) + 1
                    if len(examples) < 3:
                        examples.append(f"{status} {method} {path}: {data[:120].decode('utf-8', 'replace')}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    cpu_before = server_cpu() if server_cpu else None
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_cap + 120)
    wall = time.perf_counter() - started
    cpu_used = server_cpu() - cpu_before if server_cpu else None
    latencies.sort()
    done = len(latencies)
    return {
        "server_cpu_ms_per_request": round(cpu_used / done * 1000, 1) if cpu_used is not None and done else None,
        "label": scenario.label,
        "available": True,
        "requests": done,
        "planned_requests": scenario.requests,
        "capped": done < scenario.requests,
        "clients": clients,
        "wall_s": round(wall, 2),
        "throughput_rps": round(done / wall, 1) if wall else None,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "failures": {str(k): v for k, v in failures.items()},
        "failure_examples": examples,
    }


HOME_USERS = {
    "territorial": "territorial1@sinfonia.demo",
    "coordinator": "coordinador@sinfonia.demo",
    "manager": "gestor@sinfonia.demo",
    "admin": "admin@sinfonia.demo",
}


def scenarios(prep: dict, requests: int) -> list[Scenario]:
    year = prep["year"]
    label_ids = prep["label_ids"] or [prep["label_id"]]
    departments = prep["departments"] or ["05"]
    states = ("delivered", "reviewed", "planned", "in_progress")
    tokens = prep.get("survey_tokens") or []

    def get(path: str, headers: dict | None = None):
        return lambda i: ("GET", path, None, dict(headers or {}))

    def song_filter(i: int) -> str:
        i = abs(i)
        label = label_ids[i % len(label_ids)]
        state = states[(i // len(label_ids)) % len(states)]
        if i % 3 == 2:
            return f"season={year}&department={departments[i % len(departments)]}&state={state}"
        return f"season={year}&label={label}&state={state}"

    out = [
        Scenario("healthz", "GET /healthz (floor: trivial endpoint)", get("/healthz"), requests=requests),
        Scenario("board_html", f"GET /charts?season={year} (label board page)", get(f"/charts?season={year}")),
        Scenario("board_api", f"GET /api/v1/charts/labels?season={year}", get(f"/api/v1/charts/labels?season={year}")),
        Scenario(
            "songs_html",
            "GET /songs?season=…&label=… or department=…&state=… (filtered song list page)",
            lambda i: ("GET", f"/songs?{song_filter(i)}", None, {}),
        ),
        Scenario(
            "songs_api",
            "GET /api/v1/songs?season=…&label=… or department=…&state=…",
            lambda i: ("GET", f"/api/v1/songs?{song_filter(i)}", None, {}),
        ),
        Scenario("coverage_html", f"GET /coverage?season={year} (coverage page)", get(f"/coverage?season={year}")),
        Scenario(
            "coverage_api",
            f"GET /api/v1/coverage/departments?season={year}",
            get(f"/api/v1/coverage/departments?season={year}"),
        ),
    ]
    # Each role's home at / (issue 18: < 150 ms warm at 1,000,000 songs).
    out += [Scenario(f"home_{role}", f"GET / ({role} home)", get("/")) for role in HOME_USERS]
    for s in out[1:]:
        s.requests = requests

    def create(i: int):
        i = abs(i)
        due = BENCH_TODAY + timedelta(days=7 + i % 30)
        payload = {
            "artist_id": prep["artist_id"],
            "album_id": prep["album_ids"][i % len(prep["album_ids"])],
            "municipality_id": prep["municipality_ids"][i % len(prep["municipality_ids"])],
            "scope": f"Asistencia de carga {i}",
            "planned_start": (due - timedelta(days=20)).isoformat(),
            "due_date": due.isoformat(),
        }
        return "POST", "/api/v1/songs", json.dumps(payload).encode(), {"Content-Type": "application/json"}

    out.append(Scenario("create_song", "POST /api/v1/songs (bearer token)", create, (201,), requests=requests // 2))
    if tokens:
        # token 0 is used by the probe/warm-up GETs; POSTs use distinct tokens 1..N-1.
        survey_state: dict = {}

        def survey(i: int):
            if i < 0:
                return "GET", f"/encuesta/{tokens[0]}", None, {}
            form = {"csrf_token": survey_state["csrf"], "q1": "5", "q2": "4", "q3": "4", "q4": "5", "q5": "3"}
            body = urllib.parse.urlencode(form).encode()
            return "POST", f"/encuesta/{tokens[1 + i]}", body, {"Content-Type": "application/x-www-form-urlencoded"}

        def survey_setup(client: Client) -> None:
            survey_state["csrf"] = client.csrf(f"/encuesta/{tokens[0]}")

        out.append(
            Scenario(
                "survey",
                "POST /encuesta/<token> (distinct delivered songs)",
                survey,
                (200,),
                requests=max(0, len(tokens) - 1),
                setup=survey_setup,
            )
        )
    return out


def run_http(url: str, port: int, prep: dict, clients: int, requests: int, time_cap: float, log_path: str) -> dict:
    results: dict = {"clients": clients, "time_cap_s": time_cap, "server_log": log_path}
    with Server(url, port, log_path) as server:
        admin = Client(port)
        coordinator = Client(port)
        coordinator.login("coordinador@sinfonia.demo")
        manager = Client(port)
        manager.login("gestor@sinfonia.demo")
        coordinator_token = admin.token("coordinador@sinfonia.demo")
        territorial_token = admin.token("territorial1@sinfonia.demo")
        homes = {}
        for role, email in HOME_USERS.items():
            homes[role] = Client(port)
            homes[role].login(email)
            homes[role].close()  # only its session cookie is used
        bearer_c = {"Authorization": f"Bearer {coordinator_token}"}
        bearer_t = {"Authorization": f"Bearer {territorial_token}"}
        for scenario in scenarios(prep, requests):
            if scenario.name in ("board_html", "songs_html"):
                scenario.cookies = coordinator.cookies
            elif scenario.name == "coverage_html":
                scenario.cookies = manager.cookies
            elif scenario.name.startswith("home_"):
                scenario.cookies = homes[scenario.name[len("home_") :]].cookies
            elif scenario.name in ("board_api", "songs_api", "coverage_api"):
                scenario.build = _with_headers(scenario.build, bearer_c)
            elif scenario.name == "create_song":
                scenario.build = _with_headers(scenario.build, bearer_t)
            if scenario.requests <= 0:
                results[scenario.name] = {"label": scenario.label, "available": False, "reason": "no survey links"}
                continue
            try:
                results[scenario.name] = run_scenario(port, scenario, clients, time_cap, server_cpu=server.cpu_seconds)
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                results[scenario.name] = {"label": scenario.label, "available": False, "reason": f"error: {exc}"}
    floor = results.get("healthz", {}).get("p95_ms")
    for name, result in results.items():
        if isinstance(result, dict) and result.get("available") and floor and name != "healthz":
            result["p95_vs_healthz"] = round(result["p95_ms"] / floor, 2)
    return results


def _with_headers(build, extra: dict):
    def wrapped(i: int):
        method, path, body, headers = build(i)
        return method, path, body, {**headers, **extra}

    return wrapped
