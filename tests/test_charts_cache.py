"""The rendered board is cached per snapshot: a new snapshot shows new figures at once."""

from datetime import date

from app.domain import charts
from app.extensions import db
from tests.factories import add_playlist, make_song


def _recompute(world):
    charts.recompute_charts(world.season, as_of=date(2024, 12, 31))
    db.session.commit()


def test_board_follows_each_new_snapshot(client, auth, world):
    make_song(world, state="reviewed", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1), review=(5, 5, 5, 5))
    add_playlist(world, world.label_a, 4)
    _recompute(world)
    auth.login(world.coordinator)
    first = client.get("/charts?season=2024").get_data(as_text=True)
    assert "1 / 4" in first
    assert client.get("/charts?season=2024").get_data(as_text=True) == first  # served again, same snapshot
    make_song(world, state="reviewed", due=date(2024, 5, 2), delivered_on=date(2024, 5, 2), review=(5, 5, 5, 5))
    _recompute(world)
    second = client.get("/charts?season=2024").get_data(as_text=True)
    assert "2 / 4" in second and "1 / 4" not in second


def test_board_cache_is_per_language(client, auth, world):
    make_song(world, state="reviewed", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1), review=(5, 5, 5, 5))
    _recompute(world)
    auth.login(world.coordinator)
    spanish = client.get("/charts?season=2024", headers={"HX-Request": "true"}).get_data(as_text=True)
    client.post("/lang/en", data={"next": "/charts"})
    english = client.get("/charts?season=2024", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Disqueras" in spanish
    assert "Disqueras" not in english and "Labels" in english


def test_charts_api_items_follow_each_new_snapshot(client, auth, world):
    """The API's items are cached per snapshot too: never a stale board after a recompute."""
    make_song(world, state="reviewed", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1), review=(5, 5, 5, 5))
    add_playlist(world, world.label_a, 4)
    _recompute(world)
    auth.login(world.coordinator)

    def label_a(kind="labels"):
        data = client.get(f"/api/v1/charts/{kind}?season=2024").get_json()
        return data, [i for i in data["items"] if i.get("label", {}).get("code") == world.label_a.code]

    data, (item,) = label_a()
    assert item["delivered_songs"] == 1 and item["progress"] == 0.25
    assert label_a()[0] == data  # the same snapshot, the same answer
    make_song(world, state="reviewed", due=date(2024, 5, 2), delivered_on=date(2024, 5, 2), review=(5, 5, 5, 5))
    _recompute(world)
    newer, (item,) = label_a()
    assert newer["snapshot_id"] != data["snapshot_id"]
    assert item["delivered_songs"] == 2 and item["progress"] == 0.5
    artists = client.get("/api/v1/charts/artists?season=2024").get_json()["items"]
    assert sum(a["reviewed_songs"] for a in artists) == 2
    albums = client.get("/api/v1/charts/albums?season=2024").get_json()["items"]
    assert sum(a["delivered_songs"] for a in albums) == 2
