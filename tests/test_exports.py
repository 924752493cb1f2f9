"""Exports (DESIGN.md §6): CSV and XLSX open, match the pages' figures, and are formula-safe."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.domain import exports
from app.extensions import db
from app.models import Municipality
from tests import factories
from tests.test_coverage import build_coverage_data


@pytest.fixture
def data(world):
    return build_coverage_data(world)


def _csv(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def _xlsx(response) -> list[list]:
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Amalfi", "Amalfi"),
        ("", ""),
        (-3, -3),
        (0.5, 0.5),
        (None, None),
        (date(2024, 1, 2), date(2024, 1, 2)),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_filename_has_stem_season_and_date():
    name = exports.export_filename("cobertura-departamentos", 2024, "xlsx", today=date(2026, 11, 23))
    assert name == "cobertura-departamentos-2024-2026-11-23.xlsx"
    assert (
        exports.export_filename("../etc/pass wd", None, "csv", today=date(2026, 1, 2)) == "etc-pass-wd-2026-01-02.csv"
    )


def test_departments_csv_and_xlsx_match_the_table(client, auth, world, data):
    auth.login(world.manager)
    response = client.get("/coverage/export/departments.csv?season=2024")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert f"cobertura-departamentos-2024-{date.today().isoformat()}.csv" in disposition
    rows = _csv(response)
    assert rows[0][:10] == [
        "Código DANE",
        "Departamento",
        "Disquera · Dirección Territorial",
        "Municipios",
        "Municipios priorizados",
        "Municipios asistidos",
        "Cobertura",
        "Priorizados asistidos",
        "Cobertura priorizados",
        "Canciones entregadas",
    ]
    assert rows[0][10:] == ["INN · Innovación pública", "PAZ · Consolidación de la paz total"]
    assert rows[1] == [
        "05",
        "Antioquia",
        "Dirección Territorial Antioquia",
        "3",
        "2",
        "2",
        "0.6667",
        "1",
        "0.5",
        "3",
        "2",
        "1",
    ]
    assert rows[2] == [
        "08",
        "Atlántico",
        "Dirección Territorial Atlántico",
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
    ]
    assert rows[3] == ["11", "Bogotá, D.C.", "", "1", "0", "0", "0", "0", "", "0", "0", "0"]

    sheet = _xlsx(client.get("/coverage/export/departments.xlsx?season=2024"))
    assert sheet[0][:2] == ["Código DANE", "Departamento"]
    assert sheet[1][:10] == [
        "05",
        "Antioquia",
        "Dirección Territorial Antioquia",
        3,
        2,
        2,
        pytest.approx(2 / 3),
        1,
        0.5,
        3,
    ]
    assert sheet[3][8] is None  # Bogotá has no prioritised municipality: empty, not 0


def test_sorted_export_follows_the_page_order(client, auth, world, data):
    auth.login(world.manager)
    rows = _csv(client.get("/coverage/export/departments.csv?season=2024&sort=name&dir=desc"))
    assert [r[0] for r in rows[1:]] == ["11", "08", "05"]


def test_summary_export(client, auth, world, data):
    auth.login(world.coordinator)
    rows = _csv(client.get("/coverage/export/summary.csv?season=2024"))
    by_label = {r[0]: r for r in rows[1:]}
    assert by_label["Municipios alcanzados"][1:] == ["2", "5", "0.4", "1", "0.2", "1"]
    assert by_label["Canciones entregadas · Asistencias entregadas"][1] == "3"
    assert by_label["Entregas a tiempo"][1] == "0.6667"
    sheet = _xlsx(client.get("/coverage/export/summary.xlsx?season=2024"))
    assert sheet[3][:4] == ["Municipios alcanzados", 2, 5, 0.4]


def test_gaps_targets_municipalities_exports(client, auth, world, data):
    factories.add_playlist(world, world.label_a, 10)
    auth.login(world.manager)
    gaps = _csv(client.get("/coverage/export/gaps.csv?season=2024"))
    assert [r[3] for r in gaps[1:]] == ["05002", "08078"]
    assert gaps[2][8] == "2023-03-28"
    ever = _xlsx(client.get("/coverage/export/gaps.xlsx?season=2024&scope=ever"))
    assert [r[3] for r in ever[1:]] == ["05002"]
    targets = _csv(client.get("/coverage/export/targets.csv?season=2024&as_of=2024-06-30"))
    assert targets[1][:6] == ["DT01", "Dirección Territorial Antioquia", "Todas", "10", "3", "0.3"]
    assert targets[1][6] == "6"  # 3 / 182 × 366 = 6.03, rounded to one decimal
    munis = _csv(client.get("/coverage/export/municipalities.csv?season=2024&department=05"))
    amalfi = next(r for r in munis if r[0] == "05031")
    assert amalfi[5:9] == ["sí", "2", "2024-04-10", ""]
    assert amalfi[9:] == ["20", "", "", "", "no"]  # need: PDET only (no IDF nor DNP group in this world)
    assert client.get("/coverage/export/nothing.csv?season=2024").status_code == 404
    assert client.get("/coverage/export/departments.pdf?season=2024").status_code == 404


def test_formula_injection_is_neutralised(client, auth, world, data):
    world.label_a.name = '=HYPERLINK("http://evil.example","clic")'
    db.session.add(Municipality(code="05004", name="+1", department_id=world.dep_a.id, category="6", pdet=False))
    db.session.commit()
    auth.login(world.manager)
    gaps = _csv(client.get("/coverage/export/gaps.csv?season=2024"))
    row = next(r for r in gaps if r[3] == "05004")
    assert row[4] == "'+1"
    assert row[2] == '\'=HYPERLINK("http://evil.example","clic")'
    sheet = _xlsx(client.get("/coverage/export/gaps.xlsx?season=2024"))
    row = next(r for r in sheet if r[3] == "05004")
    assert row[4] == "'+1" and row[2].startswith("'=")
    departments = _xlsx(client.get("/coverage/export/departments.xlsx?season=2024"))
    assert departments[1][2].startswith("'=")
