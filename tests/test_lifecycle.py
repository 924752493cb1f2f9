"""A song's life (DESIGN.md §3): create, edit, transitions, due-date changes, audit trail."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.domain import evidence as evidence_domain
from app.domain import lifecycle
from app.domain.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, DueDateChange, Season, Song
from tests.factories import make_song

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer\n%%EOF\n"


def _data(world, **overrides):
    data = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality_id": world.mun_pdet.id,
        "scope": "Acompañar la formulación del plan de desarrollo",
        "planned_start": date(2024, 3, 1),
        "due_date": date(2024, 3, 22),
    }
    data.update(overrides)
    return data


def _pdf(name="acta.pdf"):
    return FileStorage(stream=io.BytesIO(PDF), filename=name, content_type="application/pdf")


def _events(song, action=None):
    stmt = select(AuditEvent).where(AuditEvent.entity_type == "song", AuditEvent.entity_id == song.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def _in_progress(world, **overrides):
    song = lifecycle.create_song(world.territorial_a, _data(world, **overrides))
    lifecycle.transition_song(world.territorial_a, song, "in_progress", diagnosis="Diagnóstico inicial")
    db.session.commit()
    return song


def _deliver(world, song, delivered_on, actor=None):
    actor = actor or world.territorial_a
    evidence_domain.add_evidence(actor, song, _pdf())
    lifecycle.transition_song(actor, song, "delivered", delivered_on=delivered_on, product="Plan", beneficiaries=12)
    db.session.commit()
    return song


# ---------------------------------------------------------------- create


def test_create_song_sets_denormalised_fields_terms_and_audit(world):
    song = lifecycle.create_song(world.territorial_a, _data(world))
    db.session.commit()
    assert song.id and song.state == "planned"
    assert song.label_id == world.label_a.id
    assert song.department_id == world.dep_a.id
    assert song.season_id == world.season.id
    assert song.equity == pytest.approx(1.4)  # PDET + category 6
    assert song.timeliness is None and song.points is None
    (event,) = _events(song, "song_created")
    assert event.actor_id == world.territorial_a.id
    assert event.changes["due_date"] == [None, "2024-03-22"]
    assert event.changes["municipality_id"] == [None, world.mun_pdet.id]
    assert event.changes["scope"][1].startswith("Acompañar")


def test_create_refuses_other_label_artist_and_municipality(world):
    with pytest.raises(PermissionDenied):
        lifecycle.create_song(world.territorial_a, _data(world, artist_id=world.artist_b.id))
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.create_song(world.territorial_a, _data(world, municipality_id=world.mun_b.id))
    assert "municipality_id" in exc.value.details
    assert db.session.scalar(select(func.count(Song.id))) == 0


def test_coordinator_creates_for_any_label_and_manager_cannot(world):
    song = lifecycle.create_song(
        world.coordinator, _data(world, artist_id=world.artist_b.id, municipality_id=world.mun_b.id)
    )
    assert song.label_id == world.label_b.id
    with pytest.raises(PermissionDenied):
        lifecycle.create_song(world.manager, _data(world))


def test_create_validates_every_field(world):
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.create_song(
            world.territorial_a,
            {"artist_id": "x", "album_id": None, "municipality_id": 99999, "scope": " ", "planned_start": "2024-13-01"},
        )
    details = exc.value.details
    assert set(details) >= {"artist_id", "album_id", "scope", "planned_start", "due_date"}
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.create_song(world.territorial_a, _data(world, due_date=date(2024, 2, 1)))
    assert "due_date" in exc.value.details
    with pytest.raises(ValidationFailed) as exc:  # no season for 2031
        lifecycle.create_song(
            world.territorial_a, _data(world, planned_start=date(2031, 1, 1), due_date=date(2031, 2, 1))
        )
    assert "due_date" in exc.value.details


def test_duplicate_warning_same_municipality_any_album_within_90_days_cancelled_included(world):
    first = lifecycle.create_song(world.territorial_a, _data(world))  # starts 01/03/2024
    db.session.commit()
    assert lifecycle.duplicate_warning(world.mun_pdet.id, world.album_inn.id, date(2024, 5, 30)) == [first]  # 90 days
    assert lifecycle.duplicate_warning(world.mun_pdet.id, world.album_inn.id, date(2024, 5, 31)) == []  # 91 days
    assert lifecycle.duplicate_warning(world.mun_pdet.id, world.album_paz.id, date(2024, 3, 5)) == [first]  # any album
    assert lifecycle.duplicate_warning(world.mun_plain.id, world.album_inn.id, date(2024, 3, 5)) == []
    assert (
        lifecycle.duplicate_warning(world.mun_pdet.id, world.album_inn.id, date(2024, 3, 5), exclude_id=first.id) == []
    )
    lifecycle.transition_song(world.territorial_a, first, "cancelled", reason="Se canceló por orden público")
    assert lifecycle.duplicate_warning(world.mun_pdet.id, world.album_inn.id, date(2024, 3, 5)) == [first]


def test_planned_to_in_progress_needs_diagnosis(world):
    song = lifecycle.create_song(world.territorial_a, _data(world))
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.transition_song(world.territorial_a, song, "in_progress", diagnosis="  ")
    assert "diagnosis" in exc.value.details
    lifecycle.transition_song(world.territorial_a, song, "in_progress", diagnosis="Diagnóstico", action_plan="Plan")
    assert song.state == "in_progress" and song.action_plan == "Plan"


@pytest.mark.parametrize(
    "start,to",
    [("planned", "delivered"), ("in_progress", "planned"), ("cancelled", "in_progress")],
)
def test_invalid_transitions_name_current_and_allowed_states(world, start, to):
    """(Returning is the reviews module's rule, with its own status: tests/test_reviews.py.)"""
    song = make_song(world, state=start)
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.transition_song(world.territorial_a, song, to, reason="x", diagnosis="x")
    assert song.state in exc.value.details["to"][0]
    assert song.state == start


def test_a_territorial_user_cannot_return_a_song(world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 3, 28))
    with pytest.raises(PermissionDenied):
        lifecycle.transition_song(world.territorial_a, song, "returned", comment="x")
    assert song.state == "delivered"


