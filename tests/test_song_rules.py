"""One set of song rules (issue 14): hand-checked unit tests of app.domain.song_rules, and
a table of cases fed through the JSON API and through the import, which must accept and
refuse exactly the same rows.

"Today" (Bogotá) is Fri 14/06/2024 in every test. Colombian holidays used: Mon 25/03
(San José), Mon 03/06 (Corpus Christi), Mon 10/06 (Sagrado Corazón).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.domain import calendar, song_rules
from app.domain.imports import COLUMNS, import_songs
from app.extensions import db

TODAY = date(2024, 6, 14)
PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(calendar, "today", lambda: TODAY)
    return TODAY


# --------------------------------------------------------------------------- pure rules


def test_due_date_must_be_a_business_day():
    start = date(2024, 3, 1)
    assert song_rules.check_due_date(start, date(2024, 3, 22)) == []  # Friday
    for day in (date(2024, 3, 23), date(2024, 3, 24), date(2024, 3, 25)):  # Sat, Sun, San José
        assert [p.field for p in song_rules.check_due_date(start, day)] == ["due_date"]


def test_due_date_at_most_the_album_maximum_duration_unless_a_coordinator_sets_it():
    start = date(2024, 2, 1)
    # 180 calendar days after 01/02/2024 is Tue 30/07/2024; Wed 31/07 is one day too far.
    assert song_rules.check_due_date(start, date(2024, 7, 30)) == []
    assert len(song_rules.check_due_date(start, date(2024, 7, 31))) == 1
    assert song_rules.check_due_date(start, date(2024, 7, 31), coordinator=True) == []
    assert song_rules.check_due_date(start, date(2024, 3, 1), max_duration_days=20) != []
    assert song_rules.check_due_date(start, date(2024, 1, 31))[0].field == "due_date"  # before the start


def test_declaration_window_counts_business_days_back_from_today():
    # 10 business days before Fri 14/06: 13, 12, 11, (10 holiday), 7, 6, 5, 4, (3 holiday), 31/05, 30, 29.
    assert song_rules.earliest_declarable(TODAY, 10) == date(2024, 5, 29)
    assert song_rules.check_delivery_date(date(2024, 5, 29), today=TODAY) == []
    assert [p.field for p in song_rules.check_delivery_date(date(2024, 5, 28), today=TODAY)] == ["delivered_on"]
    assert song_rules.check_delivery_date(date(2024, 5, 28), today=TODAY, coordinator=True) == []
    assert song_rules.check_delivery_date(date(2024, 6, 15), today=TODAY, coordinator=True) != []  # future
    assert song_rules.check_delivery_date(TODAY, today=TODAY, window_days=0) == []


def _bogota(day: date, hour: int, minute: int = 0):
    return datetime.combine(day, time(hour, minute), tzinfo=calendar.BOGOTA)


NOW = _bogota(TODAY, 15)  # the server's clock: Fri 14/06/2024 15:00 in Bogotá


def test_offline_delivery_counts_from_the_device_day_within_the_sync_bound():
    """Issue 22: the window counts from when the delivery was recorded on the device (a Bogotá
    day), but the device's time is trusted for at most MAX_SYNC_DELAY_DAYS business days."""
    assert song_rules.MAX_SYNC_DELAY_DAYS == 5
    assert song_rules.recording_day(None, today=TODAY, now=NOW) == (TODAY, [])  # online
    assert song_rules.recording_day(_bogota(date(2024, 6, 11), 10), today=TODAY, now=NOW) == (date(2024, 6, 11), [])
    # 23:30 in Bogotá is already the 12th in UTC: the day is Bogotá's
    late_evening = _bogota(date(2024, 6, 11), 23, 30)
    assert late_evening.astimezone(UTC).day == 12
    assert song_rules.recording_day(late_evening, today=TODAY, now=NOW)[0] == date(2024, 6, 11)
    # 5 business days before Fri 14/06: 13, 12, 11, (10 holiday), 7, 6 -> older device times count as Thu 06/06
    assert song_rules.recording_day(_bogota(date(2024, 6, 6), 9), today=TODAY, now=NOW)[0] == date(2024, 6, 6)
    assert song_rules.recording_day(_bogota(date(2024, 6, 5), 9), today=TODAY, now=NOW)[0] == date(2024, 6, 6)
    assert song_rules.recording_day(_bogota(date(2024, 1, 2), 9), today=TODAY, now=NOW)[0] == date(2024, 6, 6)


