"""Issue 9: security headers on every kind of response, cookies, CSRF on every state change."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.security import CSP
from config import ProductionConfig
from tests.factories import PASSWORD

BASELINE = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _assert_headers(response):
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (response.request.path, name)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "Permissions-Policy" in response.headers


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/login", "text/html"),
        ("/healthz", "application/json"),
        ("/no-such-page", "text/html"),  # error page
        ("/api/v1/no-such", "application/json"),  # JSON error
        ("/api/v1/songs", "application/json"),  # 401 JSON
        ("/static/app.css", "text/css"),
        ("/static/app.js", "text/javascript"),
    ],
)
def test_headers_on_every_response_type(client, path, kind):
    response = client.get(path)
    assert response.mimetype == kind
    _assert_headers(response)


def test_headers_on_signed_in_pages_and_no_store(client, world, auth):
    auth.login(world.admin)
    response = client.get("/admin")
    assert response.status_code == 200
    _assert_headers(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_405_and_500_pages_carry_headers(app, client):
    @app.get("/boom-test")
    def boom():
        raise RuntimeError("secret-detail")

    _assert_headers(client.post("/healthz"))

    response = client.get("/boom-test")
    assert response.status_code == 500
    assert "secret-detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    _assert_headers(response)


def test_no_inline_script_or_style_in_pages(client, world, auth):
    for user, path in (
        (None, "/login"),
        (world.admin, "/admin"),
        (world.admin, "/admin/users"),
        (world.coordinator, "/admin/audit"),
    ):
        if user:
            auth.login(user)
        body = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\son[a-z]+=", body), path
        assert 'style="' not in body, path


def test_hsts_and_secure_cookies_in_production(tmp_path, world):
    app = create_app(
        {
            "CONFIG_CLASS": ProductionConfig,
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "UPLOAD_FOLDER": str(tmp_path),
            "SCHEDULER_ENABLED": False,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_session_lifetime_is_bounded(app):
    assert 0 < app.config["PERMANENT_SESSION_LIFETIME"] <= 12 * 3600


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def _token(client) -> str:
        body = client.get("/login").get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)

    def test_form_post_without_token_is_400(self, client, world):
        response = client.post("/login", data={"email": "ta@test.co", "password": PASSWORD})
        assert response.status_code == 400
        assert "expiró" in response.get_data(as_text=True)

    def test_form_post_with_token_works(self, client, world):
        token = self._token(client)
        response = client.post("/login", data={"email": "ta@test.co", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302

    def test_htmx_post_needs_header(self, client, world, auth):
        token = self._token(client)
        auth.login(world.admin)
        assert client.post("/logout", headers={"HX-Request": "true"}).status_code == 400
        ok = client.post("/lang/en", headers={"HX-Request": "true", "X-CSRFToken": token}, data={"next": "/admin"})
        assert ok.status_code == 302

    def test_every_html_state_changing_route_refuses_missing_token(self, app, client, world, auth):
        auth.login(world.admin)
        checked = 0
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.rule.startswith("/api/"):
                continue
            for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
                url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)
                response = client.open(url, method=method, data={})
                assert response.status_code == 400, (method, rule.rule, response.status_code)
                checked += 1
        assert checked >= 5

    def test_api_session_write_needs_header_bearer_does_not(self, client, world, auth):
        token = self._token(client)
        auth.login(world.territorial_a)
        no_header = client.post("/api/v1/songs", json={})
        assert no_header.status_code == 400
        assert "CSRF" in no_header.get_json()["error"]
        with_header = client.post("/api/v1/songs", json={}, headers={"X-CSRFToken": token})
        assert with_header.status_code != 400 or "CSRF" not in with_header.get_json()["error"]
        auth.logout()
        bearer = client.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD}).get_json()["token"]
        response = client.post("/api/v1/songs", json={}, headers={"Authorization": f"Bearer {bearer}"})
        assert "CSRF" not in (response.get_json() or {}).get("error", "")