def test_reviewed_is_not_reachable_through_transition(world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 3, 28))
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.transition_song(world.coordinator, song, "reviewed")
    assert "revisión" in exc.value.message
    with pytest.raises(ValidationFailed):
        lifecycle.transition_song(world.coordinator, song, "bogus")


def test_delivery_requires_product_beneficiaries_and_evidence(world):
    song = _in_progress(world)
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.transition_song(world.territorial_a, song, "delivered", delivered_on=date(2024, 3, 20))
    assert set(exc.value.details) == {"product", "beneficiaries", "evidence"}
    with pytest.raises(ValidationFailed) as exc:  # product but no evidence
        lifecycle.transition_song(
            world.territorial_a, song, "delivered", delivered_on=date(2024, 3, 20), product="Plan", beneficiaries=3
        )
    assert set(exc.value.details) == {"evidence"}
    assert song.state == "in_progress"


def test_delivery_date_not_in_future_and_before_start_moves_the_start(world):
    song = _in_progress(world)
    evidence_domain.add_evidence(world.territorial_a, song, _pdf())
    future = lifecycle.today() + timedelta(days=1)
    for bad in (future, "2024-02-30", "ayer"):
        with pytest.raises(ValidationFailed) as exc:
            lifecycle.transition_song(
                world.territorial_a, song, "delivered", delivered_on=bad, product="Plan", beneficiaries=3
            )
        assert "delivered_on" in exc.value.details
    assert song.state == "in_progress"
    # Issue 21: the work was delivered before its planned start (01/03): the start moves back to it.
    lifecycle.transition_song(
        world.territorial_a, song, "delivered", delivered_on=date(2024, 2, 29), product="Plan", beneficiaries=3
    )
    assert (song.state, song.planned_start, song.late_business_days) == ("delivered", date(2024, 2, 29), 0)
    assert _events(song, "song_transition")[-1].changes["planned_start"] == ["2024-03-01", "2024-02-29"]


def test_delivery_issues_survey_nonce_once_and_stores_terms(world):
    song = _in_progress(world)
    _deliver(world, song, date(2024, 3, 22))
    assert song.state == "delivered" and song.survey_nonce
    assert song.late_business_days == 0 and song.timeliness == 1.0 and song.on_time is True
    nonce = song.survey_nonce
    song.state = "returned"  # as the reviews helper would
    db.session.commit()
    lifecycle.transition_song(world.territorial_a, song, "delivered", delivered_on=date(2024, 3, 26))
    db.session.commit()
    assert song.state == "delivered" and song.survey_nonce == nonce
    assert song.product == "Plan" and song.beneficiaries == 12  # kept on re-delivery
    assert song.late_business_days == 1


