"""Issue 9: the audit trail viewer (admins and coordinators), CSV export, append-only guarantee."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from app.domain import audit
from app.extensions import db
from app.models import AuditEvent
from app.security import AuditTrailIsAppendOnly


@pytest.fixture
def events(world):
    audit.record("song_created", "song", 7, actor_id=world.territorial_a.id, changes={"scope": [None, "=HYPERLINK(1)"]})
    audit.record(
        "song_updated", "song", 7, actor_id=world.coordinator.id, changes={"state": ["planned", "in_progress"]}
    )
    audit.record("user_created", "user", world.manager.id, actor_id=world.admin.id, ip="10.9.8.7")
    old = audit.record("login", "user", world.admin.id, actor_id=world.admin.id)
    old.at = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
    db.session.commit()


def test_admin_and_coordinator_only(client, world, auth, events):
    for user, status in (
        (world.admin, 200),
        (world.coordinator, 200),
        (world.manager, 403),
        (world.territorial_a, 403),
    ):
        auth.login(user)
        assert client.get("/admin/audit").status_code == status
        assert client.get("/admin/audit.csv").status_code == status


def test_filters(client, world, auth, events):
    auth.login(world.coordinator)
    body = client.get("/admin/audit?entity_type=song&entity_id=7").get_data(as_text=True)
    assert "<td>Canción planeada</td>" in body and "<td>Datos modificados</td>" in body
    assert "<td>Usuario creado</td>" not in body
    body = client.get("/admin/audit?actor=coord@").get_data(as_text=True)
    assert "<td>Datos modificados</td>" in body and "<td>Canción planeada</td>" not in body
    body = client.get("/admin/audit?action=user_created").get_data(as_text=True)
    assert "<td>Usuario creado</td>" in body and "<td>Canción planeada</td>" not in body
    body = client.get("/admin/audit?date_from=2024-01-01&date_to=15/01/2024").get_data(as_text=True)
    assert "1 evento(s)" in body
    # The IP is shown to admins only.
    assert "10.9.8.7" not in client.get("/admin/audit").get_data(as_text=True)
    auth.login(world.admin)
    assert "10.9.8.7" in client.get("/admin/audit").get_data(as_text=True)


def test_bad_filters_are_reported_not_500(client, world, auth, events):
    auth.login(world.admin)
    response = client.get("/admin/audit?entity_id=abc&date_from=2024-99-99&page=-4")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "debe ser un número entero" in body and "Fecha no válida" in body
    assert client.get("/admin/audit.csv?entity_id=1e9").status_code == 400
    assert client.get("/admin/audit?entity_id=²").status_code == 400  # a Unicode digit int() refuses
    assert client.get("/admin/audit?actor=²&page=99999999999999999999999").status_code == 200


def test_pagination(app, client, world, auth, events):
    app.config["PAGE_SIZE"] = 2
    auth.login(world.admin)
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "Página 1 de 2" in body
    assert "Página 2 de 2" in client.get("/admin/audit?page=99").get_data(as_text=True)


def test_csv_export_neutralises_formulas(client, world, auth, events):
    auth.login(world.admin)
    response = client.get("/admin/audit.csv?entity_type=song")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["id", "fecha_hora_bogota", "actor", "accion"]
    assert len(rows) == 3
    changes = {r[3]: r[6] for r in rows[1:]}
    assert "=HYPERLINK" in changes["song_created"]
    for row in rows[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@")


def test_neutralise_helper():
    from app.domain.exports import neutralise

    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+57 300") == "'+57 300"
    assert neutralise("-2") == "'-2"
    assert neutralise("@SUM") == "'@SUM"
    assert neutralise("ok") == "ok" and neutralise(5) == 5


def test_audit_rows_cannot_be_changed_through_the_orm(world, events):
    event = db.session.scalars(select(AuditEvent)).first()
    event.action = "tampered"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    event = db.session.scalars(select(AuditEvent)).first()
    db.session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(update(AuditEvent).values(action="x"))
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(delete(AuditEvent))
    db.session.rollback()
    assert "tampered" not in db.session.scalars(select(AuditEvent.action)).all()
    assert len(db.session.scalars(select(AuditEvent)).all()) == 4


def test_no_route_edits_or_deletes_audit_events(app):
    for rule in app.url_map.iter_rules():
        touches_audit = "audit" in rule.rule or "audit" in (rule.endpoint or "")
        if touches_audit:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, f"{rule.rule} accepts {rule.methods}"


def test_csv_export_also_comes_as_excel_es_co(client, world, auth, events):
    """Issue 21: the audit CSV for people opens right in a Spanish-locale spreadsheet."""
    auth.login(world.coordinator)
    page = client.get("/admin/audit?entity_type=song").get_data(as_text=True)
    assert "/admin/audit.csv?flavour=excel&amp;entity_type=song" in page and "/admin/audit.csv?entity_type=song" in page
    response = client.get("/admin/audit.csv?entity_type=song&flavour=excel")
    assert response.status_code == 200 and "-excel.csv" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["id", "fecha_hora_bogota", "actor", "accion"] and len(rows) == 3
    assert not client.get("/admin/audit.csv?entity_type=song").get_data().startswith(b"\xef\xbb\xbf")
    assert client.get("/admin/audit.csv?flavour=tsv").status_code == 400
