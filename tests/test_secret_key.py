"""Issue 19 item 7: no public secret key outside the test configuration.

A session signed with the old development key gave admin access wherever ``APP_ENV`` was not
exactly ``production``. Now a known public key is refused at start-up (except in tests);
production needs ``SECRET_KEY`` (or ``SECRET_KEY_FILE``); development without one generates
a random key once and keeps it in ``instance/secret_key`` (what ``make run`` uses).
"""

from __future__ import annotations

import stat

import pytest
from flask.sessions import SecureCookieSessionInterface

from app.extensions import db
from config import DevelopmentConfig, ProductionConfig
from tests.conftest import make_app

OLD_DEFAULT = "dev-insecure-key-change-me"


_APPS: list = []


@pytest.fixture(autouse=True)
def _dispose_engines():
    """These apps are not in testing mode: close their connections when the test ends, or a
    pooled psycopg connection is collected, still open, inside a later test."""
    yield
    while _APPS:
        app = _APPS.pop()
        with app.app_context():
            db.engine.dispose()


def _app(database_url, tmp_path, config_class, **overrides):
    settings = {
        "CONFIG_CLASS": config_class,
        "SCHEDULER_ENABLED": False,
        # Outside testing, the first request starts the coverage warm-up thread, which would
        # outlive the test with a connection of its own.
        "COVERAGE_CACHE_SECONDS": 0,
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
    }
    settings.update(overrides)
    app = make_app(database_url, tmp_path, **settings)
    _APPS.append(app)
    return app


@pytest.mark.parametrize("config_class", [DevelopmentConfig, ProductionConfig])
@pytest.mark.parametrize("key", [OLD_DEFAULT, "testing-secret-key"])
def test_a_public_key_is_refused(_schema, tmp_path, config_class, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        _app(_schema, tmp_path, config_class, SECRET_KEY=key)


def test_production_without_a_key_refuses_to_start(_schema, tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        _app(_schema, tmp_path, ProductionConfig, SECRET_KEY=None)


def test_production_reads_the_key_file(_schema, tmp_path):
    (tmp_path / "secret_key").write_text("k" * 64 + "\n")
    app = _app(_schema, tmp_path, ProductionConfig, SECRET_KEY=None)
    assert app.secret_key == "k" * 64


def test_development_generates_and_keeps_its_own_key(_schema, tmp_path):
    first = _app(_schema, tmp_path, DevelopmentConfig, SECRET_KEY=None)
    key_file = tmp_path / "secret_key"
    assert len(first.secret_key) >= 64 and first.secret_key != OLD_DEFAULT
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = _app(_schema, tmp_path, DevelopmentConfig, SECRET_KEY=None)
    assert again.secret_key == first.secret_key  # kept: sessions survive a restart


def test_a_session_forged_with_the_old_key_is_not_admin(_schema, tmp_path, world):
    app = _app(_schema, tmp_path, DevelopmentConfig, SECRET_KEY=None)

    class Forger:
        secret_key = OLD_DEFAULT
        config = app.config

    forged = (
        SecureCookieSessionInterface()
        .get_signing_serializer(Forger)
        .dumps({"_user_id": str(world.admin.id), "_fresh": True, "_auth_at": 1e12, "_sv": 0})
    )
    client = app.test_client()
    client.set_cookie("session", forged)
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
