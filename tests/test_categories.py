"""Official municipal categories by year (issue 17; DESIGN.md §2, §6)."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.domain import categories, reference_import
from app.domain.scoring import equity
from app.extensions import db
from app.models import AuditEvent, MunicipalCategory, MunicipalIndicator, Municipality, Song
from seeds.reference import REFERENCE_DIR, ensure_season, load_reference
from tests import factories

SHARED = Path("/work/shared/data/municipal_categories_2020_2023.csv")
# Counts per year and category of DNP's official workbooks (the shared file), written out
# here so that a changed shipped copy fails even where the shared folder is absent.
OFFICIAL_COUNTS = {
    2020: {"especial": 6, "1": 27, "2": 18, "3": 16, "4": 25, "5": 42, "6": 967},
    2021: {"especial": 6, "1": 24, "2": 23, "3": 19, "4": 22, "5": 49, "6": 959},
    2022: {"especial": 6, "1": 27, "2": 19, "3": 25, "4": 16, "5": 42, "6": 967},
    2023: {"especial": 6, "1": 27, "2": 19, "3": 25, "4": 16, "5": 42, "6": 967},
}
AMAGA = "05030"  # category 6 in 2020–2021, 5 in 2022–2023; not PDET


def _counts_in_file(path: Path) -> dict[int, dict[str, int]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        counter = Counter((int(r["year"]), r["category"]) for r in csv.DictReader(handle))
    out: dict[int, dict[str, int]] = {}
    for (year, category), n in counter.items():
        out.setdefault(year, {})[category] = n
    return out


def _mid(code: str) -> int:
    return db.session.scalar(select(Municipality.id).filter_by(code=code))


def _year_rows(year: int) -> list[tuple]:
    return db.session.execute(
        select(MunicipalCategory.municipality_id, MunicipalCategory.category, MunicipalCategory.capacity_group)
        .where(MunicipalCategory.year == year)
        .order_by(MunicipalCategory.municipality_id)
    ).all()


def test_shipped_categories_match_the_official_file_per_year_and_category(app):
    counts = load_reference()
    assert categories.counts_by_year() == OFFICIAL_COUNTS
    assert _counts_in_file(REFERENCE_DIR / "municipal_categories_2020_2023.csv") == OFFICIAL_COUNTS
    if SHARED.exists():
        assert _counts_in_file(SHARED) == OFFICIAL_COUNTS
    assert counts["category_years"] == sum(sum(c.values()) for c in OFFICIAL_COUNTS.values()) == 4407
    # Bello is category 1 (and DNP group G1) in 2023, not the "5" the demo used to invent.
    bello = db.session.scalar(select(MunicipalCategory).filter_by(municipality_id=_mid("05088"), year=2023))
    assert (bello.category, bello.capacity_group) == ("1", "G1")
    assert db.session.scalar(select(Municipality.category).filter_by(code="05088")) == "1"
    # San Andrés and the non-municipalised areas have none: never category 6, never prioritised for it.
    for code in ("88001", "91263", "94883", "97511"):
        m = db.session.scalar(select(Municipality).filter_by(code=code))
        assert m.category is None and not m.prioritised
        assert categories.category_in_force(m.id, 2024) is None
    assert counts["indicator_values"] == db.session.scalar(
        select(func.count()).select_from(MunicipalIndicator).where(MunicipalIndicator.indicator == "idf")
    )
    assert counts["indicator_values"] == 4399
    assert counts["prioritised"] == db.session.scalar(
        select(func.count())
        .select_from(Municipality)
        .where((Municipality.pdet.is_(True)) | Municipality.category.in_(("5", "6")))
    )


def test_seed_is_idempotent_and_never_undoes_an_official_reimport(app):
    load_reference()
    before = {y: _year_rows(y) for y in (2020, 2021, 2022, 2023)}
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    raw = f"municipality_code,year,category,capacity_group\n{AMAGA},2023,4,G3\n".encode()
    report = reference_import.import_categories(raw, "correccion.csv")
    assert not report.errors and report.changed == 1
    db.session.commit()
    load_reference()
    assert (
        db.session.scalar(select(MunicipalCategory.category).filter_by(municipality_id=_mid(AMAGA), year=2023)) == "4"
    )
    assert {y: _year_rows(y) for y in (2020, 2021, 2022)} == {y: before[y] for y in (2020, 2021, 2022)}
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events + 1  # the import, not the seeds


def _song(world, season, municipality_code: str, due: date) -> Song:
    municipality = db.session.get(Municipality, _mid(municipality_code))
    return factories.make_song(
        dataclasses.replace(world, season=season),
        municipality=municipality,
        state="reviewed",
        planned_start=date(due.year, 2, 1),
        due=due,
        delivered_on=due,
        review=(4, 4, 4, 4),
    )


def test_equity_uses_the_category_in_force_in_the_season_year(app, world):
    load_reference(date(2024, 6, 1))
    s2021, s2024 = ensure_season(2021), world.season
    db.session.commit()
    old = _song(world, s2021, AMAGA, date(2021, 5, 4))
    new = _song(world, s2024, AMAGA, date(2024, 5, 7))
    assert old.equity == pytest.approx(equity(False, "6"))  # 2021 figure: category 6
    # No 2024 figure yet: the 2023 one (category 5) is in force.
    assert new.equity == pytest.approx(equity(False, "5")) == pytest.approx(1.10)
    points_before = new.points

    # DNP publishes 2024: Amagá becomes category 6. Only songs of seasons ≥ 2024 move.
    raw = f"municipality_code,year,category,capacity_group\n{AMAGA},2024,6,G4\n".encode()
    report = reference_import.import_categories(raw, "dnp-2024.csv")
    assert not report.errors and report.years == [2024] and report.recomputed_songs == 1
    db.session.commit()
    db.session.refresh(new), db.session.refresh(old)
    assert new.equity == pytest.approx(1.15) and new.points > points_before
    assert old.equity == pytest.approx(1.15)  # still the 2021 figure, untouched
    assert db.session.scalar(select(Municipality.category).filter_by(code=AMAGA)) == "6"
    assert db.session.scalar(select(Municipality.category_source).filter_by(code=AMAGA)) == "official:2024"


def test_reimport_of_one_year_changes_only_that_year(app):
    load_reference()
    before = {y: _year_rows(y) for y in (2020, 2021, 2022, 2023)}
    with (REFERENCE_DIR / "municipal_categories_2020_2023.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["year"] == "2022"]
    for r in rows[:3]:
        r["category"], r["capacity_group"] = "4", "G2"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    report = reference_import.import_categories(out.getvalue().encode(), "dnp-2022.csv")
    assert not report.errors
    assert (report.created, report.years) == (len(rows), [2022])
    assert report.changed == 3  # the three edited rows
    db.session.commit()
    after = {y: _year_rows(y) for y in (2020, 2021, 2022, 2023)}
    assert {y: after[y] for y in (2020, 2021, 2023)} == {y: before[y] for y in (2020, 2021, 2023)}
    changed = set(after[2022]) - set(before[2022])
    assert len(changed) == 3 and all(c[1:] == ("4", "G2") for c in changed)


def _dnp_workbook(rows: list[tuple], title: str = "Evaluación del desempeño fiscal - vigencia 2024") -> bytes:
    """A workbook laid out like DNP's results file: a cover sheet, then *Municipios*
    with title rows above the header and a source note under the table."""
    wb = Workbook()
    cover = wb.active
    cover.title = "Presentación"
    cover.append(["Departamento Nacional de Planeación"])
    sheet = wb.create_sheet("Municipios")
    sheet.append([title])
    sheet.append(["Nueva metodología"])
    sheet.append([])
    sheet.append(
        ["Código DANE", "Departamento", "Municipio", "Grupo de dotaciones iniciales", "Categoría Ley 617", "Nuevo IDF"]
    )
    for row in rows:
        sheet.append(list(row))
    sheet.append([])
    sheet.append(["Fuente: DNP, Dirección de Descentralización y Fortalecimiento Fiscal."])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_official_xlsx_bad_row_writes_nothing_and_names_the_line(app):
    load_reference()
    before = db.session.scalar(select(func.count(MunicipalCategory.id)))
    rows = [
        (5001, "Antioquia", "Medellín", "C", "Especial", 80.1),  # row 5
        (5030, "Antioquia", "Amagá", "G4", 6, 55.2),  # row 6
        ("05088", "Antioquia", "Bello", "G1", "1", 70.0),  # row 7
        (5002, "Antioquia", "Abejorral", "G4", "9", 50.0),  # row 8: no category 9
        (99999, "—", "Nowhere", "G5", "6", 1.0),  # row 9: unknown code
    ]
    report = reference_import.import_categories(_dnp_workbook(rows), "Resultados_IDF_2024.xlsx")
    assert [(e.line, e.message) for e in report.errors] == [
        (8, "Categoría no válida: '9' (especial o 1 a 6)."),
        (9, "Código DANE de municipio desconocido: '99999'."),
    ]
    db.session.rollback()
    assert db.session.scalar(select(func.count(MunicipalCategory.id))) == before
    assert db.session.scalar(select(func.count(MunicipalCategory.id)).where(MunicipalCategory.year == 2024)) == 0

    report = reference_import.import_categories(_dnp_workbook(rows[:3]), "Resultados_IDF_2024.xlsx")
    assert not report.errors and report.years == [2024] and report.created == 3
    db.session.commit()
    got = dict(
        db.session.execute(
            select(Municipality.code, MunicipalCategory.category)
            .join(Municipality, Municipality.id == MunicipalCategory.municipality_id)
            .where(MunicipalCategory.year == 2024)
        ).all()
    )
    assert got == {"05001": "especial", "05030": "6", "05088": "1"}
    assert db.session.scalar(select(func.count(MunicipalCategory.id))) == before + 3


def test_contaduria_layout_year_in_the_category_header_and_cli(app, runner, tmp_path):
    load_reference()
    wb = Workbook()
    sheet = wb.active
    sheet.append(["CATEGORIZACIÓN DE DEPARTAMENTOS, DISTRITOS Y MUNICIPIOS"])
    sheet.append(["Código CGN", "Código DIVIPOLA", "Nombre", "Categoría 2025"])
    sheet.append(["210105001", "05001", "MEDELLÍN", "E"])
    sheet.append(["210505088", "05088", "BELLO", "Primera"])
    sheet.append(["218888001", "88001", "SAN ANDRÉS", None])  # no category: skipped, never 6
    path = tmp_path / "HISTORICOS.xlsx"
    wb.save(path)
    result = runner.invoke(args=["import", "categories", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 filas de 2025" in result.output and "1 sin categoría" in result.output
    assert categories.category_in_force(_mid("05088"), 2026) == "1"
    assert categories.category_in_force(_mid("88001"), 2026) is None

    bad = tmp_path / "bad.csv"
    bad.write_text("municipality_code,year,category\n05001,2026,especial\n99999,2026,6\n05002,2026,9\n", "utf-8")
    result = runner.invoke(args=["import", "categories", str(bad)])
    assert result.exit_code == 1
    assert "línea 3" in result.output and "línea 4" in result.output
    assert db.session.scalar(select(func.count(MunicipalCategory.id)).where(MunicipalCategory.year == 2026)) == 0
    no_year = tmp_path / "sin-ano.csv"
    no_year.write_text("municipality_code;category\n05001;especial\n", "utf-8")
    assert runner.invoke(args=["import", "categories", str(no_year)]).exit_code == 1
    result = runner.invoke(args=["import", "categories", str(no_year), "--year", "2027"])
    assert result.exit_code == 0, result.output
    assert categories.category_in_force(_mid("05001"), 2027) == "especial"


# DNP's results sheet names its indicators "Capacidad de …" (ingresos, inversión) to the left
# of the capacity group, and a workbook may carry another categorisation (TerriData's
# "Categoría de ruralidad") beside Ley 617's: neither is the group nor the category.
DNP_FULL_HEADER = [
    "Código",
    "Departamento",
    "Municipio",
    "Categoría de ruralidad",
    "Dependencia de las transferencias",
    "Relevancia FBK fijo",
    "Capacidad de programación y recaudo de ingresos",
    "Capacidad de ejecución de la inversión",
    "Holgura",
    "Nuevo IDF",
    "Rango",
    "Grupo de capacidades iniciales",
    "Categoría Ley 617",
]


def _shipped_rows() -> list[dict]:
    with (REFERENCE_DIR / "municipal_categories_2020_2023.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def full_dnp_workbook(rows: list[dict], edited: dict[str, tuple[str, str]], idf: float = 58.9) -> bytes:
    """One year of the shipped rows laid out as DNP's sheet *Municipios* (DNP_FULL_HEADER);
    ``edited``: code → (category, group) that differ from the shipped ones."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = "Municipios"
    sheet.append([f"Resultados del desempeño fiscal de los municipios, vigencia {rows[0]['year']}"])
    sheet.append([])
    sheet.append(DNP_FULL_HEADER)
    for r in rows:
        category, group = edited.get(r["municipality_code"], (r["category"], r["capacity_group"]))
        sheet.append(
            [int(r["municipality_code"]), "—", "—", "Rural", 61.2, 12.5, 81.4, 77.3, 40.1, idf, "Vulnerable"]
            + [group, "Especial" if category == "especial" else int(category)]
        )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _idf_rows(year: int) -> list[tuple]:
    return db.session.execute(
        select(MunicipalIndicator.municipality_id, MunicipalIndicator.value)
        .where(MunicipalIndicator.indicator == "idf", MunicipalIndicator.year == year)
        .order_by(MunicipalIndicator.municipality_id)
    ).all()


