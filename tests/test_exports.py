"""Exports (DESIGN.md §6): CSV and XLSX open, match the pages' figures, and are formula-safe."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.domain import exports
from app.domain.calendar import today as bogota_today
from app.extensions import db
from app.models import Municipality
from tests import factories
from tests.test_coverage import build_coverage_data


@pytest.fixture
def data(world):
    return build_coverage_data(world)


def _csv(response) -> list[list[str]]:
    """The RFC 4180 flavour: comma separated, dot decimals, UTF-8 without BOM."""
    raw = response.get_data()
    assert not raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), strict=True))


def _excel_csv(response) -> list[list[str]]:
    """The "Excel (es-CO)" flavour: semicolon separated, decimal comma, UTF-8 with BOM."""
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";", strict=True))


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
    assert f"cobertura-departamentos-2024-{bogota_today().isoformat()}.csv" in disposition
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
        "0.5000",
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
        "0.0000",
        "0",
        "0.0000",
        "0",
        "0",
        "0",
    ]
    assert rows[3] == ["11", "Bogotá, D.C.", "", "1", "0", "0", "0.0000", "0", "", "0", "0", "0"]

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
    assert by_label["Municipios alcanzados"][1:] == ["2", "5", "0.4000", "1", "0.2000", "1"]
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
    assert targets[1][:6] == ["DT01", "Dirección Territorial Antioquia", "Todas", "10", "3", "0.3000"]
    assert targets[1][6] == "6.0"  # 3 / 182 × 366 = 6.03, rounded to one decimal, always one decimal
    munis = _csv(client.get("/coverage/export/municipalities.csv?season=2024&department=05"))
    amalfi = next(r for r in munis if r[0] == "05031")
    assert amalfi[5:9] == ["sí", "2", "2024-04-10", ""]
    assert amalfi[9:] == ["20.0", "", "", "", "no"]  # need: PDET only (no IDF nor DNP group in this world)
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


def _workbook(response):
    assert response.status_code == 200 and response.mimetype == exports.XLSX_MIME.split(";")[0]
    return load_workbook(io.BytesIO(response.get_data())).active  # not read-only: styles and sheet views


def test_xlsx_has_numeric_cells_with_number_formats_widths_frozen_header_and_filter(client, auth, world, data):
    auth.login(world.manager)
    sheet = _workbook(client.get("/coverage/export/departments.xlsx?season=2024"))
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Código DANE", "Departamento"]
    assert all(c.font.b for c in sheet[1]), "the header is bold"
    assert sheet.freeze_panes == "A2", "the header stays on screen when scrolling"
    assert sheet.auto_filter.ref == f"A1:L{sheet.max_row}", "a filter covers the whole table"
    code, municipalities, share = sheet["A2"], sheet["D2"], sheet["G2"]
    assert code.value == "05" and code.data_type == "s" and code.number_format == "@", "DANE codes stay text"
    assert municipalities.value == 3 and municipalities.data_type == "n" and municipalities.number_format == "#,##0"
    assert share.data_type == "n" and share.value == pytest.approx(2 / 3) and share.number_format == "0.0%"
    assert sheet["I4"].value is None  # Bogotá has no prioritised municipality: empty, not 0
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    assert widths["C"] >= len("Dirección Territorial Antioquia"), widths
    assert 6 <= widths["A"] < widths["C"], widths

    factories.add_playlist(world, world.label_a, 10)
    targets = _workbook(client.get("/coverage/export/targets.xlsx?season=2024&as_of=2024-06-30"))
    assert targets["D2"].value == 10 and targets["D2"].number_format == "#,##0"
    assert targets["F2"].value == pytest.approx(0.3) and targets["F2"].number_format == "0.0%"
    assert targets["G2"].value == pytest.approx(6.0) and targets["G2"].number_format == "#,##0.0"


def test_categories_are_numbers_in_xlsx_and_the_word_especial_stays_text(client, auth, world, data):
    db.session.add(
        Municipality(
            code="05005", name="Ciudad especial", department_id=world.dep_a.id, category="especial", pdet=False
        )
    )
    db.session.commit()
    auth.login(world.manager)
    sheet = _workbook(client.get("/coverage/export/municipalities.xlsx?season=2024&department=05"))
    categories = {row[0].value: row[2] for row in sheet.iter_rows(min_row=2)}
    numeric = [c for code, c in categories.items() if code != "05005" and c.value is not None]
    assert numeric and all(isinstance(c.value, int) and c.data_type == "n" for c in numeric), [c.value for c in numeric]
    assert categories["05005"].value == "especial"
    assert sheet["F2"].value in ("sí", "no")


def test_csv_comes_in_two_flavours_that_parse_back_to_the_same_figures(client, auth, world, data):
    auth.login(world.manager)
    rfc = client.get("/coverage/export/departments.csv?season=2024")
    excel = client.get("/coverage/export/departments.csv?season=2024&flavour=excel")
    assert excel.status_code == 200 and excel.mimetype == "text/csv"
    assert "cobertura-departamentos-excel-2024-" in excel.headers["Content-Disposition"]
    systems, people = _csv(rfc), _excel_csv(excel)
    assert len(systems) == len(people) and systems[0] == people[0]
    assert systems[1][6] == "0.6667" and people[1][6] == "66,67%"
    assert people[1][0] == '="05"', "Excel keeps the DANE code's leading zero"
    for a, b in zip(systems[1:], people[1:], strict=True):
        assert float(a[6]) == pytest.approx(float(b[6].rstrip("%").replace(",", ".")) / 100, abs=1e-4)
        assert a[3:6] == b[3:6]  # counts read the same in both
    # One number of decimals per column, in every row (no "61" beside "129.7").
    factories.add_playlist(world, world.label_a, 10)
    targets = _excel_csv(client.get("/coverage/export/targets.csv?season=2024&as_of=2024-06-30&flavour=excel"))
    assert targets[1][6] == "6,0"
    assert client.get("/coverage/export/departments.csv?season=2024&flavour=tsv").status_code == 400


def test_export_cells_unit():
    headers = ["code", "n", "share", "score", "day", "flag", "mixed"]
    rows = [
        ["08", 1234, 0.5, 0.25, date(2024, 3, 1), True, exports.Cell(0.125, "pct")],
        ["=1+1", None, None, 1.0, None, False, exports.Cell(7, "int")],
    ]
    kinds = ["code", "int", "pct", "score", "date", "bool", "text"]
    rfc = list(csv.reader(io.StringIO(exports.csv_bytes(headers, rows, kinds).decode("utf-8"))))
    assert rfc[1] == ["08", "1234", "0.5000", "0.2500", "2024-03-01", "sí", "0.1250"]
    assert rfc[2] == ["'=1+1", "", "", "1.0000", "", "no", "7"]
    raw = exports.csv_bytes(headers, rows, kinds, flavour="excel").decode("utf-8-sig")
    excel = list(csv.reader(io.StringIO(raw), delimiter=";"))
    assert excel[1] == ['="08"', "1234", "50,00%", "0,2500", "01/03/2024", "sí", "12,50%"]
    assert excel[2][0] == "'=1+1"
    with pytest.raises(ValueError):
        exports.csv_bytes(headers, rows, kinds, flavour="tsv")
    assert exports.infer_kinds(headers, rows) == ["text", "int", "dec2", "dec2", "date", "bool", "dec2"]
