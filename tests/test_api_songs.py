"""JSON API for songs (DESIGN.md §8): same rules and permissions as the UI."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Evidence, Song
from tests.factories import make_song

PDF = b"%PDF-1.7\n%%EOF\n"


def _new(world, **overrides):
    body = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality_id": world.mun_pdet.id,
        "scope": "Acompañamiento al plan de desarrollo",
        "planned_start": "2024-03-01",
        "due_date": "2024-03-22",
    }
    body.update(overrides)
    return body


def test_requires_auth(client, world):
    assert client.get("/api/v1/songs").status_code == 401


def test_list_items_carry_every_term_and_filters(client, auth, world):
    make_song(
        world,
        state="reviewed",
        delivered_on=date(2024, 3, 28),
        review=(4, 4, 4, 4),
        survey=(5, 5, 5, 5, 5),
        municipality=world.mun_pdet,
    )
    make_song(world, artist=world.artist_b)
    auth.login(world.coordinator)
    data = client.get(f"/api/v1/songs?label={world.label_a.id}&per_page=10").get_json()
    assert data["total"] == 1 and data["page"] == 1
    item = data["items"][0]
    for key in (
        "late_business_days",
        "T",
        "R",
        "S",
        "Q",
        "E",
        "points",
        "state",
        "due_date",
        "version",
        "municipality_code",
        "department_code",
        "label_code",
        "album_code",
        "survey_url",
    ):
        assert key in item, key
    # due 01/04/2024, delivered Thu 28/03 (Jueves Santo) → on time
    assert item["late_business_days"] == 0 and item["T"] == 1.0
    assert item["R"] == pytest.approx(0.75) and item["S"] == 1.0
    assert item["Q"] == pytest.approx(0.85) and item["E"] == pytest.approx(1.4)
    assert item["points"] == round(100 * (0.6 * 0.85 + 0.4 * 1.0) * 1.4 * 1.0)
    assert item["due_date"] == "2024-04-01"
    assert client.get("/api/v1/songs?department=08").get_json()["total"] == 1
    assert client.get("/api/v1/songs?municipality=05031&state=reviewed").get_json()["total"] == 1
    assert client.get("/api/v1/songs?season=2024&sort=-points").get_json()["total"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "",
        "q=medell",
        "q=abejorral",
        "q=producto",
        "department=05",
        "department=08",
        "municipality=05002",
        "state=planned&sort=municipality",
        "overdue=1",
        "season=2024&q=asistencia",
        "q=100%25",
        "season=2031",
    ],
)
def test_total_counts_exactly_the_listed_songs(client, auth, world, query):
    """The total is counted on songs alone (issue 4 follow-up); it must still match the items."""
    make_song(world, municipality=world.mun_plain)
    make_song(world, municipality=world.mun_cat5, state="in_progress", due=date(2024, 3, 20))
    make_song(world, municipality=world.mun_pdet, state="delivered", delivered_on=date(2024, 3, 28))
    make_song(world, artist=world.artist_b)
    db.session.commit()
    auth.login(world.coordinator)
    data = client.get(f"/api/v1/songs?per_page=200&{query}").get_json()
    assert data["total"] == len(data["items"]), query
    everything = client.get("/api/v1/songs?per_page=200").get_json()["items"]
    assert data["total"] <= len(everything) == 4
    auth.login(world.territorial_a)
    mine = client.get(f"/api/v1/songs?per_page=200&{query}").get_json()
    assert mine["total"] == len(mine["items"]) and all(i["label_code"] == world.label_a.code for i in mine["items"])


@pytest.mark.parametrize(
    "query",
    [
        "season=20x4",
        "state=done",
        "label=-1",
        "sort=evil",
        "overdue=maybe",
        "municipality=123",
        "page=abc",
        "per_page=100000",
    ],
)
def test_bad_filters_are_400_or_422_not_500(client, auth, world, query):
    auth.login(world.coordinator)
    response = client.get("/api/v1/songs?" + query)
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]


def test_territorial_only_sees_own_label(client, auth, world):
    mine = make_song(world)
    theirs = make_song(world, artist=world.artist_b)
    auth.login(world.territorial_a)
    ids = [s["id"] for s in client.get("/api/v1/songs").get_json()["items"]]
    assert ids == [mine.id]
    assert client.get(f"/api/v1/songs/{theirs.id}").status_code == 403
    assert client.get("/api/v1/songs/424242").status_code == 404


def test_create_returns_201_with_warnings(client, auth, world):
    auth.login(world.territorial_a)
    first = client.post("/api/v1/songs", json=_new(world))
    assert first.status_code == 201
    body = first.get_json()
    assert body["warnings"] == [] and body["song"]["state"] == "planned" and body["song"]["E"] == pytest.approx(1.4)
    second = client.post("/api/v1/songs", json=_new(world, planned_start="2024-03-20", due_date="2024-04-22"))
    assert second.status_code == 201
    warnings = second.get_json()["warnings"]
    assert [w["song_id"] for w in warnings] == [body["song"]["id"]]


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"due_date": "22/03/2024"}, "due_date"),
        ({"artist_id": "abc"}, "artist_id"),
        ({"scope": 12}, "scope"),
        ({"planned_start": None}, "planned_start"),
        ({"municipality_id": 10**12}, "municipality_id"),
    ],
)
def test_create_bad_values_give_422_per_field(client, auth, world, patch, field):
    auth.login(world.territorial_a)
    response = client.post("/api/v1/songs", json=_new(world, **patch))
    assert response.status_code == 422
    assert field in response.get_json()["details"]
    assert db.session.scalar(select(func.count(Song.id))) == 0


def test_create_bad_body_is_400(client, auth, world):
    auth.login(world.territorial_a)
    assert client.post("/api/v1/songs", data="nope", content_type="application/json").status_code == 400
    assert client.post("/api/v1/songs", json=[1, 2]).status_code == 400


def test_permissions_on_writes(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_b)
    assert client.post("/api/v1/songs", json=_new(world)).status_code == 403
    assert client.patch(f"/api/v1/songs/{song.id}", json={"scope": "x"}).status_code == 403
    assert (
        client.post(f"/api/v1/songs/{song.id}/transitions", json={"to": "cancelled", "reason": "x"}).status_code == 403
    )
    auth.login(world.manager)
    assert client.get(f"/api/v1/songs/{song.id}").status_code == 200
    assert client.post("/api/v1/songs", json=_new(world)).status_code == 403
    assert client.patch(f"/api/v1/songs/{song.id}", json={"scope": "x"}).status_code == 403
    assert (
        client.post(f"/api/v1/songs/{song.id}/transitions", json={"to": "cancelled", "reason": "x"}).status_code == 403
    )
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "planned"


def test_patch_with_version_conflict_is_409(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_a)
    v = client.get(f"/api/v1/songs/{song.id}").get_json()["version"]
    ok = client.patch(f"/api/v1/songs/{song.id}", json={"scope": "Primera", "version": v})
    assert ok.status_code == 200 and ok.get_json()["song"]["version"] == v + 1
    stale = client.patch(f"/api/v1/songs/{song.id}", json={"scope": "Segunda", "version": v})
    assert stale.status_code == 409
    details = stale.get_json()["details"]
    assert details["fields"] == {"scope": "Primera"} and details["current_version"] == v + 1
    assert client.patch(f"/api/v1/songs/{song.id}", json={"version": "x"}).status_code == 422


def test_patch_due_date_after_planned_is_422(client, auth, world):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    response = client.patch(f"/api/v1/songs/{song.id}", json={"due_date": "2024-05-01"})
    assert response.status_code == 422 and "due_date" in response.get_json()["details"]


def test_full_lifecycle_over_api(client, auth, world):
    auth.login(world.territorial_a)
    song_id = client.post("/api/v1/songs", json=_new(world)).get_json()["song"]["id"]
    url = f"/api/v1/songs/{song_id}"
    assert client.post(url + "/transitions", json={"to": "delivered"}).status_code == 422
    assert client.post(url + "/transitions", json={"to": "reviewed"}).status_code == 422
    assert client.post(url + "/transitions", json={}).status_code == 422
    r = client.post(url + "/transitions", json={"to": "in_progress", "diagnosis": "Diagnóstico", "action_plan": "Plan"})
    assert r.status_code == 200 and r.get_json()["state"] == "in_progress"
    no_evidence = client.post(
        url + "/transitions", json={"to": "delivered", "delivered_on": "2024-04-01", "product": "P", "beneficiaries": 4}
    )
    assert no_evidence.status_code == 422 and "evidence" in no_evidence.get_json()["details"]
    up = client.post(
        url + "/evidence", data={"file": (io.BytesIO(PDF), "acta.pdf")}, content_type="multipart/form-data"
    )
    assert up.status_code == 201
    future = client.post(
        url + "/transitions", json={"to": "delivered", "delivered_on": "2999-01-01", "product": "P", "beneficiaries": 4}
    )
    assert future.status_code == 422 and "delivered_on" in future.get_json()["details"]
    negative = client.post(
        url + "/transitions",
        json={"to": "delivered", "delivered_on": "2024-04-01", "product": "P", "beneficiaries": -1},
    )
    assert negative.status_code == 422
    done = client.post(
        url + "/transitions", json={"to": "delivered", "delivered_on": "2024-04-01", "product": "P", "beneficiaries": 4}
    )
    assert done.status_code == 200
    body = done.get_json()
    # due Fri 22/03/2024 → Tue 26, Wed 27, Mon 01/04 (San José 25, Jueves/Viernes Santo 28–29)
    assert body["state"] == "delivered" and body["late_business_days"] == 3 and body["T"] == pytest.approx(0.85)
    assert body["survey_url"] and "/" in body["survey_url"]
    assert client.post(url + "/transitions", json={"to": "cancelled"}).status_code == 422
    assert client.post(url + "/transitions", json={"to": "cancelled", "reason": "Desistió"}).status_code == 200


def test_evidence_api_spoof_oversize_download_delete(client, auth, world, app):
    song = make_song(world)
    auth.login(world.territorial_a)
    url = f"/api/v1/songs/{song.id}/evidence"
    spoof = client.post(
        url, data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\0" * 64), "photo.jpg")}, content_type="multipart/form-data"
    )
    assert spoof.status_code == 422
    app.config["EVIDENCE_MAX_BYTES"] = 1000
    big = client.post(
        url, data={"file": (io.BytesIO(b"%PDF-" + b"0" * 2000), "big.pdf")}, content_type="multipart/form-data"
    )
    assert big.status_code == 422
    assert client.post(url, data={}, content_type="multipart/form-data").status_code == 400
    created = client.post(url, data={"file": (io.BytesIO(PDF), "acta.pdf")}, content_type="multipart/form-data")
    assert created.status_code == 201
    ev_id = created.get_json()["id"]
    got = client.get(f"{url}/{ev_id}")
    assert got.status_code == 200 and got.data == PDF and got.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in got.headers["Content-Disposition"]
    auth.login(world.territorial_b)
    assert client.get(f"{url}/{ev_id}").status_code == 403
    assert client.delete(f"{url}/{ev_id}").status_code == 403
    auth.login(world.territorial_a)
    assert client.get(f"{url}/999").status_code == 404
    assert client.delete(f"{url}/{ev_id}").status_code == 204
    assert db.session.scalar(select(func.count(Evidence.id))) == 0


def test_due_date_change_over_api(client, auth, world):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    bad = client.post(f"/api/v1/songs/{song.id}/due-date-changes", json={"proposed_due": "mañana"})
    assert bad.status_code == 422
    created = client.post(
        f"/api/v1/songs/{song.id}/due-date-changes", json={"proposed_due": "2024-04-22", "reason": "Paro armado"}
    )
    assert created.status_code == 201
    change_id = created.get_json()["id"]
    assert client.post(f"/api/v1/due-date-changes/{change_id}", json={"approve": True}).status_code == 403
    auth.login(world.coordinator)
    assert client.get("/api/v1/due-date-changes").get_json()["total"] == 1
    assert client.post(f"/api/v1/due-date-changes/{change_id}", json={"approve": "yes"}).status_code == 422
    assert client.post(f"/api/v1/due-date-changes/{change_id}", json={"approve": False}).status_code == 422
    decided = client.post(f"/api/v1/due-date-changes/{change_id}", json={"approve": False, "comment": "No procede"})
    assert decided.status_code == 200 and decided.get_json()["status"] == "rejected"
    assert client.get(f"/api/v1/songs/{song.id}").get_json()["due_date"] == "2024-04-01"


def test_odd_ids_and_fields_never_500(client, auth, world):
    song = make_song(world)
    auth.login(world.coordinator)
    assert client.get("/api/v1/songs/99999999999999999999").status_code == 404
    assert client.get(f"/api/v1/songs/{song.id}/evidence/99999999999999").status_code == 404
    assert client.post("/api/v1/due-date-changes/99999999999", json={"approve": True}).status_code == 404
    for body in (
        {"to": "cancelled", "reason": "x", "song": 1},
        {"to": "cancelled", "reason": "x", "actor": 1},
        {"to": 5},
        {"to": "in_progress", "diagnosis": {"a": 1}},
        {"to": "cancelled", "reason": ["x"]},
    ):
        response = client.post(f"/api/v1/songs/{song.id}/transitions", json=body)
        assert response.status_code == 422, body
    assert client.patch(f"/api/v1/songs/{song.id}", json={"state": "reviewed"}).status_code == 422
    assert client.patch(f"/api/v1/songs/{song.id}", json={"beneficiaries": True}).status_code == 422
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "planned"


@pytest.mark.parametrize("params", [{}, {"state": "planned"}, {"overdue": "1"}, {"q": "medell"}, {"season": "2024"}])
def test_urgency_pages_follow_the_full_urgency_order(app, world, params):
    """paginate_songs picks each "urgency" page per state from the indexes; pages laid end to
    end must be exactly the full ORDER BY of filter_songs (ties on due date included)."""
    from app.domain import song_queries

    # Few open songs, many closed ones: a page deep in the closed part reads fewer songs per
    # state than that state holds, so each state's own order matters.
    states = ["planned", "in_progress", "returned"] + ["reviewed"] * 12 + ["delivered"] * 6 + ["cancelled"] * 2
    for i in range(len(states)):
        state = states[i]
        due = date(2024, 3, 10 + (i * 7) % 12)  # repeated due dates: the id tie-break matters
        delivered = date(2024, 3, 9) if state in ("delivered", "reviewed") else None
        mun = world.mun_plain if i % 3 else world.mun_cat5
        make_song(world, state=state, due=due, delivered_on=delivered, municipality=mun)
    db.session.commit()
    reference = [s.id for s in db.session.scalars(song_queries.filter_songs(world.coordinator, params)).unique()]
    assert reference, params
    for per_page in (1, 4, 25):
        paged = []
        page = 1
        while True:
            result = song_queries.paginate_songs(world.coordinator, params, page=page, per_page=per_page)
            assert result.total == len(reference)
            if not result.items:
                break
            paged.extend(s.id for s in result.items)
            page += 1
        assert paged == reference, (params, per_page)
