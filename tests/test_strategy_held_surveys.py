"""Issue 15: a label answering its own surveys (DESIGN.md §9). The answer is kept but *held*: it
counts nowhere until a coordinator validates it, the label breakdown lists it as held, and in the
strategy simulation GAMING, whose team answers its own surveys with top marks, ends no better
than its honest twin whose municipalities did not answer. Without the hold, it climbs."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from app.domain import charts, surveys
from app.extensions import db
from app.models import Song
from tests.factories import make_song
from tests.strategy import TOLERANCE, Sim, honest_base

END = date(2024, 7, 15)
TOP = {f"q{n}": "5" for n in range(1, 6)}


def self_answered(sim: Sim, *, signed_in: bool = True) -> float:
    """After the base work, GAMING's team answers each of its songs' surveys with 5s: from its
    signed-in session, or signed out from the office the team works from (the same address)."""
    done = honest_base(sim)
    for song in done["gaming"]:
        path = urlsplit(sim.song(song["id"])["survey_url"]).path
        client = sim.as_user(sim.teams["gaming"].user)
        if not signed_in:
            sim.auth.logout()
        assert client.post(path, data=TOP).status_code == 200
    return sim.gap(END)


@pytest.fixture
def sim(client, auth, monkeypatch):
    return Sim(client, auth, monkeypatch)


def test_a_team_answering_its_own_surveys_does_not_climb(sim):
    assert self_answered(sim) <= TOLERANCE
    held = [surveys.survey_status(db.session.get(Song, s.id)) for s in db.session.scalars(db.select(Song))]
    assert held.count("held") == 8


def test_answering_signed_out_from_the_teams_office_does_not_climb_either(sim):
    assert self_answered(sim, signed_in=False) <= TOLERANCE


@pytest.mark.parametrize("signed_in", [True, False], ids=["session", "office address"])
def test_the_hold_is_what_holds_the_lever(client, auth, monkeypatch, signed_in):
    monkeypatch.setattr(surveys, "hold_reasons", lambda song, context: [])
    assert self_answered(Sim(client, auth, monkeypatch), signed_in=signed_in) > TOLERANCE


def test_the_label_breakdown_shows_held_surveys_as_held(client, auth, world):
    counted = make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4))
    held = make_song(world, state="reviewed", delivered_on=date(2024, 4, 2), review=(4, 4, 4, 4))
    for song in (counted, held):
        surveys.issue_survey_nonce(song)
    db.session.commit()
    assert client.post("/encuesta/" + surveys.survey_token(counted), data=TOP).status_code == 200  # anonymous
    auth.login(world.territorial_a)
    assert client.post("/encuesta/" + surveys.survey_token(held), data=TOP).status_code == 200  # the team's own
    db.session.expire_all()
    assert surveys.survey_status(db.session.get(Song, held.id)) == "held"
    snapshot = charts.recompute_charts(world.season, as_of=date(2024, 6, 1))
    db.session.commit()
    data = charts.label_breakdown(world.season, snapshot, world.label_a.id)
    assert [r.id for r in data["held"]] == [held.id] and [r.id for r in data["surveyed"]] == [counted.id]
    assert data["figures"]["survey_count"] == 1 and data["matches"]
    auth.login(world.coordinator)
    page = client.get(f"/charts/labels/{world.label_a.id}/breakdown?season=2024").get_data(as_text=True)
    assert "Encuestas retenidas: no cuentan" in page and "retenida · no cuenta" in page
    assert page.count('class="badge survey-held"') >= 3  # the status table, the quality table, the survey list
