"""Songs pages (issue 4): list with filters/HTMX, detail, forms, transitions, evidence, permissions."""

from __future__ import annotations

import io
import re
from datetime import date

from sqlalchemy import func, select

from app.domain import evidence as evidence_domain
from app.domain import lifecycle
from app.extensions import db
from app.models import AuditEvent, DueDateChange, Evidence, Song
from tests.factories import make_song

PDF = b"%PDF-1.4\n%%EOF\n"


def _attach(world, song, actor=None):
    from werkzeug.datastructures import FileStorage

    ev = evidence_domain.add_evidence(
        actor or world.territorial_a, song, FileStorage(io.BytesIO(PDF), filename="Acta reunión.pdf")
    )
    db.session.commit()
    return ev


def test_list_shows_own_label_rows_with_deadline_text(client, auth, world):
    make_song(world, due=date(2024, 4, 1))
    make_song(world, artist=world.artist_b)
    auth.login(world.territorial_a)
    response = client.get("/songs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Medellín" in html and "Baranoa" not in html
    assert "días hábiles de retraso" in html
    assert "Nueva canción" in html


def test_list_filters_and_htmx_partial(client, auth, world):
    make_song(world, municipality=world.mun_pdet)
    make_song(world, municipality=world.mun_plain, state="cancelled")
    auth.login(world.coordinator)
    html = client.get("/songs?state=cancelled").get_data(as_text=True)
    assert "Medellín" in html and "Amalfi" not in html
    partial = client.get("/songs?municipality=05031", headers={"HX-Request": "true", "HX-Target": "songs-results"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and "Amalfi" in body and "Medellín" not in body
    empty = client.get("/songs?q=zzzz").get_data(as_text=True)
    assert "No hay canciones con estos filtros" in empty


def test_list_bad_filters_show_a_message_not_500(client, auth, world):
    auth.login(world.manager)
    response = client.get("/songs?season=abc&state=bogus&sort=drop&municipality=5")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "filtros no válidos" in html
    assert "Nueva canción" not in html  # manager is read-only


def test_create_flow_with_duplicate_confirmation(client, auth, world):
    auth.login(world.territorial_a)
    form = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality": "amalfi",  # typed without JS: resolved by name, accents/case ignored
        "scope": "Plan de desarrollo",
        "planned_start": "2024-03-01",
        "due_date": "2024-03-22",
    }
    response = client.post("/songs/new", data=form)
    assert response.status_code == 303
    song = db.session.scalars(select(Song)).one()
    assert song.municipality_id == world.mun_pdet.id and song.created_by_id == world.territorial_a.id
    again = client.post("/songs/new", data=dict(form, planned_start="2024-03-15"))
    assert again.status_code == 200
    assert "Posible duplicado" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Song.id))) == 1
    confirmed = client.post("/songs/new", data=dict(form, planned_start="2024-03-15", confirm_duplicate="y"))
    assert confirmed.status_code == 303
    assert db.session.scalar(select(func.count(Song.id))) == 2


