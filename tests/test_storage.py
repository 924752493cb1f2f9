"""Issue 19 item 13: a full disk on upload is a clear 507, and nothing is half-written.

How the full disk is made: the container has no tiny filesystem to fill (no tmpfs or loop
mounts), so the storage layer's one write call (``app.domain.storage._write``) is pointed at
``/dev/full``, the kernel device whose every write fails with a real ``ENOSPC``. The
temporary file, the rename and the clean-up are the real ones.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain import storage
from app.extensions import db
from app.models import AuditEvent, Evidence
from tests.factories import make_song
from tests.test_imports import csv_bytes, row

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def full_disk(monkeypatch):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    real_write = storage._write

    def write_to_a_full_disk(handle, data):
        with open("/dev/full", "wb") as full:
            real_write(full, data)  # raises OSError(ENOSPC) from the kernel

    monkeypatch.setattr(storage, "_write", write_to_a_full_disk)


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.exists() else set()


def test_dev_full_really_says_no_space():
    with pytest.raises(OSError) as exc, open("/dev/full", "wb") as full:
        storage._write(full, b"x")
    assert exc.value.errno == errno.ENOSPC


def test_evidence_upload_on_a_full_disk_is_a_507(app, client, world, auth, full_disk):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = _files(folder)
    api = client.post(
        f"/api/v1/songs/{song.id}/evidence",
        data={"file": (io.BytesIO(PDF), "acta.pdf")},
        content_type="multipart/form-data",
    )
    assert api.status_code == 507
    assert "espacio" in api.get_json()["error"]
    page = client.post(
        f"/songs/{song.id}/evidence", data={"file": (io.BytesIO(PDF), "acta.pdf")}, content_type="multipart/form-data"
    )
    assert page.status_code == 507 and "espacio" in page.get_data(as_text=True)
    assert _files(folder) == before  # no temporary file, no half file
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "evidence_added"))
        == 0
    )


def test_import_preview_on_a_full_disk_is_a_507(app, client, world, auth, full_disk):
    auth.login(world.territorial_a)
    folder = Path(app.instance_path) / "imports"
    before = _files(folder)
    response = client.post(
        "/songs/import/preview",
        data={"file": (io.BytesIO(csv_bytes([row()])), "canciones.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 507 and "espacio" in response.get_data(as_text=True)
    assert _files(folder) == before
    with client.session_transaction() as session:
        assert "song_import" not in session


def test_another_storage_failure_is_a_503(app, client, world, auth, monkeypatch):
    def broken(handle, data):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storage, "_write", broken)
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    api = client.post(
        f"/api/v1/songs/{song.id}/evidence",
        data={"file": (io.BytesIO(PDF), "acta.pdf")},
        content_type="multipart/form-data",
    )
    assert api.status_code == 503 and api.get_json()["error"]