def test_dnp_workbook_reimport_of_2023_changes_only_that_year(app):
    load_reference()
    before = {y: _year_rows(y) for y in (2020, 2021, 2022, 2023)}
    idf_before = {y: _idf_rows(y) for y in (2021, 2022)}
    rows = [r for r in _shipped_rows() if r["year"] == "2023"]
    workbook = full_dnp_workbook(rows, {AMAGA: ("4", "G3"), "05088": ("2", "G2")})
    report = reference_import.import_categories(workbook, "Resultados_IDF_2023.xlsx")
    assert not report.errors, report.errors[:3]
    assert (report.created, report.years, report.changed) == (len(rows), [2023], 2)
    db.session.commit()
    after = {y: _year_rows(y) for y in (2020, 2021, 2022, 2023)}
    assert {y: after[y] for y in (2020, 2021, 2022)} == {y: before[y] for y in (2020, 2021, 2022)}
    changed = set(after[2023]) - set(before[2023])
    assert changed == {(_mid(AMAGA), "4", "G3"), (_mid("05088"), "2", "G2")}
    assert categories.category_in_force(_mid("05088"), 2024) == "2"
    assert categories.category_in_force(_mid("05088"), 2022) == "1"
    # the workbook's "Nuevo IDF" column is 2023's IDF now; 2020-2022 keep theirs
    assert idf_before[2022] == _idf_rows(2022) and idf_before[2021] == _idf_rows(2021)
    assert {value for _mid_, value in _idf_rows(2023)} == {58.9}


