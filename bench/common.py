"""Constants and small helpers shared by the benchmark driver and its worker subprocesses."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", ROOT / "bench" / "data"))
# Datasets are built "as of" a fixed day so that the same (songs, seed) gives the same rows
# whatever the date of the run; the recompute uses the same day for overdue songs.
BENCH_TODAY = date(2026, 11, 20)
# Bump when the demo generator changes what it writes (the cache key includes it).
DATASET_VERSION = 4
SECRET_KEY = "bench-secret-key-not-for-production"
PASSWORD = os.environ.get("DEMO_PASSWORD", "sinfonia-demo")


def schema_revision() -> str:
    """A digest of the migrations (tests keep them equal to the models): a schema change rebuilds.

    Index statements (and the regenerated header date) are left out, and so is a migration file
    that only creates or drops indexes: a dataset is reused across index-only changes and the
    missing indexes are created in place (``sync-indexes``).
    """
    digest = hashlib.sha256()
    skip = ("create_index(", "drop_index(", "batch_alter_table(", "Create Date")
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        operations = [line for line in lines if "op." in line and "op.f(" not in line]
        if operations and all(any(marker in line for marker in skip) for line in operations):
            continue  # a migration that only adds or drops indexes: sync-indexes makes them in place
        digest.update(path.name.encode())
        for line in lines:
            if not any(marker in line for marker in skip):
                digest.update(line.encode())
    return digest.hexdigest()[:10]


def dataset_key(songs: int, seed: int) -> str:
    return f"n{songs}_s{seed}_v{DATASET_VERSION}_{schema_revision()}"


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgresql") and os.environ.get("PG_JIT", "0").lower() not in {"1", "true", "yes", "on"}:
        if "options=" not in url:  # the same connection settings as config._database_url
            url += ("&" if "?" in url else "?") + "options=-c%20jit%3Doff"
    return url


def app_config(url: str, upload: str | None = None) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
        "SCHEDULER_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": SECRET_KEY,
        "UPLOAD_FOLDER": upload or str(DATA_DIR / "uploads"),
    }


def run_worker(command: str, *args: str, timeout: float = 3600, env: dict | None = None) -> dict:
    """Run ``python -m bench.worker COMMAND ARGS`` and return the JSON it prints last.

    A failure is returned as ``{"error": ...}`` (the run goes on and records it).
    """
    full_env = {**os.environ, "SCHEDULER_ENABLED": "0", "SECRET_KEY": SECRET_KEY, **(env or {})}
    full_env.setdefault("PYTHONPATH", str(ROOT))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.worker", command, *args],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"{command}: timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
        return {"error": f"{command} failed (exit {proc.returncode}): " + " | ".join(tail)}
    return json.loads(lines[-1])
