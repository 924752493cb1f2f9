"""Issue 9: hostile input — 4xx with a clear message, never a 500, nothing written (OWASP ASVS V5).

Property tests (hypothesis, small example counts) plus a corpus of nasty values: broken JSON,
wrong types, huge strings, null bytes, markup, SQL, path traversal in file names.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Evidence, Song, User
from tests.factories import PASSWORD, make_song

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CORPUS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "A" * 100_000,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1",
    "1; DROP TABLE songs; --",
    "../../../../etc/passwd",
    "%00",
    "%2e%2e%2f",
    '=HYPERLINK("http://x")',
    "\u202etxt.exe",
    "😀" * 1000,
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "[]",
    "{}",
    "true",
    "2024-02-30",
    "30/02/2024",
    "\r\n\r\nSet-Cookie: x=1",
    "²",  # str.isdigit() is True, int() refuses it
    "١٢",  # Arabic-Indic digits: int() accepts them
    "9" * 30,  # beyond a 64-bit integer column
]
JSON_VALUES = [None, True, False, 0, -1, 2**63, 1.5, float("1e308"), [], {}, [1, 2], {"a": 1}] + CORPUS

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(CORPUS),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


def _counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Song)),
        db.session.scalar(select(func.count()).select_from(User)),
        db.session.scalar(select(func.count()).select_from(Evidence)),
    )


def _clear_message(response) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    if response.is_json:
        data = response.get_json()
        assert isinstance(data.get("error"), str) and data["error"]


# --------------------------------------------------------------------------- sign-in


@SETTINGS
@given(
    email=st.one_of(st.text(max_size=400), st.sampled_from(CORPUS)),
    password=st.one_of(st.text(max_size=400), st.sampled_from(CORPUS)),
)
def test_login_form_never_500(client, world, email, password):
    before = _counts()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code in (400, 401, 422), response.status_code
    assert _counts() == before
    db.session.rollback()


@pytest.mark.parametrize("value", CORPUS)
def test_login_corpus(client, world, value):
    response = client.post("/login", data={"email": value, "password": value})
    assert response.status_code in (400, 401, 422)
    if "\x00" in value:  # refused before the form: nothing is echoed
        assert value not in response.get_data(as_text=True)
    else:  # the e-mail comes back in its field for correction, HTML-escaped
        assert f'value="{escape(value)}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [v for v in CORPUS if str(escape(v)) != v])
def test_login_never_echoes_markup(client, world, value):
    """Only the values that escaping changes: for each of them the raw text must be absent."""
    response = client.post("/login", data={"email": value, "password": value})
    assert value not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- API tokens


@SETTINGS
@given(body=json_values)
def test_api_tokens_any_json(client, world, body):
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code in (400, 401, 422), response.status_code
    _clear_message(response)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b"\x00\x01",
        b'{"email": "ta@test.co", "password": ',
        b"[" * 5000,
        '{"email": "\udcff"}'.encode("utf-8", "surrogatepass"),
    ],
)
def test_api_tokens_broken_json(client, world, raw):
    response = client.post("/api/v1/tokens", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    _clear_message(response)


# --------------------------------------------------------------------------- API bodies


@pytest.fixture
def song_a(world):
    return make_song(world)


@pytest.fixture
def bearer(client, world):
    token = client.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


SONG_FIELDS = (
    "artist_id",
    "album_id",
    "municipality_id",
    "scope",
    "planned_start",
    "due_date",
    "beneficiaries",
    "product",
)


@SETTINGS
@given(body=st.dictionaries(st.sampled_from(SONG_FIELDS + ("to", "version", "x")), json_values, max_size=7))
def test_api_create_song_hostile(client, world, bearer, body):
    before = _counts()
    response = client.post("/api/v1/songs", json=body, headers=bearer)
    _clear_message(response)
    if response.status_code >= 400:
        assert _counts() == before
    db.session.rollback()


@pytest.mark.parametrize("value", JSON_VALUES, ids=lambda v: repr(v)[:30])
def test_api_song_fields_corpus(client, world, bearer, song_a, value):
    before = _counts()
    body = {
        "artist_id": value,
        "album_id": world.album_inn.id,
        "municipality_id": world.mun_plain.id,
        "scope": value,
        "planned_start": value,
        "due_date": "2024-04-01",
    }
    response = client.post("/api/v1/songs", json=body, headers=bearer)
    _clear_message(response)
    assert response.status_code in (400, 403, 404, 409, 422)
    assert _counts() == before
    version = db.session.get(Song, song_a.id).version
    patch = client.patch(f"/api/v1/songs/{song_a.id}", json={"scope": value, "version": value}, headers=bearer)
    _clear_message(patch)
    db.session.expire_all()
    if patch.status_code >= 400:
        assert db.session.get(Song, song_a.id).version == version
    transition = client.post(
        f"/api/v1/songs/{song_a.id}/transitions", json={"to": value, "diagnosis": value}, headers=bearer
    )
    _clear_message(transition)


@pytest.mark.parametrize("raw", [b"{", b"\x00", b"[1,2]", b'"text"', b"null", b"{" * 3000 + b"}" * 3000])
def test_api_broken_json_bodies(client, world, bearer, song_a, raw):
    for method, url in (
        ("POST", "/api/v1/songs"),
        ("PATCH", f"/api/v1/songs/{song_a.id}"),
        ("POST", f"/api/v1/songs/{song_a.id}/transitions"),
    ):
        response = client.open(url, method=method, data=raw, content_type="application/json", headers=bearer)
        assert response.status_code in (400, 422), (url, response.status_code)
        _clear_message(response)


@pytest.mark.parametrize("values", [(0, 6, None, 4.5, [], {}, "<b>", 2**70), ("²",)])
def test_review_scores_of_wrong_type(client, world, auth, values):
    song = make_song(world, artist=world.artist_b, state="delivered", delivered_on=date(2024, 3, 28))
    auth.login(world.coordinator)
    for value in values:
        body = {"pertinence": value, "rigour": 4, "usefulness": 4, "evidence": 4}
        response = client.post(f"/api/v1/songs/{song.id}/review", json=body)
        assert response.status_code in (400, 422), (value, response.status_code)
        _clear_message(response)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("review%"))) == 0


# --------------------------------------------------------------------------- query parameters

SONG_FILTERS = (
    "season",
    "label",
    "artist",
    "album",
    "department",
    "municipality",
    "state",
    "overdue",
    "q",
    "sort",
    "page",
)
LIST_ENDPOINTS = {
    "/songs": SONG_FILTERS,
    "/api/v1/songs": (*SONG_FILTERS, "per_page"),
    "/charts": ("season", "board", "page"),
    "/coverage": ("season", "sort", "dir"),
    "/coverage/gaps": ("season", "department", "scope"),
    "/admin/audit": ("entity_type", "entity_id", "actor", "action", "date_from", "date_to", "page"),
    "/admin/users": ("q", "role", "state", "page"),
    "/reviews": ("label", "department", "album", "page"),
    "/reviews/surveys": ("label", "season", "page"),
}


def _existing(app, path: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except Exception:
        return False
    return True


def test_every_list_endpoint_still_exists(app):
    """A renamed route fails here instead of silently dropping out of the hostile checks."""
    assert [path for path in sorted(LIST_ENDPOINTS) if not _existing(app, path)] == []


@pytest.mark.parametrize("path", sorted(LIST_ENDPOINTS))
def test_query_parameters_never_500(app, client, world, auth, path):
    assert _existing(app, path), f"{path} is not a route any more: update LIST_ENDPOINTS"
    make_song(world)
    auth.login(world.admin if path.startswith("/admin") else world.coordinator)
    names = LIST_ENDPOINTS[path]
    failures = []
    for name in names:  # the nastiest values, deterministically, on every parameter
        for value in ("²", "9" * 30, "-1", "\x00", "<script>", "' OR 1=1 --", "A" * 5000):
            response = client.get(path, query_string={name: value})
            if response.status_code >= 500:
                failures.append((name, value[:20], response.status_code))
    assert not failures, f"{path}: {failures}"

    @SETTINGS
    @given(
        params=st.dictionaries(
            st.sampled_from(names), st.one_of(st.sampled_from(CORPUS), st.text(max_size=50)), max_size=4
        )
    )
    def check(params):
        response = client.get(path, query_string=params)
        assert response.status_code < 500, (path, params, response.status_code)
        assert response.status_code in (200, 400, 404, 422), (path, params, response.status_code)

    check()


# --------------------------------------------------------------------------- HTML forms


def test_song_edit_form_without_version_is_not_500(client, world, auth):
    song = make_song(world)
    auth.login(world.territorial_a)
    response = client.post(f"/songs/{song.id}/edit", data={})
    assert response.status_code < 500


# --------------------------------------------------------------------------- oversize bodies


class TestOversize:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 4096}

    def test_html_413_friendly(self, client, world):
        response = client.post("/login", data={"email": "a@b.co", "password": "x" * 10_000})
        assert response.status_code == 413
        assert "tamaño máximo" in response.get_data(as_text=True)

    def test_api_413_json(self, client, world, bearer):
        response = client.post(
            "/api/v1/songs", data=b"{" + b" " * 10_000 + b"}", content_type="application/json", headers=bearer
        )
        assert response.status_code == 413
        assert "tamaño máximo" in response.get_json()["error"]
        assert _counts()[0] == 0


# --------------------------------------------------------------------------- uploads

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    "name",
    [
        "../../../../tmp/evil.pdf",
        "..\\..\\windows\\evil.pdf",
        "/etc/passwd.pdf",
        "a\x00b.pdf",
        "<script>.pdf",
        "x" * 500 + ".pdf",
        ".pdf",
        "...",
    ],
)
def test_upload_name_traversal(app, client, world, auth, tmp_path, name):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    folder = app.config["UPLOAD_FOLDER"]
    from pathlib import Path

    before_outside = set(Path(tmp_path).rglob("*")) - set(Path(folder).rglob("*"))
    response = client.post(
        f"/api/v1/songs/{song.id}/evidence",
        data={"file": (io.BytesIO(PDF), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code < 500
    after_outside = set(Path(tmp_path).rglob("*")) - set(Path(folder).rglob("*"))
    assert after_outside == before_outside
    for row in db.session.scalars(select(Evidence)).all():
        assert "/" not in row.original_name and "\\" not in row.original_name and "\x00" not in row.original_name
        assert ".." not in row.stored_name and "/" not in row.stored_name
        assert (Path(folder) / row.stored_name).resolve().parent == Path(folder).resolve()


def test_failed_upload_leaves_no_file(app, client, world, auth):
    """An upload refused after the bytes were read (wrong content) leaves nothing on disk."""
    from pathlib import Path

    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = set(folder.rglob("*")) if folder.exists() else set()
    response = client.post(
        f"/api/v1/songs/{song.id}/evidence",
        data={"file": (io.BytesIO(b"MZ\x90\x00 not a pdf" * 100), "acta.pdf")},
        content_type="multipart/form-data",
    )
    assert 400 <= response.status_code < 500
    assert (set(folder.rglob("*")) if folder.exists() else set()) == before
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


# --------------------------------------------------------------------------- output escaping


def test_markup_in_names_is_escaped(client, world, auth):
    world.label_a.name = "<script>alert('disquera')</script>"
    world.mun_plain.name = "<img src=x onerror=alert(1)>"
    world.artist_a.name = '"><svg onload=alert(2)>'
    db.session.commit()
    song = make_song(world)
    pages = {
        world.territorial_a: ["/songs", f"/songs/{song.id}", "/charts"],
        world.admin: ["/charts", "/admin/users", "/admin/audit"],
    }
    for user, paths in pages.items():
        auth.login(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (user.email, path, response.status_code)
            body = response.get_data(as_text=True)
            assert "<script>alert(" not in body, path
            assert "<img src=x onerror" not in body, path
            assert "<svg onload" not in body, path


def test_nul_characters_are_refused_everywhere(client, world, auth, bearer, song_a):
    """PostgreSQL cannot store NUL in text: refused up front with a 400 on every input channel."""
    auth.login(world.admin)
    assert client.get("/admin/users", query_string={"q": "a\x00b"}).status_code == 400
    assert client.post("/login", data={"email": "a\x00@b.co", "password": "x"}).status_code == 400
    response = client.patch(f"/api/v1/songs/{song_a.id}", json={"scope": "x\x00y", "version": 1}, headers=bearer)
    assert response.status_code == 400 and response.get_json()["error"]
    nested = client.post("/api/v1/songs", json={"a": [{"b": "\x00"}]}, headers=bearer)
    assert nested.status_code == 400
    assert db.session.get(Song, song_a.id).scope == "Asistencia de prueba"


# --------------------------------------------------------------------------- issue 19: redirects after sign-in

OFF_SITE_NEXT = [
    "//evil.example/x",
    "/\t/evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/ /evil.example",
    "javascript:alert(1)",
    "\t//evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE_NEXT)
def test_login_next_never_leaves_the_site(client, world, target):
    """Issue 19 item 1: ``/login?next=/%09/evil.example`` redirected to ``//evil.example``."""
    response = client.post("/login", query_string={"next": target}, data={"email": "ta@test.co", "password": PASSWORD})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//") and "evil" not in location, location


