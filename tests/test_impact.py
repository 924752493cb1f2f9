"""Impact (DESIGN.md §6): indicator import (all rows or none) and the group comparison, by hand."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain import impact
from app.extensions import db
from app.models import AuditEvent, Department, MunicipalIndicator, Municipality, Season
from tests import factories


def _rows() -> dict[tuple[str, str, int], float]:
    stmt = select(
        Municipality.code, MunicipalIndicator.indicator, MunicipalIndicator.year, MunicipalIndicator.value
    ).join(Municipality)
    return {(r[0], r[1], r[2]): r[3] for r in db.session.execute(stmt)}


def test_import_semicolon_bom_decimal_comma(world):
    raw = "\ufeffmunicipality_code;indicator;year;value\n05031;MDM;2022;40,5\n5001;mdm;2022;60\n".encode()
    report = impact.import_indicators(raw)
    assert report.errors == [] and report.created == 2
    assert _rows() == {("05031", "mdm", 2022): 40.5, ("05001", "mdm", 2022): 60.0}
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "indicators_imported")) == 1


def test_import_upserts_on_municipality_indicator_year(world):
    assert not impact.import_indicators(b"municipality_code,indicator,year,value\n05031,mdm,2022,40\n").errors
    report = impact.import_indicators(
        b"municipality_code,indicator,year,value\n05031,mdm,2022,41.5\n05031,mdm,2024,50\n"
    )
    assert report.errors == [] and report.created == 2
    assert _rows() == {("05031", "mdm", 2022): 41.5, ("05031", "mdm", 2024): 50.0}


def test_import_all_or_nothing_every_bad_row_named(world):
    raw = (
        b"municipality_code,indicator,year,value\n"
        b"05031,mdm,2022,40\n"  # line 2: fine
        b"99999,mdm,2022,40\n"  # line 3: unknown code
        b"05001,mdm,20x2,40\n"  # line 4: bad year
        b"05001,mdm,2022,abc\n"  # line 5: bad value
        b"05031,mdm,2022,41\n"  # line 6: repeats line 2
        b"05002,,2022,1\n"  # line 7: no indicator
        b"05002,mdm,2022,nan\n"  # line 8: not finite
    )
    report = impact.import_indicators(raw)
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7, 8]
    assert "99999" in report.errors[0].message
    assert "Año" in report.errors[1].message
    assert "línea 2" in report.errors[3].message
    assert report.created == 0
    assert _rows() == {}


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "no tiene filas"),
        (b"municipality_code,indicator,year,value\n", "no tiene filas"),
        (b"code,indicator,year\n05031,mdm,2022\n", "Faltan columnas"),
        ("municipality_code,indicator,year,value\n05031,mdm,2022,4\n".encode("utf-16"), "UTF-8"),
    ],
)
def test_import_rejects_bad_files(world, raw, message):
    report = impact.import_indicators(raw)
    assert report.errors and message in report.errors[0].message and report.errors[0].line == 1
    assert _rows() == {}


def test_cli_import_indicators(world, runner, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("municipality_code,indicator,year,value\n05031,ipm,2018,30.2\n", encoding="utf-8")
    result = runner.invoke(args=["import", "indicators", str(good)])
    assert result.exit_code == 0 and "1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("municipality_code,indicator,year,value\n05031,ipm,2018,x\n", encoding="utf-8")
    result = runner.invoke(args=["import", "indicators", str(bad)])
    assert result.exit_code == 1 and "línea 2" in result.output


@pytest.fixture
def impact_data(world):
    """Cumulative delivered songs up to 2024: Amalfi 5 (5+), Medellín 1 (1–4; plus one in 2025 that
    does not count), Baranoa 0 (a planned and a cancelled one don't count), Abejorral 0.

    mdm      2022  2024  change
    Amalfi    40    50    +10   group 5+
    Medellín  60    62     +2   group 1–4
    Baranoa   30    29     -1   group 0
    Abejorral 45    48     +3   group 0
    Bogotá    70     —          (no 2024 value: left out)
    """
    dep = Department(code="11", name="Bogotá, D.C.")
    db.session.add(dep)
    db.session.flush()
    db.session.add(Municipality(code="11001", name="Bogotá, D.C.", department_id=dep.id, category="especial"))
    season_2025 = Season(year=2025, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    db.session.add(season_2025)
    db.session.commit()
    for i in range(5):
        state = "reviewed" if i == 0 else "delivered"
        review = (4, 4, 4, 4) if i == 0 else None
        factories.make_song(
            world, municipality=world.mun_pdet, state=state, delivered_on=date(2024, 3, 20), review=review
        )
    factories.make_song(world, municipality=world.mun_plain, state="delivered", delivered_on=date(2024, 3, 20))
    later = factories.make_song(world, municipality=world.mun_plain, state="delivered", delivered_on=date(2024, 3, 20))
    later.season_id = season_2025.id
    factories.make_song(world, artist=world.artist_b, municipality=world.mun_b, state="planned")
    factories.make_song(world, artist=world.artist_b, municipality=world.mun_b, state="cancelled")
    factories.make_song(world, artist=world.artist_b, municipality=world.mun_b, state="returned")
    db.session.commit()
    csv = (
        "municipality_code,indicator,year,value\n"
        "05031,mdm,2022,40\n05031,mdm,2024,50\n"
        "05001,mdm,2022,60\n05001,mdm,2024,62\n"
        "08078,mdm,2022,30\n08078,mdm,2024,29\n"
        "05002,mdm,2022,45\n05002,mdm,2024,48\n"
        "11001,mdm,2022,70\n"
        "05031,idf,2022,1\n05031,idf,2024,2\n"
    )
    assert not impact.import_indicators(csv.encode()).errors


def test_compare_groups_by_cumulative_assistances(world, impact_data):
    groups = {g.key: g for g in impact.compare("mdm", 2022, 2024)}
    assert list(groups) == ["0", "1-4", "5+"]
    zero, few, many = groups["0"], groups["1-4"], groups["5+"]
    assert zero.municipalities == 2
    assert (zero.mean_from, zero.mean_to, zero.mean_change) == (
        pytest.approx(37.5),
        pytest.approx(38.5),
        pytest.approx(1),
    )
    assert (few.municipalities, few.mean_from, few.mean_to, few.mean_change) == (1, 60, 62, 2)
    assert (many.municipalities, many.mean_from, many.mean_to, many.mean_change) == (1, 40, 50, 10)


def test_compare_counts_only_seasons_up_to_the_later_year(world, impact_data):
    # Up to 2025, Medellín has 2 delivered songs: still 1–4; with years 2022→2024 the 2025 one is ignored.
    assert impact.indicator_years() == {"idf": [2022, 2024], "mdm": [2022, 2024]}
    groups = {g.key: g for g in impact.compare("idf", 2022, 2024)}
    assert [groups[k].municipalities for k in ("0", "1-4", "5+")] == [0, 0, 1]
    assert groups["0"].mean_change is None


def test_compare_no_data(world):
    groups = impact.compare("mdm", 2020, 2024)
    assert [g.municipalities for g in groups] == [0, 0, 0]
    assert all(g.mean_from is None and g.mean_change is None for g in groups)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True).replace("\xa0", " "))


def test_impact_page_shows_group_sizes(client, auth, world, impact_data):
    auth.login(world.manager)
    text = _text(client.get("/coverage/impact?indicator=mdm&year_from=2022&year_to=2024"))
    assert "n = 2" in text and "n = 1" in text and "grupo pequeño" in text
    assert "37,50" in text and "38,50" in text and "+10,00" in text
    assert "Importar indicadores" not in text  # managers read only
    assert "El primer año" in _text(client.get("/coverage/impact?indicator=mdm&year_from=2024&year_to=2022"))


def test_impact_page_without_data_says_so(client, auth, world):
    auth.login(world.coordinator)
    text = _text(client.get("/coverage/impact"))
    assert "Sin datos" in text and "no muestra valores inventados" in text
    assert "Importar indicadores" in text


def test_upload_coordinator_and_manager(client, auth, world):
    auth.login(world.manager)
    data = {"file": (io.BytesIO(b"municipality_code,indicator,year,value\n05031,mdm,2022,40\n"), "i.csv")}
    assert client.post("/coverage/impact/import", data=data, content_type="multipart/form-data").status_code == 403
    assert _rows() == {}
    auth.login(world.coordinator)
    data = {"file": (io.BytesIO(b"municipality_code,indicator,year,value\n05031,mdm,2022,40\n"), "i.csv")}
    response = client.post("/coverage/impact/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert _rows() == {("05031", "mdm", 2022): 40.0}
    data = {
        "file": (io.BytesIO(b"municipality_code,indicator,year,value\n05031,mdm,2023,40\n00000,mdm,2023,1\n"), "i.csv")
    }
    response = client.post("/coverage/impact/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Línea 3" in _text(response) and "No se importó nada" in _text(response)
    assert _rows() == {("05031", "mdm", 2022): 40.0}


def test_impact_export_matches_page(client, auth, world, impact_data):
    import csv

    auth.login(world.manager)
    response = client.get("/coverage/export/impact.csv?indicator=mdm&year_from=2022&year_to=2024")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[1] == ["0", "2", "37.50", "38.50", "1.00", "37.50", "38.50", "1.00"]  # two decimals in every row
    assert rows[3] == ["5 o más", "1", "40.00", "50.00", "10.00", "40.00", "50.00", "10.00"]
    assert "impacto-mdm-2022-2024" in response.headers["Content-Disposition"]
    from openpyxl import load_workbook

    xlsx = client.get("/coverage/export/impact.xlsx?indicator=mdm&year_from=2022&year_to=2024")
    rows = [
        list(r) for r in load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).active.iter_rows(values_only=True)
    ]
    assert rows[3] == ["5 o más", 1, 40, 50, 10, 40, 50, 10]


def test_indicator_year_in_non_ascii_digits_is_a_named_error(app, world):
    """'²'.isdigit() is True but int('²') fails: the row is reported, nothing is written."""
    raw = "municipality_code,indicator,year,value\n05001,mdm,²⁰²⁴,50\n".encode()
    report = impact.import_indicators(raw)
    assert [e.line for e in report.errors] == [2]
    assert db.session.query(MunicipalIndicator).count() == 0
