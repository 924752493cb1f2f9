"""The audit log search (app/domain/audit_search.py): filters, pages, export rows."""

from datetime import UTC, datetime

from app.domain import audit, audit_search
from app.extensions import db


def _ids(filters) -> list[int]:
    return [event.entity_id for event, _email in audit_search.search(filters.conditions, 1, 50).items]


def test_bad_filters_are_reported_not_raised(world):
    filters = audit_search.parse_filters({"entity_id": "²", "date_from": "2024-99-99", "date_to": "ayer"})
    assert set(filters.errors) == {"entity_id", "date_from", "date_to"}
    assert filters.conditions == []


def test_filters_by_actor_name_or_id_and_by_local_day(world):
    audit.record("song_created", "song", 1, actor_id=world.admin.id)
    audit.record("song_created", "song", 2, actor_id=world.coordinator.id)
    late = audit.record("song_updated", "song", 3, actor_id=world.admin.id)
    late.at = datetime(2024, 3, 2, 3, 0, tzinfo=UTC)  # 1 March, 22:00 in Bogotá
    db.session.flush()

    assert _ids(audit_search.parse_filters({"actor": str(world.coordinator.id)})) == [2]
    assert sorted(_ids(audit_search.parse_filters({"actor": world.admin.email[:5].upper()}))) == [1, 3]
    assert _ids(audit_search.parse_filters({"date_from": "01/03/2024", "date_to": "2024-03-01"})) == [3]
    assert _ids(audit_search.parse_filters({"date_from": "2024-03-02", "date_to": "2024-03-02"})) == []


def test_a_page_past_the_last_shows_the_last(world):
    for n in range(5):
        audit.record("song_created", "song", n, actor_id=None)
    page = audit_search.search(audit_search.parse_filters({"entity_type": "song"}).conditions, 99, 2)
    assert (page.page, page.pages, page.total, page.has_next, page.has_prev) == (3, 3, 5, False, True)
    assert len(page.items) == 1


def test_export_rows_hide_addresses_unless_asked(world):
    audit.record("user_created", "user", 1, actor_id=world.admin.id, ip="10.9.8.7", changes={"b": 1, "a": "ñ"})
    header, rows = audit_search.export_rows([], 10, show_ip=False)
    assert "ip" not in header and "10.9.8.7" not in str(list(rows))
    header, rows = audit_search.export_rows([], 10, show_ip=True)
    row = next(iter(rows))
    assert header[-1] == "ip" and row[-1] == "10.9.8.7" and row[-2] == '{"a": "ñ", "b": 1}'
