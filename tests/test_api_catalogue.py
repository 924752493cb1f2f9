"""Catalogue API (DESIGN.md §8): seasons, labels, albums, artists, municipalities."""

from __future__ import annotations


def test_requires_authentication(client, world):
    response = client.get("/api/v1/labels")
    assert response.status_code == 401 and "error" in response.get_json()


def test_seasons_carry_every_weight(client, auth, world):
    auth.login(world.territorial_a)
    body = client.get("/api/v1/seasons").get_json()
    assert body["total"] == 1
    season = body["items"][0]
    assert season["year"] == 2024 and season["starts_on"] == "2024-01-01" and season["ends_on"] == "2024-12-31"
    assert season["weights"]["late_floor_days"] == 20
    assert season["weights"]["equity_cap"] == 1.5
    assert len(season["weights"]) == 19
    assert season["review_sla_days"] == 10 and season["declaration_window_days"] == world.season.declaration_window_days


def test_labels_with_department_codes(client, auth, world):
    auth.login(world.manager)
    items = client.get("/api/v1/labels").get_json()["items"]
    assert [(la["code"], la["departments"]) for la in items] == [("DT01", ["05"]), ("DT02", ["08"])]


def test_albums(client, auth, world):
    auth.login(world.coordinator)
    items = client.get("/api/v1/albums").get_json()["items"]
    assert [(a["code"], a["weight"], a["active"]) for a in items] == [("INN", 1.0, True), ("PAZ", 1.2, True)]


def test_artists_filtered_by_label(client, auth, world):
    auth.login(world.territorial_a)
    items = client.get("/api/v1/artists").get_json()["items"]
    assert [a["name"] for a in items] == ["Equipo Andino", "Equipo Costa"]
    only_b = client.get(f"/api/v1/artists?label={world.label_b.id}").get_json()["items"]
    assert only_b == [
        {
            "id": world.artist_b.id,
            "name": "Equipo Costa",
            "label_id": world.label_b.id,
            "label_code": "DT02",
            "active": True,
            "members": 1,
        }
    ]
    bad = client.get("/api/v1/artists?label=abc")
    assert bad.status_code == 400 and "label" in bad.get_json()["error"]
    assert client.get("/api/v1/artists?label=99999").status_code == 404


def test_municipalities_by_department_paginated_with_flags(client, auth, world):
    auth.login(world.territorial_a)
    body = client.get("/api/v1/municipalities?department=05&per_page=2").get_json()
    assert body["total"] == 3 and body["pages"] == 2 and len(body["items"]) == 2
    first = body["items"][0]
    assert first == {
        "id": world.mun_plain.id,
        "code": "05001",
        "name": "Medellín",
        "department": "05",
        "category": "1",
        "pdet": False,
        "pdet_subregion": None,
        "prioritised": False,
        "population": None,
    }
    prioritised = client.get("/api/v1/municipalities?department=05&prioritised=true").get_json()["items"]
    assert sorted(m["code"] for m in prioritised) == ["05002", "05031"]
    plain = client.get("/api/v1/municipalities?department=5&prioritised=false").get_json()["items"]
    assert [m["code"] for m in plain] == ["05001"]
    assert client.get("/api/v1/municipalities?pdet=1").get_json()["items"][0]["code"] == "05031"
    assert client.get("/api/v1/municipalities?q=bar").get_json()["items"][0]["name"] == "Baranoa"


def test_municipalities_bad_params(client, auth, world):
    auth.login(world.territorial_a)
    for query in ("department=Antioquia", "department=123", "prioritised=maybe", "page=0", "per_page=1000", "page=x"):
        response = client.get(f"/api/v1/municipalities?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]
    assert client.get("/api/v1/municipalities?department=99").status_code == 404


def test_hostile_query_values_never_500(client, auth, world):
    auth.login(world.admin)
    for url in (
        "/api/v1/municipalities?q=a%00b",
        "/api/v1/artists?label=99999999999999999999",
        "/api/v1/municipalities?department=%C2%B2",
        "/admin/artists?label=99999999999999999999",
        "/admin/artists?label=%C2%B2",
        "/admin/playlists?season=99999999999999999999",
        "/admin/albums/99999",
    ):
        assert client.get(url).status_code < 500, url
