"""Sinfonía: the application factory (DESIGN.md §7, §8)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import csrf, db, htmx, limiter, login_manager, mail, migrate

BLUEPRINTS = (
    "app.main",
    "app.auth",
    "app.songs",
    "app.imports",
    "app.reviews",
    "app.surveys",
    "app.charts",
    "app.seasons",
    "app.coverage",
    "app.admin",
    "app.notifications",
    "app.offline",
    "app.api",
)


def _load_config(app: Flask, config: Any) -> None:
    from config import config_from_env

    if config is None:
        app.config.from_object(config_from_env())
    elif isinstance(config, str):
        app.config.from_object(config if "." in config else f"config.{config}")
    elif isinstance(config, dict):
        base = config.get("CONFIG_CLASS") or config_from_env()
        app.config.from_object(base)
        app.config.update({k: v for k, v in config.items() if k != "CONFIG_CLASS"})
    else:
        app.config.from_object(config)
    app.config["SECRET_KEY"] = _secret_key(app.config)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_size", app.config.get("DB_POOL_SIZE", 5))
        options.setdefault("max_overflow", app.config.get("DB_MAX_OVERFLOW", 10))
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


# Keys that are public (in this repository's history or its tests): never outside tests.
PUBLIC_KEYS = {"dev-insecure-key-change-me", "testing-secret-key"}


def _secret_key(config) -> str:
    """The key that signs sessions and survey links (issue 19).

    ``SECRET_KEY``, else the contents of ``SECRET_KEY_FILE`` (default ``instance/secret_key``).
    Development (e.g. ``make run``) without either generates a random key into that file once
    (mode 0600) and keeps it, so sessions survive restarts. Production without a key, and any
    configuration but the test one with a public key, refuse to start.
    """
    env = config.get("APP_ENV")
    key = config.get("SECRET_KEY")
    path = Path(config.get("SECRET_KEY_FILE") or "instance/secret_key")
    if not key and env == "testing":
        return "testing-secret-key"
    if not key and path.is_file():
        key = path.read_text(encoding="utf-8").strip()
    if not key and env != "production":
        key = _generate_key_file(path)
    if not key:
        raise RuntimeError(f"SECRET_KEY must be set in production (or SECRET_KEY_FILE, now {path}); see README.")
    if key in PUBLIC_KEYS and env != "testing":
        raise RuntimeError("SECRET_KEY is a public development/test key; set a long random SECRET_KEY (README).")
    return key


def _generate_key_file(path: Path) -> str:
    """Write a random key to ``path`` unless another process just did; the key in the file."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - driver hook
    """SQLite: enforce foreign keys, WAL for concurrent readers, wait on locks.

    Reads go through a memory map (``SQLITE_MMAP_MB``, default 1024: the file's pages are
    read from the OS page cache without a system call each, shared by every worker) and a
    per-connection page cache of ``SQLITE_CACHE_MB`` (default 32); sorts and GROUP BY temp
    b-trees stay in memory. See BENCHMARKS.md for the effect on the chart recompute.
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(os.environ.get('SQLITE_BUSY_TIMEOUT_MS', '15000'))}")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except Exception:  # in-memory databases cannot use WAL
        pass
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA mmap_size={int(os.environ.get('SQLITE_MMAP_MB', '1024')) * 2**20}")
    cursor.execute(f"PRAGMA cache_size={-1024 * int(os.environ.get('SQLITE_CACHE_MB', '32'))}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def create_app(config: Any = None) -> Flask:
    """Build the application: config, extensions, blueprints, errors, CLI, scheduler."""
    app = Flask(__name__, instance_relative_config=False)
    _load_config(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:  # the client's address in REMOTE_ADDR for limits and audit (docs/SECURITY.md)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        render_as_batch=True,
        compare_type=True,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)

    from app import i18n, security, transaction, web

    transaction.init_app(app)  # one commit per request (see app/transaction.py)
    i18n.init_app(app)
    web.init_app(app)
    security.init_app(app)

    for module_name in BLUEPRINTS:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.bp)

    from app import cli

    cli.init_app(app)

    from app import scheduler

    scheduler.init_app(app)
    return app