def test_a_device_clock_in_the_future_is_refused():
    within_tolerance = _bogota(TODAY, 15, 5)
    assert song_rules.recording_day(within_tolerance, today=TODAY, now=NOW) == (TODAY, [])
    day, problems = song_rules.recording_day(_bogota(TODAY, 15, 30), today=TODAY, now=NOW)
    assert [p.field for p in problems] == ["recorded_at"] and "adelantado" in problems[0].message
    assert "14/06/2024" in problems[0].message and "15:30" in problems[0].message
    _, problems = song_rules.recording_day(_bogota(date(2024, 6, 20), 8), today=TODAY, now=NOW)
    assert problems
    naive = _bogota(date(2024, 6, 11), 10).replace(tzinfo=None)
    assert [p.field for p in song_rules.recording_day(naive, today=TODAY, now=NOW)[1]] == ["recorded_at"]


@pytest.mark.parametrize("backdated_by", [0, 3, 5, 6, 10, 20, 60])
def test_back_dating_the_device_clock_gains_at_most_the_bound(backdated_by):
    """Whatever the device claims, the earliest date that passes is the window plus the bound
    back from the server's day: never earlier."""
    device = song_rules.earliest_declarable(TODAY, backdated_by)
    day, problems = song_rules.recording_day(_bogota(device, 10), today=TODAY, now=NOW)
    assert not problems
    floor = song_rules.earliest_declarable(song_rules.earliest_declarable(TODAY, song_rules.MAX_SYNC_DELAY_DAYS), 10)
    earliest = song_rules.earliest_declarable(day, 10)
    assert earliest >= floor
    assert song_rules.check_delivery_date(floor - timedelta(days=1), today=day) != []
    # a delivery dated after the device's recording day is "in the future" for that draft
    assert song_rules.check_delivery_date(day + timedelta(days=1), today=day) != []


def test_redelivery_is_dated_on_or_after_the_return():
    returned = date(2024, 6, 12)
    assert song_rules.check_delivery_date(date(2024, 6, 12), today=TODAY, returned_on=returned) == []
    assert song_rules.check_delivery_date(date(2024, 6, 11), today=TODAY, returned_on=returned) != []
    # even a coordinator cannot date a re-delivery before the return
    assert song_rules.check_delivery_date(date(2024, 6, 11), today=TODAY, returned_on=returned, coordinator=True)


def test_late_cancellation_is_after_the_committed_due_date_in_business_days():
    due = date(2024, 5, 31)  # Friday
    assert not song_rules.cancelled_late(due, date(2024, 5, 31))
    assert not song_rules.cancelled_late(due, date(2024, 6, 3))  # Sat, Sun and a holiday later: not yet
    assert song_rules.cancelled_late(due, date(2024, 6, 4))
    assert song_rules.check_late_cancel_reason("public_order") == []
    assert song_rules.check_late_cancel_reason("we were busy")[0].field == "reason"


def test_territory_rule_is_the_same_for_coordinators():
    # Issue 19 item 15: a label's songs are in its departments, whoever plans them.
    assert (
        song_rules.check_territory(
            actor_role="coordinator", actor_label_id=None, artist_label_id=1, municipality_label_id=1
        )
        == []
    )
    assert [
        p.field
        for p in song_rules.check_territory(
            actor_role="coordinator", actor_label_id=None, artist_label_id=1, municipality_label_id=2
        )
    ] == ["municipality_id"]
    assert {
        p.field
        for p in song_rules.check_territory(
            actor_role="territorial", actor_label_id=2, artist_label_id=1, municipality_label_id=2
        )
    } == {"artist_id", "municipality_id"}


