"""Need score, gaps as a work plan, impact with the official IDF, municipal map (issue 17)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import date
from statistics import median

import pytest
from sqlalchemy import select

from app.domain import coverage, impact, need
from app.domain.categories import InForce
from app.extensions import db
from app.models import MunicipalIndicator, Municipality, NeedWeights
from seeds.reference import REFERENCE_DIR, ensure_season, load_reference
from tests import factories
from tests.test_categories import _dnp_workbook, full_dnp_workbook


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _mun(code: str) -> Municipality:
    return db.session.scalar(select(Municipality).filter_by(code=code))


def _deliver(world, season, code: str, n: int, due: date) -> None:
    for _ in range(n):
        factories.make_song(
            dataclasses.replace(world, season=season),
            municipality=_mun(code),
            state="delivered",
            planned_start=date(due.year, 1, 10),
            due=due,
            delivered_on=due,
        )


def test_score_formula_components_and_missing_data():
    w = need.Weights(0.5, 0.3, 0.2)
    idf = {1: [(2020, 40.0), (2023, 60.0)], 2: [(2023, 90.0)]}

    class Groups:  # what InForce answers
        table = {(1, 2024): "G5", (2, 2024): "C", (1, 2021): "G4"}

        def capacity_group(self, mid, year):
            return self.table.get((mid, year))

        def year(self, mid, year):
            return 2023

    scores = need.compute(2024, w, idf, Groups(), {1: True, 2: False, 3: False, 4: True})
    # 1: IDF 60 (2023 in force) → 0.4; G5 → 1; PDET → 1: 100·(0.2 + 0.3 + 0.2) = 70
    assert scores[1].score == 70.0 and scores[1].idf == 60.0 and scores[1].idf_year == 2023 and scores[1].complete
    assert scores[2].score == pytest.approx(5.0)  # only the fiscal part: 0.5 · 0.1
    # 3 has no official figure at all (like San Andrés): no score ("sin datos"), never a 0 that
    # would rank it as the least needy, nor a guess that would make it look needier
    assert 3 not in scores
    # 4 is PDET with no DNP figure: the PDET part only, marked incomplete
    assert scores[4].score == pytest.approx(20.0) and not scores[4].complete
    earlier = need.compute(2021, w, idf, Groups(), {1: True})
    assert earlier[1].idf == 40.0 and earlier[1].capacity_group == "G4"  # the 2020 figure is in force in 2021
    assert earlier[1].score == pytest.approx(100 * (0.5 * 0.6 + 0.3 * 0.5 + 0.2))


def test_gaps_list_is_a_work_plan_and_its_export_keeps_the_order(client, auth, world):
    load_reference(date(2024, 6, 1))
    s2023 = ensure_season(2023)
    db.session.commit()
    # Chocó is covered by DT01 (label A after the reference seed): deliver to two of its neediest.
    _deliver(world, s2023, "27430", 1, date(2023, 5, 9))  # Medio Baudó: assisted in 2023, not in 2024
    auth.login(world.manager)
    rows = _csv(client.get(f"/coverage/export/gaps.csv?season=2024&label={world.label_a.id}"))
    header, body = rows[0], rows[1:]
    score = header.index("Puntaje de necesidad (0–100)")
    last = header.index("Última entrega (cualquier temporada)")
    rank = header.index("Orden (plan de trabajo)")
    assert [int(r[rank]) for r in body] == list(range(1, len(body) + 1))
    never = [r for r in body if not r[last]]
    assisted = [r for r in body if r[last]]
    assert body == never + assisted  # never-assisted first
    assert [r[3] for r in assisted] == ["27430"]
    assert [float(r[score]) for r in never] == sorted((float(r[score]) for r in never), reverse=True)
    assert {r[1] for r in body} <= {"Antioquia", "Chocó"}  # DT01's departments only
    top = never[0]
    assert float(top[score]) >= 50 and top[header.index("Grupo de capacidades DNP")] == "G5"
    xlsx = client.get(f"/coverage/export/gaps.xlsx?season=2024&label={world.label_a.id}")
    assert xlsx.status_code == 200

    code = _mun("27450").pdet_subregion_code  # Medio San Juan: subregion "Chocó"
    page = _text(client.get(f"/coverage/gaps?season=2024&label={world.label_a.id}&subregion={code}"))
    table = page.split("<table")[1]
    assert "Medio San Juan" in table and "Necoclí" not in table  # Necoclí: PDET Urabá, not Chocó


def test_need_shown_on_department_and_municipality_pages(client, auth, world):
    load_reference(date(2024, 6, 1))
    auth.login(world.manager)
    page = _text(client.get("/coverage/departments/27?season=2024"))
    assert "Puntaje de necesidad medio" in page and "Necesidad (0–100)" in page
    bello = _text(client.get("/coverage/municipalities/05088?season=2024"))
    assert "Bello" in bello and "G1" in bello and "2023" in bello
    assert re.search(r"<th scope=\"row\">2023</th> <td>1</td> <td>G1</td>", bello)
    san_andres = _text(client.get("/coverage/municipalities/88001?season=2024"))
    assert "sin categoría" in san_andres and "<td>6</td>" not in san_andres
    assert client.get("/coverage/municipalities/99999").status_code == 404
    auth.login(world.territorial_a)
    assert client.get("/coverage/municipalities/05088").status_code == 403


def test_admin_sets_the_weights_and_the_ranking_follows(client, auth, world):
    load_reference(date(2024, 6, 1))
    auth.login(world.admin)
    before = need.scores(2024)[_mun("05031").id].score  # Amalfi, PDET
    response = client.post(
        "/coverage/reference/need-weights", data={"idf_weight": "0", "capacity_weight": "0", "pdet_weight": "1"}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(NeedWeights.pdet_weight)) == 1
    after = need.scores(2024)
    assert after[_mun("05031").id].score == 100 != before and after[_mun("05088").id].score == 0
    bad = client.post(
        "/coverage/reference/need-weights", data={"idf_weight": "0", "capacity_weight": "0", "pdet_weight": "0"}
    )
    assert bad.status_code == 422 and "Al menos un peso" in _text(bad)
    bad = client.post(
        "/coverage/reference/need-weights", data={"idf_weight": "2", "capacity_weight": "0", "pdet_weight": "1"}
    )
    assert bad.status_code == 422
    assert db.session.scalar(select(NeedWeights.pdet_weight)) == 1
    auth.login(world.manager)
    assert client.post("/coverage/reference/need-weights", data={"pdet_weight": "1"}).status_code == 403
    assert "Puntaje de necesidad" in _text(client.get("/coverage/reference"))


def test_reference_page_imports_the_official_xlsx_all_or_nothing(client, auth, world):
    load_reference(date(2024, 6, 1))
    auth.login(world.coordinator)
    rows = [(5001, "Antioquia", "Medellín", "C", "Especial", 80.1), (5088, "Antioquia", "Bello", "G1", "7", 1)]
    response = client.post(
        "/coverage/reference/categories",
        data={"file": (io.BytesIO(_dnp_workbook(rows)), "Resultados 2024.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = _text(response)
    assert "No se importó nada" in page and "Línea 6" in page and "&#39;7&#39;" in page
    assert InForce().category(_mun("05088").id, 2024) == "1"  # still the 2023 figure
    response = client.post(
        "/coverage/reference/categories",
        data={"file": (io.BytesIO(_dnp_workbook(rows[:1])), "Resultados 2024.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = _text(client.get("/coverage/reference"))
    assert "2024" in page and "IDF importado de la columna «Nuevo IDF»: 1 valores (1 cambios)." in page
    # a whole year, as DNP publishes it: the counts in the message read as es-CO numbers
    with (REFERENCE_DIR / "municipal_categories_2020_2023.csv").open(encoding="utf-8") as handle:
        year_2023 = [r for r in csv.DictReader(handle) if r["year"] == "2023"]
    response = client.post(
        "/coverage/reference/categories",
        data={"file": (io.BytesIO(full_dnp_workbook(year_2023, {})), "Resultados 2023.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = _text(client.get("/coverage/reference"))
    assert "Categorías importadas: 1.102 filas de 2023 (0 cambios)" in page
    assert "IDF importado de la columna «Nuevo IDF»: 1.102 valores (1.102 cambios)." in page
    auth.login(world.manager)
    assert "Importar las categorías" not in _text(client.get("/coverage/reference"))
    assert client.post("/coverage/reference/categories").status_code == 403


def test_impact_page_idf_2020_to_2023_with_group_sizes(client, auth, world):
    load_reference(date(2024, 6, 1))
    s2021, s2022 = ensure_season(2021), ensure_season(2022)
    db.session.commit()
    _deliver(world, s2021, "05030", 3, date(2021, 6, 8))  # Amagá: 3 + 2 = 5 → "5 o más"
    _deliver(world, s2022, "05030", 2, date(2022, 6, 7))
    _deliver(world, s2022, "05088", 1, date(2022, 6, 7))  # Bello: 1 → "1–4"
    _deliver(world, world.season, "05001", 4, date(2024, 6, 4))  # 2024: after 2023, counts nowhere
    idf = {}
    with (REFERENCE_DIR / "municipal_indicators_idf_2020_2023.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            idf[(r["municipality_code"], int(r["year"]))] = float(r["value"])
    both = sorted({c for c, y in idf if y == 2020} & {c for c, y in idf if y == 2023})
    groups = {g.key: g for g in impact.compare("idf", 2020, 2023)}
    assert (groups["0"].municipalities, groups["1-4"].municipalities, groups["5+"].municipalities) == (
        len(both) - 2,
        1,
        1,
    )
    zero = [c for c in both if c not in ("05030", "05088")]
    assert groups["0"].median_change == pytest.approx(median(idf[(c, 2023)] - idf[(c, 2020)] for c in zero))
    assert groups["5+"].median_from == pytest.approx(idf[("05030", 2020)])
    auth.login(world.manager)
    page = _text(client.get("/coverage/impact?indicator=idf&year_from=2020&year_to=2023"))
    assert f"n = {len(both) - 2:,}".replace(",", ".") in page and page.count("n = 1<") == 2
    assert "asociación, no un efecto" in page and "Mediana del cambio" in page
    rows = _csv(client.get("/coverage/export/impact.csv?indicator=idf&year_from=2020&year_to=2023"))
    assert [r[1] for r in rows[1:]] == [str(len(both) - 2), "1", "1"]


def test_municipal_map_country_and_department_zoom(client, auth, world):
    load_reference(date(2024, 6, 1))
    auth.login(world.manager)
    country = client.get("/coverage/map?season=2024")
    svg = _text(country).split("<svg")[1].split("</svg>")[0]  # the first SVG of the page is the map
    assert country.status_code == 200 and "Mapa municipal de Colombia" in svg
    assert svg.count("<a href=") == 33 and svg.count("<path") == 1121 + 33
    assert "<script" not in svg and "style=" not in svg  # strict CSP: attributes only
    assert len(country.get_data()) < 250_000
    antioquia = _text(client.get("/coverage/map?season=2024&department=05&show=songs"))
    assert antioquia.split("<svg")[1].split("</svg>")[0].count("/coverage/municipalities/") == 125
    assert "Los mismos datos del mapa: municipios de Antioquia" in antioquia
    assert client.get("/coverage/map?show=x").status_code == 400
    assert client.get("/coverage/map?department=98").status_code == 404  # 99 is Vichada
    auth.login(world.territorial_a)
    assert client.get("/coverage/map").status_code == 403


def test_coverage_cache_keys_follow_the_weights(app):
    load_reference()
    first = need.scores(2023)
    # every municipality but the 19 territories with no official figure (San Andrés, the
    # non-municipalised areas)
    assert len(first) == db.session.scalar(select(db.func.count(Municipality.id))) - 19 == 1102
    assert coverage.reference_totals().prioritised > 900
    assert db.session.scalar(select(db.func.count(MunicipalIndicator.id))) == 4399


def test_territories_without_official_figures_show_no_data_not_zero(client, auth, world):
    """San Andrés and the non-municipalised areas have no IDF, no group, no category: their need
    is "sin datos" (the map's no-data colour), never 0, and department means leave them out."""
    from app.domain import geo

    load_reference(date(2024, 6, 1))
    scores = need.scores(2024)
    assert _mun("88001").id not in scores and _mun("91263").id not in scores
    amazonas = [scores[_mun(c).id].score for c in ("91001", "91540")]  # Leticia, Puerto Nariño
    mean = f"{sum(amazonas) / 2:.1f}".replace(".", ",")
    auth.login(world.manager)
    country = _text(client.get("/coverage/map?season=2024"))
    assert f"Amazonas: 0 de 11 municipios asistidos, necesidad media {mean}" in country
    islands = _text(client.get("/coverage/map?season=2024&department=88"))
    svg = islands.split("<svg")[1].split("</svg>")[0]
    assert re.search(rf'fill="{geo.NO_DATA}"><title>San Andrés: necesidad sin datos', svg)
    assert "Providencia: necesidad sin datos" not in svg
    department = _text(client.get("/coverage/departments/91?season=2024"))
    assert f"Puntaje de necesidad medio (0–100)</dt><dd>{mean}" in department
    assert "El Encanto" in department and "(datos incompletos)" not in department
    # the figures in the map's names follow the reader's language (a decimal point in English)
    world.manager.locale = "en"
    db.session.commit()
    english = _text(client.get("/coverage/map?season=2024"))
    assert f"mean need {mean.replace(',', '.')}" in english
