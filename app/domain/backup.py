"""Database backups (issue 9; procedures in docs/SECURITY.md).

SQLite: a consistent copy of a live database with the sqlite3 online backup API
(``sqlite3.Connection.backup``), safe while the app is serving (WAL readers and writers
keep working). PostgreSQL: refused with the ``pg_dump`` command to use instead.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup that cannot be made; the message says what to do instead."""


def pg_dump_command(url: str, path: str) -> str:
    """The equivalent ``pg_dump`` for a PostgreSQL URL (driver suffix removed, password hidden)."""
    plain = make_url(url).set(drivername="postgresql")
    return f'pg_dump --format=custom --no-owner --file "{path}" "{plain.render_as_string(hide_password=True)}"'


def sqlite_path(url: str, destination: str = "RUTA.dump") -> Path:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise BackupError(
            "Esta orden solo copia bases SQLite. Para PostgreSQL use pg_dump:\n  " + pg_dump_command(url, destination)
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("La base SQLite está en memoria: no hay archivo que respaldar.")
    return Path(parsed.database)


def backup_sqlite(url: str, destination: str | os.PathLike, *, overwrite: bool = False) -> dict[str, int]:
    """Copy the SQLite database at ``url`` to ``destination`` atomically; returns row counts per table.

    The copy is written to a temporary file next to the destination and renamed into place,
    so a failure never leaves a half-written backup under the final name.
    """
    source_path = sqlite_path(url, str(destination))
    if not source_path.exists():
        raise BackupError(f"No existe la base de datos {source_path}.")
    dest = Path(destination).resolve()
    if dest == source_path.resolve():
        raise BackupError("El destino no puede ser la misma base de datos.")
    if dest.exists() and not overwrite:
        raise BackupError(f"El archivo {dest} ya existe (use --force para reemplazarlo).")
    if not dest.parent.is_dir():
        raise BackupError(f"La carpeta {dest.parent} no existe.")
    fd, tmp_name = tempfile.mkstemp(prefix=".sinfonia-backup-", suffix=".db", dir=dest.parent)
    os.close(fd)
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        target = sqlite3.connect(tmp_name)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            ok = target.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise BackupError(f"La copia no pasó la verificación de integridad: {ok}")
            counts = table_counts(target)
        finally:
            target.close()
            source.close()
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return counts


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
