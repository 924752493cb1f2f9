"""Configuration classes read from the environment (DESIGN.md §7, §8).

Pick one with ``APP_ENV`` (development, testing, production) or pass a class, an
import path or a mapping to ``create_app(config=...)``.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "si", "sí"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs and plain postgresql:// go through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgresql") and not _bool("PG_JIT", False) and "options=" not in url:
        # JIT compilation costs hundreds of ms on the chart aggregates and gains nothing for
        # this workload (BENCHMARKS.md, finding 5): off for the application's connections.
        url += ("&" if "?" in url else "?") + "options=-c%20jit%3Doff"
    return url


class Config:
    APP_ENV = "base"
    # No default key (issue 19): SECRET_KEY, else the file SECRET_KEY_FILE; development
    # generates a random one there once (app._secret_key); production refuses to start without.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SECRET_KEY_FILE = os.environ.get("SECRET_KEY_FILE", str(INSTANCE_DIR / "secret_key"))
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'sinfonia.db'}")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Postgres pool (ignored by SQLite): see README "Producción".
    DB_POOL_SIZE = _int("DB_POOL_SIZE", 5)
    DB_MAX_OVERFLOW = _int("DB_MAX_OVERFLOW", 10)
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 15000)
    # SQLite read path (applied per connection in app._sqlite_pragmas; see BENCHMARKS.md).
    SQLITE_MMAP_MB = _int("SQLITE_MMAP_MB", 1024)
    SQLITE_CACHE_MB = _int("SQLITE_CACHE_MB", 32)

    # Uploads (DESIGN.md §3): outside the web root, size-limited.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "evidence"))
    EVIDENCE_MAX_BYTES = _int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
    IMPORT_MAX_BYTES = _int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)
    # Offline in the field (issue 22): photos are shrunk on the device to this longest side.
    OFFLINE_PHOTO_MAX_PX = _int("OFFLINE_PHOTO_MAX_PX", 2000)

    # Surveys (DESIGN.md §1, issue 6).
    SURVEY_LINK_DAYS = _int("SURVEY_LINK_DAYS", 30)
    # Held answers (DESIGN.md §9): faster than a person reads five questions, or from an address
    # the label's users used within these days, an answer is stored but held until validated.
    SURVEY_MIN_SECONDS = _int("SURVEY_MIN_SECONDS", 20)
    SURVEY_ADDRESS_DAYS = _int("SURVEY_ADDRESS_DAYS", 14)
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    # Charts (DESIGN.md §5).
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", False)
    CHARTS_RECOMPUTE_MINUTES = _int("CHARTS_RECOMPUTE_MINUTES", 5)
    # The recompute lease is short and renewed by a heartbeat while the recompute runs, so a
    # killed holder is replaced within CHARTS_LEASE_SECONDS + a heartbeat (issue 19).
    CHARTS_LEASE_SECONDS = _int("CHARTS_LEASE_SECONDS", 30)
    CHARTS_LEASE_HEARTBEAT_SECONDS = _int("CHARTS_LEASE_HEARTBEAT_SECONDS", 10)
    # The next season opens by itself (in planning) on this day (MM-DD) of the year before.
    SEASON_OPENS_ON = os.environ.get("SEASON_OPENS_ON", "10-01")

    # i18n (DESIGN.md §7).
    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "America/Bogota"
    LANGUAGES = ("es", "en")
    DISPLAY_TIMEZONE = "America/Bogota"

    # Sessions and security (issue 9).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = _int("SESSION_MINUTES", 480) * 60
    WTF_CSRF_TIME_LIMIT = None
    API_TOKEN_HOURS = _int("API_TOKEN_HOURS", 24 * 30)
    # memory:// counts per worker process; production: a store every worker shares, e.g.
    # redis://127.0.0.1:6379/0 (docs/SECURITY.md). If that store stops answering, the limits
    # fall back to per-worker memory instead of failing sign-ins.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "sinfonia")
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    # Reverse proxies in front of the app (issue 19). 0: X-Forwarded-* are ignored (nobody can
    # spoof an address). N: Werkzeug's ProxyFix trusts the last N hops of X-Forwarded-For/-Proto,
    # so the rate limits and the audit trail see the client's address (docs/SECURITY.md).
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)

    # Mail (issue 18): Flask-Mailman over SMTP. Without MAIL_SERVER nothing is sent (the
    # notifications stay in the app) and the admin home says so.
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Sinfonía <no-responder@localhost>")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
    NOTIFICATIONS_MINUTES = _int("NOTIFICATIONS_MINUTES", 5)
    NOTIFICATIONS_MAX_ATTEMPTS = _int("NOTIFICATIONS_MAX_ATTEMPTS", 8)
    NOTIFICATIONS_LOOKBACK_DAYS = _int("NOTIFICATIONS_LOOKBACK_DAYS", 7)
    # The notification log (and a municipal contact's address in it) is deleted after this
    # many days (docs/PRIVACY.md): `flask --app wsgi notifications purge`, daily by the scheduler.
    NOTIFICATIONS_RETENTION_DAYS = _int("NOTIFICATIONS_RETENTION_DAYS", 180)
    PRIVACY_NOTICE_URL = os.environ.get("PRIVACY_NOTICE_URL", "")

    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "sinfonia-demo")
    PAGE_SIZE = _int("PAGE_SIZE", 25)
    SURVEY_RETENTION_DAYS = _int("SURVEY_RETENTION_DAYS", 730)
    # Open data publishes a mean only over at least this many values (surveys for S, reviewed
    # songs for Q); a smaller cell is suppressed, so no answer can be read back (docs/PRIVACY.md).
    OPEN_DATA_MIN_CELL = _int("OPEN_DATA_MIN_CELL", 5)

    # Sign-in hardening (issues 9 and 19, OWASP ASVS V2/V3): per-source delays, throttling,
    # absolute session age (docs/SECURITY.md).
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)  # per account and source
    LOGIN_ACCOUNT_MAX_FAILURES = _int("LOGIN_ACCOUNT_MAX_FAILURES", 20)  # from unknown browsers
    LOGIN_DELAY_SECONDS = _int("LOGIN_DELAY_SECONDS", 60)  # first wait; doubles per failure
    LOGIN_DELAY_MAX_MINUTES = _int("LOGIN_DELAY_MAX_MINUTES", 60)
    LOGIN_DEVICE_COOKIE_DAYS = _int("LOGIN_DEVICE_COOKIE_DAYS", 180)
    LOGIN_RATE_LIMIT_IP = os.environ.get("LOGIN_RATE_LIMIT_IP", "10 per minute")
    SESSION_ABSOLUTE_HOURS = _int("SESSION_ABSOLUTE_HOURS", 12)


class DevelopmentConfig(Config):
    APP_ENV = "development"
    DEBUG = False
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
    WTF_CSRF_ENABLED = False
    SCHEDULER_ENABLED = False
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing in tests only
    SURVEY_MIN_SECONDS = 0  # test clients answer at once; the speed-hold tests set it


class ProductionConfig(Config):
    APP_ENV = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)
    SECRET_KEY = os.environ.get("SECRET_KEY")  # or SECRET_KEY_FILE: required, checked in create_app

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 1800}


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS.get(os.environ.get("APP_ENV", "development"), DevelopmentConfig)
