"""Issue 9: sign-in hardening — lockout, throttling, sessions, own password, audit (ASVS V2/V3)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain import accounts
from app.domain.errors import ValidationFailed
from app.extensions import db
from app.models import ApiToken, AuditEvent, LoginThrottle
from app.models.base import utcnow
from tests.factories import PASSWORD


def _events(action: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)).all()


def test_sign_in_records_audit_and_makes_session_permanent(client, world, auth):
    response = auth.login_with_password("ta@test.co")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session.permanent
        assert session["_user_id"] == str(world.territorial_a.id)
        assert "_auth_at" in session
    (event,) = _events("login")
    assert event.actor_id == world.territorial_a.id and event.ip
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


def test_sign_in_clears_previous_session_content(client, world, auth):
    with client.session_transaction() as session:
        session["planted"] = "fixation"
        session["lang"] = "en"
    auth.login_with_password("ta@test.co")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("lang") == "en"


def test_failed_sign_in_is_generic_and_audited(client, world, auth):
    unknown = auth.login_with_password("nadie@test.co", "x")
    wrong = auth.login_with_password("ta@test.co", "wrong-password-1")
    assert unknown.status_code == wrong.status_code == 401
    body_unknown = unknown.get_data(as_text=True)
    body_wrong = wrong.get_data(as_text=True)
    assert "Correo o contraseña incorrectos" in body_unknown and "Correo o contraseña incorrectos" in body_wrong
    assert [e.changes["email"] for e in _events("login_failed")] == ["nadie@test.co", "ta@test.co"]
    db.session.refresh(world.territorial_a)
    assert world.territorial_a.failed_logins == 1


def test_lockout_after_repeated_failures_even_with_right_password(client, world, auth):
    """The failing source waits (issue 19: per account and source, see tests/test_lockout.py)."""
    for _ in range(5):
        assert auth.login_with_password("ta@test.co", "wrong-password-1").status_code == 401
    (row,) = db.session.scalars(select(LoginThrottle)).all()
    assert row.user_id == world.territorial_a.id and row.locked_until > utcnow()
    locked = auth.login_with_password("ta@test.co")
    assert locked.status_code == 401
    assert "Correo o contraseña incorrectos" in locked.get_data(as_text=True)
    # The API token endpoint shares the lockout.
    api = client.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD})
    assert api.status_code == 401


def test_lockout_expires(client, world, auth):
    world.territorial_a.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert auth.login_with_password("ta@test.co").status_code == 302


def test_admin_unlocks_account(client, world, auth):
    world.territorial_a.locked_until = utcnow() + timedelta(minutes=10)
    world.territorial_a.failed_logins = 3
    db.session.commit()
    auth.login(world.admin)
    response = client.post(f"/admin/users/{world.territorial_a.id}/unlock")
    assert response.status_code == 302
    db.session.refresh(world.territorial_a)
    assert world.territorial_a.locked_until is None and world.territorial_a.failed_logins == 0
    (event,) = _events("user_unlocked")
    assert event.actor_id == world.admin.id and event.entity_id == world.territorial_a.id
    auth.logout()
    assert auth.login_with_password("ta@test.co").status_code == 302


def test_successful_sign_in_resets_failure_count(client, world, auth):
    auth.login_with_password("ta@test.co", "wrong-password-1")
    auth.login_with_password("ta@test.co")
    db.session.refresh(world.territorial_a)
    assert world.territorial_a.failed_logins == 0


def test_inactive_user_cannot_sign_in(client, world, auth):
    world.manager.active = False
    db.session.commit()
    assert auth.login_with_password("gestor@test.co").status_code == 401


def test_open_redirect_refused(client, world):
    response = client.post("/login?next=//evil.example/x", data={"email": "ta@test.co", "password": PASSWORD})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_password_policy():
    with pytest.raises(ValidationFailed):
        accounts.check_password_policy("corta1")
    with pytest.raises(ValidationFailed):
        accounts.check_password_policy("solamenteletras")
    with pytest.raises(ValidationFailed):
        accounts.check_password_policy("1234567890123")
    with pytest.raises(ValidationFailed):
        accounts.check_password_policy("persona2024", email="persona2024@test.co")
    accounts.check_password_policy("una-clave-larga-7")


def test_hashes_use_scrypt_outside_tests(app):
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    assert accounts.hash_password("una-clave-larga-7").startswith("scrypt:")
    app.config.pop("PASSWORD_HASH_METHOD")
    assert accounts.hash_password("una-clave-larga-7").startswith("scrypt:")


def test_change_own_password_requires_current(client, world, auth):
    auth.login_with_password("ta@test.co")
    bad = client.post(
        "/account/password",
        data={"current": "not-it-123", "new": "otra-clave-2025", "confirm": "otra-clave-2025"},
    )
    assert bad.status_code == 422
    assert "La contraseña actual no es correcta" in bad.get_data(as_text=True)
    weak = client.post(
        "/account/password", data={"current": PASSWORD, "new": "solo-letras-x", "confirm": "solo-letras-x"}
    )
    assert weak.status_code == 422
    ok = client.post(
        "/account/password", data={"current": PASSWORD, "new": "otra-clave-2025", "confirm": "otra-clave-2025"}
    )
    assert ok.status_code == 302
    # This session continues; the user can sign in with the new password only.
    assert client.get("/account/password").status_code == 200
    assert len(_events("password_changed")) == 1
    auth.logout()
    assert auth.login_with_password("ta@test.co").status_code == 401
    assert auth.login_with_password("ta@test.co", "otra-clave-2025").status_code == 302


def test_password_change_ends_other_sessions_and_tokens(app, client, world):
    first, second = client, app.test_client()  # the client fixture set FreshUserClient
    assert first.post("/login", data={"email": "ta@test.co", "password": PASSWORD}).status_code == 302
    assert second.post("/login", data={"email": "ta@test.co", "password": PASSWORD}).status_code == 302
    token = first.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD}).get_json()["token"]
    changed = first.post(
        "/account/password", data={"current": PASSWORD, "new": "otra-clave-2025", "confirm": "otra-clave-2025"}
    )
    assert changed.status_code == 302
    assert first.get("/account/password").status_code == 200
    assert second.get("/account/password").status_code == 302  # back to the sign-in page
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked.is_(False))) == 0
    assert accounts.user_for_token(token) is None


def test_session_older_than_absolute_limit_is_refused(app, client, world, auth):
    auth.login_with_password("ta@test.co")
    with client.session_transaction() as session:
        session["_auth_at"] = session["_auth_at"] - 13 * 3600
    assert client.get("/account/password").status_code == 302


def test_logout_is_post_only_and_audited(client, world, auth):
    auth.login_with_password("ta@test.co")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert len(_events("logout")) == 1
    assert client.get("/account/password").status_code == 302


class TestThrottling:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_IP": "3 per minute", "LOGIN_MAX_FAILURES": 2}

    def test_per_address_limit_gives_429(self, client, world):
        for i in range(3):
            r = client.post(
                "/login", data={"email": f"x{i}@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
            )
            assert r.status_code == 401
        blocked = client.post(
            "/login", data={"email": "x9@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
        )
        assert blocked.status_code == 429
        assert "Demasiadas solicitudes" in blocked.get_data(as_text=True)
        # GET of the page is not throttled; another address is not affected.
        assert client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
        other = client.post(
            "/login", data={"email": "x9@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
        )
        assert other.status_code == 401

    def test_failures_from_other_addresses_do_not_keep_the_owner_out(self, client, world):
        """Issue 19: the former per-account limit (429 for everyone) let anyone lock an account."""
        for i in range(2):
            r = client.post(
                "/login",
                data={"email": "coord@test.co", "password": "wrong-1234x"},
                environ_base={"REMOTE_ADDR": f"10.1.0.{i}"},
            )
            assert r.status_code == 401
        blocked = client.post(
            "/login", data={"email": "COORD@test.co", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.1.0.9"}
        )
        assert blocked.status_code == 302


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs the Redis server on 127.0.0.1:6379")
class TestSharedRateLimitStore:
    """Production points RATELIMIT_STORAGE_URI at Redis so every gunicorn worker counts together."""

    @pytest.fixture
    def app_config(self):
        return {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT_IP": "3 per minute",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        }

    def test_the_counts_live_in_redis(self, client, world):
        import redis

        # A fresh address per run: counters outlive the test for their minute.
        address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
        store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        try:
            for i in range(3):
                r = client.post(
                    "/login", data={"email": f"r{i}@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": address}
                )
                assert r.status_code == 401
            assert list(store.scan_iter(match=f"*{address}*")), "no rate-limit counter in Redis"
            blocked = client.post(
                "/login", data={"email": "r9@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": address}
            )
            assert blocked.status_code == 429
        finally:
            for key in store.scan_iter(match=f"*{address}*"):
                store.delete(key)
            for key in store.scan_iter(match="*account:r*@test.co*"):
                store.delete(key)
            store.close()


class TestRateLimitStoreDown:
    """If the shared store stops answering, sign-in keeps working and is still throttled (per worker)."""

    @pytest.fixture
    def app_config(self):
        return {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT_IP": "3 per minute",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",  # nothing listens there
        }

    def test_falls_back_to_memory_without_500(self, client, world):
        for i in range(3):
            r = client.post(
                "/login", data={"email": f"d{i}@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": "10.9.1.1"}
            )
            assert r.status_code == 401
        blocked = client.post(
            "/login", data={"email": "d9@test.co", "password": "x"}, environ_base={"REMOTE_ADDR": "10.9.1.1"}
        )
        assert blocked.status_code == 429
