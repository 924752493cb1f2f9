"""Issue 18: a home per role at ``/`` (what needs doing first), built by app.domain.home."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain import charts, home
from app.domain import imports as import_domain
from app.extensions import db
from app.models import DueDateChange, User
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


def test_territorial_home_shows_rank_next_badge_and_own_row(client, auth, world, songs):
    charts.recompute_charts(world.season, as_of=TODAY)
    standing = home.label_standing(world.season, world.label_a.id)
    assert standing.entry.rank == 1 and standing.labels == 2
    assert standing.next_badge["badge"] in ("gold", "full_playlist")
    auth.login(world.territorial_a)
    page = client.get("/").get_data(as_text=True)
    assert 'class="own-row" aria-current="true"' in page
    assert "Puesto 1 de 2" in page
    assert "Próximo logro" in page
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
    # Delivered and waiting: no_survey (28 Mar, 1 business day), expired (30 Jan), answered (14 Mar), old (1 Mar).
    assert data["queue"]["total"] == 4
    assert bands == {"recent": 1, "middle": 1, "old": 2}
    assert data["queue"]["oldest"][0].id == songs["expired"].id
    assert data["due_dates"]["total"] == 1
    assert [r.label_code for r in data["at_risk"]] == ["DT01"]
    auth.login(w.coordinator)
    page = client.get("/").get_data(as_text=True)
    assert "Cola de revisión" in page and "Solicitudes de cambio de fecha por decidir" in page
    assert f"/reviews/{old.id}" in page or f"/{old.id}" in page


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
    assert len(data["failed_imports"]) == 1
    assert data["mail"]["configured"] is False
    auth.login(world.admin)
    page = client.get("/").get_data(as_text=True)
    assert "sin configurar" in page and "MAIL_SERVER" in page
    assert "sola@test.co" in page and "malo.csv" in page


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