@pytest.mark.parametrize(
    "delivered_on,late,t",
    [
        # Due Friday 22/03/2024. 23–24 weekend, Mon 25 San José (Ley Emiliani) → Tue 26 is the 1st late day.
        (date(2024, 3, 26), 1, 0.95),
        # Wed 27 = 2nd; Thu 28 / Fri 29 Semana Santa, 30–31 weekend → Mon 01/04 = 3rd.
        (date(2024, 4, 1), 3, 0.85),
        (date(2024, 3, 25), 0, 1.0),  # a holiday after the due date is not a late day
    ],
)
def test_holiday_spanning_deadline(world, delivered_on, late, t):
    song = _in_progress(world)
    _deliver(world, song, delivered_on)
    db.session.expire_all()
    stored = db.session.get(Song, song.id)
    assert stored.late_business_days == late
    assert stored.timeliness == pytest.approx(t)
    assert stored.on_time is (late == 0)


def test_cancel_needs_reason_and_is_audited(world):
    song = lifecycle.create_song(world.territorial_a, _data(world))
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="")
    assert "reason" in exc.value.details
    lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="El municipio desistió")
    db.session.commit()
    assert song.state == "cancelled" and song.cancel_reason == "El municipio desistió"
    (event,) = _events(song, "song_transition")
    assert event.changes["state"] == ["planned", "cancelled"]
    assert event.changes["cancel_reason"] == [None, "El municipio desistió"]
    assert event.actor_id == world.territorial_a.id
    with pytest.raises(Conflict):  # already there: someone else did it (issue 19, a 409)
        lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="otra vez")


def test_reviewed_song_cannot_be_cancelled(world):
    song = make_song(world, state="reviewed", delivered_on=date(2024, 3, 28), review=(4, 4, 4, 4))
    with pytest.raises(ValidationFailed):
        lifecycle.transition_song(world.coordinator, song, "cancelled", reason="x")


def test_transition_permissions(world):
    song = make_song(world)
    with pytest.raises(PermissionDenied):
        lifecycle.transition_song(world.territorial_b, song, "cancelled", reason="x")
    with pytest.raises(PermissionDenied):
        lifecycle.transition_song(world.manager, song, "in_progress", diagnosis="x")
    lifecycle.transition_song(world.coordinator, song, "in_progress", diagnosis="x")
    assert song.state == "in_progress"


def test_returned_goes_through_reviews_module(world):
    song = _in_progress(world)
    _deliver(world, song, date(2024, 3, 22))
    lifecycle.transition_song(world.coordinator, song, "returned", comment="Falta el acta firmada")
    db.session.commit()
    assert song.state == "returned"


# ---------------------------------------------------------------- update / optimistic locking


def test_update_audits_before_after_and_refreshes_terms(world):
    song = lifecycle.create_song(world.territorial_a, _data(world))
    db.session.commit()
    lifecycle.update_song(world.territorial_a, song, {"municipality_id": world.mun_cat5.id, "scope": "Nuevo alcance"})
    db.session.commit()
    assert song.equity == pytest.approx(1.1)
    (event,) = _events(song, "song_updated")
    assert event.changes["municipality_id"] == [world.mun_pdet.id, world.mun_cat5.id]
    assert event.changes["scope"][1] == "Nuevo alcance"
    assert event.changes["equity"] == [1.4, 1.1]
    assert event.actor_id == world.territorial_a.id


def test_due_date_edit_after_planned_needs_request(world):
    song = _in_progress(world)
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.update_song(world.territorial_a, song, {"due_date": date(2024, 4, 30)})
    assert "solicitud" in exc.value.message
    db.session.rollback()
    assert db.session.get(Song, song.id).due_date == date(2024, 3, 22)
    # the table the edit form reads agrees: only a planned song offers its due date
    assert [s for s, fields in lifecycle.EDITABLE_FIELDS.items() if "due_date" in fields] == [lifecycle.PLANNED]
    song = db.session.get(Song, song.id)  # repeating it unchanged (a whole object) is no change
    lifecycle.update_song(world.territorial_a, song, {"due_date": date(2024, 3, 22), "scope": "Alcance nuevo"})
    assert song.scope == "Alcance nuevo"


def test_planned_due_date_edit_moves_season(world):
    db.session.add(Season(year=2025, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31)))
    song = lifecycle.create_song(world.territorial_a, _data(world))
    lifecycle.update_song(world.territorial_a, song, {"planned_start": "2024-12-02", "due_date": "2025-01-15"})
    db.session.commit()
    assert song.season.year == 2025


def test_fields_not_editable_in_state_are_refused(world):
    song = _in_progress(world)
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.update_song(world.territorial_a, song, {"album_id": world.album_paz.id})
    assert "album_id" in exc.value.details
    with pytest.raises(ValidationFailed):
        lifecycle.update_song(world.territorial_a, song, {"nonsense": 1})