def test_limits_are_defined_once():
    assert song_rules.check_text("scope", "x" * song_rules.MAX_TEXT, required=True) == []
    assert song_rules.check_text("scope", "x" * (song_rules.MAX_TEXT + 1), required=True) != []
    assert song_rules.check_beneficiaries(song_rules.MAX_BENEFICIARIES, required=True) == []
    assert song_rules.check_beneficiaries(song_rules.MAX_BENEFICIARIES + 1, required=True) != []


# --------------------------------------------------------------------------- API and import agree

BASE = {"planned_start": "2024-05-02", "due_date": "2024-06-28"}  # Thu → Fri, 57 days
DELIVERED = {"state": "delivered", "delivered_on": "2024-06-14", "product": "Plan de acción", "beneficiaries": "12"}

CASES = [
    # (name, actor, row overrides, accepted)
    ("planned", "territorial_a", {}, True),
    ("scope at the limit", "territorial_a", {"scope": "x" * 5000}, True),
    ("scope too long", "territorial_a", {"scope": "x" * 5001}, False),
    ("due on a Saturday", "territorial_a", {"due_date": "2024-06-29"}, False),
    ("due on a holiday", "territorial_a", {"due_date": "2024-06-10"}, False),
    ("due before the start", "territorial_a", {"due_date": "2024-05-01"}, False),
    ("due past the album's maximum", "territorial_a", {"planned_start": "2024-01-02", "due_date": "2024-07-02"}, False),
    ("coordinator sets a due past it", "coordinator", {"planned_start": "2024-01-02", "due_date": "2024-07-02"}, True),
    ("municipality of another label", "territorial_a", {"municipality_code": "08078"}, False),
    ("coordinator outside the territory", "coordinator", {"municipality_code": "08078"}, False),
    ("delivered today", "territorial_a", DELIVERED, True),
    ("delivered in the future", "territorial_a", {**DELIVERED, "delivered_on": "2024-06-17"}, False),
    (
        "delivered 10 business days ago",
        "territorial_a",
        {**DELIVERED, "planned_start": "2024-04-01", "delivered_on": "2024-05-29"},
        True,
    ),
    (
        "delivered 11 business days ago",
        "territorial_a",
        {**DELIVERED, "planned_start": "2024-04-01", "delivered_on": "2024-05-28"},
        False,
    ),
    (
        "coordinator records an older delivery",
        "coordinator",
        {**DELIVERED, "planned_start": "2024-04-01", "delivered_on": "2024-05-28"},
        True,
    ),
    (
        "delivered before the planned start",
        "territorial_a",
        {**DELIVERED, "planned_start": "2024-06-14", "delivered_on": "2024-06-13"},
        True,
    ),
    ("beneficiaries at the limit", "territorial_a", {**DELIVERED, "beneficiaries": "1000000"}, True),
    ("beneficiaries over the limit", "territorial_a", {**DELIVERED, "beneficiaries": "1000001"}, False),
    ("product too long", "territorial_a", {**DELIVERED, "product": "p" * 5001}, False),
]


def _row(world, overrides: dict) -> dict:
    row = {
        "label_code": "DT01",
        "artist": world.artist_a.name,
        "album_code": "INN",
        "municipality_code": "05001",
        "scope": "Acompañamiento al plan de desarrollo",
        **BASE,
        "state": "",
        "delivered_on": "",
        "product": "",
        "beneficiaries": "",
    }
    row.update(overrides)
    return row


def _through_import(world, actor, row) -> bool:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerow(row)
    report = import_songs(buffer.getvalue().encode(), "caso.csv", actor, dry_run=True)
    return report.ok


def _through_api(client, auth, world, actor, row) -> bool:
    from app.models import Municipality

    auth.login(actor)
    municipality = db.session.query(Municipality).filter_by(code=row["municipality_code"]).one()
    created = client.post(
        "/api/v1/songs",
        json={
            "artist_id": world.artist_a.id,
            "album_id": world.album_inn.id,
            "municipality_id": municipality.id,
            "scope": row["scope"],
            "planned_start": row["planned_start"],
            "due_date": row["due_date"],
        },
    )
    if created.status_code != 201:
        assert created.status_code == 422, created.get_json()
        return False
    if row["state"] != "delivered":
        return True
    url = f"/api/v1/songs/{created.get_json()['song']['id']}"
    assert client.post(url + "/transitions", json={"to": "in_progress", "diagnosis": "D"}).status_code == 200
    up = client.post(
        url + "/evidence", data={"file": (io.BytesIO(PDF), "acta.pdf")}, content_type="multipart/form-data"
    )
    assert up.status_code == 201
    delivered = client.post(
        url + "/transitions",
        json={
            "to": "delivered",
            "delivered_on": row["delivered_on"],
            "product": row["product"],
            "beneficiaries": int(row["beneficiaries"]),
        },
    )
    assert delivered.status_code in (200, 422), delivered.get_json()
    return delivered.status_code == 200


