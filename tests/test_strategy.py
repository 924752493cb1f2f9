"""Strategy simulation (issue 14, DESIGN.md §9): what a team can do alone never lifts it
above an honest twin that did the same real work.

Each test builds the twin world of tests/strategy.py (labels HONEST and GAMING, same
territory, same target of 10) and has both deliver the same base work through the JSON
API (8 songs due Wed 15/05/2024: 6 delivered 14/05 on time, 2 delivered 22/05, five
business days late; all reviewed 4-4-4-4). GAMING then pulls one lever, or all of
them, and the board read from the API must show GAMING's index ≤ HONEST's + 0.5. A
gaming action the product refuses falls back to the honest one (Sim.deliver,
Sim.attempt_plan, Sim.import_rows note the refusal on the team).
"""

from __future__ import annotations

from datetime import date

import pytest

from app.domain import scoring, song_rules
from app.extensions import db
from app.models import Song
from tests.strategy import DUE, TOLERANCE, Sim, honest_base

END = date(2024, 7, 15)  # the cut-off the boards are read at
LATE_WORK = date(2024, 6, 19)  # Wed: work really finished 23 business days after 15/05 (T = 0)


@pytest.fixture
def sim(client, auth, monkeypatch):
    return Sim(client, auth, monkeypatch)


# --------------------------------------------------------------------------- levers


def volume(sim: Sim, n: int = 30) -> list[dict]:
    """On 14/05: 30 trivial songs (one-word scope, the same tiny PDF, 1 beneficiary) delivered on time."""
    songs = [sim.plan("gaming", scope="Taller") for _ in range(n)]
    return [sim.deliver(s, date(2024, 5, 14), product="Lista", beneficiaries=1) for s in songs]


def import_delivered(sim: Sim, n: int = 60, declared: date = date(2024, 5, 14)) -> None:
    """On 22/05: ``n`` rows imported as delivered on 14/05 (on time), no evidence."""
    sim.import_rows("gaming", [{"state": "delivered", "delivered_on": declared, "product": "Acta"}] * n)


def slipped(sim: Sim, n: int = 2) -> dict[str, list[dict]]:
    """Both teams plan ``n`` more songs due 15/05 whose work really ends on 19/06."""
    return {key: [sim.plan(key) for _ in range(n)] for key in sim.teams}


def deliver_slipped(sim: Sim, songs: dict[str, list[dict]], *, backdate: bool) -> None:
    for s in songs["honest"]:
        sim.deliver(s, LATE_WORK)
    for s in songs["gaming"]:
        sim.deliver(s, LATE_WORK, declared=DUE if backdate else None)  # "delivered" five weeks ago


def review_all(sim: Sim, songs: dict[str, list[dict]], scores=(4, 4, 4, 4)) -> None:
    for key in sim.teams:
        for s in songs[key]:
            sim.review(sim.song(s["id"]), scores)


def far_due(sim: Sim, n: int = 3) -> dict[str, list[dict]]:
    """HONEST commits 15/05; GAMING tries Mon 02/12 (ten months after the start)."""
    return {
        "honest": [sim.plan("honest") for _ in range(n)],
        "gaming": [sim.attempt_plan("gaming", due=date(2024, 12, 2)) for _ in range(n)],
    }


# --------------------------------------------------------------------------- tests


def test_twins_without_levers_tie(sim):
    honest_base(sim)
    board = sim.board(END)
    assert board["gaming"]["index"] == pytest.approx(board["honest"]["index"], abs=1e-9)
    assert board["honest"]["index"] > 50


def volume_waiting(sim: Sim) -> float:
    honest_base(sim, on_due_eve=volume)
    return sim.gap(date(2024, 5, 24))


def test_volume_of_weak_songs_waiting_for_review(sim):
    assert volume_waiting(sim) <= TOLERANCE
    assert sim.board(date(2024, 5, 24))["gaming"]["waiting_songs"] == 30  # the board says how many wait


def test_volume_of_weak_songs_after_review(sim):
    weak = []
    honest_base(sim, on_due_eve=lambda s: weak.extend(volume(s)))
    for s in weak:
        sim.review(sim.song(s["id"]), (2, 2, 2, 2))
    assert sim.gap(END) <= TOLERANCE


def test_import_of_delivered_rows_without_evidence(sim):
    honest_base(sim, after_late=import_delivered)
    assert sim.gap(END) <= TOLERANCE
    assert not {"punctuality", "full_playlist"} & sim.badges("gaming", END)


