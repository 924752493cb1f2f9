"""The audit trail in words (issue 21): action names, names instead of ids, links to the
objects, filters, and the entry in the coordinators' and admins' menu."""

from __future__ import annotations

import re

from app.domain import audit, audit_trail
from app.extensions import db
from tests import factories


def _text(html: str) -> str:
    return re.sub(r" ([:,])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", html).split()))


def test_events_read_as_words_with_names_instead_of_ids(app, client, auth, world):
    song = factories.make_song(world)
    playlist = factories.add_playlist(world, world.label_a, 12, world.album_inn)
    audit.record(
        "playlist_target_set",
        "playlist",
        playlist.id,
        actor_id=world.coordinator.id,
        changes={
            "label_id": [world.label_a.id, world.label_a.id],
            "album_id": [None, world.album_inn.id],
            "target": [8, 12],
        },
    )
    audit.record(
        "song_transition",
        "song",
        song.id,
        actor_id=world.territorial_a.id,
        changes={"state": ["planned", "in_progress"]},
    )
    audit.record(
        "season_weights_changed",
        "season",
        world.season.id,
        actor_id=world.admin.id,
        changes={"index_quality_weight": [0.4, 0.45]},
    )
    audit.record("user_created", "user", world.manager.id, actor_id=world.admin.id, changes={"role": [None, "manager"]})
    db.session.commit()

    auth.login(world.admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    text = _text(html)
    assert "Meta fijada" in text and "playlist_target_set" not in text
    assert "meta: 8 → 12" in text
    assert f"álbum (línea temática): — → {world.album_inn.name}" in text
    assert world.label_a.name in text
    assert "estado: planeada → en curso" in text
    assert "0,4 → 0,45" in text, "numbers in es-CO"
    assert "rol: — → Gestión" in text
    assert "{&#34;" not in html and '{"label_id' not in html, "no raw JSON"
    # Links to the objects: the song page, and (for admins) the user's page.
    assert f'href="/songs/{song.id}"' in html
    assert f'href="/admin/users/{world.manager.id}"' in html
    # The filters offer the actions by name.
    assert '<option value="playlist_target_set" >Meta fijada</option>' in html.replace("  ", " ")

    auth.login(world.coordinator)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f'href="/songs/{song.id}"' in html
    assert f'href="/admin/users/{world.manager.id}"' not in html, "no link to a page coordinators cannot open"
    rows = _text(html[html.index("<tbody>") :])
    assert f"{world.admin.name} {world.admin.email} Usuario creado Usuario: {world.manager.name}" in rows


def test_filter_by_the_actors_name_and_by_object(client, auth, world):
    song = factories.make_song(world)
    audit.record("song_created", "song", song.id, actor_id=world.territorial_a.id, changes={"scope": [None, "x"]})
    audit.record("login", "user", world.admin.id, actor_id=world.admin.id)
    db.session.commit()
    auth.login(world.coordinator)
    html = client.get(f"/admin/audit?actor={world.territorial_a.name.split()[0]}").get_data(as_text=True)
    rows = _text(html[html.index("<tbody>") :])
    assert "Canción planeada" in rows and "Inicio de sesión" not in rows
    text = _text(client.get(f"/admin/audit?entity_type=song&entity_id={song.id}").get_data(as_text=True))
    assert "1 evento(s)" in text


def test_the_audit_is_in_the_menu_of_coordinators_and_admins_only(client, auth, world):
    for user, shown in (
        (world.coordinator, True),
        (world.admin, True),
        (world.manager, False),
        (world.territorial_a, False),
    ):
        auth.login(user)
        html = client.get("/songs").get_data(as_text=True)
        nav = html[html.index('class="main-nav"') : html.index("</nav>")]
        assert ('href="/admin/audit"' in nav) is shown, user.email


def test_the_song_history_uses_the_same_words(client, auth, world):
    song = factories.make_song(world)
    audit.record(
        "song_updated",
        "song",
        song.id,
        actor_id=world.territorial_a.id,
        changes={
            "artist_id": [world.artist_a.id, world.artist_a.id],
            "due_date": ["2024-04-01", "2024-04-15"],
            "version": [1, 2],
        },
    )
    db.session.commit()
    auth.login(world.territorial_a)
    text = _text(client.get(f"/songs/{song.id}").get_data(as_text=True))
    assert "Datos modificados" in text
    assert "fecha de compromiso: 01/04/2024 → 15/04/2024" in text
    assert f"artista (equipo): {world.artist_a.name} → {world.artist_a.name}" in text
    assert "version" not in text.lower().split("historial")[-1]
    assert "Ver en la auditoría" not in text, "territorial users have no audit page"


def test_unknown_codes_and_missing_objects_still_read(app, world):
    with app.test_request_context():
        assert audit_trail.action_name("something_new_happened") == "Something new happened"
        assert audit_trail.show_value("label_id", 99999, {"label_id": {}}) == "#99999 (ya no existe)"
        assert audit_trail.show_value("active", True) == "sí"
        assert audit_trail.show_value("when", "2024-03-05T10:00:00") == "05/03/2024"


def _recorded_in_the_code():
    """Every action, entity type and change key the app writes as a literal (audit.record,
    lifecycle._record and the importer's bulk history rows), read from the source."""
    import ast
    from pathlib import Path

    actions, types, keys = set(), set(), set()
    for path in Path(audit_trail.__file__).resolve().parents[1].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "audit":
                    name = func.attr
                else:
                    name = getattr(func, "id", "")
                if name not in ("record", "_record") or not node.args:
                    continue
                if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    actions.add(node.args[0].value)
                if name == "record" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    types.add(node.args[1].value)
                for value in [kw.value for kw in node.keywords if kw.arg == "changes"] + node.args[1:]:
                    if isinstance(value, ast.Dict):
                        keys.update(k.value for k in value.keys if isinstance(k, ast.Constant))
            elif isinstance(node, ast.Dict):
                literal = {
                    k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)
                }
                action = literal.get("action")
                if isinstance(action, ast.Constant) and isinstance(action.value, str) and "entity_type" in literal:
                    actions.add(action.value)
    return actions, types, keys