@pytest.mark.parametrize(("name", "who", "overrides", "accepted"), CASES, ids=[c[0] for c in CASES])
def test_api_and_import_accept_and_refuse_the_same_rows(client, auth, world, today, name, who, overrides, accepted):
    world.season.declaration_window_days = 10
    db.session.commit()
    actor = getattr(world, who)
    row = _row(world, overrides)
    assert _through_import(world, actor, row) is accepted, name
    assert _through_api(client, auth, world, actor, row) is accepted, name


# --------------------------------------------------------------------------- cancellations and re-planning


def _overdue_song(world):
    from tests.factories import make_song

    return make_song(world, state="in_progress", due=date(2024, 5, 31))


def test_cancelling_after_the_due_date_counts_late_until_a_coordinator_approves(world, today):
    from app.domain import four_eyes, lifecycle
    from app.domain.errors import Conflict, PermissionDenied, ValidationFailed
    from app.extensions import db
    from app.models import User

    song = _overdue_song(world)
    lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="No alcanzamos")
    assert (song.cancelled_late, song.standing) == (True, "late_cancelled")
    with pytest.raises(PermissionDenied):
        lifecycle.approve_late_cancellation(world.territorial_a, song, "public_order")
    with pytest.raises(ValidationFailed):
        lifecycle.approve_late_cancellation(world.coordinator, song, "no nos dio tiempo")
    change = lifecycle.approve_late_cancellation(world.coordinator, song, "public_order", "Paro armado en la zona")
    assert (song.late_cancel_reason, song.standing) == (None, "late_cancelled")  # four eyes: pending
    second = User(email="dos@test.co", name="Segunda", role="coordinator", password_hash="x")
    db.session.add(second)
    db.session.flush()
    four_eyes.decide(second, change, True)
    assert (song.late_cancel_reason, song.late_cancel_approved_by_id, song.standing) == (
        "public_order",
        world.coordinator.id,
        "cancelled",
    )
    with pytest.raises(Conflict):
        lifecycle.approve_late_cancellation(world.coordinator, song, "force_majeure")


def test_cancelling_before_the_due_date_is_free(world, today):
    from app.domain import lifecycle
    from tests.factories import make_song

    song = make_song(world, state="in_progress", due=date(2024, 6, 14))  # due today: not late yet
    lifecycle.transition_song(world.territorial_a, song, "cancelled", reason="La alcaldía desistió")
    assert (song.cancelled_late, song.standing) == (False, "cancelled")


def test_a_replanned_song_links_to_the_one_it_replaces(world, today):
    from app.domain import lifecycle
    from app.domain.errors import ValidationFailed

    old = _overdue_song(world)
    data = {
        "artist_id": world.artist_a.id,
        "album_id": world.album_inn.id,
        "municipality_id": world.mun_plain.id,
        "scope": "Reprogramada",
        "planned_start": date(2024, 5, 20),
        "due_date": date(2024, 7, 31),
        "replaces_id": old.id,
    }
    with pytest.raises(ValidationFailed) as exc:  # only a cancelled song can be replaced
        lifecycle.create_song(world.territorial_a, data)
    assert "replaces_id" in exc.value.details
    lifecycle.transition_song(world.territorial_a, old, "cancelled", reason="Se reprograma")
    new = lifecycle.create_song(world.territorial_a, data)
    assert new.replaces_id == old.id and new.replaces == old
    # the duplicate warning shows the cancelled song it replaces (same municipality, any album)
    assert old in lifecycle.duplicate_warning(new.municipality_id, None, new.planned_start, exclude_id=new.id)
