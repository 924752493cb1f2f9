"""Issue 9: the permission matrix, generated from the URL map (DESIGN.md §1).

Every rule in ``app.url_map`` (except ``static``) × every method × every role is requested
and the observed status class is compared with the EXPECTED table below. A route missing
from the table FAILS the test, so no route slips in unreviewed; an entry for a route that
no longer exists fails too.

Roles, in the order of each table row:
    anon   no session
    own    territorial of label A, acting on label A's objects
    other  territorial of label A, acting on label B's objects
    mgr    manager
    coord  coordinator (no label)
    admin  admin

Status classes:
    ok     the permission check passed: 2xx, a 3xx not to the sign-in page, or a 400/409/422
           refusal of the (empty) input after the check
    auth   401, or a redirect to the sign-in page
    deny   403, or 404 (an object the role may not know exists)
    404    the object does not exist for anyone (only used for "no such object" rows)

A request is sent with an empty form (HTML) or an empty JSON object (API), the session
cookie of the role (CSRF off, as in the rest of the suite), and URL parameters filled
with the objects of a small fixture: a song of label A and one of label B (delivered,
with evidence, a pending due-date change and a survey link), their labels, artists,
departments, a playlist per label, the season, an album and a user.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from datetime import date

import pytest

from app import create_app
from app.domain import surveys
from app.extensions import db
from app.models import DueDateChange, Evidence, Notification, PendingChange, Playlist
from config import TestingConfig
from tests import factories
from tests.conftest import _empty_tables

ROLES = ("anon", "own", "other", "mgr", "coord", "admin")
SKIP_ENDPOINTS = {"static"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# Shorthands (one token per role, in ROLES order).
PUBLIC = "ok ok ok ok ok ok"
SIGNED_IN = "auth ok ok ok ok ok"
ADMIN_ONLY = "auth deny deny deny deny ok"
COORD_ONLY = "auth deny deny deny ok deny"
ADMIN_COORD = "auth deny deny deny ok ok"
READERS = "auth deny deny ok ok ok"  # manager, coordinator, admin (coverage)
SONG_READ = "auth ok deny ok ok ok"  # own label's songs; central roles all
SONG_WRITE = "auth ok deny deny ok deny"  # territorial own label, coordinator
TEAM_AND_COORD = "auth ok ok deny ok deny"  # territorial (any label: scoped inside), coordinator

EXPECTED: dict[str, str] = {
    # --- main, auth
    "GET main.index": SIGNED_IN,  # anonymous → sign-in page
    "GET main.healthz": PUBLIC,
    "GET favicon": PUBLIC,
    "POST main.set_language": PUBLIC,
    "GET auth.login": PUBLIC,
    # The installable app (issue 22): the worker, its manifest and the offline page are public;
    # the offline delivery form is the song's edit right; the session probe needs a session.
    "GET offline.service_worker": PUBLIC,
    "GET offline.manifest": PUBLIC,
    "GET offline.offline_page": PUBLIC,
    "GET offline.session_info": SIGNED_IN,
    "GET offline.deliver": SONG_WRITE,
    "POST auth.login": PUBLIC,  # empty form → 422, but reachable
    "POST auth.logout": SIGNED_IN,
    "GET auth.change_password": SIGNED_IN,
    # --- notifications (issue 18): everyone has their own list; one opens only their own
    "GET notifications.index": SIGNED_IN,
    "GET notifications.open_one": "auth ok deny deny deny deny",
    "POST notifications.mark_all_read": SIGNED_IN,
    "GET notifications.preferences": SIGNED_IN,
    "POST notifications.preferences": SIGNED_IN,
    "POST auth.change_password": SIGNED_IN,
    # --- admin: users and audit (issue 9)
    "GET admin.index": ADMIN_ONLY,
    "GET admin.users": ADMIN_ONLY,
    "GET admin.new_user": ADMIN_ONLY,
    "POST admin.new_user": ADMIN_ONLY,
    "GET admin.user_detail": ADMIN_ONLY,
    "GET admin.edit_user": ADMIN_ONLY,
    "POST admin.edit_user": ADMIN_ONLY,
    "GET admin.confirm_deactivate": ADMIN_ONLY,
    "POST admin.deactivate_user": ADMIN_ONLY,
    "POST admin.reactivate_user": ADMIN_ONLY,
    "POST admin.unlock_user": ADMIN_ONLY,
    "GET admin.locked_accounts": ADMIN_ONLY,  # issue 19: who is locked out, from where
    "POST admin.reset_password": ADMIN_ONLY,
    "GET admin.audit": ADMIN_COORD,
    "GET admin.audit_export": ADMIN_COORD,
    # --- admin: catalogues (admin); playlists = annual targets, set by coordinators too (DESIGN §1)
    "GET admin.albums": ADMIN_ONLY,
    "POST admin.albums": ADMIN_ONLY,
    "GET admin.edit_album": ADMIN_ONLY,
    "POST admin.edit_album": ADMIN_ONLY,
    "POST admin.toggle_album": ADMIN_ONLY,
    "GET admin.artists": ADMIN_ONLY,
    "POST admin.artists": ADMIN_ONLY,
    "GET admin.edit_artist": ADMIN_ONLY,
    "POST admin.edit_artist": ADMIN_ONLY,
    "POST admin.toggle_artist": ADMIN_ONLY,
    "GET admin.seasons": ADMIN_ONLY,
    "POST admin.seasons": ADMIN_ONLY,
    "GET admin.edit_season": ADMIN_ONLY,
    "POST admin.edit_season": ADMIN_ONLY,
    "GET admin.playlists": ADMIN_COORD,
    "POST admin.playlists": ADMIN_COORD,
    # --- songs (DESIGN §1, §3): territorial only on their own label; coordinators all; managers read
    "GET songs.list_songs": SIGNED_IN,  # scoped to the label inside for territorial users
    "GET songs.municipalities": SIGNED_IN,
    "GET songs.detail": SONG_READ,
    "GET songs.create": TEAM_AND_COORD,
    "POST songs.create": SONG_WRITE,  # "other": an artist of label B
    "GET songs.edit": SONG_WRITE,
    "POST songs.edit": SONG_WRITE,
    "POST songs.transition": SONG_WRITE,
    "POST songs.upload_evidence": SONG_WRITE,
    "POST songs.remove_evidence": SONG_WRITE,
    "GET songs.download_evidence": SONG_READ,
    "GET songs.preview_evidence": SONG_READ,
    "POST songs.request_due_date_change": SONG_WRITE,
    "GET songs.due_date_requests": TEAM_AND_COORD,  # a team reads its own label's requests
    "POST songs.decide_due_date": COORD_ONLY,
    # --- imports: a team (own label, checked per row) or a coordinator
    "GET imports.upload": TEAM_AND_COORD,
    "POST imports.preview": TEAM_AND_COORD,
    "POST imports.confirm": TEAM_AND_COORD,
    "GET imports.done": TEAM_AND_COORD,
    "GET imports.template": TEAM_AND_COORD,
    # --- reviews (coordinators; never their own label) and survey results
    "GET reviews.queue": COORD_ONLY,
    "GET reviews.pending_changes": COORD_ONLY,
    "POST reviews.decide_pending": COORD_ONLY,
    "POST songs.approve_late_cancellation": COORD_ONLY,
    "GET reviews.alerts": ADMIN_COORD,
    "GET reviews.alert_songs": ADMIN_COORD,  # ?label missing → 422 after the check
    "POST reviews.reassign": COORD_ONLY,
    "GET reviews.review": COORD_ONLY,
    "POST reviews.review": COORD_ONLY,
    "POST reviews.return_for_changes": COORD_ONLY,
    "GET reviews.survey_results": "auth deny deny ok ok deny",  # respondent data: coordinators only, inside
    # --- surveys: the municipality answers through a signed link (no account)
    "GET surveys.answer": PUBLIC,
    "POST surveys.answer": PUBLIC,
    "GET surveys.qr": SONG_READ,
    "GET surveys.print_sheet": SONG_READ,
    "POST surveys.regenerate": COORD_ONLY,  # the team only for the first link; the fixture already has one
    "POST surveys.validate_held": COORD_ONLY,  # held answers: coordinators outside the home directorate
    "POST surveys.discard_held": COORD_ONLY,
    # --- charts: every signed-in role watches the boards
    "GET charts.board": SIGNED_IN,
    "GET charts.tv": SIGNED_IN,
    "GET charts.label": SIGNED_IN,
    "GET charts.artist": SIGNED_IN,
    "GET charts.label_breakdown": SIGNED_IN,
    "GET charts.artist_breakdown": SIGNED_IN,
    "GET charts.album_breakdown": SIGNED_IN,
    "POST charts.recompute": ADMIN_COORD,
    # --- seasons (issue 16): everyone signed in sees them; coordinators close, confirm and
    # settle open songs; only the admin corrects a closed season. The fixture's season is
    # not closed, so it has no final standings yet (404 for everyone).
    "GET seasons.index": SIGNED_IN,
    "POST seasons.confirm": ADMIN_COORD,
    "GET seasons.close": ADMIN_COORD,
    "POST seasons.close": ADMIN_COORD,
    "GET seasons.end": ADMIN_COORD,
    "POST seasons.end": ADMIN_COORD,
    "GET seasons.correct": ADMIN_ONLY,
    "POST seasons.correct": ADMIN_ONLY,
    "GET seasons.final": "auth deny deny deny deny deny",
    "GET seasons.certificate": "auth deny deny deny deny deny",
    # --- coverage (managers, coordinators, admins) and open data (public)
    "GET coverage.summary": READERS,
    "GET coverage.department": READERS,
    "GET coverage.gaps": READERS,
    "GET coverage.targets": READERS,
    "GET coverage.impact_page": READERS,
    "GET coverage.export": READERS,
    "POST coverage.import_indicators": ADMIN_COORD,
    "GET coverage.reference": READERS,  # official figures, need score (issue 17)
    "POST coverage.import_categories": ADMIN_COORD,
    "POST coverage.need_weights": ADMIN_ONLY,
    "GET coverage.municipality": READERS,
    "GET coverage.municipal_map": READERS,
    "GET coverage.open_data": PUBLIC,
    "GET coverage.open_data_export": PUBLIC,
    # --- JSON API (same permissions as the UI)
    "POST api.create_token": PUBLIC,
    "GET api.open_coverage": PUBLIC,
    "GET api.list_seasons": SIGNED_IN,
    "GET api.list_labels": SIGNED_IN,
    "GET api.list_albums": SIGNED_IN,
    "GET api.list_artists": SIGNED_IN,
    "GET api.list_municipalities": SIGNED_IN,
    "GET api.list_songs": SIGNED_IN,
    "GET api.get_song": SONG_READ,
    "POST api.create_song": SONG_WRITE,
    "PATCH api.update_song": SONG_WRITE,
    "POST api.transition_song": SONG_WRITE,
    "POST api.add_evidence": SONG_WRITE,
    "POST api.sync_offline_delivery": SONG_WRITE,  # issue 22: a delivery recorded offline
    "DELETE api.remove_evidence": SONG_WRITE,
    "GET api.download_evidence": SONG_READ,
    "POST api.request_due_date_change": SONG_WRITE,
    "GET api.list_due_date_changes": COORD_ONLY,
    "POST api.decide_due_date_change": COORD_ONLY,
    "POST api.review_song": COORD_ONLY,
    "POST api.decide_held_survey": COORD_ONLY,
    "GET api.chart_labels": SIGNED_IN,
    "GET api.chart_artists": SIGNED_IN,
    "GET api.chart_albums": SIGNED_IN,
    "GET api.coverage_departments": READERS,
    "GET api.list_alerts": ADMIN_COORD,
    "GET api.list_pending_changes": COORD_ONLY,
    "POST api.decide_pending_change": COORD_ONLY,
    "POST api.approve_late_cancellation": COORD_ONLY,  # four eyes: asked here, confirmed by another
    "GET api.alert_songs": ADMIN_COORD,
}


# --------------------------------------------------------------------------- fixture world


@dataclass
class Scene:
    world: factories.World
    song: dict  # "A"/"B" → Song
    evidence: dict
    change: dict
    token: dict
    playlist: dict
    pending: dict
    notification: dict | None = None  # "A"/"B" → a notification of that label's territorial user


def _evidence(app, song, user) -> Evidence:
    name = f"{song.id:032x}"[-32:]
    row = Evidence(
        song_id=song.id,
        original_name="acta.pdf",
        stored_name=f"{name}.pdf",
        content_type="application/pdf",
        size_bytes=9,
        sha256="0" * 64,
        uploaded_by_id=user.id,
    )
    db.session.add(row)
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, row.stored_name), "wb") as fh:
        fh.write(b"%PDF-1.4\n")
    return row


def build_scene(app, *, charts: bool = False) -> Scene:
    world = factories.build_world()
    song, evidence, change, token, playlist, pending, notification = {}, {}, {}, {}, {}, {}, {}
    for key, artist, user in (("A", world.artist_a, world.territorial_a), ("B", world.artist_b, world.territorial_b)):
        s = factories.make_song(world, artist=artist, state="delivered", delivered_on=date(2024, 3, 28))
        surveys.issue_survey_nonce(s)
        evidence[key] = _evidence(app, s, user)
        change[key] = DueDateChange(
            song_id=s.id,
            requested_by_id=user.id,
            previous_due=s.due_date,
            proposed_due=date(2024, 5, 1),
            reason="Prueba",
        )
        db.session.add(change[key])
        playlist[key] = Playlist(season_id=world.season.id, label_id=artist.label_id, target=10)
        db.session.add(playlist[key])
        pending[key] = PendingChange(
            kind="survey_regenerate", song_id=s.id, label_id=s.label_id, requested_by_id=user.id
        )
        db.session.add(pending[key])
        notification[key] = Notification(
            kind="returned", event_key=f"matrix-{key}", recipient_key=f"user:{user.id}", user_id=user.id, song_id=s.id
        )
        db.session.add(notification[key])
        song[key] = s
    db.session.commit()
    for key in ("A", "B"):
        token[key] = surveys.survey_token(song[key])
    if charts:  # boards and breakdowns need a snapshot
        from app.domain.charts import recompute_charts

        recompute_charts(world.season, as_of=date(2024, 6, 1))
        db.session.commit()
    return Scene(world, song, evidence, change, token, playlist, pending, notification)


def _value(name: str, endpoint: str, scene: Scene, side: str):
    """The URL parameter ``name`` for ``endpoint``, taken from label ``side`` ("A" or "B")."""
    w = scene.world
    label = w.label_a if side == "A" else w.label_b
    specific = {
        ("main.set_language", "code"): "en",
        ("coverage.department", "code"): (w.dep_a if side == "A" else w.dep_b).code,
        ("coverage.municipality", "code"): (w.mun_plain if side == "A" else w.mun_b).code,
        ("coverage.export", "table"): "summary",
        ("coverage.open_data_export", "table"): "departments",
        ("songs.transition", "to"): "cancelled",
        ("reviews.decide_pending", "change_id"): scene.pending[side].id,
        ("api.decide_pending_change", "change_id"): scene.pending[side].id,
    }
    if (endpoint, name) in specific:
        return specific[(endpoint, name)]
    generic = {
        "song_id": scene.song[side].id,
        "evidence_id": scene.evidence[side].id,
        "change_id": scene.change[side].id,
        "notification_id": scene.notification[side].id,
        "token": scene.token[side],
        "label_id": label.id,
        "artist_id": (w.artist_a if side == "A" else w.artist_b).id,
        "album_id": w.album_inn.id,
        "season_id": w.season.id,
        "year": w.season.year,
        "playlist_id": scene.playlist[side].id,
        "user_id": w.manager.id,
        "department_id": (w.dep_a if side == "A" else w.dep_b).id,
        "municipality_id": (w.mun_plain if side == "A" else w.mun_b).id,
        "fmt": "csv",
        "to": "reviewed",
        "action": "validate",
        "kind": "held_survey",
        "code": label.code,
    }
    if name not in generic:
        raise KeyError(f"no fixture value for URL parameter <{name}> of {endpoint}: add one to _value()")
    return generic[name]


def _build_url(rule, scene: Scene, side: str) -> str:
    from flask import url_for

    values = {name: _value(name, rule.endpoint, scene, side) for name in rule.arguments}
    return url_for(rule.endpoint, **values)


def classify(response, endpoint: str = "", signed_in: bool = False) -> str:
    status = response.status_code
    if status == 401:
        return "auth"
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        if endpoint == "auth.logout" and signed_in:
            return "ok"  # signing out ends on the sign-in page
        return "auth" if "/login" in location else "ok"
    if status in (403, 404):
        return "deny"
    if status < 300 or status in (400, 409, 413, 422):
        return "ok"
    return f"status {status}"


def _cases():
    app = create_app({"CONFIG_CLASS": TestingConfig, "SQLALCHEMY_DATABASE_URI": "sqlite://", "UPLOAD_FOLDER": "/tmp"})
    cases = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        for method in sorted(rule.methods - IGNORED_METHODS):
            cases.append(f"{method} {rule.endpoint}")
    return cases


CASES = _cases()


def test_every_route_is_in_the_table():
    missing = [c for c in CASES if c not in EXPECTED]
    assert not missing, "routes without an EXPECTED entry (review them and add one):\n" + "\n".join(missing)


def test_no_stale_entries():
    stale = [k for k in EXPECTED if k not in CASES]
    assert not stale, f"EXPECTED names routes that no longer exist: {stale}"


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SCORES = {"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}


def _song_fields(scene: Scene, side: str) -> dict:
    w = scene.world
    return {
        "artist_id": (w.artist_a if side == "A" else w.artist_b).id,
        "album_id": w.album_inn.id,
        "municipality_id": (w.mun_plain if side == "A" else w.mun_b).id,
        "scope": "Alcance de prueba",
        "planned_start": "2024-05-01",
        "due_date": "2024-06-01",
    }


# A plausible body per write, so that a role's refusal is observed on the permission and not
# on an empty input (validation that runs before the permission check would hide it).
BODIES = {
    "POST api.create_song": lambda sc, side: _song_fields(sc, side),
    "PATCH api.update_song": lambda sc, side: {"scope": "Nuevo alcance", "version": sc.song[side].version},
    "POST api.transition_song": lambda sc, side: {"to": "cancelled", "reason": "Prueba"},
    "POST api.request_due_date_change": lambda sc, side: {"proposed_due": "2024-06-15", "reason": "Prueba"},
    "POST api.decide_due_date_change": lambda sc, side: {"approve": False, "comment": "No"},
    "POST api.review_song": lambda sc, side: dict(SCORES),
    "POST api.add_evidence": lambda sc, side: {"file": (io.BytesIO(PDF), "acta.pdf")},
    "POST songs.create": lambda sc, side: dict(_song_fields(sc, side), municipality="Medellín"),
    "POST songs.edit": lambda sc, side: dict(
        _song_fields(sc, side), municipality="Medellín", version=str(sc.song[side].version)
    ),
    "POST songs.transition": lambda sc, side: {"reason": "Prueba"},
    "POST songs.request_due_date_change": lambda sc, side: {"proposed_due": "2024-06-15", "reason": "Prueba"},
    "POST songs.decide_due_date": lambda sc, side: {"decision": "reject", "comment": "No"},
    "POST songs.upload_evidence": lambda sc, side: {"file": (io.BytesIO(PDF), "acta.pdf")},
    "POST reviews.review": lambda sc, side: dict(SCORES),
    "POST songs.approve_late_cancellation": lambda sc, side: {"reason": "public_order"},
    "POST api.approve_late_cancellation": lambda sc, side: {"reason": "public_order"},
    "POST seasons.end": lambda sc, side: {
        "song_id": sc.song[side].id,
        "action": "cancel",
        "reason": "Prueba de cierre",
    },
    "POST seasons.correct": lambda sc, side: {
        "song_id": sc.song[side].id,
        "what": "cancel",
        "reason": "Corrección de prueba",
    },
    "POST reviews.return_for_changes": lambda sc, side: {"return_comment": "Complete la evidencia."},
    "POST admin.reset_password": lambda sc, side: {"password": "temporal-2025x"},
    "POST auth.change_password": lambda sc, side: {
        "current": "x",
        "new": "otra-clave-2025",
        "confirm": "otra-clave-2025",
    },
}


def _request(client, case: str, url: str, api: bool, scene: Scene, side: str):
    method = case.split(" ", 1)[0]
    if method == "GET":
        return client.get(url)
    body = BODIES[case](scene, side) if case in BODIES else {}
    has_file = any(isinstance(v, tuple) for v in body.values())
    if api and not has_file:
        return client.open(url, method=method, json=body)
    return client.open(url, method=method, data=body, content_type="multipart/form-data" if has_file else None)


@pytest.mark.parametrize("case", CASES)
def test_permission_matrix(app, client, auth, case):
    method, endpoint = case.split(" ", 1)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    roles = {"anon": (None, "A"), "own": ("territorial_a", "A"), "other": ("territorial_a", "B")}
    roles.update({"mgr": ("manager", "A"), "coord": ("coordinator", "A"), "admin": ("admin", "A")})
    observed = {}
    scene, changed = None, False
    for role in ROLES:
        if scene is None or changed:
            if scene is not None:  # a write may have changed the world: start the next role afresh
                db.session.rollback()
                _empty_tables()
            scene = build_scene(app, charts="chart" in endpoint)
        name, side = roles[role]
        user = getattr(scene.world, name) if name else None
        if user is None:
            auth.logout()
        else:
            auth.login(user)
        with app.test_request_context():
            url = _build_url(rule, scene, side)
        db.session.expire_all()
        response = _request(client, case, url, rule.rule.startswith("/api/"), scene, side)
        observed[role] = classify(response, endpoint, user is not None)
        # Refused writes change nothing (all or nothing); an accepted one may have.
        changed = method != "GET" and response.status_code < 400
        db.session.rollback()
    row = " ".join(observed[r] for r in ROLES)
    if os.environ.get("MATRIX_DUMP"):  # MATRIX_DUMP=/tmp/rows.txt writes every observed row (table upkeep)
        with open(os.environ["MATRIX_DUMP"], "a", encoding="utf-8") as fh:
            fh.write(f'    "{case}": "{row}",\n')
    assert case in EXPECTED, f"{case} has no EXPECTED entry: review the route and add one (observed {row!r})"
    expected = dict(zip(ROLES, EXPECTED[case].split(), strict=True))
    mismatches = {r: (expected[r], observed[r]) for r in ROLES if expected[r] != observed[r]}
    assert not mismatches, (
        f"{case} {re.sub(r'<[^>]+>', '…', rule.rule)}: expected → observed {mismatches}\nobserved row: {row!r}"
    )


# --------------------------------------------------------------------------- segregation of duties

# Every route that reviews, corrects, returns, approves or regenerates something for a song: a
# coordinator whose home directorate is the song's label is refused with 403 and the reason
# (issue 15, DESIGN.md §9). The same request from a coordinator of the national office passes.
HOME_REFUSED = {
    "GET reviews.review": None,
    "POST reviews.review": None,
    "POST reviews.return_for_changes": None,
    "POST api.review_song": None,
    "POST api.transition_song": lambda sc, side: {"to": "returned", "comment": "Ajustar"},
    "POST songs.decide_due_date": None,
    "POST api.decide_due_date_change": lambda sc, side: {"approve": True},
    "POST surveys.regenerate": None,
    "POST reviews.reassign": None,
    "POST surveys.validate_held": None,
    "POST surveys.discard_held": None,
    "POST api.decide_held_survey": None,
    "POST songs.approve_late_cancellation": None,
    "POST api.approve_late_cancellation": None,
}


@pytest.mark.parametrize("case", sorted(HOME_REFUSED))
def test_home_directorate_is_refused_on_every_duty_route(app, client, auth, case):
    method, endpoint = case.split(" ", 1)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    scene = build_scene(app)
    coordinator = scene.world.coordinator
    coordinator.home_labels = [scene.world.label_a]
    db.session.commit()
    auth.login(coordinator)
    with app.test_request_context():
        url = _build_url(rule, scene, "A")
    body = HOME_REFUSED[case]
    if body is not None:
        response = client.open(url, method=method, json=body(scene, "A"))
    else:
        response = _request(client, case, url, rule.rule.startswith("/api/"), scene, "A")
    assert response.status_code == 403, (case, response.status_code)
    text = response.get_json()["error"] if response.is_json else response.get_data(as_text=True)
    assert "dirección de origen" in text
    # the national office (no home directorate) passes the same check
    coordinator.home_labels = []
    db.session.commit()
    db.session.expire_all()
    if body is not None:
        response = client.open(url, method=method, json=body(scene, "A"))
    else:
        response = _request(client, case, url, rule.rule.startswith("/api/"), scene, "A")
    assert classify(response, endpoint, True) == "ok", (case, response.status_code)
