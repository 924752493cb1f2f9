"""Issue 19 item 2: nobody can keep a known user out by failing to sign in as them.

Failures are counted per account *and source* (an address, or a browser the account signed in
from before: its "known device" cookie). After ``LOGIN_MAX_FAILURES`` a source waits a delay
that doubles with each further failure; many failing addresses together lock the account
only for unknown browsers (``LOGIN_ACCOUNT_MAX_FAILURES``), never for a known one. An admin sees
the locked accounts and lifts the lock. The clock is the domain's ``utcnow``, moved by the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain import accounts
from app.extensions import db
from app.models import LoginThrottle, User
from app.models.base import utcnow
from tests.factories import PASSWORD

OWNER, ATTACKER = "10.0.0.5", "10.6.6.6"


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(accounts, "utcnow", clock)
    return clock


def _form(client, password, address, email="ta@test.co"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def _api(client, password, address, email="ta@test.co"):
    return client.post(
        "/api/v1/tokens", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_a_stranger_cannot_lock_the_owner_out(app, client, world, clock):
    """Before: five wrong passwords from anywhere locked the account for everyone, forever."""
    for i in range(30):
        attempt = (_form if i % 2 else _api)(client, f"wrong-password-{i}", ATTACKER)
        assert attempt.status_code == 401
    owner = app.test_client()
    assert _form(owner, PASSWORD, OWNER).status_code == 302
    assert _api(app.test_client(), PASSWORD, OWNER).status_code == 201


def test_the_failing_source_waits_a_doubling_delay(app, client, world, clock):
    for i in range(5):
        assert _form(client, f"wrong-password-{i}", ATTACKER).status_code == 401
    # Locked for this source: even the right password is refused, with the same message.
    refused = _form(client, PASSWORD, ATTACKER)
    assert refused.status_code == 401 and "Correo o contraseña incorrectos" in refused.get_data(as_text=True)
    clock.advance(61)
    assert _form(client, "wrong-password-5", ATTACKER).status_code == 401  # sixth failure: 2 minutes
    clock.advance(110)
    assert _form(client, PASSWORD, ATTACKER).status_code == 401
    clock.advance(15)
    assert _form(client, PASSWORD, ATTACKER).status_code == 302
    assert db.session.query(LoginThrottle).count() == 0  # a success forgets the source's failures


def test_the_token_endpoint_is_throttled_per_account(app, client, world, clock):
    """Before: POST /api/v1/tokens had only a per-address limit."""
    for i in range(5):
        assert _api(client, f"wrong-password-{i}", ATTACKER).status_code == 401
    assert _api(client, PASSWORD, ATTACKER).status_code == 401
    assert _api(client, PASSWORD, OWNER).status_code == 201


def test_many_sources_lock_unknown_browsers_only_and_an_admin_unlocks(app, client, world, auth, clock):
    owner = app.test_client()
    assert _form(owner, PASSWORD, OWNER).status_code == 302  # this browser is now a known device
    owner.post("/logout")
    for i in range(20):  # a botnet: one failure from each of 20 addresses
        assert _form(app.test_client(), "wrong-password-1", f"10.7.0.{i}").status_code == 401
    assert accounts.is_locked(db.session.get(User, world.territorial_a.id))
    assert _form(app.test_client(), PASSWORD, "10.8.0.1").status_code == 401  # an unknown browser waits
    assert _form(owner, PASSWORD, "10.9.0.1").status_code == 302  # the owner's browser, from anywhere

    for i in range(20):  # that sign-in reset the account-wide count: lock it again
        _form(app.test_client(), "wrong-password-1", f"10.7.1.{i}")
    auth.login(world.admin)
    page = client.get("/admin/locked")
    assert page.status_code == 200 and "ta@test.co" in page.get_data(as_text=True)
    assert client.post(f"/admin/users/{world.territorial_a.id}/unlock").status_code == 302
    assert _form(app.test_client(), PASSWORD, "10.8.0.2").status_code == 302


def test_admin_unlock_action_lifts_every_lock(app, client, world, auth, clock):
    for i in range(5):
        _form(client, f"wrong-password-{i}", ATTACKER)
    world.territorial_a.locked_until = clock.now + timedelta(minutes=30)
    db.session.commit()
    auth.login(world.admin)
    page = client.get("/admin/locked")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ta@test.co" in html and ATTACKER in html
    assert client.post(f"/admin/users/{world.territorial_a.id}/unlock").status_code == 302
    assert db.session.query(LoginThrottle).count() == 0
    assert db.session.get(User, world.territorial_a.id).locked_until is None
    assert _form(app.test_client(), PASSWORD, ATTACKER).status_code == 302


def test_locked_page_empty_state(client, world, auth):
    auth.login(world.admin)
    page = client.get("/admin/locked")
    assert page.status_code == 200 and "No hay cuentas bloqueadas" in page.get_data(as_text=True)
