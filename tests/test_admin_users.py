"""Issue 9: user administration (admin only, every action audited)."""

from __future__ import annotations

from sqlalchemy import select

from app.domain import accounts
from app.extensions import db
from app.models import AuditEvent, User
from tests.factories import PASSWORD


def _actions() -> list[str]:
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_admin_index_links(client, world, auth):
    auth.login(world.admin)
    body = client.get("/admin").get_data(as_text=True)
    for href in (
        "/admin/users",
        "/admin/audit",
        "/admin/albums",
        "/admin/artists",
        "/admin/seasons",
        "/admin/playlists",
    ):
        assert f'href="{href}"' in body


def test_only_admin_reaches_user_pages(client, world, auth):
    for user in (world.territorial_a, world.coordinator, world.manager):
        auth.login(user)
        assert client.get("/admin/users").status_code == 403
        assert client.post(f"/admin/users/{world.manager.id}/deactivate").status_code == 403
    auth.logout()
    assert client.get("/admin/users").status_code == 302


def test_users_list_search_and_pagination(app, client, world, auth):
    app.config["PAGE_SIZE"] = 2
    auth.login(world.admin)
    page1 = client.get("/admin/users").get_data(as_text=True)
    assert "Página 1 de 3" in page1
    found = client.get("/admin/users?q=GESTOR").get_data(as_text=True)
    assert "gestor@test.co" in found and "ta@test.co" not in found
    by_role = client.get("/admin/users?role=territorial").get_data(as_text=True)
    assert "ta@test.co" in by_role and "admin@test.co" not in by_role
    assert client.get("/admin/users?page=abc&role=<x>&state=zzz").status_code == 200


def test_create_territorial_user(client, world, auth):
    auth.login(world.admin)
    response = client.post(
        "/admin/users/new",
        data={
            "email": "Nueva@Test.co",
            "name": "Nueva Persona",
            "role": "territorial",
            "label": str(world.label_b.id),
            "password": "temporal-2025x",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).filter_by(email="nueva@test.co"))
    assert user.label_id == world.label_b.id and user.role == "territorial"
    assert user.password_hash != "temporal-2025x"
    event = db.session.scalar(select(AuditEvent).filter_by(action="user_created"))
    assert event.actor_id == world.admin.id and event.entity_id == user.id
    auth.logout()
    assert auth.login_with_password("nueva@test.co", "temporal-2025x").status_code == 302


def test_create_user_validation(client, world, auth):
    auth.login(world.admin)
    no_label = client.post(
        "/admin/users/new",
        data={"email": "x@test.co", "name": "X", "role": "territorial", "label": "", "password": "temporal-2025x"},
    )
    assert no_label.status_code == 422
    assert "necesita su disquera" in no_label.get_data(as_text=True)
    weak = client.post(
        "/admin/users/new",
        data={"email": "x@test.co", "name": "X", "role": "manager", "label": "", "password": "corta"},
    )
    assert weak.status_code == 422 and "al menos 10" in weak.get_data(as_text=True)
    dup = client.post(
        "/admin/users/new",
        data={"email": "GESTOR@test.co", "name": "X", "role": "manager", "label": "", "password": "temporal-2025x"},
    )
    assert dup.status_code == 422 and "Ya existe" in dup.get_data(as_text=True)
    bad_role = client.post(
        "/admin/users/new",
        data={"email": "y@test.co", "name": "Y", "role": "root", "label": "", "password": "temporal-2025x"},
    )
    assert bad_role.status_code == 422
    assert db.session.scalar(select(User).filter(User.email.in_(["x@test.co", "y@test.co"]))) is None
    assert "user_created" not in _actions()


def test_deactivate_needs_confirmation_page_then_blocks_sign_in(client, world, auth):
    auth.login(world.admin)
    confirm = client.get(f"/admin/users/{world.manager.id}/deactivate")
    assert confirm.status_code == 200 and "Sí, desactivar" in confirm.get_data(as_text=True)
    assert client.post(f"/admin/users/{world.manager.id}/deactivate").status_code == 302
    db.session.refresh(world.manager)
    assert world.manager.active is False
    auth.logout()
    assert auth.login_with_password("gestor@test.co").status_code == 401
    auth.login(world.admin)
    assert client.post(f"/admin/users/{world.manager.id}/reactivate").status_code == 302
    db.session.refresh(world.manager)
    assert world.manager.active is True
    assert [a for a in _actions() if a.startswith("user_")] == ["user_deactivated", "user_reactivated"]


def test_deactivation_ends_open_session_and_tokens(app, client, world, auth):
    manager_client = app.test_client()
    assert manager_client.post("/login", data={"email": "gestor@test.co", "password": PASSWORD}).status_code == 302
    token, _row = accounts.issue_token(world.manager)
    db.session.commit()
    auth.login(world.admin)
    client.post(f"/admin/users/{world.manager.id}/deactivate")
    assert manager_client.get("/account/password").status_code == 302
    assert accounts.user_for_token(token) is None


def test_admin_cannot_deactivate_self(client, world, auth):
    auth.login(world.admin)
    response = client.post(f"/admin/users/{world.admin.id}/deactivate", follow_redirects=True)
    assert "No puede desactivar su propia cuenta" in response.get_data(as_text=True)
    db.session.refresh(world.admin)
    assert world.admin.active is True


def test_reset_password_policy_and_audit(client, world, auth):
    auth.login(world.admin)
    weak = client.post(f"/admin/users/{world.coordinator.id}/password", data={"password": "abc"})
    assert weak.status_code == 422
    ok = client.post(f"/admin/users/{world.coordinator.id}/password", data={"password": "temporal-2025x"})
    assert ok.status_code == 302
    assert "password_reset" in _actions()
    auth.logout()
    assert auth.login_with_password("coord@test.co").status_code == 401
    assert auth.login_with_password("coord@test.co", "temporal-2025x").status_code == 302


def test_unknown_user_404(client, world, auth):
    auth.login(world.admin)
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/users/999999/unlock").status_code == 404
