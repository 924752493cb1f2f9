"""Board pages: permissions of the recompute button, HTMX partial, breakdowns, TV mode, no inline styles."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain import charts
from app.extensions import db
from app.models import ChartSnapshot
from tests.factories import add_playlist, make_song


@pytest.fixture
def songs(world):
    w = world
    make_song(
        w,
        state="reviewed",
        due=date(2024, 4, 1),
        delivered_on=date(2024, 4, 1),
        review=(4, 4, 4, 4),
        survey=(5, 5, 5, 5, 5),
    )
    make_song(w, artist=w.artist_b, state="in_progress", due=date(2024, 4, 1))
    add_playlist(w, w.label_a, 2)
    return w


def _count():
    return db.session.scalar(select(func.count()).select_from(ChartSnapshot))


@pytest.mark.parametrize("who", ["territorial_a", "manager"])
def test_recompute_forbidden_for_territorial_and_manager(client, auth, songs, who):
    auth.login(getattr(songs, who))
    r = client.post("/charts/recompute", data={"season": "2024"})
    assert r.status_code == 403
    assert _count() == 0
    page = client.get("/charts?season=2024").get_data(as_text=True)
    assert "Recalcular ahora" not in page


def test_coordinator_recomputes_with_redirect_and_with_htmx(client, auth, songs):
    auth.login(songs.coordinator)
    page = client.get("/charts?season=2024").get_data(as_text=True)
    assert "Recalcular ahora" in page and "Todavía no hay listas" in page
    r = client.post("/charts/recompute", data={"season": "2024"})
    assert r.status_code == 302 and "/charts" in r.headers["Location"]
    assert _count() == 1
    r = client.post("/charts/recompute", data={"season": "2024"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="board"') and "<html" not in body
    assert "Dirección Territorial Antioquia" in body
    assert _count() == 2


def test_board_shows_figures_movement_and_links(client, auth, songs):
    snap = charts.recompute_charts(songs.season, as_of=date(2024, 6, 1))
    auth.login(songs.territorial_b)
    page = client.get("/charts?season=2024").get_data(as_text=True)
    # A: index = 100·(0.4·0.85 + 0.35·1 + 0.25·0.5) = 81.5; B: 1 overdue song, nothing else -> 0.0
    assert "81.5" in page or "81,5" in page
    assert "nuevo" in page
    assert f"/charts/labels/{songs.label_a.id}/breakdown?season=2024" in page
    assert f"/charts/artists/{songs.artist_a.id}/breakdown?season=2024" in page
    assert "<meter" in page and "<progress" in page
    assert not re.search(r"\sstyle=", page) and not re.search(r"\son[a-z]+=", page)
    assert snap.complete


def test_label_artist_breakdown_and_tv_pages(client, auth, songs):
    add_playlist(songs, songs.label_a, 3, songs.album_inn)  # a target per thematic line
    charts.recompute_charts(songs.season, as_of=date(2024, 6, 1), kind="closing")
    charts.recompute_charts(songs.season, as_of=date(2024, 6, 1))
    auth.login(songs.manager)
    for url in (
        f"/charts/labels/{songs.label_a.id}?season=2024",
        f"/charts/artists/{songs.artist_a.id}?season=2024",
        f"/charts/labels/{songs.label_a.id}/breakdown?season=2024",
        f"/charts/artists/{songs.artist_a.id}/breakdown?season=2024",
        f"/charts/albums/{songs.album_inn.id}/breakdown?season=2024",
        "/charts/tv?season=2024",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        assert not re.search(r"\sstyle=", html) and "<script>" not in html, url
    label_page = client.get(f"/charts/labels/{songs.label_a.id}?season=2024").get_data(as_text=True)
    assert "<svg" in label_page and "Ver los datos en tabla" in label_page  # rank chart + text alternative
    assert "Éxito" in label_page and "Obtenido el" in label_page
    assert "Metas por línea temática" in label_page and 'max="3" value="1"' in label_page
    tv = client.get("/charts/tv?season=2024").get_data(as_text=True)
    # Refresh and rotation only when the wall screen is turned on (WCAG 2.2.1/2.2.2; issue 10).
    assert 'http-equiv="refresh"' not in tv and "charts.js" in tv and "auto=1" in tv
    tv_auto = client.get("/charts/tv?season=2024&auto=1").get_data(as_text=True)
    assert 'http-equiv="refresh"' in tv_auto and "data-tv-rotate" in tv_auto
    assert client.get("/charts?season=abc").status_code == 400
    assert client.get("/charts?season=²").status_code == 400  # str.isdigit() accepts it, int() does not
    assert client.get("/charts?season=2099").status_code == 404
    assert client.get("/charts/labels/9999?season=2024").status_code == 404


def test_boards_need_login(client, songs):
    r = client.get("/charts")
    assert r.status_code in (302, 401)


def test_breakdown_lists_are_capped_but_totals_use_every_song(client, auth, songs, monkeypatch):
    from app.charts import routes

    extra = make_song(songs, state="reviewed", due=date(2024, 5, 2), delivered_on=date(2024, 5, 2), review=(4, 4, 4, 4))
    oldest = min(
        s.id
        for s in charts.label_breakdown(
            songs.season, charts.recompute_charts(songs.season, as_of=date(2024, 6, 1)), songs.label_a.id
        )["credited"]
    )
    charts.recompute_charts(songs.season, as_of=date(2024, 6, 1))
    monkeypatch.setattr(routes, "BREAKDOWN_ROWS", 1)
    auth.login(songs.coordinator)
    url = f"/charts/labels/{songs.label_a.id}/breakdown?season=2024"
    page = client.get(url).get_data(as_text=True)
    assert "primeras 1 de 2" in page and "all=1" in page
    ontime = page[page.index('id="ontime"') : page.index('id="progress"')]
    assert f"#{extra.id}<" in ontime and f"#{oldest}<" not in ontime  # newest first
    # ΣT = 1 + 1 over 2 credited songs: shown in full even though one row is listed
    assert "/ (2 + 0 + 0)" in page
    page_all = client.get(url + "&all=1").get_data(as_text=True)
    ontime_all = page_all[page_all.index('id="ontime"') : page_all.index('id="progress"')]
    assert f"#{oldest}<" in ontime_all and "primeras" not in page_all
