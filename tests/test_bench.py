"""The benchmark harness (issue 8) and the fast demo generator it relies on.

Small on purpose: 200 songs, a local toy HTTP server, the report writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import delete, inspect, select, text

from app.domain.categories import category_in_force
from app.domain.scoring import song_terms
from app.extensions import db
from app.models import Evidence, Playlist, Review, Song, Survey
from bench import report
from bench.http_load import Scenario, percentile, run_scenario

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 20)
TABLES = ("songs", "reviews", "surveys", "evidence", "playlists")


def _digest() -> str:
    """Every row the demo writes (except updated_at, the time of the load)."""
    digest = hashlib.sha256()
    for table in TABLES:
        # Playlists take their ids from the sequence (PostgreSQL does not reuse them): compare the rest.
        order = "season_id, label_id, album_id" if table == "playlists" else "id"
        skip = {"updated_at", "id"} if table == "playlists" else {"updated_at"}
        for row in db.session.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings():
            digest.update(repr(sorted((k, str(v)) for k, v in row.items() if k not in skip)).encode())
    return digest.hexdigest()


def _clear_demo_rows() -> None:
    for model in (Evidence, Survey, Review, Playlist, Song):
        db.session.execute(delete(model))
    db.session.commit()


def test_demo_seed_is_deterministic_and_stores_the_terms_song_terms_gives(app, monkeypatch):
    import seeds.demo as demo

    result = demo.seed_demo(songs=200, seed=11, today=TODAY)
    assert result == {"songs": 200}
    first = _digest()
    songs = list(db.session.scalars(select(Song).order_by(Song.id)))
    assert len(songs) == 200
    assert {s.state for s in songs} >= {"planned", "delivered", "reviewed"}
    for song in songs:
        review, survey = song.review, song.survey
        expected = song_terms(
            state=song.state,
            due_date=song.due_date,
            delivered_on=song.delivered_on,
            pdet=bool(song.municipality.pdet),
            category=category_in_force(song.municipality_id, song.season.year),
            album_weight=float(song.album.weight),
            review=(review.pertinence, review.rigour, review.usefulness, review.evidence_quality) if review else None,
            survey=(survey.q1, survey.q2, survey.q3, survey.q4, survey.q5) if survey else None,
            w=song.season,
        )
        stored = (
            song.late_business_days,
            song.timeliness,
            song.review_score,
            song.satisfaction,
            song.quality,
            song.equity,
            song.points,
            song.on_time,
        )
        assert stored == (
            expected.late_business_days,
            expected.timeliness,
            expected.review_score,
            expected.satisfaction,
            expected.quality,
            expected.equity,
            expected.points,
            expected.on_time,
        ), song.id
        if song.state in ("delivered", "reviewed"):
            assert song.survey_nonce and song.evidence
    # Same seed, same rows — also through the large-load path that drops and rebuilds the indexes.
    _clear_demo_rows()
    monkeypatch.setattr(demo, "REBUILD_INDEXES_ABOVE", 0)
    demo.seed_demo(songs=200, seed=11, today=TODAY)
    assert _digest() == first
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("songs")}
    assert {ix.name for ix in Song.__table__.indexes} <= names
    # Another seed gives other rows.
    _clear_demo_rows()
    monkeypatch.setattr(demo, "REBUILD_INDEXES_ABOVE", 50_000)
    demo.seed_demo(songs=200, seed=12, today=TODAY)
    assert _digest() != first


def test_markdown_regeneration_keeps_other_sections(tmp_path):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(
        "# Benchmarks\n\n<!-- bench:start -->\nold figures\n<!-- bench:end -->\n\n## Load and soak (issue 9)\nkept\n",
        encoding="utf-8",
    )
    report.write_markdown("new figures", md)
    text_ = md.read_text(encoding="utf-8")
    assert "new figures" in text_ and "old figures" not in text_
    assert text_.rstrip().endswith("## Load and soak (issue 9)\nkept")
    # A file without markers: its content is kept after the generated block.
    other = tmp_path / "OTHER.md"
    other.write_text("## Load and soak (issue 9)\nmine\n", encoding="utf-8")
    report.write_markdown("figures", other)
    assert other.read_text(encoding="utf-8").index("figures") < other.read_text(encoding="utf-8").index("mine")


def test_percentile_is_nearest_rank():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


class _Toy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server API
        body = b'{"status": "ok"}' if self.path == "/healthz" else b"missing"
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_load_generator_counts_requests_and_failures_and_reports_missing_endpoints():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Toy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        ok = run_scenario(
            port, Scenario("healthz", "GET /healthz", lambda i: ("GET", "/healthz", None, {}), requests=40), 4, 10
        )
        assert ok["available"] and ok["requests"] == 40 and not ok["failures"]
        assert 0 < ok["p50_ms"] <= ok["p95_ms"] <= ok["p99_ms"]
        assert ok["throughput_rps"] > 0
        missing = run_scenario(port, Scenario("x", "GET /nope", lambda i: ("GET", "/nope", None, {})), 4, 10)
        assert missing == {"label": "GET /nope", "available": False, "reason": "HTTP 404 on GET /nope"}
        mixed = run_scenario(
            port,
            Scenario(
                "mixed",
                "mixed",
                lambda i: ("GET", "/healthz" if i < 0 or i % 2 else "/nope", None, {}),
                requests=20,
            ),
            2,
            10,
        )
        assert mixed["requests"] == 20 and mixed["failures"] == {"404": 10}
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the harness smoke run uses SQLite files")
def test_bench_smoke_run_at_200_songs(tmp_path):
    """`python -m bench` end to end (dataset, recompute vs floor, naive baseline), then the cache."""
    env = {
        **os.environ,
        "BENCH_OUTPUT_DIR": str(tmp_path),
        "BENCH_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("BENCH_DATABASE_URL", None)
    command = [sys.executable, "-m", "bench", "--songs", "200", "--steps", "recompute,naive,homes,import"]
    command += ["--reps", "1", "--home-reps", "2", "--import-rows", "30"]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "BENCHMARKS.json").read_text(encoding="utf-8"))
    run = results["runs"]["sqlite:200"]
    assert run["dataset"]["songs"] == 200 and run["dataset"]["reused"] is False
    assert run["machine"]["cores"] and run["machine"]["sqlite"]
    recompute = run["recompute"]
    assert recompute["floor_s"] > 0
    if recompute.get("recompute") != "not available":
        assert recompute["recompute_s"] > 0 and recompute["peak_rss_mb"] > 0
        assert run["naive"]["labels_compared_with_snapshot"] > 0
        assert run["naive"]["max_abs_difference_vs_snapshot"] <= 1e-9
    # issue 18: each home, warm; issue 15: the integrity alerts page and API
    for role in ("territorial", "coordinator", "manager", "admin", "alerts_page", "alerts_api"):
        home = run["homes"][role]
        assert home["median_ms"] > 0 and home["statements"] > 0 and home["cold_ms"] > 0, run["homes"]
    # the import is timed with its commit: every row becomes a song (it used to be rolled back)
    assert run["import"]["import_created"] == 30 and run["import"]["import_errors"] == 0, run["import"]
    md = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert "<!-- bench:start -->" in md and "SQLite · 200" in md
    assert "Each role's home, warm (in process)" in md and "| SQLite · 200 | coordinator |" in md
    assert "| SQLite · 200 | alerts_api |" in md
    # Second run: the dataset is reused, not re-seeded; an index it lacks is created in place,
    # one the models no longer declare is dropped.
    import sqlite3

    dataset_file = Path(run["dataset"]["url"][len("sqlite:///") :])
    with sqlite3.connect(dataset_file) as conn:
        conn.execute("DROP INDEX ix_songs_state_due")
        conn.execute("CREATE INDEX ix_songs_obsolete ON songs (scope)")
    proc = subprocess.run(
        [*command[:-4], "--steps", "recompute", "--reps", "1"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "reusing dataset" in proc.stdout
    assert "ix_songs_state_due" in proc.stdout and "-ix_songs_obsolete" in proc.stdout
    with sqlite3.connect(dataset_file) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_songs_state_due" in names and "ix_songs_obsolete" not in names
    assert json.loads((tmp_path / "BENCHMARKS.json").read_text())["runs"]["sqlite:200"]["dataset"]["reused"] is True
