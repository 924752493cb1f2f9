"""Song import screens: upload → preview → confirm (DESIGN.md §8, issue 4)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import Song
from tests.test_imports import csv_bytes, row


@pytest.fixture(autouse=True)
def _remove_pending_uploads(app):
    """Previews that are never confirmed leave a pending file under instance/imports: remove ours."""
    folder = Path(app.instance_path) / "imports"
    before = set(folder.glob("*")) if folder.exists() else set()
    yield
    for path in (set(folder.glob("*")) if folder.exists() else set()) - before:
        path.unlink(missing_ok=True)


def upload(client, raw: bytes, name: str = "canciones.csv"):
    return client.post(
        "/songs/import/preview",
        data={"file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def song_count() -> int:
    return db.session.scalar(select(func.count(Song.id)))


def test_upload_page_roles(client, auth, world):
    assert client.get("/songs/import").status_code == 302  # sign-in first
    auth.login(world.manager)
    assert client.get("/songs/import").status_code == 403
    auth.login(world.territorial_a)
    page = client.get("/songs/import")
    assert page.status_code == 200
    assert "plantilla" in page.get_data(as_text=True).lower()


def test_preview_then_confirm_imports_and_links_to_the_list(app, client, auth, world):
    auth.login(world.territorial_a)
    page = upload(client, csv_bytes([row(), row(scope="Segunda canción")]))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2 canción(es) listas para importar" in html and "Segunda canción" in html
    assert song_count() == 0
    with client.session_transaction() as session:
        pending = session["song_import"]
    pending_file = Path(app.instance_path) / "imports" / f"{pending}.upload"
    assert pending_file.exists()

    done = client.post("/songs/import/confirm", follow_redirects=True)
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Se importaron 2 canción(es)" in text and "/songs" in text
    assert song_count() == 2
    assert not pending_file.exists()
    # confirming again does nothing: the pending upload was spent
    again = client.post("/songs/import/confirm", follow_redirects=True)
    assert "expiró" in again.get_data(as_text=True) and song_count() == 2


def test_preview_lists_the_bad_line_of_a_thousand_rows_and_keeps_nothing(client, auth, world):
    rows = [row() for _ in range(1000)]
    rows[9] = row(album_code="NOPE")
    auth.login(world.coordinator)
    page = upload(client, csv_bytes(rows))
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "no se importó nada" in html
    assert '<td class="num">11</td>' in html and "album_code" in html
    with client.session_transaction() as session:
        assert "song_import" not in session
    assert client.post("/songs/import/confirm").status_code == 302
    assert song_count() == 0


def test_territorial_preview_for_another_label_is_refused(client, auth, world):
    auth.login(world.territorial_b)
    page = upload(client, csv_bytes([row()]))
    assert page.status_code == 422
    assert "propia disquera" in page.get_data(as_text=True)


def test_confirm_uses_the_server_copy_of_the_file_for_its_owner_only(client, auth, world):
    auth.login(world.territorial_a)
    upload(client, csv_bytes([row()]))
    with client.session_transaction() as session:
        pending = session["song_import"]
    # another user who somehow carries the same id cannot use it
    auth.login(world.coordinator)
    with client.session_transaction() as session:
        session["song_import"] = pending
    client.post("/songs/import/confirm")
    assert song_count() == 0


def test_clear_messages_for_empty_wrong_type_and_encoding(client, auth, world):
    auth.login(world.coordinator)
    assert "vacío" in upload(client, b"").get_data(as_text=True)
    page = upload(client, b"%PDF-1.4", "acta.pdf")
    assert page.status_code == 422 and "no admitido" in page.get_data(as_text=True)
    page = upload(client, "label_code\nÑ\n".encode("latin-1"))
    assert "UTF-8" in page.get_data(as_text=True)
    missing = client.post("/songs/import/preview", data={}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Seleccione un archivo" in missing.get_data(as_text=True)


def test_size_limit(app, client, auth, world):
    app.config["IMPORT_MAX_BYTES"] = 1024
    auth.login(world.coordinator)
    page = upload(client, csv_bytes([row() for _ in range(50)]))
    assert page.status_code == 413 and "tamaño máximo" in page.get_data(as_text=True)


def test_templates_download(client, auth, world):
    auth.login(world.territorial_a)
    csv_file = client.get("/songs/import/template?format=csv")
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    assert csv_file.data.startswith("\ufeff".encode()) and b"label_code,artist,album_code" in csv_file.data
    assert b"DT01,Equipo Andino,INN" in csv_file.data
    xlsx_file = client.get("/songs/import/template?format=xlsx")
    assert xlsx_file.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx_file.data)).worksheets[0]
    assert sheet.cell(1, 1).value == "label_code" and sheet.cell(2, 1).value == "DT01"
    assert client.get("/songs/import/template?format=pdf").status_code == 400


def test_preview_shows_duplicate_warnings(client, auth, world):
    auth.login(world.territorial_a)
    page = upload(client, csv_bytes([row(), row(planned_start="2024-02-10")]))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "posibles duplicados" in html and "Importar 2 canción(es)" in html


def test_xlsx_through_the_screens(client, auth, world):
    from tests.test_imports import xlsx_bytes

    auth.login(world.coordinator)
    raw = xlsx_bytes([["DT02", "Equipo Costa", "PAZ", 8078, "Alcance", "01/02/2024", "2024-03-01"]])
    page = upload(client, raw, "libro.xlsx")
    assert page.status_code == 200 and "1 canción(es) listas" in page.get_data(as_text=True)
    client.post("/songs/import/confirm")
    song = db.session.scalars(select(Song)).one()
    assert song.label_id == world.label_b.id and song.created_by_id == world.coordinator.id
