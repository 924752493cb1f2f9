"""Issue 16: a season's life (DESIGN.md §5) and the one season resolver (issue 20 item 2)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.domain import charts, seasons
from app.domain.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditEvent, ChartSnapshot, LabelChartEntry, Playlist, Season, Song
from tests.factories import add_playlist, make_song


def _dump(snapshot: ChartSnapshot) -> list[tuple]:
    """Every stored value of a snapshot's label board, in order."""
    rows = db.session.scalars(
        select(LabelChartEntry).where(LabelChartEntry.snapshot_id == snapshot.id).order_by(LabelChartEntry.rank)
    )
    columns = [c.name for c in LabelChartEntry.__table__.columns]
    return [(snapshot.id, snapshot.as_of, snapshot.kind)] + [tuple(getattr(r, c) for c in columns) for r in rows]


# --------------------------------------------------------------------------- the one resolver and year parser


def test_parse_year_one_set_of_bounds():
    assert seasons.parse_year(None) is None
    assert seasons.parse_year("  ") is None
    assert seasons.parse_year("2024") == 2024
    assert seasons.parse_year(2031) == 2031
    for bad in ("24", "20245", "1999", "2101", "²⁰²⁴", "abcd", "-2024", True, 99999):
        with pytest.raises(DomainError) as exc:
            seasons.parse_year(bad)
        assert exc.value.status == 400
        assert "entre 2000 y 2100" in exc.value.message


def test_resolve_defaults_to_this_year_and_never_to_a_planning_one(world):
    w = world
    planning = seasons.new_season(2025, on=date(2024, 10, 2))
    db.session.commit()
    assert planning.state == "planning"
    assert seasons.resolve(on=date(2024, 11, 1)) == w.season
    assert seasons.resolve("2025") == planning
    with pytest.raises(NotFound):
        seasons.resolve("2030")
    # computed=True: only a season with charts; 2024 has none yet → None
    assert seasons.resolve(on=date(2024, 11, 1), computed=True) is None
    charts.recompute_charts(w.season, as_of=date(2024, 11, 1))
    assert seasons.resolve(on=date(2025, 3, 1), computed=True) == w.season


def test_charts_page_and_api_default_to_the_same_season(world, client, auth):
    w = world
    make_song(w, state="planned", due=date(2024, 6, 3))
    older = seasons.new_season(2023, on=date(2024, 5, 1))
    db.session.commit()
    charts.recompute_charts(older, as_of=date(2024, 5, 1))
    charts.recompute_charts(w.season, as_of=date(2024, 5, 1))
    auth.login(w.coordinator)
    expected = seasons.resolve(computed=True).year
    api = client.get("/api/v1/charts/labels").get_json()
    assert api["season"] == expected
    page = client.get("/charts").get_data(as_text=True)
    assert f'<option value="{expected}" selected' in page
    assert client.get("/charts?season=24").status_code == 400
    assert client.get("/api/v1/charts/labels?season=24").status_code == 400
    assert client.get("/api/v1/coverage/departments?season=1999").status_code == 400
    assert client.get("/charts?season=2099").status_code == 404


# --------------------------------------------------------------------------- states, dates and drafts


def test_default_dates():
    assert seasons.default_closing_date(2026) == date(2027, 1, 29)  # 31 Jan 2027 is a Sunday
    assert seasons.default_closing_date(2024) == date(2025, 1, 31)
    assert seasons.default_target_date(2027) == date(2027, 1, 31)


def test_api_lists_state_and_dates(world, client, auth):
    auth.login(world.territorial_a)
    item = client.get("/api/v1/seasons").get_json()["items"][0]
    assert item["year"] == 2024
    assert item["state"] == "open"
    assert item["closing_date"] == "2025-01-31"
    assert item["target_date"] is None  # the test world's season was made without one
    assert seasons.new_season(2025, on=date(2024, 10, 1)).target_date == date(2025, 1, 31)