def test_create_form_errors_in_spanish_and_other_label_municipality_refused(client, auth, world):
    auth.login(world.territorial_a)
    response = client.post("/songs/new", data={"municipality": "Baranoa", "planned_start": "31/02/2024"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Este campo es obligatorio." in html
    assert "No encontramos ese municipio" in html
    assert db.session.scalar(select(func.count(Song.id))) == 0


def test_municipality_suggestions_limited_to_label(client, auth, world):
    auth.login(world.territorial_a)
    html = client.get("/songs/municipalities?q=a").get_data(as_text=True)
    assert html.strip() == ""  # at least 2 characters
    html = client.get("/songs/municipalities?q=ab").get_data(as_text=True)
    assert 'name="municipality_id"' in html and "Abejorral" in html
    assert "Baranoa" not in client.get("/songs/municipalities?q=bara").get_data(as_text=True)


def test_detail_shows_fields_terms_actions_and_timeline(client, auth, world):
    song = lifecycle.create_song(
        world.territorial_a,
        {
            "artist_id": world.artist_a.id,
            "album_id": world.album_paz.id,
            "municipality_id": world.mun_pdet.id,
            "scope": "Alcance visible",
            "planned_start": date(2024, 3, 1),
            "due_date": date(2024, 3, 22),
        },
    )
    db.session.commit()
    auth.login(world.territorial_a)
    html = client.get(f"/songs/{song.id}").get_data(as_text=True)
    for text in (
        "Alcance visible",
        "22/03/2024",
        "Amalfi",
        "Iniciar",
        "Cancelar la canción",
        "Canción planeada",
        "Territorial A",
        "1,40",
        "sin datos",
    ):
        assert text in html, text
    assert "data-confirm" in html


def test_transitions_through_ui_and_timeline_before_after(client, auth, world):
    song = make_song(world, planned_start=date(2024, 3, 1), due=date(2024, 3, 22))
    auth.login(world.territorial_a)
    bad = client.post(f"/songs/{song.id}/transition/in_progress", data={"diagnosis": ""})
    assert bad.status_code == 422 and "Este campo es obligatorio." in bad.get_data(as_text=True)
    ok = client.post(f"/songs/{song.id}/transition/in_progress", data={"diagnosis": "Diagnóstico"})
    assert ok.status_code == 303
    refused = client.post(
        f"/songs/{song.id}/transition/delivered",
        data={"delivered_on": "2024-03-26", "product": "Plan", "beneficiaries": "5"},
    )
    assert refused.status_code == 422 and "al menos una evidencia" in refused.get_data(as_text=True)
    _attach(world, song)
    delivered = client.post(
        f"/songs/{song.id}/transition/delivered",
        data={"delivered_on": "2024-03-26", "product": "Plan", "beneficiaries": "5"},
    )
    assert delivered.status_code == 303
    db.session.expire_all()
    assert db.session.get(Song, song.id).late_business_days == 1
    html = client.get(f"/songs/{song.id}").get_data(as_text=True)
    assert "Cambio de estado" in html
    assert re.search(r"En curso</span>\s*→\s*<span class=\"after\">entregada", html, re.I) or "entregada" in html
    assert "Entregada con 1 días hábiles de retraso" in html


def test_cancel_needs_reason_in_ui(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_a)
    assert client.post(f"/songs/{song.id}/transition/cancelled", data={"reason": " "}).status_code == 422
    assert client.post(f"/songs/{song.id}/transition/cancelled", data={"reason": "Orden público"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "cancelled"


def test_other_label_and_manager_are_refused(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_b)
    assert client.get(f"/songs/{song.id}").status_code == 403
    assert client.post(f"/songs/{song.id}/transition/cancelled", data={"reason": "x"}).status_code == 403
    assert client.get(f"/songs/{song.id}/edit").status_code == 403
    auth.login(world.manager)
    assert client.get(f"/songs/{song.id}").status_code == 200
    assert client.post(f"/songs/{song.id}/transition/cancelled", data={"reason": "x"}).status_code == 403
    assert client.get("/songs/new").status_code == 403
    assert client.get("/songs/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Song, song.id).state == "planned"


def test_evidence_upload_download_and_refusals(client, auth, world, app):
    song = make_song(world)
    auth.login(world.territorial_a)
    response = client.post(
        f"/songs/{song.id}/evidence",
        data={"file": (io.BytesIO(b"\x7fELF\x02\x01\x01" + b"\0" * 100), "photo.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    response = client.post(
        f"/songs/{song.id}/evidence",
        data={"file": (io.BytesIO(PDF), "../../etc/Acta final.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    ev = db.session.scalars(select(Evidence)).one()
    assert ev.original_name == "Acta final.pdf"
    download = client.get(f"/songs/{song.id}/evidence/{ev.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    auth.login(world.territorial_b)
    assert client.get(f"/songs/{song.id}/evidence/{ev.id}").status_code == 403
    assert client.post(f"/songs/{song.id}/evidence/{ev.id}/delete").status_code == 403
    auth.login(world.territorial_a)
    assert client.post(f"/songs/{song.id}/evidence/{ev.id}/delete").status_code == 303
    assert db.session.scalar(select(func.count(Evidence.id))) == 0


def test_edit_conflict_message_lists_current_values(client, auth, world):
    song = make_song(world)
    auth.login(world.territorial_a)
    form = client.get(f"/songs/{song.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    lifecycle.update_song(world.coordinator, song, {"scope": "Alcance de la coordinación"})
    db.session.commit()
    response = client.post(
        f"/songs/{song.id}/edit",
        data={
            "version": version,
            "artist_id": world.artist_a.id,
            "album_id": world.album_inn.id,
            "municipality_id": world.mun_plain.id,
            "scope": "Mi alcance",
            "planned_start": "2024-03-01",
            "due_date": "2024-04-01",
        },
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Otra persona guardó cambios" in html
    assert "Alcance de la coordinación" in html and "Coordinación" in html
    db.session.expire_all()
    assert db.session.get(Song, song.id).scope == "Alcance de la coordinación"


def test_due_date_request_and_coordinator_decision_ui(client, auth, world):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    response = client.post(
        f"/songs/{song.id}/due-date-change", data={"proposed_due": "2024-04-15", "reason": "Lluvias"}
    )
    assert response.status_code == 303
    change = db.session.scalars(select(DueDateChange)).one()
    listing = client.get("/songs/due-date-requests")  # the team follows its request, read-only (issue 21)
    assert listing.status_code == 200 and "Lluvias" in listing.get_data(as_text=True)
    assert 'name="decision"' not in listing.get_data(as_text=True)
    assert client.post(f"/songs/due-date-requests/{change.id}", data={"decision": "approve"}).status_code == 403
    auth.login(world.coordinator)
    page = client.get("/songs/due-date-requests").get_data(as_text=True)
    assert "Lluvias" in page and "15/04/2024" in page
    assert client.post(f"/songs/due-date-requests/{change.id}", data={"decision": "approve"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Song, song.id).due_date == date(2024, 4, 15)
    assert db.session.get(DueDateChange, change.id).status == "approved"
    assert (
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "due_date_change_approved")) == 1
    )


def test_no_js_municipality_choice_when_ambiguous(client, auth, world):
    auth.login(world.territorial_a)
    form = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_paz.id,
        "municipality": "antioquia",  # matches every municipality of the department
        "scope": "Plan de desarrollo",
        "planned_start": "2024-03-01",
        "due_date": "2024-03-22",
    }
    response = client.post("/songs/new", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "elija uno de la lista" in html
    assert html.count('name="municipality_id"') == 3
    chosen = client.post("/songs/new", data=dict(form, municipality_id=str(world.mun_cat5.id)))
    assert chosen.status_code == 303
    assert db.session.scalars(select(Song)).one().municipality_id == world.mun_cat5.id
    # a radio for another label's municipality is ignored, and the typed code is used instead
    client.post(
        "/songs/new",
        data=dict(
            form,
            municipality_id=str(world.mun_b.id),
            municipality="05001",
            planned_start="2024-06-04",
            due_date="2024-06-28",
        ),
    )
    ids = sorted(s.municipality_id for s in db.session.scalars(select(Song)))
    assert ids == sorted([world.mun_cat5.id, world.mun_plain.id])


def test_read_only_detail_for_manager_and_closed_song(client, auth, world):
    reviewed = make_song(
        world, state="reviewed", delivered_on=date(2024, 3, 28), review=(5, 5, 5, 5), municipality=world.mun_pdet
    )
    auth.login(world.manager)
    html = client.get(f"/songs/{reviewed.id}").get_data(as_text=True)
    assert "Subir archivo" not in html and "Siguiente paso" not in html and "Editar datos" not in html
    assert str(reviewed.points) in html  # 100 · (0.6·1 + 0.4·1) · 1.4 · 1.0 = 140
    assert reviewed.points == 140
    auth.login(world.territorial_a)
    html = client.get(f"/songs/{reviewed.id}").get_data(as_text=True)
    assert "Subir archivo" not in html and "Cancelar la canción" not in html
    assert client.get(f"/songs/{reviewed.id}/edit").status_code == 303  # nothing left to edit


def test_detail_page_has_unique_ids(client, auth, world):
    song = make_song(world, state="in_progress")
    auth.login(world.territorial_a)
    html = client.get(f"/songs/{song.id}").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert "cancel_reason" in ids and "due_reason" in ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