def test_demo_seed_invents_no_category(app):
    """The demo loads the official figures and writes none of its own: the counts per year stay
    DNP's, every current category names its official year, the 19 territories without one keep none."""
    from seeds.demo import seed_demo

    seed_demo(songs=40, seed=3, today=date(2024, 6, 1))
    db.session.commit()
    assert categories.counts_by_year() == OFFICIAL_COUNTS
    sources = set(db.session.scalars(select(Municipality.category_source).distinct()))
    assert sources == {None, "official:2023"}
    assert db.session.scalar(select(func.count(Municipality.id)).where(Municipality.category.is_(None))) == 19
    assert db.session.scalar(select(Municipality.category).filter_by(code="88001")) is None
    assert db.session.scalar(select(Municipality.category).filter_by(code="05088")) == "1"


def test_dnp_workbook_brings_its_idf_into_the_need_score(app, runner, tmp_path):
    """A new year's DNP workbook carries that year's IDF (column "Nuevo IDF"): imported with the
    categories, all or none, it is the IDF in force for the need score of that year on."""
    from app.domain import need

    load_reference()
    before = need.scores(2024)[_mid(AMAGA)]
    assert (before.idf_year, before.idf) == (2023, pytest.approx(dict(_idf_rows(2023))[_mid(AMAGA)]))
    idf_2023 = _idf_rows(2023)
    rows = [
        (5001, "Antioquia", "Medellín", "C", "Especial", None),  # row 5: no IDF in the cell
        (5030, "Antioquia", "Amagá", "G4", 6, 20.5),  # row 6
        ("05088", "Antioquia", "Bello", "G1", "1", "N.D."),  # row 7: DNP's "no data"
        (5002, "Antioquia", "Abejorral", "G4", "6", 120),  # row 8: not an IDF
        (5004, "Antioquia", "Abriaquí", "G4", "6", "alto"),  # row 9: not a number
    ]
    report = reference_import.import_categories(_dnp_workbook(rows), "Resultados_IDF_2024.xlsx")
    assert [(e.line, e.message) for e in report.errors] == [
        (8, "IDF no válido: '120' (un número de 0 a 100)."),
        (9, "IDF no válido: 'alto' (un número de 0 a 100)."),
    ]
    db.session.rollback()
    assert _idf_rows(2024) == [] and _year_rows(2024) == []

    report = reference_import.import_categories(_dnp_workbook(rows[:3]), "Resultados_IDF_2024.xlsx")
    assert not report.errors and (report.created, report.idf_values, report.idf_changed) == (3, 1, 1)
    db.session.commit()
    assert _idf_rows(2024) == [(_mid(AMAGA), 20.5)] and _idf_rows(2023) == idf_2023
    after = need.scores(2024)
    assert (after[_mid(AMAGA)].idf_year, after[_mid(AMAGA)].idf) == (2024, 20.5)
    assert after[_mid(AMAGA)].score > before.score  # a lower IDF: needier
    assert after[_mid("05088")].idf_year == 2023  # "N.D.": the 2023 figure stays in force
    assert need.scores(2023)[_mid(AMAGA)].idf_year == 2023
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert event.changes["idf"] == 1 and event.changes["years"] == [2024]
    # a CSV with an idf column, through the CLI (decimal comma as es-CO writes it)
    path = tmp_path / "dnp-2025.csv"
    path.write_text('municipality_code,year,category,capacity_group,idf\n05030,2025,6,G4,"21,5"\n', "utf-8")
    result = runner.invoke(args=["import", "categories", str(path)])
    assert result.exit_code == 0 and "IDF: 1 valores (1 cambios)." in result.output, result.output
    assert _idf_rows(2025) == [(_mid(AMAGA), 21.5)]