def test_every_action_the_app_records_has_a_name_in_words(app):
    from app.domain import names

    actions, types, keys = _recorded_in_the_code()
    assert {"song_transition", "season_closed", "user_updated", "song_imported"} <= actions  # the scan works
    assert not sorted(actions - set(audit_trail.ACTION_NAMES)), "actions shown as codes"
    assert not sorted(types - set(audit_trail.ENTITY_NAMES)), "object types shown as codes"
    named = set(names.OTHER_FIELD_NAMES) | set(names.SONG_FIELD_NAMES) | audit_trail.HIDDEN_CHANGES
    assert not sorted(keys - named), "fields shown as codes"


def test_season_users_and_four_eyes_changes_read_as_words(app, client, auth, world):
    audit.record(
        "season_state_changed", "season", world.season.id, actor_id=None, changes={"state": ["open", "closing"]}
    )
    audit.record(
        "user_updated",
        "user",
        world.territorial_a.id,
        actor_id=world.admin.id,
        changes={"teams": [[], [world.artist_a.id]], "label_id": [world.label_b.id, world.label_a.id]},
    )
    audit.record(
        "change_pending",
        "song",
        factories.make_song(world).id,
        actor_id=world.coordinator.id,
        changes={"pending_change": [None, 1], "kind": [None, "earlier_delivery"]},
    )
    db.session.commit()
    auth.login(world.admin)
    text = _text(client.get("/admin/audit").get_data(as_text=True))
    assert "Cambio de estado de la temporada" in text and "estado: Abierta → En cierre" in text
    assert "Usuario modificado" in text and f"equipos: — → {world.artist_a.name}" in text
    assert "tipo de cambio: — → Fecha de entrega anterior a la ventana de declaración" in text
    assert "pending change" not in text.lower() and "user_updated" not in text