def test_next_season_opens_by_itself_with_drafts(world):
    w = world
    add_playlist(w, w.label_a, 12)
    w.season.late_floor_days = 25
    db.session.commit()
    assert seasons.advance(date(2024, 9, 30)) == []
    assert seasons.by_year(2025) is None
    lines = seasons.advance(date(2024, 10, 1))
    nxt = seasons.by_year(2025)
    assert nxt is not None and nxt.state == "planning" and nxt.has_drafts and nxt.drafts_from_year == 2024
    assert any("2025" in line for line in lines)
    assert nxt.late_floor_days == 25
    targets = db.session.execute(select(Playlist.label_id, Playlist.target).where(Playlist.season_id == nxt.id)).all()
    assert targets == [(w.label_a.id, 12)]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "season_opened")) is not None
    assert seasons.advance(date(2024, 10, 2)) == []  # once only

    with pytest.raises(PermissionDenied):
        seasons.confirm_drafts(nxt, w.territorial_a)
    seasons.confirm_drafts(nxt, w.coordinator)
    db.session.commit()
    assert not nxt.has_drafts and nxt.confirmed_by_id == w.coordinator.id
    with pytest.raises(Conflict):
        seasons.confirm_drafts(nxt, w.coordinator)


def test_every_state_change_follows_the_calendar(world):
    w = world
    seasons.advance(date(2024, 10, 1))
    nxt = seasons.by_year(2025)
    assert (w.season.state, nxt.state) == ("open", "planning")
    seasons.advance(date(2025, 1, 2))
    assert (w.season.state, nxt.state) == ("closing", "open")
    seasons.advance(date(2025, 1, 31))
    assert w.season.state == "closing"  # until its closing date, included
    seasons.advance(date(2025, 2, 3))
    assert w.season.state == "closed" and w.season.closed_at is not None
    assert seasons.final_snapshot(w.season) is not None
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "season")).all()
    assert actions.count("season_state_changed") == 2 and "season_closed" in actions


def test_planning_into_a_year_without_a_season_says_what_to_do(world):
    from app.domain import lifecycle

    w = world
    data = {
        "artist_id": w.artist_a.id,
        "album_id": w.album_inn.id,
        "municipality_id": w.mun_plain.id,
        "scope": "Acompañamiento",
        "planned_start": date(2024, 12, 1),
        "due_date": date(2025, 1, 20),
    }
    with pytest.raises(ValidationFailed) as exc:
        lifecycle.create_song(w.territorial_a, data)
    message = exc.value.message
    assert "Todavía no existe la temporada 2025" in message
    assert "01/10/2024" in message and "administración" in message
    seasons.advance(date(2024, 10, 1))
    song = lifecycle.create_song(w.territorial_a, data)
    assert song.season.year == 2025


# --------------------------------------------------------------------------- closing


@pytest.fixture
def closing_world(world):
    w = world
    make_song(w, state="reviewed", due=date(2024, 4, 1), delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4))
    make_song(w, state="in_progress", due=date(2024, 12, 20))  # late at the cut-off
    make_song(
        w, artist=w.artist_b, state="reviewed", due=date(2024, 6, 3), delivered_on=date(2024, 6, 3), review=(5, 5, 5, 5)
    )
    make_song(w, artist=w.artist_b, state="delivered", due=date(2024, 12, 16), delivered_on=date(2025, 1, 8))
    return w


def _close(w):
    """Close 2024 as the coordinator on 10 January 2025 and commit, as the request would."""
    snapshot = seasons.close(w.season, w.coordinator, on=date(2025, 1, 10))
    db.session.commit()
    return snapshot


def test_close_refuses_an_open_year_and_strangers(closing_world):
    w = closing_world
    with pytest.raises(Conflict):
        seasons.close(w.season, w.coordinator, on=date(2024, 12, 31))
    with pytest.raises(PermissionDenied):
        seasons.close(w.season, w.territorial_a, on=date(2025, 1, 5))


def test_closed_season_cut_off_at_31_december(closing_world):
    w = closing_world
    snapshot = _close(w)
    assert snapshot.kind == "final" and snapshot.as_of == date(2024, 12, 31)
    entries = {e.label_id: e for e, _l in charts.label_board(snapshot)}
    # label B's delivery of 8 January does not count in 2024: late (T = 0), not delivered
    assert entries[w.label_b.id].delivered_songs == 1
    assert entries[w.label_b.id].overdue_songs == 1
    assert entries[w.label_a.id].overdue_songs == 1


