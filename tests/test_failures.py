"""Issue 9: failures — the database going away and coming back, atomic uploads."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy.engine import make_url

from app import create_app
from config import TestingConfig

DOWN_URL = "postgresql+psycopg://postgres:not-a-real-secret@127.0.0.1:1/nothing"


@pytest.fixture
def down_app(tmp_path):
    app = create_app(
        {
            "CONFIG_CLASS": TestingConfig,
            "UPLOAD_FOLDER": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": DOWN_URL,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}},
        }
    )
    return app


def _signed_in_client(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    return client


def test_healthz_503_when_database_is_gone(down_app):
    response = down_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unavailable"}


@pytest.mark.parametrize("path", ["/songs", "/admin", "/charts", "/account/password"])
def test_friendly_html_error_without_secrets(down_app, path):
    response = _signed_in_client(down_app).get(path)
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "base de datos" in body.lower()
    for leak in ("Traceback", "psycopg", "OperationalError", "not-a-real-secret", "127.0.0.1:1", "SELECT"):
        assert leak not in body
    assert response.headers["Content-Security-Policy"]


def test_api_gets_json_503(down_app):
    response = _signed_in_client(down_app).get("/api/v1/songs")
    assert response.status_code == 503
    data = response.get_json()
    assert "base de datos" in data["error"].lower() and "psycopg" not in str(data)


def test_sign_in_while_database_is_down(down_app):
    client = down_app.test_client()
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"email": "a@b.co", "password": "whatever-123"})
    assert response.status_code == 503


class _Proxy:
    """A TCP forwarder to the test database that can be cut and restored (the DB "goes away")."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(16)
        self.up = True
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the pipe thread shut it down already
            s.close()
        self.conns.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


def test_app_recovers_when_database_returns(_schema, tmp_path):
    """Cut every connection to PostgreSQL, then restore: pool_pre_ping reconnects, no restart."""
    url = make_url(_schema)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("needs a networked database (run with TEST_DATABASE_URL)")
    proxy = _Proxy(url.host or "127.0.0.1", url.port or 5432)
    app = None
    try:
        app = create_app(
            {
                "CONFIG_CLASS": TestingConfig,
                "UPLOAD_FOLDER": str(tmp_path),
                "SQLALCHEMY_DATABASE_URI": url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                    hide_password=False
                ),
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}},
            }
        )
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        proxy.cut()
        assert client.get("/healthz").status_code == 503
        assert client.get("/login").status_code == 200  # pages that need no data still work
        proxy.restore()
        assert client.get("/healthz").status_code == 200
    finally:
        if app is not None:
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
        proxy.close()


def test_upload_rolled_back_leaves_no_file(app, world):
    """A transaction that fails after the evidence file was written removes the file (atomic upload)."""
    import io
    from pathlib import Path

    from werkzeug.datastructures import FileStorage

    from app.domain import evidence as evidence_domain
    from app.extensions import db
    from tests.factories import make_song

    song = make_song(world, state="in_progress")
    folder = Path(app.config["UPLOAD_FOLDER"])
    pdf = FileStorage(io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"), filename="acta.pdf")
    row = evidence_domain.add_evidence(world.territorial_a, song, pdf)
    written = folder / row.stored_name
    assert written.exists()
    db.session.rollback()  # e.g. a later step of the same request failed
    assert not written.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".upload-")]


def _proxied_app(_schema, tmp_path, proxy):
    url = make_url(_schema)
    return create_app(
        {
            "CONFIG_CLASS": TestingConfig,
            "TESTING": False,  # as in production: nothing may escape to gunicorn's bare 500
            "PROPAGATE_EXCEPTIONS": False,
            # no coverage warm-up thread: it would race the cut and hold a connection of its own
            "COVERAGE_CACHE_SECONDS": 0,
            "UPLOAD_FOLDER": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}},
        }
    )


@pytest.mark.parametrize(
    "path,first",
    [
        ("/songs", 200),
        ("/charts", 200),
        ("/admin/users", 200),
        ("/api/v1/songs", 200),
        ("/no-such-page", 404),  # the error handler itself used to load the user
        ("/api/v1/no-such-resource", 404),
    ],
)
def test_signed_in_users_get_a_503_when_the_database_dies(_schema, tmp_path, world, path, first):
    """Issue 19 item 9: error handlers never touch the database; signed-in users get a 503."""
    url = make_url(_schema)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("needs a networked database (run with TEST_DATABASE_URL)")
    from tests.factories import PASSWORD

    proxy = _Proxy(url.host or "127.0.0.1", url.port or 5432)
    app = None
    try:
        app = _proxied_app(_schema, tmp_path, proxy)
        client = app.test_client()
        email = "admin@test.co" if path.startswith("/admin") else "coord@test.co"
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        assert client.get(path).status_code == first
        proxy.cut()
        response = client.get(path)
        api = path.startswith("/api/")
        assert response.mimetype == ("application/json" if api else "text/html")
        body = response.get_json()["error"] if api else response.get_data(as_text=True)
        if first == 404:
            assert response.status_code == 404, body[:300]
        else:
            assert response.status_code == 503, body[:300]
            assert response.headers["Retry-After"] and "base de datos" in body
        proxy.restore()
        assert client.get(path).status_code == first  # and back, still signed in
    finally:
        if app is not None:
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
        proxy.close()