def test_imported_rows_count_once_their_evidence_is_attached(sim):
    """The import's honest use: on 22/05 GAMING imports two songs delivered 14/05 while HONEST
    records the same two through the API; once GAMING attaches their evidence and both are
    reviewed alike, the twins tie again (the import follows the API's rules)."""
    extra = {"honest": [], "gaming": []}

    def record(s: Sim) -> None:
        extra["honest"] = [
            s.deliver(song, date(2024, 5, 22), declared=date(2024, 5, 14))
            for song in [s.plan("honest") for _ in range(2)]
        ]
        import_delivered(s, n=2)

    honest_base(sim, after_late=record)
    imported = db.session.query(Song).filter_by(label_id=sim.teams["gaming"].label.id, state="delivered").all()
    assert len(imported) == 2 and not sim.teams["honest"].refused
    board = sim.board(date(2024, 5, 24))
    assert (board["honest"]["waiting_songs"], board["gaming"]["waiting_songs"]) == (2, 0)  # no evidence: nowhere
    refused = sim.as_user(sim.coordinator).post(
        f"/api/v1/songs/{imported[0].id}/review", json={"pertinence": 4, "rigour": 4, "usefulness": 4, "evidence": 4}
    )
    assert refused.status_code == 409  # not reviewable before its evidence is attached
    for song in imported:
        sim.attach_evidence({"id": song.id, "label_id": song.label_id})
    extra["gaming"] = [{"id": song.id} for song in imported]
    sim.on(date(2024, 5, 27))
    review_all(sim, extra)
    assert sim.gap(END) == pytest.approx(0.0, abs=1e-9)


def test_imported_rows_returned_and_cancelled_leave_no_badges(sim):
    honest_base(sim, after_late=import_delivered)
    imported = db.session.query(Song).filter_by(label_id=sim.teams["gaming"].label.id, state="delivered").all()
    assert len(imported) == 60
    sim.board(date(2024, 5, 24))
    for song in imported:
        sim.send_back(sim.song(song.id), date(2024, 5, 27))
    for song in imported:
        sim.cancel(sim.song(song.id), date(2024, 5, 28))
    assert sim.gap(END) <= TOLERANCE
    assert sim.badges("gaming", END) <= sim.badges("honest", END)


def backdated(sim: Sim) -> float:
    honest_base(sim)
    late = slipped(sim)
    deliver_slipped(sim, late, backdate=True)
    sim.on(date(2024, 6, 20))
    review_all(sim, late)
    return sim.gap(END)


def test_backdated_delivery(sim):
    assert backdated(sim) <= TOLERANCE
    assert sim.teams["gaming"].refused  # the five-week-old date was refused


def offline_backdated(sim: Sim) -> float:
    """Issue 22: the slipped work (really done Wed 19/06) is recorded offline and synced Thu 20/06.
    HONEST's device records 19/06; GAMING sets its device clock back to the due date (15/05)
    and declares the work delivered that day, "offline since"."""
    honest_base(sim)
    late = slipped(sim)
    synced = date(2024, 6, 20)
    for s in late["honest"]:
        sim.deliver_offline(s, synced, done=LATE_WORK)
    for s in late["gaming"]:
        sim.deliver_offline(s, synced, done=LATE_WORK, recorded=DUE)
    sim.on(date(2024, 6, 21))
    review_all(sim, late)
    return sim.gap(END)


def test_offline_delivery_with_a_back_dated_device_clock(sim):
    assert offline_backdated(sim) <= TOLERANCE
    assert sim.teams["gaming"].refused  # the device's five-week-old time was not trusted
    assert not sim.teams["honest"].refused  # an honest day of waiting for a signal costs nothing


def late_cancellation(sim: Sim) -> float:
    honest_base(sim)
    failing = slipped(sim)
    for s in failing["gaming"]:
        sim.cancel(s, date(2024, 6, 20))  # overdue: cancel it away; HONEST leaves them overdue
    return sim.gap(END)


def test_late_cancellation(sim):
    assert late_cancellation(sim) <= TOLERANCE


def far_off(sim: Sim) -> float:
    honest_base(sim)
    songs = far_due(sim)
    for key in sim.teams:
        for s in songs[key]:
            sim.deliver(s, LATE_WORK)
    sim.on(date(2024, 6, 20))
    review_all(sim, songs)
    return sim.gap(END)


def test_far_off_due_dates(sim):
    assert far_off(sim) <= TOLERANCE