def test_closed_season_breakdown_adds_up_to_its_final_snapshot(closing_world):
    w = closing_world
    snapshot = _close(w)
    for label in (w.label_a, w.label_b):
        breakdown = charts.label_breakdown(w.season, snapshot, label.id)
        assert breakdown["matches"] is True, label.code
    breakdown = charts.label_breakdown(w.season, snapshot, w.label_b.id)
    # the delivery of 8 January is late in 2024: neither delivered nor waiting for review
    assert breakdown["figures"]["delivered_songs"] == 1 and breakdown["figures"]["waiting_songs"] == 0
    assert charts.label_entry(snapshot, w.label_b.id).waiting_songs == 0


def test_a_closed_season_never_changes(closing_world, runner):
    w = closing_world
    snapshot = _close(w)
    before = _dump(snapshot)
    # every recompute path leaves it alone
    assert charts.recompute_all() == []
    assert charts.run_recompute([w.season]) == []
    result = runner.invoke(args=["charts", "recompute", "--season", "2024"])
    assert "está cerrada" in result.output
    with pytest.raises(Conflict):
        charts.recompute_charts(w.season)
    db.session.expire_all()
    assert _dump(seasons.final_snapshot(w.season)) == before
    # a song whose due date passes after the close never becomes overdue in 2024
    assert charts.latest_snapshot(w.season.id).id == snapshot.id


def test_songs_of_a_closed_season_change_only_through_an_audited_correction(closing_world):
    w = closing_world
    _close(w)
    song = db.session.scalar(select(Song).where(Song.state == "in_progress"))
    song.scope = "cambio"
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        with seasons.correction(w.season, w.coordinator, "Acta recibida tarde por correo"):
            pass
    with pytest.raises(ValidationFailed):
        with seasons.correction(w.season, w.admin, "corto"):
            pass
    song = db.session.scalar(select(Song).where(Song.state == "in_progress"))
    with seasons.correction(w.season, w.admin, "La alcaldía retiró la solicitud en diciembre"):
        song.state = "cancelled"
        song.cancel_reason = "Retirada por la alcaldía"
    final = seasons.final_snapshot(w.season)
    assert w.season.corrected_at is not None
    assert charts.label_entry(final, w.label_a.id).overdue_songs == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "season_corrected")) is not None
    assert (
        db.session.scalar(
            select(ChartSnapshot.id)
            .where(ChartSnapshot.season_id == w.season.id, ChartSnapshot.kind == "final")
            .where(ChartSnapshot.id != final.id)
        )
        is None
    )


def test_cli_close(closing_world, runner, monkeypatch):
    monkeypatch.setattr(seasons, "today", lambda: date(2025, 1, 10))
    result = runner.invoke(args=["seasons", "close", "2024"])
    assert result.exit_code == 0, result.output
    assert "Temporada 2024 cerrada" in result.output
    result = runner.invoke(args=["seasons", "close", "2024"])
    assert result.exit_code != 0 and "ya está cerrada" in result.output
    result = runner.invoke(args=["seasons", "close", "24"])
    assert result.exit_code != 0 and "entre 2000 y 2100" in result.output


# --------------------------------------------------------------------------- end of season for open songs


def test_carry_over_counts_late_in_its_own_season(closing_world):
    w = closing_world
    seasons.advance(date(2024, 12, 2))
    nxt = seasons.new_season(2025, on=date(2024, 12, 2)) if seasons.by_year(2025) is None else seasons.by_year(2025)
    db.session.commit()
    song = db.session.scalar(select(Song).where(Song.state == "in_progress"))
    as_of = date(2024, 12, 2)  # not yet due: it would not count late by its date
    before = charts.label_entry(charts.recompute_charts(w.season, as_of=as_of), w.label_a.id)
    assert before.overdue_songs == 0
    with pytest.raises(PermissionDenied):
        seasons.carry_over(song, w.territorial_a, date(2025, 2, 3))
    with pytest.raises(ValidationFailed):
        seasons.carry_over(song, w.coordinator, date(2026, 2, 3))
    with pytest.raises(ValidationFailed):
        seasons.carry_over(song, w.coordinator, date(2025, 2, 1))  # a Saturday
    copy = seasons.carry_over(song, w.coordinator, date(2025, 2, 3))
    db.session.commit()
    assert copy.season_id == nxt.id and copy.due_date == date(2025, 2, 3) and copy.state == "in_progress"
    assert song.state == "cancelled" and song.carried_over_to_id == copy.id
    assert song.standing == "carried_over"  # what the chart scan reads (late in 2024)
    after = charts.label_entry(charts.recompute_charts(w.season, as_of=as_of), w.label_a.id)
    assert after.overdue_songs == 1
    assert after.on_time < before.on_time or before.on_time == 0
    final = _close(w)
    assert charts.label_entry(final, w.label_a.id).overdue_songs == 1
    assert charts.label_breakdown(w.season, final, w.label_a.id)["matches"] is True


