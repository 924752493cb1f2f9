"""Evidence files (DESIGN.md §3): type by content, size limit, atomic storage, audit."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.domain import evidence as evidence_domain
from app.domain import lifecycle
from app.domain.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, Evidence
from tests.factories import make_song

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _ooxml(parts: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in parts:
            archive.writestr(part, "<x/>")
    return buffer.getvalue()


def _file(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="image/jpeg")


def _files_on_disk(app) -> list[str]:
    return sorted(os.listdir(app.config["UPLOAD_FOLDER"]))


@pytest.mark.parametrize(
    "data,name,content_type,stored_ext,shown",
    [
        (PDF, "acta.pdf", "application/pdf", "pdf", "acta.pdf"),
        (JPEG, "foto 1.JPG", "image/jpeg", "jpg", "foto 1.jpg"),
        (PNG, "mapa.png", "image/png", "png", "mapa.png"),
        (
            _ooxml(["[Content_Types].xml", "word/document.xml"]),
            "informe.docx",
            evidence_domain.DOCX,
            "docx",
            "informe.docx",
        ),
        (
            _ooxml(["[Content_Types].xml", "xl/workbook.xml"]),
            "asistencia.xlsx",
            evidence_domain.XLSX,
            "xlsx",
            "asistencia.xlsx",
        ),
        (PDF, "acta_reunión.jpg", "application/pdf", "pdf", "acta_reunión.jpg.pdf"),  # the content decides
    ],
)
def test_accepted_types_detected_by_content(app, world, data, name, content_type, stored_ext, shown):
    song = make_song(world)
    ev = evidence_domain.add_evidence(world.territorial_a, song, _file(data, name))
    db.session.commit()
    assert ev.content_type == content_type
    assert ev.original_name == shown
    assert ev.stored_name.endswith("." + stored_ext) and len(ev.stored_name.split(".")[0]) == 32
    path = evidence_domain.evidence_path(ev)
    assert path.read_bytes() == data
    assert ev.sha256 == hashlib.sha256(data).hexdigest() and ev.size_bytes == len(data)
    assert not [n for n in _files_on_disk(app) if n.endswith(".part")]


@pytest.mark.parametrize(
    "data,name",
    [
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "photo.jpg"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "photo.jpg"),
        (b"<html><script>alert(1)</script></html>", "acta.pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png"),
        (_ooxml(["[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"]), "macro.docx"),
        (_ooxml(["hola.txt"]), "comprimido.docx"),
        (b"PK\x03\x04 not really a zip", "informe.xlsx"),
        (b"", "vacio.pdf"),
    ],
)
def test_spoofed_or_unknown_files_refused_and_nothing_written(app, world, data, name):
    song = make_song(world)
    with pytest.raises(ValidationFailed) as exc:
        evidence_domain.add_evidence(world.territorial_a, song, _file(data, name))
    assert "file" in exc.value.details
    db.session.rollback()
    assert _files_on_disk(app) == []
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "evidence_added")) == 0


def test_oversize_refused(app, world):
    app.config["EVIDENCE_MAX_BYTES"] = 100
    song = make_song(world)
    with pytest.raises(ValidationFailed) as exc:
        evidence_domain.add_evidence(world.territorial_a, song, _file(PDF + b"0" * 100, "grande.pdf"))
    assert "MB" in exc.value.message
    assert _files_on_disk(app) == []
    exact = PDF + b"0" * (100 - len(PDF))
    assert evidence_domain.add_evidence(world.territorial_a, song, _file(exact, "justo.pdf")).size_bytes == 100


def test_rollback_deletes_written_file_and_removal_deletes_after_commit(app, world):
    song = make_song(world)
    evidence_domain.add_evidence(world.territorial_a, song, _file(PDF, "a.pdf"))
    assert len(_files_on_disk(app)) == 1
    db.session.rollback()
    assert _files_on_disk(app) == []
    ev = evidence_domain.add_evidence(world.territorial_a, song, _file(PDF, "b.pdf"))
    db.session.commit()
    path = evidence_domain.evidence_path(ev)
    evidence_domain.remove_evidence(world.territorial_a, ev)
    assert path.exists()  # still there until the removal is committed
    db.session.commit()
    assert not path.exists()
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == song.id)).all()
    assert "evidence_added" in actions and "evidence_removed" in actions


def test_permissions_and_closed_states(app, world):
    song = make_song(world)
    with pytest.raises(PermissionDenied):
        evidence_domain.add_evidence(world.territorial_b, song, _file(PDF, "a.pdf"))
    with pytest.raises(PermissionDenied):
        evidence_domain.add_evidence(world.manager, song, _file(PDF, "a.pdf"))
    ev = evidence_domain.add_evidence(world.territorial_a, song, _file(PDF, "a.pdf"))
    db.session.commit()
    with pytest.raises(PermissionDenied):
        evidence_domain.get_evidence(world.territorial_b, song, ev.id)
    with pytest.raises(PermissionDenied):
        evidence_domain.remove_evidence(world.territorial_b, ev)
    reviewed = make_song(world, state="reviewed", delivered_on=date(2024, 3, 28), review=(4, 4, 4, 4))
    with pytest.raises(ValidationFailed):
        evidence_domain.add_evidence(world.territorial_a, reviewed, _file(PDF, "a.pdf"))


def test_delivered_song_keeps_its_last_evidence(app, world):
    song = make_song(world, state="in_progress")
    ev = evidence_domain.add_evidence(world.territorial_a, song, _file(PDF, "a.pdf"))
    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on=date(2024, 3, 28), product="Plan", beneficiaries=3
    )
    db.session.commit()
    with pytest.raises(ValidationFailed):
        evidence_domain.remove_evidence(world.territorial_a, ev)
    second = evidence_domain.add_evidence(world.territorial_a, song, _file(PNG, "b.png"))
    db.session.commit()
    evidence_domain.remove_evidence(world.territorial_a, ev)
    db.session.commit()
    assert [e.id for e in song.evidence] == [second.id]


def test_sanitised_names_never_reach_the_path(app, world):
    song = make_song(world)
    ev = evidence_domain.add_evidence(world.territorial_a, song, _file(PDF, "..\\..\\windows\\sys<32>.pdf"))
    db.session.commit()
    assert "/" not in ev.original_name and "\\" not in ev.original_name and "<" not in ev.original_name
    assert Path(app.config["UPLOAD_FOLDER"]) / ev.stored_name == evidence_domain.evidence_path(ev)
