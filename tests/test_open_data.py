"""Open data (DESIGN.md §1, §6): public, aggregates only, no personal data or free text."""

from __future__ import annotations

import csv
import io

import pytest

from app.extensions import db
from tests.test_coverage import build_coverage_data

# Every key the open data may carry: aggregates only. A new field must be added here on purpose.
ALLOWED_KEYS = {
    "season",
    "licence",
    "national",
    "departments",
    "albums",
    "value",
    "total",
    "share",
    "delivered",
    "municipalities",
    "prioritised",
    "quality",
    "satisfaction",
    "on_time",
    "department_code",
    "department",
    "prioritised_municipalities",
    "assisted_municipalities",
    "coverage",
    "prioritised_assisted",
    "prioritised_coverage",
    "delivered_songs",
    "album_code",
    "album",
    "reviewed_songs",
    "mean_quality",
    "mean_satisfaction",
    "on_time_rate",
    "suppressed",  # which means are withheld (fewer values than min_cell_size)
    "min_cell_size",
}


@pytest.fixture
def app_config():
    """The arithmetic of every figure, without the minimum cell size (the fixture has one or
    two surveys per cell; tests/test_privacy_roles.py checks the suppression)."""
    return {"OPEN_DATA_MIN_CELL": 1}


@pytest.fixture
def data(world):
    result = build_coverage_data(world)
    survey = result["songs"]["s1"].survey
    survey.comment = "Comentario privado del alcalde"
    survey.respondent_name = "Pedro Pérez"
    survey.respondent_position = "Secretario de Planeación"
    db.session.commit()
    return result


def _keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def test_open_api_json_is_public_and_aggregated(client, world, data):
    response = client.get("/api/v1/open/coverage?season=2024")
    assert response.status_code == 200
    body = response.get_json()
    assert body["season"] == 2024 and body["licence"] == "CC BY 4.0"
    assert body["national"]["municipalities"] == {"value": 2, "total": 5, "share": pytest.approx(0.4)}
    assert body["national"]["delivered"] == 3
    assert body["national"]["on_time"] == pytest.approx(2 / 3)
    dep = body["departments"][0]
    assert dep == {
        "department_code": "05",
        "department": "Antioquia",
        "municipalities": 3,
        "prioritised_municipalities": 2,
        "assisted_municipalities": 2,
        "coverage": pytest.approx(2 / 3),
        "prioritised_assisted": 1,
        "prioritised_coverage": 0.5,
        "delivered_songs": 3,
    }
    albums = {a["album_code"]: a for a in body["albums"]}
    assert albums["INN"]["delivered_songs"] == 2 and albums["INN"]["reviewed_songs"] == 2
    assert albums["INN"]["mean_quality"] == pytest.approx(0.75)
    assert albums["PAZ"] == {
        "album_code": "PAZ",
        "album": "Consolidación de la paz total",
        "delivered_songs": 1,
        "reviewed_songs": 0,
        "mean_quality": None,
        "mean_satisfaction": None,
        "suppressed": [],
        "on_time_rate": 0.0,
    }


def test_open_data_has_no_personal_data(client, world, data):
    body = client.get("/api/v1/open/coverage?season=2024").get_json()
    assert _keys(body) <= ALLOWED_KEYS, _keys(body) - ALLOWED_KEYS
    for url in (
        "/api/v1/open/coverage?season=2024",
        "/api/v1/open/coverage?season=2024&format=csv",
        "/open-data?season=2024",
    ):
        text = client.get(url).get_data(as_text=True)
        for secret in (
            "Pedro Pérez",
            "Comentario privado",
            "Secretario de Planeación",
            "ta@test.co",
            "Equipo Andino",
            "Territorial A",
        ):
            assert secret not in text, (url, secret)


def test_open_api_csv_departments_and_albums(client, world, data):
    response = client.get("/api/v1/open/coverage?season=2024&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == [
        "department_code",
        "department",
        "municipalities",
        "prioritised_municipalities",
        "assisted_municipalities",
        "coverage",
        "prioritised_assisted",
        "prioritised_coverage",
        "delivered_songs",
    ]
    assert rows[1] == ["05", "Antioquia", "3", "2", "2", "0.6667", "1", "0.5000", "3"]
    albums = list(
        csv.reader(
            io.StringIO(
                client.get("/api/v1/open/coverage?format=csv&table=albums&season=2024").get_data().decode("utf-8-sig")
            )
        )
    )
    assert albums[1][:4] == ["INN", "Innovación pública", "2", "2"]


def test_open_api_bad_parameters(client, world, data):
    assert client.get("/api/v1/open/coverage?season=abc").status_code == 400
    assert client.get("/api/v1/open/coverage?season=2099").status_code == 404
    assert client.get("/api/v1/open/coverage?format=pdf").status_code == 400
    assert client.get("/api/v1/open/coverage?format=csv&table=users").status_code == 400


def test_open_data_page_is_public(client, world, data):
    response = client.get("/open-data?season=2024")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "CC BY 4.0" in text and "Antioquia" in text and "department_code" in text
    assert "/api/v1/open/coverage?season=2024" in text
    xlsx = client.get("/open-data/departments.xlsx?season=2024")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("sheet")
    assert client.get("/open-data/users.csv?season=2024").status_code == 404