def test_cancel_at_season_end_counts_late(closing_world):
    w = closing_world
    song = db.session.scalar(select(Song).where(Song.state == "in_progress"))
    with pytest.raises(ValidationFailed):
        seasons.cancel_at_end(song, w.coordinator, "")
    seasons.cancel_at_end(song, w.coordinator, "La alcaldía no respondió")
    db.session.commit()
    final = _close(w)
    assert song.state == "cancelled"
    # cancelled after its due date at the cut-off is late: the board keeps it in OnTime's denominator
    assert charts.label_entry(final, w.label_a.id).reviewed_songs == 1


def test_end_of_season_screen(closing_world, client, auth):
    w = closing_world
    seasons.new_season(2025, on=date(2024, 12, 2))
    db.session.commit()
    auth.login(w.territorial_a)
    assert client.get("/seasons/2024/end").status_code == 403
    auth.login(w.coordinator)
    page = client.get("/seasons/2024/end")
    assert page.status_code == 200
    song = db.session.scalar(select(Song).where(Song.state == "in_progress"))
    assert f"#{song.id}" in page.get_data(as_text=True)
    bad = client.post("/seasons/2024/end", data={"song_id": song.id, "action": "carry", "due_date": "2026-02-03"})
    assert bad.status_code == 422
    ok = client.post("/seasons/2024/end", data={"song_id": song.id, "action": "carry", "due_date": "2025-02-03"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Song, song.id).carried_over_to_id is not None
    assert "No quedan canciones" in client.get("/seasons/2024/end").get_data(as_text=True)


# --------------------------------------------------------------------------- targets frozen


def test_targets_frozen_after_the_target_date(world, monkeypatch):
    from app.domain import catalogue

    w = world
    w.season.target_date = date(2024, 1, 31)
    db.session.commit()
    monkeypatch.setattr(seasons, "today", lambda: date(2024, 1, 15))
    assert not seasons.targets_frozen(w.season)
    catalogue.set_playlists(w.season, {(w.label_a.id, None): "10"}, w.coordinator)
    monkeypatch.setattr(seasons, "today", lambda: date(2024, 2, 1))
    assert seasons.targets_frozen(w.season)
    saved = catalogue.set_playlists(w.season, {(w.label_a.id, None): "5"}, w.coordinator)
    assert saved.changed == 0 and [c.kind for c in saved.pending] == ["target_change"]  # four eyes
    assert db.session.scalar(select(Playlist.target).where(Playlist.season_id == w.season.id)) == 10


# --------------------------------------------------------------------------- final standings


def test_final_standings_page(closing_world, client, auth):
    w = closing_world
    prev = seasons.new_season(2023, on=date(2024, 1, 2))
    db.session.commit()
    charts.recompute_charts(prev, as_of=date(2024, 1, 2))
    _close(w)
    auth.login(w.manager)
    page = client.get("/seasons/2024/final")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Podio" in html and w.label_b.name in html
    assert "más mejoró" in html
    standings = seasons.final_standings(w.season)
    assert standings.podium[0][1].id == w.label_b.id
    assert standings.most_improved[1].id == w.label_b.id
    cert = client.get(f"/seasons/2024/final/certificate/{w.label_b.id}")
    assert cert.status_code == 200 and "puesto 1 de 2" in cert.get_data(as_text=True)
    assert client.get("/seasons/2023/final").status_code == 404  # not closed
    across = seasons.rank_across_seasons(w.label_b.id)
    assert across == [{"year": 2024, "rank": 1, "index": standings.podium[0][0].index_value}]


def test_final_change_column_in_colombian_style_and_no_improvement_that_is_not(closing_world, client, auth):
    """Issue 21: the change against last season reads "−3,0" / "0,0" (decimal comma, no sign on a
    change that rounds to zero), and no label "mejoró" when every index went down."""
    import re

    w = closing_world
    prev = seasons.new_season(2023, on=date(2024, 1, 2))
    db.session.commit()
    charts.recompute_charts(prev, as_of=date(2024, 1, 2))
    final = {e.label_id: e.index_value for e, _label in charts.label_board(_close(w))}
    previous = charts.latest_snapshot(prev.id)
    for entry in db.session.scalars(select(LabelChartEntry).where(LabelChartEntry.snapshot_id == previous.id)):
        entry.index_value = final[entry.label_id] + (0.04 if entry.label_id == w.label_a.id else 3.0)
    db.session.commit()
    assert seasons.final_standings(w.season).most_improved is None
    auth.login(w.manager)
    html = client.get("/seasons/2024/final").get_data(as_text=True)
    table = html[html.index("Todas las disqueras") :]
    table = table[: table.index("</table>")]
    rows = [re.findall(r'<td class="num">([^<]*)</td>', row) for row in table.split("<tr>")[2:]]
    assert sorted(row[2] for row in rows) == ["0,0", "\u22123,0"], rows  # puesto, índice, cambio
    assert not re.search(r"[+-]\d|\d\.\d", table), "no dot decimals nor ASCII signs"
    assert "más mejoró" not in html


def test_coordinator_closes_from_the_ui(closing_world, client, auth, monkeypatch):
    w = closing_world
    monkeypatch.setattr(seasons, "today", lambda: date(2025, 1, 10))
    auth.login(w.coordinator)
    page = client.get("/seasons/2024/close")
    assert page.status_code == 200
    assert "Quedan 1 canciones sin entregar" in page.get_data(as_text=True)
    response = client.post("/seasons/2024/close")
    assert response.status_code == 302 and response.headers["Location"].endswith("/seasons/2024/final")
    db.session.expire_all()
    assert db.session.get(Season, w.season.id).state == "closed"
    again = client.post("/seasons/2024/close")
    assert again.status_code == 409


def test_admin_correction_from_the_ui(closing_world, client, auth):
    w = closing_world
    _close(w)
    song = db.session.scalar(select(Song).where(Song.state == "delivered"))  # delivered 8 Jan: late in 2024
    auth.login(w.coordinator)
    assert client.get("/seasons/2024/correct").status_code == 403
    auth.login(w.admin)
    assert client.get("/seasons/2024/correct").status_code == 200
    bad = client.post(
        "/seasons/2024/correct",
        data={"song_id": song.id, "what": "delivered_on", "value": "2024-12-16", "reason": "corto"},
    )
    assert bad.status_code == 422
    ok = client.post(
        "/seasons/2024/correct",
        data={
            "song_id": song.id,
            "what": "delivered_on",
            "value": "2024-12-16",
            "reason": "El acta firmada llegó el 16 de diciembre",
        },
    )
    assert ok.status_code == 302
    db.session.expire_all()
    season = db.session.get(Season, w.season.id)
    entry = charts.label_entry(seasons.final_snapshot(season), w.label_b.id)
    assert (entry.delivered_songs, entry.overdue_songs) == (2, 0)
    assert season.corrected_at is not None
    assert "corrección auditada" in client.get("/charts?season=2024").get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "song_corrected")).changes == {
        "delivered_on": ["2025-01-08", "2024-12-16"]
    }


def test_the_scheduler_runs_the_season_job_under_its_lease(world, app, monkeypatch):
    from app import scheduler
    from app.domain import lease

    monkeypatch.setattr(seasons, "today", lambda: date(2024, 10, 1))
    with lease.held(seasons.SEASONS_LEASE) as got:  # another worker is at it: nothing happens
        assert got
        scheduler._run_seasons(app)
        assert seasons.by_year(2025) is None
    db.session.rollback()  # the unit of work ends: now the lease is given back
    scheduler._run_seasons(app)
    assert seasons.by_year(2025).state == "planning"