@pytest.mark.parametrize("target", OFF_SITE_NEXT)
def test_language_switch_next_never_leaves_the_site(client, world, target):
    response = client.post("/lang/es", data={"next": target})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//") and "evil" not in location, location


def test_login_next_with_an_encoded_tab_stays_on_site(client, world):
    """The report's exact request: the raw query ``next=/%09/evil.example``."""
    client.get("/login?next=/%09/evil.example")
    response = client.post("/login?next=/%09/evil.example", data={"email": "ta@test.co", "password": PASSWORD})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "evil" not in response.headers["Location"]


def test_same_site_next_is_kept(client, world):
    response = client.post("/login?next=/songs%3Fq%3Dx", data={"email": "ta@test.co", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/songs?q=x"
    assert client.post("/lang/en", data={"next": "/charts?season=2024"}).headers["Location"] == "/charts?season=2024"


@pytest.mark.parametrize("target", ["/songs\nSet-Cookie: x=1", "/songs\r\nX: y", "/a\x7fb"])
def test_control_characters_in_next_are_a_clear_400(client, world, target):
    """Issue 19 item 8: a newline in ``next`` gave a 500 (Werkzeug refuses it in a header)."""
    response = client.post("/login", query_string={"next": target}, data={"email": "ta@test.co", "password": PASSWORD})
    assert response.status_code == 400
    assert "dirección de regreso" in response.get_data(as_text=True)
    assert db.session.get(User, world.territorial_a.id).last_login_at is None  # not signed in
    response = client.post("/lang/es", data={"next": target})
    assert response.status_code == 400
    assert "dirección de regreso" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- issue 19 item 8: more 500s

LONE_SURROGATES = [
    b'{"email": "\\ud800@x.co", "password": "x"}',
    b'{"email": "a@x.co", "password": "\\udfff"}',
    b'{"\\ud83d": 1}',
]


@pytest.mark.parametrize("raw", LONE_SURROGATES)
def test_lone_surrogate_in_json_is_a_clear_400(client, world, raw):
    """``{"email":"\\ud800@x.co"}`` is valid JSON text but no database can store the string."""
    response = client.post("/api/v1/tokens", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "UTF-16" in response.get_json()["error"] or "carácter" in response.get_json()["error"]


def test_lone_surrogate_in_song_json_is_refused(client, world, bearer, song_a):
    before = _counts()
    response = client.post(
        "/api/v1/songs", data=b'{"scope": "a\\udc80b"}', content_type="application/json", headers=bearer
    )
    assert response.status_code == 400 and response.get_json()["error"]
    patch = client.patch(
        f"/api/v1/songs/{song_a.id}", data=b'{"scope": "\\ud800"}', content_type="application/json", headers=bearer
    )
    assert patch.status_code == 400
    assert _counts() == before


EARLY_DATES = ["0001-01-01", "0001-01-15", "0001-01-30", "0001-02-01"]


@pytest.mark.parametrize("day", EARLY_DATES)
def test_planned_start_in_year_one_is_a_clear_4xx(client, world, bearer, day):
    """Before: OverflowError (a date minus a month/business days before year 1) → 500."""
    body = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality_id": world.mun_plain.id,
        "scope": "Alcance",
        "planned_start": day,
        "due_date": "2024-03-01",
    }
    before = _counts()
    api = client.post("/api/v1/songs", json=body, headers=bearer)
    assert 400 <= api.status_code < 500, api.get_data(as_text=True)[:300]
    _clear_message(api)
    assert _counts() == before


@pytest.mark.parametrize("day", EARLY_DATES)
def test_planned_start_in_year_one_on_the_form_and_the_import(client, world, auth, day):
    from tests.test_imports import csv_bytes, row

    auth.login(world.territorial_a)
    form = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality": "medellin",
        "scope": "Alcance",
        "planned_start": day,
        "due_date": "2024-03-01",
    }
    before = _counts()
    response = client.post("/songs/new", data=form)
    assert 400 <= response.status_code < 500 or response.status_code == 200, response.status_code
    assert _counts() == before
    preview = client.post(
        "/songs/import/preview",
        data={"file": (io.BytesIO(csv_bytes([row(planned_start=day)])), "canciones.csv")},
        content_type="multipart/form-data",
    )
    assert 400 <= preview.status_code < 500, preview.status_code
    assert "planned_start" in preview.get_data(as_text=True)


# --------------------------------------------------------------------------- issue 19 item 11: bearer and CSRF


class TestBogusBearerOnACookieSession:
    """A cookie session plus ``Authorization: Bearer junk`` skipped the API's CSRF check."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize("header", ["Bearer junk", "Bearer ", "Bearer " + "x" * 300])
    def test_a_header_that_authenticates_nothing_does_not_exempt(self, client, world, auth, header):
        song = make_song(world)
        auth.login(world.territorial_a)
        response = client.patch(
            f"/api/v1/songs/{song.id}", json={"scope": "Cambiado sin CSRF"}, headers={"Authorization": header}
        )
        assert response.status_code == 400
        assert "CSRF" in response.get_json()["error"]
        assert db.session.get(Song, song.id).scope == "Asistencia de prueba"

    def test_a_real_token_without_cookies_is_exempt(self, client, world):
        song = make_song(world)
        token = client.post("/api/v1/tokens", json={"email": "ta@test.co", "password": PASSWORD}).get_json()["token"]
        assert client.get_cookie("session") is None
        response = client.patch(
            f"/api/v1/songs/{song.id}", json={"scope": "Con token"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200


# --------------------------------------------------------------------------- issue 19 item 10: import template


def test_import_template_neutralises_formula_like_names(client, world, auth):
    """An artist named ``=HYPERLINK(…)`` became a live formula in the XLSX template and raw in the CSV."""
    import csv as csv_module

    from openpyxl import load_workbook

    world.artist_a.name = '=HYPERLINK("http://evil.example","Equipo")'
    db.session.commit()
    auth.login(world.territorial_a)
    body = client.get("/songs/import/template?format=csv").get_data().decode("utf-8-sig")
    cells = [cell for line in csv_module.reader(io.StringIO(body)) for cell in line]
    assert '\'=HYPERLINK("http://evil.example","Equipo")' in cells
    assert not [cell for cell in cells if cell and cell[0] in "=+-@"]
    workbook = load_workbook(io.BytesIO(client.get("/songs/import/template?format=xlsx").get_data()))
    values = [cell for row in workbook["canciones"].iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in values)
    assert '\'=HYPERLINK("http://evil.example","Equipo")' in [cell.value for cell in values]
