"""Issue 9: `flask --app wsgi db backup PATH` (SQLite online backup; PostgreSQL refused with pg_dump)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from app.domain.backup import BackupError, backup_sqlite, pg_dump_command
from app.extensions import db
from tests.factories import make_song

TABLES = ("users", "labels", "songs", "audit_events", "municipalities")


def _counts() -> dict[str, int]:
    return {t: db.session.scalar(text(f'SELECT COUNT(*) FROM "{t}"')) for t in TABLES}


@pytest.fixture
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite online backup applies to SQLite databases only")


def test_backup_then_restore_has_same_rows(sqlite_only, runner, world, tmp_path):
    make_song(world)
    make_song(world, artist=world.artist_b)
    expected = _counts()
    target = tmp_path / "copia.db"
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "Copia escrita" in result.output
    # "Restore": open the copy as a database of its own.
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        restored = {t: copy.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in TABLES}
        emails = {r[0] for r in copy.execute("SELECT email FROM users")}
    assert restored == expected and expected["songs"] == 2
    assert "admin@test.co" in emails
    assert not list(tmp_path.glob(".sinfonia-backup-*"))


def test_backup_refuses_to_overwrite_without_force(sqlite_only, runner, world, tmp_path):
    target = tmp_path / "copia.db"
    target.write_text("existing")
    result = runner.invoke(args=["db", "backup", str(target)])
    assert result.exit_code != 0 and "ya existe" in result.output
    assert target.read_text() == "existing"
    forced = runner.invoke(args=["db", "backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes().startswith(b"SQLite format 3")


def test_backup_into_missing_folder_fails_cleanly(sqlite_only, runner, world, tmp_path):
    result = runner.invoke(args=["db", "backup", str(tmp_path / "no" / "such" / "x.db")])
    assert result.exit_code != 0 and "no existe" in result.output


def test_postgresql_is_refused_with_pg_dump_command():
    url = "postgresql+psycopg://sinfonia:secreto@db.example:5432/sinfonia"
    with pytest.raises(BackupError) as info:
        backup_sqlite(url, "/tmp/x.db")
    message = str(info.value)
    assert "pg_dump --format=custom" in message and "secreto" not in message
    assert "postgresql://sinfonia:***@db.example:5432/sinfonia" in pg_dump_command(url, "x.dump")


def test_postgresql_cli_refusal(app, runner):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("runs on the PostgreSQL suite")
    result = runner.invoke(args=["db", "backup", "/tmp/never.db"])
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_in_memory_database_is_refused():
    with pytest.raises(BackupError, match="memoria"):
        backup_sqlite("sqlite://", "/tmp/x.db")
