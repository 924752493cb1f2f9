"""Messages of the domain and the API in the reader's language (issue 20): one ``_()``
(app.i18n), the song history, API errors and the 403 page read in English for an
English user; Spanish stays the default."""

from __future__ import annotations

import re
from pathlib import Path

from flask import g
from flask_babel import force_locale

from app.domain import audit, lifecycle
from app.extensions import db
from tests import factories
from tests.test_audit_trail import _text

ROOT = Path(__file__).resolve().parent.parent
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def _english(user) -> None:
    user.locale = "en"
    db.session.commit()


# --- the one _() -----------------------------------------------------------------------


def test_underscore_translates_in_a_request_and_is_spanish_elsewhere(app):
    from app.i18n import _

    with app.test_request_context("/", headers=EN):
        assert _("La canción no existe.") == "The song does not exist."
        assert (
            _("Una canción %(state)s ya no se puede modificar.", state="x")
            == "A song that is x can no longer be changed."
        )
    g.pop("_flask_babel", None)
    message = _("La canción no existe.")  # app context, no request: the default language, plain str
    assert type(message) is str and message == "La canción no existe."
    with force_locale("en"):  # e-mails in the recipient's language
        assert _("La canción no existe.") == "The song does not exist."


def test_lazy_tables_read_in_the_language_of_the_request(app):
    from app.domain import names
    from app.i18n import LazyText, _l

    assert isinstance(names.SONG_STATE_NAMES["planned"], LazyText)
    assert lifecycle.STATE_NAMES is names.SONG_STATE_NAMES, "one table"
    lazy = _l("planeada")
    with app.test_request_context("/", headers=EN):
        assert str(lazy) == "planned" and names.field_name("due_date") == "committed due date"
    g.pop("_flask_babel", None)
    with app.test_request_context("/"):
        assert str(lazy) == "planeada"


def test_lazy_text_is_escaped_in_templates(app):
    from flask import render_template_string

    from app.i18n import _l

    value = _l("la disquera «%(code)s» no existe.", code="<script>")
    with app.test_request_context("/"):
        html = render_template_string("{{ v }}", v=value)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_no_local_copies_of_underscore():
    copies = []
    for path in sorted((ROOT / "app").glob("**/*.py")):
        source = path.read_text(encoding="utf-8")
        if re.search(r"^\s*def _\(", source, re.M) or re.search(r"^_ = ", source, re.M):
            if path.name != "i18n.py":
                copies.append(str(path.relative_to(ROOT)))
    assert not copies, f"one _() in app/i18n.py; copies in {copies}"


# --- the song history ------------------------------------------------------------------


def test_the_song_history_reads_in_english_for_an_english_user(client, auth, world):
    song = factories.make_song(world)
    for action, changes in (
        ("song_transition", {"state": ["planned", "in_progress"]}),
        ("song_updated", {"diagnosis": [None, "x"]}),
    ):
        audit.record(action, "song", song.id, actor_id=world.territorial_a.id, changes=changes)
    db.session.commit()
    auth.login(world.territorial_a)
    spanish = _text(client.get(f"/songs/{song.id}").get_data(as_text=True))
    assert "estado: planeada → en curso" in spanish and "diagnóstico: — → x" in spanish

    _english(world.territorial_a)
    text = _text(client.get(f"/songs/{song.id}").get_data(as_text=True))
    assert "state: planned → in progress" in text
    assert "diagnosis: — → x" in text
    assert "estado:" not in text and "planeada" not in text and "diagnóstico" not in text


# --- API errors ------------------------------------------------------------------------


def test_api_errors_follow_accept_language(client, auth, world):
    auth.login(world.territorial_a)
    spanish = client.get("/api/v1/songs?page=abc").get_json()
    assert spanish["error"] == "El parámetro 'page' debe ser un número entero."
    english = client.get("/api/v1/songs?page=abc", headers=EN).get_json()
    assert english["error"] == "The parameter 'page' must be an integer."
    anonymous = client.post("/api/v1/tokens", json={"email": "x@y.co"}, headers=EN).get_json()
    assert anonymous["error"] == "Send 'email' and 'password' as text."
    assert anonymous["details"] == {"email": "required", "password": "required"}


def test_api_domain_errors_follow_the_users_saved_language(client, auth, world):
    song = factories.make_song(world, artist=world.artist_b, municipality=world.mun_b)
    auth.login(world.territorial_a)
    spanish = client.get(f"/api/v1/songs/{song.id}")
    assert spanish.status_code == 403 and spanish.get_json()["error"] == "Esta canción es de otra disquera."
    _english(world.territorial_a)  # no Accept-Language: the saved setting decides
    english = client.get(f"/api/v1/songs/{song.id}")
    assert english.status_code == 403 and english.get_json()["error"] == "This song belongs to another label."
    own = factories.make_song(world)
    db.session.commit()
    response = client.post(f"/api/v1/songs/{own.id}/transitions", json={"to": "delivered"})
    body = response.get_json()
    assert response.status_code == 422
    assert body["error"].startswith("Cannot go from “planned” to “delivered”."), body
    assert body["details"]["to"] == ["Current state: planned; allowed: in_progress, cancelled."]


def test_the_403_page_says_the_song_belongs_to_another_label_in_english(client, auth, world):
    song = factories.make_song(world, artist=world.artist_b, municipality=world.mun_b)
    auth.login(world.territorial_a)
    spanish = client.get(f"/songs/{song.id}")
    assert spanish.status_code == 403 and "Esta canción es de otra disquera." in spanish.get_data(as_text=True)
    english = client.get(f"/songs/{song.id}", headers=EN)
    page = english.get_data(as_text=True)
    assert english.status_code == 403
    assert "This song belongs to another label." in page and "otra disquera" not in page
