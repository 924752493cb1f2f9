"""Issue 15: four eyes in the strategy simulation (DESIGN.md §9). One friendly coordinator alone
approves GAMING's late cancellations as "not the team's doing" and lowers GAMING's target after
the target date. Both wait for a second coordinator, so GAMING ends no better than its honest
twin (tests/strategy.py); with the four-eyes step removed, each lever lifts GAMING ahead."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain import four_eyes
from app.extensions import db
from tests.strategy import TOLERANCE, Sim, honest_base

END = date(2024, 7, 15)


def approved_late_cancellations(sim: Sim) -> float:
    """Both teams have two more songs due 15/05 that fail; HONEST leaves them overdue, GAMING
    cancels them on 20/06 and the friendly coordinator approves the cancellations (force majeure)."""
    honest_base(sim)
    failing = {key: [sim.plan(key) for _ in range(2)] for key in sim.teams}
    for song in failing["gaming"]:
        sim.cancel(song, date(2024, 6, 20))
        res = sim.as_user(sim.coordinator).post(
            f"/api/v1/songs/{song['id']}/late-cancellation", json={"reason": "force_majeure", "comment": "Lluvias"}
        )
        assert res.status_code in (200, 202), res.get_json()
    return sim.gap(END)


def late_target_cut(sim: Sim) -> float:
    """After the target date (31/01) the friendly coordinator lowers GAMING's target from 10 to 8,
    the songs it credits anyway (Progress 0.8 → 1)."""
    sim.season.target_date = date(2024, 1, 31)
    db.session.commit()
    honest_base(sim)
    gaming = sim.teams["gaming"].label
    res = sim.as_user(sim.coordinator).post(
        f"/admin/playlists?season={sim.season.year}", data={f"t_{gaming.id}_0": "8"}
    )
    assert res.status_code == 302
    return sim.gap(END)


@pytest.fixture
def sim(client, auth, monkeypatch):
    return Sim(client, auth, monkeypatch)


def test_a_friendly_approval_of_late_cancellations(sim):
    assert approved_late_cancellations(sim) <= TOLERANCE


def test_a_friendly_late_target_cut(sim):
    assert late_target_cut(sim) <= TOLERANCE


def _without_four_eyes(monkeypatch) -> None:
    """A requested change applies at once, as if its requester had confirmed it."""
    original = four_eyes.request

    def at_once(kind, actor, **kwargs):
        change = original(kind, actor, **kwargs)
        four_eyes.APPLY[kind](actor, change)
        change.status = "confirmed"
        return change

    monkeypatch.setattr(four_eyes, "request", at_once)


@pytest.mark.parametrize("lever", [approved_late_cancellations, late_target_cut], ids=["cancellations", "target"])
def test_four_eyes_is_what_holds_the_lever(client, auth, monkeypatch, lever):
    _without_four_eyes(monkeypatch)
    assert lever(Sim(client, auth, monkeypatch)) > TOLERANCE
