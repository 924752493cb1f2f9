"""GET /api/v1/charts/labels|artists|albums (DESIGN.md §8)."""

from datetime import date

import pytest

from app.domain import charts
from tests.factories import add_playlist, make_song


@pytest.fixture
def computed(world):
    w = world
    # A: one reviewed song on time, rubric 4s (R 0.75), survey 5s (S 1): Q 0.85, T 1, points 91;
    #    target 2 -> Progress 0.5; OnTime 1; index = 100·(0.4·0.85 + 0.35·1 + 0.25·0.5) = 34 + 35 + 12.5 = 81.5
    make_song(
        w,
        state="reviewed",
        due=date(2024, 4, 1),
        delivered_on=date(2024, 4, 1),
        review=(4, 4, 4, 4),
        survey=(5, 5, 5, 5, 5),
    )
    add_playlist(w, w.label_a, 2)
    charts.recompute_charts(w.season, as_of=date(2024, 6, 1))
    return w


def test_labels_shape_and_values(client, auth, computed):
    auth.login(computed.manager)
    r = client.get("/api/v1/charts/labels?season=2024")
    assert r.status_code == 200
    data = r.get_json()
    assert data["season"] == 2024 and data["computed_at"] and data["kind"] == "live"
    first = data["items"][0]
    assert first["label"]["code"] == "DT01"
    assert first["rank"] == 1 and first["previous_rank"] is None and first["movement"] == "new"
    assert first["quality_mean"] == pytest.approx(0.85)
    assert first["on_time"] == pytest.approx(1.0)
    assert first["progress"] == pytest.approx(0.5)
    assert (first["delivered_songs"], first["playlist_target"], first["points"]) == (1, 2, 91)
    assert first["index"] == pytest.approx(81.5)
    assert first["survey_response_rate"] == 1.0
    assert {b["code"] for b in first["badges"]} == {"hit", "full_tour"}
    assert all("awarded_at" in b and "name" in b for b in first["badges"])
    second = data["items"][1]
    assert second["label"]["code"] == "DT02" and second["index"] == 0.0 and second["survey_response_rate"] is None


def test_artists_and_albums(client, auth, computed):
    auth.login(computed.territorial_b)
    artists = client.get("/api/v1/charts/artists?season=2024").get_json()
    assert [(i["artist"]["name"], i["points"], i["rank"]) for i in artists["items"]] == [
        ("Equipo Andino", 91, 1),
        ("Equipo Costa", 0, 2),
    ]
    albums = client.get("/api/v1/charts/albums?season=2024").get_json()
    inn = next(i for i in albums["items"] if i["album"]["code"] == "INN")
    assert (inn["delivered_songs"], inn["on_time_rate"]) == (1, 1.0)
    assert inn["quality_mean"] == pytest.approx(0.85) and inn["satisfaction_mean"] == 1.0
    paz = next(i for i in albums["items"] if i["album"]["code"] == "PAZ")
    assert paz["quality_mean"] is None and paz["on_time_rate"] is None


def test_errors(client, auth, world):
    r = client.get("/api/v1/charts/labels?season=2024")
    assert r.status_code == 401
    auth.login(world.manager)
    r = client.get("/api/v1/charts/labels?season=2024")
    assert r.status_code == 404 and "error" in r.get_json()  # no snapshot yet
    r = client.get("/api/v1/charts/labels?season=dosmil")
    assert r.status_code == 400 and "temporada" in r.get_json()["error"] and "season" in r.get_json()["details"]
    assert client.get("/api/v1/charts/artists?season=1999").status_code == 400  # one year parser: 2000–2100
    assert client.get("/api/v1/charts/artists?season=2099").status_code == 404
    assert client.get("/api/v1/charts/albums").status_code == 404
