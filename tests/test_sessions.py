"""Issue 19 item 4: the server ends sessions (sign-out, password change, deactivation).

A session carries the user's ``session_version``; sign-out, a password change or reset and a
deactivation increase it, so every copy of an older cookie is refused, and a session without
the stamp is refused too.
"""

from __future__ import annotations

from app.domain import accounts
from app.extensions import db
from app.models import User
from tests.factories import PASSWORD


def _copy_session(source, target) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def _signed_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def test_a_copied_cookie_dies_with_sign_out(app, client, world):
    assert client.post("/login", data={"email": "ta@test.co", "password": PASSWORD}).status_code == 302
    thief = app.test_client()
    _copy_session(client, thief)
    assert _signed_in(thief)
    assert client.post("/logout").status_code == 302
    assert not _signed_in(thief)
    assert not _signed_in(client)


def test_a_session_without_the_stamp_is_refused(app, client, world):
    with client.session_transaction() as session:
        session["_user_id"] = str(world.territorial_a.id)
        session["_fresh"] = True
    assert not _signed_in(client)


def test_a_session_with_an_old_stamp_is_refused(app, client, world, auth):
    auth.login(world.territorial_a)
    assert _signed_in(client)
    with client.session_transaction() as session:
        session["_sv"] = session["_sv"] - 1
    assert not _signed_in(client)


def test_password_change_and_deactivation_end_copied_sessions(app, client, world):
    assert client.post("/login", data={"email": "ta@test.co", "password": PASSWORD}).status_code == 302
    thief = app.test_client()
    _copy_session(client, thief)
    changed = client.post(
        "/account/password", data={"current": PASSWORD, "new": "otra-clave-2025", "confirm": "otra-clave-2025"}
    )
    assert changed.status_code == 302
    assert _signed_in(client) and not _signed_in(thief)

    _copy_session(client, thief)
    assert _signed_in(thief)
    accounts.set_active(db.session.get(User, world.territorial_a.id), False, actor=world.admin)
    db.session.commit()
    assert not _signed_in(thief) and not _signed_in(client)
