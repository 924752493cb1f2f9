"""Bulk import of songs (DESIGN.md §8): all rows or none, errors by line, CSV/XLSX."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.domain.calendar import late_business_days
from app.domain.calendar import today as bogota_today
from app.domain.imports import COLUMNS, MAX_XLSX_UNCOMPRESSED, import_songs, parse_date
from app.extensions import db
from app.models import AuditEvent, Song
from tests.factories import make_song

HEADER = ",".join(COLUMNS)


def row(**overrides) -> dict:
    base = {
        "label_code": "DT01",
        "artist": "Equipo Andino",
        "album_code": "INN",
        "municipality_code": "05001",
        "scope": "Acompañamiento al plan de desarrollo",
        "planned_start": "2024-02-01",
        "due_date": "2024-03-15",
        "state": "",
        "delivered_on": "",
        "product": "",
        "beneficiaries": "",
    }
    base.update(overrides)
    return base


def csv_bytes(rows: list[dict], delimiter: str = ",", bom: bool = False) -> bytes:
    lines = [delimiter.join(COLUMNS)] + [delimiter.join(str(r[c]) for c in COLUMNS) for r in rows]
    text = "\r\n".join(lines) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def song_count() -> int:
    return db.session.scalar(select(func.count(Song.id)))


def test_clean_csv_imports_every_row_with_one_audit_event(world):
    report = import_songs(csv_bytes([row(), row(municipality_code="5002")]), "x.csv", world.coordinator)
    assert report.errors == []
    assert report.created == 2
    songs = db.session.scalars(select(Song).order_by(Song.id)).all()
    assert [s.municipality_id for s in songs] == [world.mun_plain.id, world.mun_cat5.id]
    assert {s.label_id for s in songs} == {world.label_a.id}
    assert songs[0].department_id == world.dep_a.id
    assert songs[0].state == "planned" and songs[0].season_id == world.season.id
    assert songs[0].created_by_id == world.coordinator.id and songs[0].version == 1
    assert songs[1].equity == pytest.approx(1.10)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "songs_imported")).all()
    assert len(events) == 1
    assert events[0].changes["count"] == [None, 2] and events[0].changes["file"] == [None, "x.csv"]
    assert events[0].actor_id == world.coordinator.id


def test_bom_semicolon_and_day_first_dates(world):
    raw = csv_bytes([row(planned_start="01/02/2024", due_date="15/03/2024")], delimiter=";", bom=True)
    report = import_songs(raw, "excel.csv", world.territorial_a)
    assert report.errors == []
    song = db.session.scalars(select(Song)).one()
    assert (song.planned_start, song.due_date) == (date(2024, 2, 1), date(2024, 3, 15))


def test_scope_with_commas_does_not_confuse_the_delimiter(world):
    raw = csv_bytes([row(scope="Uno; dos; tres")], delimiter=",")
    report = import_songs(raw.replace(b"Uno; dos; tres", b'"Uno; dos; tres"'), "x.csv", None)
    assert report.errors == [] and report.created == 1


def test_delivered_rows_store_timeliness_equity_and_survey_nonce(world, monkeypatch):
    from app.domain import calendar

    monkeypatch.setattr(calendar, "today", lambda: date(2024, 3, 26))  # Bogotá date of the import
    raw = csv_bytes(
        [
            row(
                municipality_code="05031",
                album_code="PAZ",
                state="delivered",
                due_date="2024-03-15",
                delivered_on="2024-03-22",
                product="Plan de acción",
                beneficiaries="12",
            )
        ]
    )
    report = import_songs(raw, "x.csv", world.territorial_a)
    assert report.errors == []
    song = db.session.scalars(select(Song)).one()
    late = late_business_days(date(2024, 3, 15), date(2024, 3, 22))
    assert late == 5
    assert song.late_business_days == late
    assert song.timeliness == pytest.approx(1 - late / 20)
    assert song.on_time is False
    assert song.equity == pytest.approx(1.4)  # PDET + category 6
    assert song.review_score is None and song.points is None
    assert song.beneficiaries == 12 and song.product == "Plan de acción"
    assert len(song.survey_nonce) == 32 and song.survey_issued_at is not None
    # It counts only once its evidence is attached (DESIGN.md §3); its own history entry says so.
    assert (song.awaiting_evidence, song.standing, song.committed_due) == (True, "evidence_pending", date(2024, 3, 15))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "song_imported")).one()
    assert event.entity_id == song.id and event.changes["standing"] == [None, "evidence_pending"]
    assert event.actor_id == world.territorial_a.id


def test_one_bad_row_in_a_thousand_writes_nothing_and_names_the_line(world):
    rows = [row() for _ in range(1000)]
    rows[636] = row(municipality_code="99999")
    report = import_songs(csv_bytes(rows), "mil.csv", world.coordinator)
    assert report.created == 0
    assert [e.line for e in report.errors] == [638]  # header is line 1
    assert "municipality_code" in report.errors[0].message
    assert song_count() == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"label_code": "DT99"}, "label_code"),
        ({"artist": "Equipo Costa"}, "artist"),  # exists, but in label B
        ({"album_code": "XYZ"}, "album_code"),
        ({"municipality_code": "08078"}, "municipality_code"),  # label B's department
        ({"planned_start": "2024-02-30"}, "planned_start"),
        ({"due_date": "15-03-2024"}, "due_date"),
        ({"planned_start": "2024-04-01", "due_date": "2024-03-15"}, "due_date"),
        ({"planned_start": "2025-01-01", "due_date": "2025-02-01"}, "due_date"),  # no season 2025
        ({"state": "reviewed"}, "state"),
        ({"state": "delivered", "product": "Acta"}, "delivered_on"),
        ({"state": "delivered", "delivered_on": "2024-03-15"}, "product"),
        (
            {"state": "delivered", "delivered_on": (bogota_today() + timedelta(days=3)).isoformat(), "product": "Acta"},
            "delivered_on",
        ),
        (
            {"state": "delivered", "delivered_on": "2024-03-15", "product": "Acta", "beneficiaries": "-3"},
            "beneficiaries",
        ),
        ({"beneficiaries": "2.5"}, "beneficiaries"),
        ({"scope": ""}, "scope"),
        ({"scope": "x" * 5001}, "scope"),
        ({"delivered_on": "2024-03-10"}, "delivered_on"),  # planned song with a delivery date
    ],
)
def test_each_rule_names_the_column(world, overrides, column):
    report = import_songs(csv_bytes([row(), row(**overrides)]), "x.csv", world.coordinator)
    assert report.created == 0 and song_count() == 0
    assert report.errors, overrides
    assert {e.line for e in report.errors} == {3}
    assert any(e.message.startswith(column + ":") for e in report.errors), report.errors


def test_territorial_cannot_import_for_another_label(world):
    raw = csv_bytes([row(), row(label_code="DT02", artist="Equipo Costa", municipality_code="08078")])
    report = import_songs(raw, "x.csv", world.territorial_a)
    assert [e.line for e in report.errors] == [3]
    assert "label_code" in report.errors[0].message and "propia disquera" in report.errors[0].message
    assert song_count() == 0
    # the same file is fine for a coordinator
    assert import_songs(raw, "x.csv", world.coordinator).created == 2


def test_manager_may_not_import(world):
    report = import_songs(csv_bytes([row()]), "x.csv", world.manager)
    assert report.errors and report.errors[0].line == 1 and song_count() == 0


def test_xlsx_import_with_date_cells_and_numeric_codes(world):
    raw = xlsx_bytes(
        [
            ["DT01", "Equipo Andino", "INN", 5001, "Alcance", date(2024, 2, 1), "15/03/2024", None, None, None, None],
            [
                "DT01",
                "equipo  andino",
                "paz",
                "05002",
                "Alcance 2",
                "2024-02-01",
                date(2024, 3, 20),
                "delivered",
                date(2024, 3, 20),
                "Acta",
                7,
            ],
        ]
    )
    report = import_songs(raw, "libro.xlsx", world.coordinator)
    assert report.errors == []
    songs = db.session.scalars(select(Song).order_by(Song.id)).all()
    assert [s.municipality_id for s in songs] == [world.mun_plain.id, world.mun_cat5.id]
    assert songs[1].album_id == world.album_paz.id and songs[1].timeliness == 1.0 and songs[1].beneficiaries == 7


def test_xlsx_bad_row_reports_spreadsheet_line(world):
    raw = xlsx_bytes(
        [
            ["DT01", "Equipo Andino", "INN", "05001", "A", "2024-02-01", "2024-03-01"],
            ["DT01", "Nadie", "INN", "05001", "A", "2024-02-01", "2024-03-01"],
        ]
    )
    report = import_songs(raw, "libro.xlsx", world.coordinator)
    assert [e.line for e in report.errors] == [3] and "artist" in report.errors[0].message


def test_xlsx_zip_bomb_is_refused(world):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (MAX_XLSX_UNCOMPRESSED + 10))
    report = import_songs(buffer.getvalue(), "bomba.xlsx", world.coordinator)
    assert report.errors and "descomprimido" in report.errors[0].message


@pytest.mark.parametrize(
    ("raw", "name", "needle"),
    [
        (b"", "x.csv", "vacío"),
        ("label_code;artist\nDT01;Ñandú\n".encode("latin-1"), "x.csv", "UTF-8"),
        (b"%PDF-1.4 \x00\x01", "x.pdf", "no admitido"),
        (b"\xd0\xcf\x11\xe0", "viejo.xls", ".xls"),
        (b"PK\x03\x04garbage", "roto.xlsx", "Excel"),
        (b"label_code,artist\nDT01,x\n", "x.csv", "Faltan columnas"),
        ((HEADER + ",notas\n").encode(), "x.csv", "desconocida"),
        ((HEADER + "\n\n,,,,,,,,,,\n").encode(), "x.csv", "no tiene filas"),
    ],
)
def test_unreadable_files_get_a_clear_message(world, raw, name, needle):
    report = import_songs(raw, name, world.coordinator)
    assert report.errors and report.errors[0].line == 1
    assert needle in " ".join(e.message for e in report.errors)


def test_dry_run_validates_without_writing(world):
    report = import_songs(csv_bytes([row(), row()]), "x.csv", world.coordinator, dry_run=True)
    assert report.errors == [] and report.rows_read == 2 and report.created == 0
    assert report.preview[0]["line"] == 2
    assert song_count() == 0


def test_parse_date_formats():
    assert parse_date("2024-03-05") == date(2024, 3, 5)
    assert parse_date("05/03/2024") == date(2024, 3, 5)
    assert parse_date("31/02/2024") is None
    assert parse_date("03-05-2024") is None


def test_cli_reports_the_bad_line_and_exits_1(world, runner, tmp_path):
    rows = [row() for _ in range(1000)]
    rows[499] = row(due_date="2024-13-01")
    path = tmp_path / "mil.csv"
    path.write_bytes(csv_bytes(rows))
    result = runner.invoke(args=["import", "songs", str(path)])
    assert result.exit_code == 1
    assert "línea 501: due_date" in result.output
    assert song_count() == 0


def test_cli_imports_a_clean_file_as_a_system_action(world, runner, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes([row(), row()]))
    result = runner.invoke(args=["import", "songs", str(path)])
    assert result.exit_code == 0, result.output
    assert "2" in result.output and song_count() == 2
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "songs_imported")).one()
    assert event.actor_id is None and event.changes["actor"] == [None, "sistema"]


def test_cli_as_territorial_of_another_label_is_refused(world, runner, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_bytes([row()]))
    result = runner.invoke(args=["import", "songs", str(path), "--as", "tb@test.co"])
    assert result.exit_code == 1 and "línea 2: label_code" in result.output
    assert song_count() == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_row_cap(world, monkeypatch, kind):
    from app.domain import imports

    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = [row() for _ in range(4)]
    raw = csv_bytes(rows) if kind == "csv" else xlsx_bytes([[r[c] for c in COLUMNS] for r in rows])
    report = import_songs(raw, f"x.{kind}", world.coordinator)
    assert report.errors[0].line == 1 and "más de 3 filas" in report.errors[0].message
    assert song_count() == 0
    assert import_songs(csv_bytes(rows[:3]), "x.csv", world.coordinator).created == 3


def test_duplicates_within_30_days_are_warnings_not_errors(world):
    make_song(world, municipality=world.mun_plain, album=world.album_inn, planned_start=date(2024, 1, 20))
    raw = csv_bytes(
        [
            row(planned_start="2024-02-01"),  # 12 days after the stored song
            row(municipality_code="05002", planned_start="2024-02-01"),
            row(municipality_code="05002", planned_start="2024-02-20"),  # 19 days after line 3
            row(municipality_code="05002", album_code="PAZ", planned_start="2024-02-20"),  # other album
        ]
    )
    report = import_songs(raw, "x.csv", world.coordinator, dry_run=True)
    assert report.errors == []
    assert [w.line for w in report.warnings] == [2, 4]
    assert "20/01/2024" in report.warnings[0].message
    assert import_songs(raw, "x.csv", world.coordinator).created == 4


@pytest.mark.parametrize("value", ["²", "٣", "1e3", " 7 x"])
def test_unicode_digits_are_not_numbers(world, value):
    report = import_songs(
        csv_bytes([row(state="delivered", delivered_on="2024-03-15", product="Acta", beneficiaries=value)]),
        "x.csv",
        world.coordinator,
    )
    assert [e.message.split(":")[0] for e in report.errors] == ["beneficiaries"]


def test_nul_bytes_anywhere_in_a_csv_are_refused(world):
    raw = csv_bytes([row() for _ in range(400)] + [row(scope="a\x00b")])
    report = import_songs(raw, "x.csv", world.coordinator)
    assert report.errors and report.errors[0].line == 1 and song_count() == 0