def test_optimistic_lock_conflict_lists_changed_fields(world):
    song = lifecycle.create_song(world.territorial_a, _data(world))
    db.session.commit()
    version = song.version
    lifecycle.update_song(world.coordinator, song, {"scope": "Cambiado por coordinación"}, expected_version=version)
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        lifecycle.update_song(world.territorial_a, song, {"scope": "Mi versión"}, expected_version=version)
    details = exc.value.details
    assert details["current_version"] == version + 1
    assert details["fields"] == {"scope": "Cambiado por coordinación"}
    assert details["changed_by"] == ["Coordinación"]


def test_manager_and_other_label_cannot_update(world):
    song = make_song(world)
    for actor in (world.manager, world.territorial_b):
        with pytest.raises(PermissionDenied):
            lifecycle.update_song(actor, song, {"scope": "x"})


# ---------------------------------------------------------------- due-date change requests


def test_due_date_change_approved_updates_song_terms_and_audit(world):
    song = _in_progress(world)
    assert song.committed_due == date(2024, 3, 22)  # fixed when the song left planned
    change = lifecycle.request_due_date_change(world.territorial_a, song, "2024-04-01", "El alcalde pidió aplazar")
    db.session.commit()
    with pytest.raises(Conflict):
        lifecycle.request_due_date_change(world.territorial_a, song, "2024-04-02", "otra")
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        lifecycle.decide_due_date_change(world.territorial_a, change, True)
    lifecycle.decide_due_date_change(world.coordinator, change, True, "De acuerdo")
    db.session.commit()
    assert change.status == "approved" and change.decided_by_id == world.coordinator.id
    assert (song.due_date, song.committed_due) == (date(2024, 4, 1), date(2024, 4, 1))
    approved = _events(song, "due_date_change_approved")[0]
    assert approved.changes["due_date"] == ["2024-03-22", "2024-04-01"]
    assert _events(song, "due_date_change_requested")[0].actor_id == world.territorial_a.id
    with pytest.raises(Conflict):
        lifecycle.decide_due_date_change(world.coordinator, change, False, "tarde")
    _deliver(world, song, date(2024, 4, 1))
    assert song.late_business_days == 0 and song.timeliness == 1.0  # measured against the approved change


def test_due_date_changes_are_refused_once_delivered(world):
    song = _in_progress(world)
    pending = lifecycle.request_due_date_change(world.territorial_a, song, "2024-04-01", "Lluvias")
    _deliver(world, song, date(2024, 4, 1))
    assert song.late_business_days == 3
    with pytest.raises(ValidationFailed):
        lifecycle.request_due_date_change(world.territorial_a, song, "2024-04-02", "Otra")
    with pytest.raises(ValidationFailed):  # a request made before the delivery can no longer be approved
        lifecycle.decide_due_date_change(world.coordinator, pending, True, "De acuerdo")
    db.session.rollback()
    assert db.session.get(Song, song.id).due_date == date(2024, 3, 22)


def test_due_date_change_rejected_keeps_due_date(world):
    song = _in_progress(world)
    change = lifecycle.request_due_date_change(world.territorial_a, song, date(2024, 5, 2), "Lluvias")
    db.session.commit()
    with pytest.raises(ValidationFailed):  # a rejection needs a reason
        lifecycle.decide_due_date_change(world.coordinator, change, False)
    lifecycle.decide_due_date_change(world.coordinator, change, False, "No justificado")
    db.session.commit()
    assert change.status == "rejected" and song.due_date == date(2024, 3, 22)
    assert _events(song, "due_date_change_rejected")


def test_due_date_request_rules(world):
    planned = lifecycle.create_song(world.territorial_a, _data(world))
    with pytest.raises(ValidationFailed):
        lifecycle.request_due_date_change(world.territorial_a, planned, date(2024, 4, 30), "x")
    song = _in_progress(world, municipality_id=world.mun_plain.id)
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.request_due_date_change(world.territorial_a, song, date(2024, 2, 1), "")
    assert set(exc.value.details) == {"proposed_due", "reason"}
    with pytest.raises(PermissionDenied):
        lifecycle.request_due_date_change(world.territorial_b, song, date(2024, 4, 30), "x")
    assert db.session.scalar(select(func.count(DueDateChange.id))) == 0


def test_conflict_after_a_change_made_elsewhere_lists_differing_fields(world):
    reviews = pytest.importorskip("app.domain.reviews")
    song = _in_progress(world)
    _deliver(world, song, date(2024, 3, 22))
    version = song.version
    reviews.return_song(world.coordinator, song, "Falta el acta firmada")
    db.session.commit()
    assert song.version > version
    with pytest.raises(Conflict) as exc:
        lifecycle.update_song(world.territorial_a, song, {"product": "Plan corregido"}, expected_version=version)
    assert exc.value.details["fields"] == {"product": "Plan"}