def test_weekend_and_holiday_due_dates(sim):
    honest_base(sim)
    songs = {
        # HONEST commits Fri 31/05; GAMING Sat 01/06, Sun 02/06 and Mon 03/06 (Corpus Christi).
        "honest": [sim.plan("honest", due=date(2024, 5, 31)) for _ in range(3)],
        "gaming": [
            sim.attempt_plan("gaming", due=d, fallback_due=date(2024, 5, 31))
            for d in (date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3))
        ],
    }
    for key in sim.teams:
        for s in songs[key]:
            sim.deliver(s, date(2024, 6, 4))
    sim.on(date(2024, 6, 5))
    review_all(sim, songs)
    assert sim.gap(END) <= TOLERANCE


def redelivery(sim: Sim) -> float:
    """Two more songs each delivered on time 14/05 and returned 22/05; HONEST re-delivers them
    the same day and declares it, GAMING declares the first delivery's date (inside the
    declaration window, so only the re-delivery rule stands in the way)."""
    extra: dict[str, list[dict]] = {}

    def deliver_extra(s: Sim) -> None:
        for key in s.teams:
            extra[key] = [s.deliver(song, date(2024, 5, 14)) for song in [s.plan(key) for _ in range(2)]]

    def return_and_redeliver(s: Sim) -> None:
        for key in s.teams:
            extra[key] = [s.send_back(song, date(2024, 5, 22)) for song in extra[key]]
        for song in extra["honest"]:
            s.deliver(song, date(2024, 5, 22))
        for song in extra["gaming"]:
            s.deliver(song, date(2024, 5, 22), declared=date(2024, 5, 14))

    honest_base(sim, on_due_eve=deliver_extra, after_late=return_and_redeliver)
    review_all(sim, extra)
    return sim.gap(END)


def test_redelivery_after_return_keeps_its_first_date(sim):
    assert redelivery(sim) <= TOLERANCE


def test_all_levers_combined(sim):
    weak: list[dict] = []
    honest_base(sim, on_due_eve=lambda s: weak.extend(volume(s)), after_late=import_delivered)
    late, failing, far = slipped(sim), slipped(sim), far_due(sim, 2)
    deliver_slipped(sim, late, backdate=True)
    for key in sim.teams:
        for s in far[key]:
            sim.deliver(s, LATE_WORK)
    for s in failing["gaming"]:
        sim.cancel(s, date(2024, 6, 20))
    sim.on(date(2024, 6, 21))
    review_all(sim, late)
    review_all(sim, far)
    assert sim.gap(END) <= TOLERANCE  # the 30 weak songs still wait for review
    for s in weak:
        sim.review(sim.song(s["id"]), (2, 2, 2, 2))
    assert sim.gap(END) <= TOLERANCE  # and once they are reviewed


# --------------------------------------------------------------------------- every rule carries weight


def _without_credit(monkeypatch) -> None:
    """Delivered songs count as if credited (the board before issue 14)."""
    original = scoring.standing
    monkeypatch.setattr(scoring, "standing", lambda **kw: "credited" if original(**kw) == "waiting" else original(**kw))


def _without_window(monkeypatch) -> None:
    monkeypatch.setattr(song_rules, "earliest_declarable", lambda today, window_days: date.min)


def _without_late_cancellations(monkeypatch) -> None:
    monkeypatch.setattr(song_rules, "cancelled_late", lambda committed_due, today: False)


def _without_max_duration(monkeypatch) -> None:
    original = song_rules.check_due_date
    monkeypatch.setattr(song_rules, "check_due_date", lambda *a, **kw: original(*a, **{**kw, "coordinator": True}))


def _without_redelivery_date(monkeypatch) -> None:
    original = song_rules.check_delivery_date
    monkeypatch.setattr(song_rules, "check_delivery_date", lambda *a, **kw: original(*a, **{**kw, "returned_on": None}))


def _without_sync_bound(monkeypatch) -> None:
    """The device's recorded time trusted however old (no bounded sync delay)."""
    original = song_rules.recording_day
    monkeypatch.setattr(
        song_rules, "recording_day", lambda recorded_at, **kw: original(recorded_at, **{**kw, "max_delay_days": 1000})
    )


RULES = {
    "credited only": (_without_credit, volume_waiting),
    "declaration window": (_without_window, backdated),
    "offline sync bound": (_without_sync_bound, offline_backdated),
    "late cancellation": (_without_late_cancellations, late_cancellation),
    "album maximum duration": (_without_max_duration, far_off),
    "re-delivery date": (_without_redelivery_date, redelivery),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_is_what_holds_its_lever(client, auth, monkeypatch, rule):
    """Remove one rule and its lever lifts GAMING above HONEST again."""
    remove, lever = RULES[rule]
    remove(monkeypatch)
    assert lever(Sim(client, auth, monkeypatch)) > TOLERANCE
