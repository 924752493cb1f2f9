"""Issue 19 item 3: behind trusted reverse proxies the client's real address counts.

``TRUSTED_PROXIES`` (default 0: ``X-Forwarded-For`` is ignored, so nobody can spoof it) is the
number of proxies in front of the app; with it set, Werkzeug's ``ProxyFix`` puts the client's
address in ``REMOTE_ADDR``, which the rate limits and the audit trail read.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent

PROXY = "127.0.0.1"


def _fail(client, client_address: str):
    return client.post(
        "/login",
        data={"email": "nadie@test.co", "password": "x"},
        headers={"X-Forwarded-For": client_address},
        environ_base={"REMOTE_ADDR": PROXY},
    )


class TestBehindOneProxy:
    @pytest.fixture
    def app_config(self):
        return {"TRUSTED_PROXIES": 1, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_IP": "3 per minute"}

    def test_each_client_has_its_own_bucket_and_audit_address(self, client, world):
        for _ in range(3):
            assert _fail(client, "203.0.113.7").status_code == 401
        assert _fail(client, "203.0.113.7").status_code == 429
        assert _fail(client, "198.51.100.9").status_code == 401  # another client is not throttled
        addresses = set(db.session.scalars(select(AuditEvent.ip).where(AuditEvent.action == "login_failed")))
        assert addresses == {"203.0.113.7", "198.51.100.9"}

    def test_only_the_last_hop_is_trusted(self, client, world):
        """A client cannot pick its address: with one proxy, only the proxy's own entry counts."""
        for i in range(3):
            assert _fail(client, f"10.0.0.{i}, 203.0.113.8").status_code == 401
        assert _fail(client, "10.0.0.99, 203.0.113.8").status_code == 429


class TestWithoutProxies:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT_IP": "3 per minute"}

    def test_forwarded_header_is_ignored_by_default(self, client, world):
        for i in range(3):
            assert _fail(client, f"203.0.113.{i}").status_code == 401
        assert _fail(client, "203.0.113.50").status_code == 429
        addresses = set(db.session.scalars(select(AuditEvent.ip).where(AuditEvent.action == "login_failed")))
        assert addresses == {PROXY}
