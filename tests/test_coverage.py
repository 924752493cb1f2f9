"""Coverage for managers (DESIGN.md §6): every figure checked against values worked out by hand.

The known dataset (``coverage_data``), on top of the ``world`` fixture:

departments: 05 Antioquia (label A): Amalfi (PDET, cat 6), Abejorral (cat 5), Medellín (cat 1)
             08 Atlántico (label B): Baranoa (cat 6)
             11 Bogotá (no label):   Bogotá D.C. (especial)
→ 3 departments, 5 municipalities, 3 prioritised (Amalfi, Abejorral, Baranoa).

season 2024:
  s1 Amalfi   INN reviewed  due 01/04 delivered 28/03 review 5,5,5,5 (R=1) survey 5s (S=1)  → Q=1, on time
  s2 Amalfi   PAZ delivered due 01/04 delivered 10/04 (late)                              → not on time
  s3 Medellín INN reviewed  due 01/04 delivered 20/03 review 3,3,3,3 (R=.5) survey 3s (S=.5) → Q=.5, on time
  s4 Baranoa  INN returned  (not delivered)
  s5 Abejorral INN planned
  s6 Baranoa  INN cancelled
season 2023:
  s7 Baranoa  INN delivered on time (delivered 2023-03-28)

2024: delivered 3; departments 1/3; municipalities 2/5 (Amalfi, Medellín); prioritised 1/3 (Amalfi);
      mean Q = (1 + .5)/2 = .75; mean S = (1 + .5)/2 = .75; on time 2/3.
2023: delivered 1; departments 1; municipalities 1; prioritised 1 (Baranoa); Q, S none; on time 1/1.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.domain import coverage, geo
from app.extensions import db
from app.models import Department, Municipality, Season
from tests import factories


def build_coverage_data(world) -> dict:
    bogota_dep = Department(code="11", name="Bogotá, D.C.")
    db.session.add(bogota_dep)
    db.session.flush()
    bogota = Municipality(code="11001", name="Bogotá, D.C.", department_id=bogota_dep.id, category="especial")
    season_2023 = Season(year=2023, starts_on=date(2023, 1, 1), ends_on=date(2023, 12, 31))
    db.session.add_all([bogota, season_2023])
    db.session.commit()
    due = date(2024, 4, 1)
    songs = {
        "s1": factories.make_song(
            world,
            municipality=world.mun_pdet,
            state="reviewed",
            due=due,
            delivered_on=date(2024, 3, 28),
            review=(5, 5, 5, 5),
            survey=(5, 5, 5, 5, 5),
        ),
        "s2": factories.make_song(
            world,
            municipality=world.mun_pdet,
            album=world.album_paz,
            state="delivered",
            due=due,
            delivered_on=date(2024, 4, 10),
        ),
        "s3": factories.make_song(
            world,
            municipality=world.mun_plain,
            state="reviewed",
            due=due,
            delivered_on=date(2024, 3, 20),
            review=(3, 3, 3, 3),
            survey=(3, 3, 3, 3, 3),
        ),
        "s4": factories.make_song(world, artist=world.artist_b, municipality=world.mun_b, state="returned", due=due),
        "s5": factories.make_song(world, municipality=world.mun_cat5, state="planned", due=due),
        "s6": factories.make_song(world, artist=world.artist_b, municipality=world.mun_b, state="cancelled", due=due),
        "s7": factories.make_song(
            world,
            artist=world.artist_b,
            municipality=world.mun_b,
            state="delivered",
            planned_start=date(2023, 3, 1),
            due=date(2023, 4, 3),
            delivered_on=date(2023, 3, 28),
        ),
    }
    songs["s7"].season_id = season_2023.id
    db.session.commit()
    return {"songs": songs, "season_2023": season_2023, "bogota": bogota, "bogota_dep": bogota_dep}


@pytest.fixture
def data(world):
    return build_coverage_data(world)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True).replace("\xa0", " ").replace("\u202f", " "))


# --------------------------------------------------------------------------- domain


def test_stored_terms_the_dataset_relies_on(world, data):
    s = data["songs"]
    assert (s["s1"].quality, s["s1"].satisfaction, s["s1"].on_time) == (1.0, 1.0, True)
    assert s["s2"].on_time is False
    assert (s["s3"].quality, s["s3"].satisfaction, s["s3"].on_time) == (0.5, 0.5, True)


def test_national_summary_every_figure(world, data):
    summary = coverage.national_summary(world.season)
    assert summary.previous_season.year == 2023
    assert (summary.totals.departments, summary.totals.municipalities, summary.totals.prioritised) == (3, 5, 3)
    f = summary.figure
    assert (f("delivered").value, f("delivered").previous, f("delivered").delta) == (3, 1, 2)
    assert (f("departments").value, f("departments").total, f("departments").previous) == (1, 3, 1)
    assert f("departments").share == pytest.approx(1 / 3)
    assert f("departments").delta == 0
    assert (f("municipalities").value, f("municipalities").total, f("municipalities").previous) == (2, 5, 1)
    assert f("municipalities").share == pytest.approx(0.4)
    assert f("municipalities").previous_share == pytest.approx(0.2)
    assert f("municipalities").delta_share == pytest.approx(0.2)
    assert (f("prioritised").value, f("prioritised").total, f("prioritised").previous) == (1, 3, 1)
    assert f("prioritised").share == pytest.approx(1 / 3)
    assert f("quality").value == pytest.approx(0.75)
    assert f("quality").previous is None and f("quality").delta is None
    assert f("satisfaction").value == pytest.approx(0.75)
    assert f("on_time").value == pytest.approx(2 / 3)
    assert f("on_time").previous == pytest.approx(1.0)
    assert f("on_time").delta == pytest.approx(-1 / 3)


def test_previous_season_figures(world, data):
    prev = coverage.season_figures(data["season_2023"])
    assert (prev.delivered, prev.departments_reached, prev.municipalities_reached, prev.prioritised_reached) == (
        1,
        1,
        1,
        1,
    )
    assert (prev.mean_quality, prev.mean_satisfaction, prev.on_time_rate) == (None, None, 1.0)
    first = coverage.national_summary(data["season_2023"])
    assert first.previous_season is None
    assert first.figure("delivered").previous is None and first.figure("delivered").delta is None


def test_department_table_every_figure(world, data):
    rows = {r.code: r for r in coverage.department_rows(world.season)}
    assert list(rows) == ["05", "08", "11"]
    a, b, c = rows["05"], rows["08"], rows["11"]
    assert (a.label_name, a.municipalities, a.prioritised, a.assisted, a.prioritised_assisted, a.delivered) == (
        "Dirección Territorial Antioquia",
        3,
        2,
        2,
        1,
        3,
    )
    assert a.coverage == pytest.approx(2 / 3) and a.prioritised_coverage == pytest.approx(0.5)
    assert a.by_album == {world.album_inn.id: 2, world.album_paz.id: 1}
    assert (b.municipalities, b.prioritised, b.assisted, b.prioritised_assisted, b.delivered) == (1, 1, 0, 0, 0)
    assert (b.coverage, b.prioritised_coverage, b.by_album) == (0, 0, {})
    assert (c.label_name, c.municipalities, c.prioritised, c.assisted, c.coverage) == (None, 1, 0, 0, 0)
    assert c.prioritised_coverage is None  # nothing to divide: "sin datos", not 0 %


def test_department_sorting(world, data):
    rows = coverage.department_rows(world.season)
    assert [r.code for r in coverage.sort_departments(rows, "coverage", descending=True)][0] == "05"
    assert [r.code for r in coverage.sort_departments(rows, "name")] == ["05", "08", "11"]
    assert [r.code for r in coverage.sort_departments(rows, "delivered", True)][0] == "05"
    assert [r.code for r in coverage.sort_departments(rows, "DROP TABLE")] == ["05", "08", "11"]


def test_department_drill_down(world, data):
    rows = {m.code: m for m in coverage.department_municipalities(world.season, world.dep_a)}
    assert set(rows) == {"05031", "05002", "05001"}
    amalfi = rows["05031"]
    assert (amalfi.prioritised, amalfi.pdet, amalfi.category, amalfi.songs, amalfi.last_delivered) == (
        True,
        True,
        "6",
        2,
        date(2024, 4, 10),
    )
    assert (rows["05002"].prioritised, rows["05002"].songs, rows["05002"].last_delivered) == (True, 0, None)
    assert (rows["05001"].prioritised, rows["05001"].songs) == (False, 1)


def test_gaps_season_and_ever_with_filters(world, data):
    season_gaps = coverage.gaps(world.season)
    assert [(g.department_code, g.code) for g in season_gaps] == [("05", "05002"), ("08", "08078")]
    baranoa = season_gaps[1]
    assert (baranoa.label_name, baranoa.category, baranoa.last_delivered_ever) == (
        "Dirección Territorial Atlántico",
        "6",
        date(2023, 3, 28),
    )
    assert [g.code for g in coverage.gaps(world.season, ever=True)] == ["05002"]
    assert [g.code for g in coverage.gaps(world.season, department_code="08")] == ["08078"]
    assert [g.code for g in coverage.gaps(world.season, label_id=world.label_a.id)] == ["05002"]
    assert coverage.gaps(world.season, ever=True, label_id=world.label_b.id) == []
    # The 2023 season: Amalfi and Abejorral had nothing then.
    assert [g.code for g in coverage.gaps(data["season_2023"])] == ["05002", "05031"]


def test_targets_progress_and_projection(world, data):
    factories.add_playlist(world, world.label_a, 10)
    factories.add_playlist(world, world.label_a, 4, world.album_paz)
    factories.add_playlist(world, world.label_b, 5)
    rows = coverage.targets(world.season, as_of=date(2024, 6, 30))
    assert [(r.label_code, r.album_code, r.target, r.delivered) for r in rows] == [
        ("DT01", None, 10, 3),
        ("DT01", "PAZ", 4, 1),
        ("DT02", None, 5, 0),
    ]
    # 30/06/2024 is day 182 of a 366-day season.
    assert rows[0].projection == pytest.approx(3 / 182 * 366)
    assert rows[0].progress == pytest.approx(0.3)
    assert rows[1].projection == pytest.approx(1 / 182 * 366)
    assert rows[1].progress == pytest.approx(0.25)
    assert (rows[2].projection, rows[2].progress) == (0, 0)
    assert coverage.targets(world.season, as_of=date(2023, 12, 1))[0].projection is None
    assert coverage.targets(world.season, as_of=date(2025, 2, 1))[0].projection == pytest.approx(3)


def test_resolve_season(world, data):
    from app.domain import seasons

    assert seasons.resolve(2023).id == data["season_2023"].id
    assert seasons.resolve(None, on=date(2024, 5, 1)).id == world.season.id
    assert seasons.resolve(None, on=date(2030, 5, 1)).year == 2024  # the latest
    with pytest.raises(coverage.NotFound):
        seasons.resolve(2099)


def test_map_svg_shades_departments_and_links(world, data):
    rows = coverage.department_rows(world.season)
    areas = {
        r.code: geo.MapArea(r.code, r.name, r.coverage, f"{r.name}: x", f"/coverage/departments/{r.code}") for r in rows
    }
    svg = str(geo.render_map(areas, "Mapa"))
    assert svg.count("<path") == 33
    assert 'style="' not in svg and "<script" not in svg
    assert re.search(r'<a href="/coverage/departments/05"[^>]*><path d="[^"]+" fill="#756bb1"', svg)  # 2/3 → 60–80 %
    assert re.search(r'<a href="/coverage/departments/08"[^>]*><path d="[^"]+" fill="#f2f0f7"', svg)  # 0 %
    assert svg.count("<a href=") == 3  # only departments with data are links
    assert "<title>Antioquia: x</title>" in svg
    assert geo.colour_for(None) == geo.NO_DATA and geo.colour_for(1.0) == "#54278f" and geo.colour_for(0.2) == "#cbc9e2"
    assert len(geo.legend()) == 5


# --------------------------------------------------------------------------- pages


def test_summary_page_shows_the_figures(client, auth, world, data):
    auth.login(world.manager)
    response = client.get("/coverage?season=2024")
    assert response.status_code == 200
    text = _text(response)
    assert "Temporada 2024" in text and "comparadas con 2023" in text
    assert 'id="kpi-municipalities"' in text
    kpi = text.split('id="kpi-municipalities"')[1].split("</li>")[0]
    assert '"kpi-value">2<' in kpi and "de 5" in kpi and "40,0 %" in kpi and "2023: 1 (20,0 %)" in kpi and "+1" in kpi
    kpi = text.split('id="kpi-on_time"')[1].split("</li>")[0]
    assert "66,7 %" in kpi and "−33,3 p. p." in kpi
    assert "66,7 %" in text and "50,0 %" in text  # department 05 coverage and prioritised coverage
    assert "<svg" in text and 'href="/coverage/departments/05?season=2024"' in text
    assert "style=" not in response.get_data(as_text=True).split("<main")[1]


def test_summary_sort_links_and_order(client, auth, world, data):
    auth.login(world.coordinator)
    text = _text(client.get("/coverage?season=2024&sort=name&dir=desc"))
    table = text.split('class="departments"')[1]
    assert table.index("Bogotá") < table.index("Atlántico") < table.index("Antioquia")
    assert 'aria-sort="descending"' in table


def test_department_page_and_unknown(client, auth, world, data):
    auth.login(world.admin)
    text = _text(client.get("/coverage/departments/05?season=2024"))
    assert "Amalfi" in text and "Abejorral" in text and "10/04/2024" in text and "Priorizado" in text
    assert client.get("/coverage/departments/99?season=2024").status_code == 404
    assert client.get("/coverage?season=2099").status_code == 404
    assert client.get("/coverage?season=abc").status_code == 400
    assert client.get("/coverage?season=²").status_code == 400  # a digit to str.isdigit, not to int()
    assert client.get("/coverage/gaps?label=²&department=%00").status_code == 400
    assert client.get("/coverage/impact?indicator=x%00y").status_code in (400, 404)
    assert client.get("/coverage/impact?indicator=desconocido").status_code == 404


def test_gaps_page_filters_and_empty_state(client, auth, world, data):
    world.mun_cat5.category_source = "official:2023"
    db.session.commit()
    auth.login(world.manager)
    text = _text(client.get("/coverage/gaps?season=2024"))
    assert "Abejorral" in text and "Baranoa" in text and "Amalfi" not in text.split("<table")[1]
    assert "demo" not in text and "(2023)" in text  # the year of the official figure, never a "demo" badge
    rows = client.get("/coverage/export/gaps.csv?season=2024").get_data().decode("utf-8-sig").splitlines()
    assert ",official:2023," in rows[1] + rows[2]
    assert client.get("/coverage/gaps?season=2024&subregion=17").status_code == 400
    text = _text(client.get(f"/coverage/gaps?season=2024&scope=ever&label={world.label_b.id}"))
    assert "Sin brechas" in text


def test_targets_page_progress_bars(client, auth, world, data):
    factories.add_playlist(world, world.label_a, 10)
    auth.login(world.manager)
    text = _text(client.get("/coverage/targets?season=2024&as_of=2024-06-30"))
    assert '<progress max="10" value="3"' in text and "30 %" in text
    assert "6" in text.split("Proyección al cierre")[1]  # 3 / 182 × 366 = 6.03
    auth.login(world.manager)
    assert "Sin datos" in _text(client.get("/coverage/targets?season=2023"))


def test_empty_states_without_songs(client, auth, world):
    auth.login(world.manager)
    text = _text(client.get("/coverage"))
    assert "sin datos" in text  # Q, S and on-time with nothing to average
    assert client.get("/coverage/gaps").status_code == 200
    assert client.get("/coverage/impact").status_code == 200
    assert client.get("/open-data").status_code == 200


def test_no_season_at_all(client, auth, app):
    from app.models import User

    user = User(email="m@x.co", name="M", role="manager", password_hash="x")
    db.session.add(user)
    db.session.commit()
    auth.login(user)
    assert "Sin datos" in _text(client.get("/coverage"))
    assert client.get("/open-data").status_code == 200


# --------------------------------------------------------------------------- permissions and API


@pytest.mark.parametrize(
    "url",
    [
        "/coverage",
        "/coverage/gaps",
        "/coverage/targets",
        "/coverage/impact",
        "/coverage/departments/05",
        "/coverage/export/departments.csv",
    ],
)
def test_territorial_cannot_read_coverage(client, auth, world, data, url):
    auth.login(world.territorial_a)
    assert client.get(url).status_code == 403


def test_anonymous_is_sent_to_login(client, world):
    response = client.get("/coverage")
    assert response.status_code in (302, 401)
    assert client.get("/api/v1/coverage/departments").status_code == 401


def test_api_departments(client, auth, world, data):
    auth.login(world.manager)
    body = client.get("/api/v1/coverage/departments?season=2024").get_json()
    assert body["season"] == 2024 and body["previous_season"] == 2023
    assert body["national"]["municipalities"]["value"] == 2
    assert body["national"]["municipalities"]["share"] == pytest.approx(0.4)
    assert body["national"]["delivered"]["delta"] == 2
    item = body["items"][0]
    assert (item["department_code"], item["assisted_municipalities"], item["delivered_songs"]) == ("05", 2, 3)
    assert item["delivered_by_album"] == {"INN": 2, "PAZ": 1}
    assert client.get("/api/v1/coverage/departments?season=abc").status_code == 400
    assert client.get("/api/v1/coverage/departments?season=2099").status_code == 404
    auth.login(world.territorial_b)
    response = client.get("/api/v1/coverage/departments?season=2024")
    assert response.status_code == 403 and "error" in response.get_json()


def test_department_sort_as_htmx_partial(client, auth, world, data):
    auth.login(world.manager)
    response = client.get(
        "/coverage?season=2024&sort=name&dir=desc", headers={"HX-Request": "true", "HX-Target": "departments"}
    )
    text = _text(response)
    assert response.status_code == 200 and "<html" not in text and 'id="departments"' in text
    assert text.index("Bogotá") < text.index("Atlántico") < text.index("Antioquia")
    assert 'hx-get="/coverage?season=2024&amp;sort=' in text
