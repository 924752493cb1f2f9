"""Issue 18: a home per role at ``/`` (what needs doing first), built by app.domain.home."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain import calendar, charts, home
from app.domain import imports as import_domain
from app.extensions import db
from app.models import DueDateChange, PendingChange, Season, User
from tests.factories import PASSWORD, add_playlist, make_song

TODAY = date(2024, 4, 1)  # a Monday


@pytest.fixture
def songs(world):
    w = world
    s = {
        "overdue": make_song(w, state="planned", planned_start=date(2024, 3, 1), due=date(2024, 3, 20)),
        "soon": make_song(w, state="in_progress", planned_start=date(2024, 3, 1), due=date(2024, 4, 4)),
        "far": make_song(w, state="planned", planned_start=date(2024, 3, 1), due=date(2024, 6, 3)),
        "returned": make_song(w, state="returned", due=date(2024, 4, 20), delivered_on=date(2024, 3, 25)),
        "no_survey": make_song(w, state="delivered", due=date(2024, 3, 29), delivered_on=date(2024, 3, 28)),
        "expired": make_song(
            w, state="delivered", planned_start=date(2024, 1, 10), due=date(2024, 2, 1), delivered_on=date(2024, 1, 30)
        ),
        "reviewed": make_song(
            w,
            state="reviewed",
            due=date(2024, 3, 15),
            delivered_on=date(2024, 3, 14),
            review=(4, 4, 4, 4),
            survey=(4, 4, 4, 4, 4),
        ),
        "answered": make_song(
            w, state="delivered", due=date(2024, 3, 15), delivered_on=date(2024, 3, 14), survey=(5, 5, 5, 5, 5)
        ),
        "other_label": make_song(w, artist=w.artist_b, state="planned", due=date(2024, 3, 20)),
    }
    s["returned"].return_comment = "Falta el acta firmada"
    now = datetime.now(UTC)
    s["no_survey"].survey_nonce, s["no_survey"].survey_issued_at = "a" * 32, now - timedelta(days=2)
    s["expired"].survey_nonce, s["expired"].survey_issued_at = "b" * 32, now - timedelta(days=60)
    db.session.commit()
    add_playlist(w, w.label_a, 30)
    return s


def _ids(lines):
    return [line.id for line in lines]


def test_territorial_home_lists_what_the_team_must_act_on(world, songs):
    data = home.territorial_home(world.territorial_a, TODAY)
    assert data.counts == {"overdue": 1, "due_soon": 1, "returned": 1, "surveys": 2, "surveys_expired": 1}
    assert _ids(data.overdue) == [songs["overdue"].id]
    # 20 March → 1 April 2024: 21, 22, 26, 27 March and 1 April (25, 28, 29 March are holidays).
    assert data.overdue[0].days == -5
    assert _ids(data.due_soon) == [songs["soon"].id] and data.due_soon[0].days == 3
    assert _ids(data.returned) == [songs["returned"].id] and data.returned[0].note == "Falta el acta firmada"
    surveys = {line.id: line for line in data.surveys}
    assert set(surveys) == {songs["no_survey"].id, songs["expired"].id}
    assert surveys[songs["expired"].id].expired and not surveys[songs["no_survey"].id].expired
    assert [r["id"] for r in data.reviews] == [songs["reviewed"].id]
    assert data.standing is None  # no snapshot yet


def test_territorial_home_shows_rank_next_badge_and_own_row(client, auth, world, songs, monkeypatch):
    charts.recompute_charts(world.season, as_of=TODAY)
    standing = home.label_standing(world.season, world.label_a.id)
    assert standing.entry.rank == 1 and standing.labels == 2
    assert standing.next_badge["badge"] in ("gold", "full_playlist")
    auth.login(world.territorial_a)
    monkeypatch.setattr(calendar, "today", lambda: TODAY)  # the page as on 1 April 2024
    page = client.get("/").get_data(as_text=True)
    assert 'class="own-row" aria-current="true"' in page
    assert "Puesto 1 de 2" in page
    assert "Próximo logro" in page
    # The label's pace counts credited songs only: 1 credited by 1 April (92 days) → ~4 of 30 in the year.
    pace = home.territorial_home(world.territorial_a, TODAY).pace
    assert (pace.credited, pace.target) == (1, 30) and pace.projected_progress < 0.2
    assert "Al ritmo actual" in page and "solo cuentan las acreditadas" in page
    assert "Falta el acta firmada" in page
    assert "enlace vencido" in page
    assert page.count('class="own-row"') == 1


def test_coordinator_home_queue_by_age_due_date_requests_and_targets_at_risk(client, auth, world, songs):
    w = world
    old = make_song(w, artist=w.artist_b, state="delivered", due=date(2024, 3, 1), delivered_on=date(2024, 3, 1))
    db.session.add(
        DueDateChange(
            song_id=songs["soon"].id,
            requested_by_id=w.territorial_a.id,
            previous_due=date(2024, 4, 4),
            proposed_due=date(2024, 4, 30),
            reason="La alcaldía pidió aplazar",
        )
    )
    db.session.commit()
    data = home.coordinator_home(w.coordinator, TODAY)
    bands = {b["key"]: b["count"] for b in data["queue"]["bands"]}
    # Delivered and waiting, against the 10-business-day service level: no_survey (28 Mar, 1 day),
    # answered (14 Mar, 9 days: in the last two days of it), expired (30 Jan) and old (1 Mar) past it.
    assert data["queue"]["total"] == 4 and data["queue"]["sla"] == 10
    assert bands == {"within": 1, "due_now": 1, "past": 2}
    assert data["queue"]["oldest"][0].id == songs["expired"].id
    assert data["due_dates"]["total"] == 1
    assert [r.label_code for r in data["at_risk"]] == ["DT01"]
    auth.login(w.coordinator)
    page = client.get("/").get_data(as_text=True)
    assert "Cola de revisión" in page and "Solicitudes de cambio de fecha por decidir" in page
    assert f"/reviews/{old.id}" in page or f"/{old.id}" in page


def test_coordinator_home_service_level_follows_the_season_setting(world, songs):
    world.season.review_sla_days = 20
    db.session.commit()
    bands = {b["key"]: b["count"] for b in home.coordinator_home(world.coordinator, TODAY)["queue"]["bands"]}
    # At 10 days answered (14 Mar, 9 days) is due now; at 20 it is well within. Expired (30 Jan) is past both.
    assert bands == {"within": 2, "due_now": 0, "past": 1}


def test_targets_at_risk_count_credited_songs_only(world, songs):
    """Delivered songs waiting for review, and reviewed ones below the approval bar, never make
    a label look on track (DESIGN.md §3/§4)."""
    w = world
    add_playlist(w, w.label_b, 2)
    # Label B: three delivered songs in March, none reviewed. At the delivered pace it would be on
    # track (3 songs in 92 days → ~12 in the year, target 2); credited: none → at risk.
    for day in (4, 5, 6):
        make_song(w, artist=w.artist_b, state="delivered", due=date(2024, 3, 20), delivered_on=date(2024, 3, day))
    make_song(
        w,
        artist=w.artist_b,
        state="reviewed",
        due=date(2024, 3, 20),
        delivered_on=date(2024, 3, 7),
        review=(2, 2, 2, 2),
    )
    rows = {r.label_code: r for r in home.targets_at_risk(w.season, TODAY)}
    assert rows["DT02"].credited == 0 and rows["DT02"].waiting == 3
    # Two approved reviews by 1 April: 2 / 92 days × 366 ≈ 8 ≥ 2 → no longer at risk.
    for day in (8, 11):
        make_song(
            w,
            artist=w.artist_b,
            state="reviewed",
            due=date(2024, 3, 20),
            delivered_on=date(2024, 3, day),
            review=(4, 4, 4, 4),
        )
    assert "DT02" not in {r.label_code for r in home.targets_at_risk(w.season, TODAY)}
    # The latest snapshot, when there is one, gives the same figures as the board.
    charts.recompute_charts(w.season, as_of=TODAY)
    assert "DT02" not in {r.label_code for r in home.targets_at_risk(w.season, TODAY)}
    assert [r.credited for r in home.targets_at_risk(w.season, TODAY) if r.label_code == "DT01"] == [1]


def test_coordinator_home_four_eyes_integrity_and_seasons(client, auth, world, songs):
    w = world
    other = User(email="coord2@test.co", name="Otra coordinadora", role="coordinator", password_hash="x")
    db.session.add(other)
    db.session.flush()
    db.session.add_all(
        [
            PendingChange(
                kind="review_raise", song_id=songs["reviewed"].id, label_id=w.label_a.id, requested_by_id=other.id
            ),
            PendingChange(
                kind="survey_regenerate",
                song_id=songs["expired"].id,
                label_id=w.label_a.id,
                requested_by_id=w.coordinator.id,
            ),
        ]
    )
    # A cancellation after its due date: one integrity alert for label A.
    late = make_song(w, state="planned", due=date(2024, 3, 1))
    late.state, late.cancelled_on, late.cancel_reason = "cancelled", date(2024, 3, 15), "La alcaldía desistió"
    nxt = Season(
        year=2025, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), drafts_from_year=2024, state="planning"
    )
    db.session.add(nxt)
    db.session.commit()
    data = home.coordinator_home(w.coordinator, TODAY)
    assert data["four_eyes"]["total"] == 2
    # The coordinator decides the other's request, never their own (four eyes).
    assert [r["refusal"] is None for r in data["four_eyes"]["rows"]] == [True, False]
    assert data["four_eyes"]["yours"] == 1
    assert data["integrity"]["by_kind"]["late_cancellation"] == 1
    assert data["integrity"]["labels"][0][0] == "DT01"
    assert [(r["key"], r["season"].year) for r in data["seasons"]] == [("drafts", 2025)]
    # December: the open season must settle its undelivered songs.
    december = home.coordinator_home(w.coordinator, date(2024, 12, 2))
    assert ("settle", 2024) in [(r["key"], r["season"].year) for r in december["seasons"]]
    auth.login(w.coordinator)
    page = client.get("/").get_data(as_text=True)
    assert "Cuatro ojos: cambios por confirmar" in page and "puede decidirlo usted" in page
    assert "Alertas de integridad" in page  # today the current season is 2025: its alerts, none yet
    assert "Temporadas que requieren acción" in page and "copiados de 2024" in page


def test_manager_home_coverage_trend_gaps_and_recent_deliveries(client, auth, world, songs):
    data = home.manager_home(world.manager, TODAY)
    assert data["summary"].figure("delivered").value == 4  # delivered + reviewed of the season
    assert [line.id for line in data["recent"]][0] == songs["no_survey"].id
    gap_codes = {g.code for g in data["gaps"]}
    assert "05031" not in gap_codes or data["gap_count"] >= 1
    auth.login(world.manager)
    page = client.get("/").get_data(as_text=True)
    assert "Cobertura y tendencia" in page and "Entregas recientes" in page
    assert "Municipios priorizados sin asistencia" in page


def test_admin_home_readiness_users_without_team_failed_imports_and_mail_off(client, auth, world):
    lonely = User(
        email="sola@test.co", name="Sin equipo", role="territorial", label_id=world.label_a.id, password_hash="x"
    )
    db.session.add(lonely)
    db.session.commit()
    report = import_domain.import_songs(b"label_code\nDT01\n", "malo.csv", world.territorial_a)
    assert not report.ok
    import_domain.record_failure(report, "malo.csv", world.territorial_a)
    db.session.commit()
    data = home.admin_home(world.admin, TODAY)
    assert [u.email for u in data["without_team"]["users"]] == ["sola@test.co"]
    assert [r["year"] for r in data["readiness"]] == [2024, 2025]
    assert data["readiness"][0]["season"] is not None and data["readiness"][1]["season"] is None
    assert data["readiness"][0]["drafts"] is False
    assert [u.email for u in data["without_home"]["users"]] == ["coord@test.co"]  # no home directorate yet
    world.coordinator.home_labels.append(world.label_b)
    world.season.drafts_from_year = 2023
    db.session.commit()
    data = home.admin_home(world.admin, TODAY)
    assert data["without_home"]["total"] == 0 and data["readiness"][0]["drafts"] is True
    assert len(data["failed_imports"]) == 1
    assert data["mail"]["configured"] is False
    auth.login(world.admin)
    page = client.get("/").get_data(as_text=True)
    assert "sin configurar" in page and "MAIL_SERVER" in page
    assert "sola@test.co" in page and "malo.csv" in page
    assert "Coordinación sin dirección de origen" in page  # (readiness on the page is for today's years)


@pytest.mark.parametrize("who", ["territorial_a", "coordinator", "manager", "admin"])
def test_every_role_lands_on_its_home(client, auth, world, who):
    auth.login(getattr(world, who))
    r = client.get("/")
    assert r.status_code == 200
    assert "<h1>Inicio" in r.get_data(as_text=True)


def test_home_in_english(client, auth, world, songs):
    world.territorial_a.locale = "en"
    db.session.commit()
    auth.login(world.territorial_a)
    page = client.get("/").get_data(as_text=True)
    assert "Overdue, not delivered" in page


def test_anonymous_goes_to_sign_in(client, world):
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post("/login", data={"email": "ta@test.co", "password": PASSWORD}).status_code == 302
