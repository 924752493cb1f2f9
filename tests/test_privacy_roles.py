"""What each role sees of the survey answers (issue 19, item 12; docs/PRIVACY.md): open data
suppresses every mean over fewer than OPEN_DATA_MIN_CELL values, a territorial user does not
see the municipality and S of another label's songs on the chart breakdowns, and the free
comment of a survey is for coordinators and managers only."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from app.domain import charts
from app.extensions import db
from app.models import Song
from tests.factories import make_song


def _reviewed(world, *, artist=None, album=None, survey=(5, 5, 5, 5, 5), day=1):
    return make_song(
        world,
        artist=artist,
        album=album,
        state="reviewed",
        due=date(2024, 4, 10),
        delivered_on=date(2024, 4, day),
        review=(4, 4, 4, 4),
        survey=survey,
    )


# --- open data: the minimum cell size ------------------------------------------------------


@pytest.fixture
def cells(world):
    """Five surveyed songs of one album (published), one of the other (suppressed)."""
    for day in range(1, 6):
        _reviewed(world, album=world.album_inn, day=day)
    _reviewed(world, album=world.album_paz, survey=(2, 2, 2, 2, 2))


def test_open_data_suppresses_means_of_fewer_than_five_surveys(client, world, cells):
    body = client.get("/api/v1/open/coverage?season=2024").get_json()
    assert body["min_cell_size"] == 5
    albums = {a["album_code"]: a for a in body["albums"]}
    assert albums["INN"]["mean_satisfaction"] == pytest.approx(1.0) and albums["INN"]["suppressed"] == []
    paz = albums["PAZ"]
    assert paz["mean_satisfaction"] is None and paz["mean_quality"] is None, "one survey: its answer would show"
    assert paz["suppressed"] == ["mean_quality", "mean_satisfaction"]
    assert paz["delivered_songs"] == 1, "counts stay"
    # Six surveys nationally: published.
    assert body["national"]["satisfaction"] is not None and body["national"]["suppressed"] == []


def test_the_national_mean_of_few_surveys_is_suppressed_too(client, world):
    _reviewed(world)
    body = client.get("/api/v1/open/coverage?season=2024").get_json()
    assert body["national"]["satisfaction"] is None and body["national"]["quality"] is None
    assert body["national"]["suppressed"] == ["quality", "satisfaction"]


def test_suppressed_cells_read_as_such_in_every_public_file(client, world, cells):
    rows = list(
        csv.reader(io.StringIO(client.get("/api/v1/open/coverage?format=csv&table=albums&season=2024").get_data(True)))
    )
    paz = next(r for r in rows if r[0] == "PAZ")
    assert paz[4:6] == ["<5", "<5"]
    inn = next(r for r in rows if r[0] == "INN")
    assert inn[5] == "1.0000"
    excel = client.get("/open-data/albums.csv?season=2024&flavour=excel").get_data().decode("utf-8-sig")
    assert ";<5;<5;" in excel
    page = client.get("/open-data?season=2024").get_data(as_text=True)
    assert page.count("&lt;5</abbr>") == 2 and "Una media de menos de 5 valores" in page


def test_the_minimum_cell_size_is_a_setting(app, client, world, cells):
    app.config["OPEN_DATA_MIN_CELL"] = 6
    albums = {a["album_code"]: a for a in client.get("/api/v1/open/coverage?season=2024").get_json()["albums"]}
    assert albums["INN"]["mean_satisfaction"] is None and "mean_satisfaction" in albums["INN"]["suppressed"]


# --- chart breakdowns: another label's songs -----------------------------------------------


def _snapshot(world):
    own = _reviewed(world, survey=(5, 5, 5, 5, 5))
    other = [
        _reviewed(world, artist=world.artist_b, survey=(5, 5, 5, 5, 4), day=2),
        _reviewed(world, artist=world.artist_b, survey=(1, 2, 1, 2, 1), day=3),
    ]
    charts.recompute_charts(world.season, as_of=date(2024, 6, 1))
    return own, other


def _per_song_s(song: Song) -> str:
    return f"{song.satisfaction:.4f}".replace(".", ",")


def _cells(html: str, section: str) -> str:
    start = html.index(f'id="{section}"')
    return html[start : html.index("</section>", start)]


def test_a_territorial_user_sees_no_municipality_or_s_of_another_labels_songs(client, auth, world):
    _own, other = _snapshot(world)
    auth.login(world.territorial_a)
    html = client.get(f"/charts/labels/{world.label_b.id}/breakdown?season=2024").get_data(as_text=True)
    assert world.mun_b.name not in html
    surveys = _cells(html, "surveys")
    for song in other:
        assert f'<td class="num">{_per_song_s(song)}</td>' not in surveys
    assert "S̄ =" in surveys, "the label's aggregate stays"
    assert "reservado" in _cells(html, "quality") and "reservado" in surveys
    album = client.get(f"/charts/albums/{world.album_inn.id}/breakdown?season=2024").get_data(as_text=True)
    for song in other:
        row = re.search(rf"#{song.id}</td>.*?</tr>", album, re.S).group(0)
        assert _per_song_s(song) not in row and "reservado" in row
    artist = client.get(f"/charts/artists/{world.artist_b.id}/breakdown?season=2024").get_data(as_text=True)
    assert world.mun_b.name not in artist


def test_the_artist_breakdown_gives_no_per_song_points_to_work_s_out_from(client, auth, world):
    """Points = round(100·(0,6·Q + 0,4·T)·E·w): with a song's points, T, E and w shown, its Q (and
    from Q and R its S) could be worked out. For another label's songs the points and E are
    reserved; the artist's total stays."""
    _own, other = _snapshot(world)
    auth.login(world.territorial_a)
    html = client.get(f"/charts/artists/{world.artist_b.id}/breakdown?season=2024").get_data(as_text=True)
    for song in other:
        row = re.search(rf"#{song.id}</td>.*?</tr>", html, re.S).group(0)
        cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
        assert len(cells) == 6, cells  # R, Q, T, E, weight, points
        assert all("reservado" in cells[i] for i in (1, 3, 5)), cells
    total = sum(song.points for song in other)
    assert f"<strong>{total}</strong>" in html, "the artist's total stays"
    auth.login(world.territorial_b)
    own = client.get(f"/charts/artists/{world.artist_b.id}/breakdown?season=2024").get_data(as_text=True)
    assert "reservado" not in own


@pytest.mark.parametrize("viewer", ["territorial_b", "coordinator", "manager"])
def test_who_may_open_the_songs_still_sees_their_details(client, auth, world, viewer):
    _own, other = _snapshot(world)
    auth.login(getattr(world, viewer))
    html = client.get(f"/charts/labels/{world.label_b.id}/breakdown?season=2024").get_data(as_text=True)
    assert world.mun_b.name in html and "reservado" not in html
    for song in other:
        assert f'<td class="num">{_per_song_s(song)}</td>' in _cells(html, "surveys")


# --- the free comment of a survey ------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "shown"), [("territorial_a", False), ("coordinator", True), ("manager", True), ("admin", False)]
)
def test_the_free_comment_is_for_coordinators_and_managers(client, auth, world, viewer, shown):
    song = _reviewed(world)
    song.survey.comment = "El alcalde Juan Gómez quedó muy contento"
    db.session.commit()
    auth.login(getattr(world, viewer))
    page = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert ("Juan Gómez" in page) is shown, viewer
    assert "Satisfacción (S)" in page, "the ratings stay for everyone who sees the song"
