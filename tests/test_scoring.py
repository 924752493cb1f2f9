"""Scoring terms of DESIGN.md §4. Every expected value is worked out by hand in the comments."""

from dataclasses import replace
from datetime import date

import pytest

from app.domain import scoring
from app.domain.scoring import DEFAULT_WEIGHTS, song_terms


def _terms(**facts):
    """``song_terms`` of a song due and delivered Monday 01/04/2024 (category 1, no PDET,
    album weight 1, reviewed), with ``facts`` changed."""
    base = {
        "state": "reviewed",
        "due_date": date(2024, 4, 1),
        "delivered_on": date(2024, 4, 1),
        "pdet": False,
        "category": "1",
        "album_weight": 1.0,
        "review": None,
        "survey": None,
    }
    return song_terms(**(base | facts))


def approx(x):
    return pytest.approx(x, abs=1e-12)


# --- Timeliness -------------------------------------------------------------------------------


def test_weekend_inside_the_delay_is_not_counted():
    # Due Friday 01/03/2024, delivered Monday 04/03/2024: Saturday and Sunday do not count -> 1 day late.
    t = _terms(state="delivered", due_date=date(2024, 3, 1), delivered_on=date(2024, 3, 4))
    assert t.late_business_days == 1
    assert t.timeliness == approx(0.95)  # 1 - 1/20
    assert t.on_time is False


def test_holidays_inside_the_delay_are_not_counted():
    # Due Wednesday 27/03/2024; Thursday 28 and Friday 29 are Semana Santa holidays, then the weekend,
    # delivered Monday 01/04/2024 -> 1 business day late.
    t = _terms(state="delivered", due_date=date(2024, 3, 27))
    assert t.late_business_days == 1
    # Due Friday 22/03/2024; Monday 25/03 is San José (Ley Emiliani), delivered Tuesday 26/03 -> 1 day late.
    t2 = _terms(state="delivered", due_date=date(2024, 3, 22), delivered_on=date(2024, 3, 26))
    assert t2.late_business_days == 1


def test_delivery_on_the_due_date_and_before_is_on_time():
    for delivered in (date(2024, 4, 1), date(2024, 3, 20)):
        t = _terms(state="delivered", delivered_on=delivered)
        assert t.late_business_days == 0
        assert t.timeliness == 1.0
        assert t.on_time is True


def test_timeliness_floor_at_twenty_business_days():
    assert scoring.timeliness(19) == approx(0.05)  # 1 - 19/20
    assert scoring.timeliness(20) == 0.0
    assert scoring.timeliness(35) == 0.0  # never negative
    # Due Monday 01/04/2024, delivered Thursday 02/05/2024: 21 weekdays in April after the 1st,
    # 1 May is a holiday, 2 May counts -> 22 days late -> T = 0.
    t = _terms(state="delivered", delivered_on=date(2024, 5, 2))
    assert t.late_business_days == 22
    assert t.timeliness == 0.0


def test_undelivered_and_returned_songs_have_no_timeliness():
    for state in ("planned", "in_progress", "returned", "cancelled"):
        t = _terms(state=state, delivered_on=None)
        assert t.timeliness is None and t.points is None and t.on_time is None


# --- Review, satisfaction, quality --------------------------------------------------------------


def test_review_and_satisfaction_scales():
    assert scoring.review_score(4, 4, 4, 4) == approx(0.75)  # (4 - 1) / 4
    assert scoring.review_score(1, 1, 1, 1) == 0.0
    assert scoring.review_score(5, 4, 3, 2) == approx(0.625)  # mean 3.5 -> (3.5 - 1) / 4
    assert scoring.satisfaction_score(5, 5, 5, 5, 5) == 1.0
    assert scoring.satisfaction_score(4, 4, 4, 4, 3) == approx(0.7)  # mean 3.8 -> 2.8/4


def test_missing_survey_means_quality_is_the_review():
    assert scoring.quality(0.625, None) == approx(0.625)
    # With survey: 0.6·0.625 + 0.4·1 = 0.375 + 0.4 = 0.775
    assert scoring.quality(0.625, 1.0) == approx(0.775)


# --- Equity and points --------------------------------------------------------------------------


def test_equity_multiplier_and_cap():
    assert scoring.equity(False, "1") == 1.0
    assert scoring.equity(False, "5") == approx(1.10)
    assert scoring.equity(False, "6") == approx(1.15)
    assert scoring.equity(True, "6") == approx(1.40)  # 1 + 0.25 + 0.15
    assert scoring.equity(True, "especial") == approx(1.25)
    # A season with a larger PDET bonus: 1 + 0.45 + 0.15 = 1.60, capped at 1.5
    generous = replace(DEFAULT_WEIGHTS, equity_pdet=0.45)
    assert scoring.equity(True, "6", generous) == 1.5


def test_album_weight_scales_points():
    # Q = 0.75, T = 1, E = 1: 100 · (0.45 + 0.40) = 85; album weight 1.2 -> 102
    assert scoring.song_points(0.75, 1.0, 1.0, 1.0, r=0.75) == 85
    assert scoring.song_points(0.75, 1.0, 1.0, 1.2, r=0.75) == 102


def test_rubric_below_approval_earns_no_points_but_keeps_quality():
    # Rubric 3,3,3,2: mean 2.75 -> R = 1.75/4 = 0.4375 < 0.5 -> 0 points; Q = R = 0.4375
    t = _terms(review=(3, 3, 3, 2))
    assert t.review_score == approx(0.4375)
    assert t.quality == approx(0.4375)
    assert t.points == 0


def test_rubric_exactly_at_approval_earns_points():
    # Rubric 3,3,3,3: R = 0.5 (approved). Q = 0.5, T = 1: 100 · (0.30 + 0.40) = 70
    t = _terms(review=(3, 3, 3, 3))
    assert t.points == 70


def test_points_round_half_up():
    # 100 · (0.6·0.5 + 0.4·1) · 1.15 = 70 · 1.15 = 80.5 -> 81 (banker's rounding would give 80)
    assert scoring.song_points(0.5, 1.0, 1.15, 1.0, r=0.5) == 81


def test_song_terms_full_example():
    # PDET municipality of category 6 (E = 1.4), album weight 1.2, due Monday 01/04/2024,
    # delivered Wednesday 03/04/2024 -> 2 days late -> T = 0.9.
    # Rubric 4,4,4,4 -> R = 0.75; survey 5,5,5,5,4 -> mean 4.8 -> S = 0.95.
    # Q = 0.6·0.75 + 0.4·0.95 = 0.45 + 0.38 = 0.83
    # points = round(100 · (0.6·0.83 + 0.4·0.9) · 1.4 · 1.2) = round(100 · 0.858 · 1.68) = round(144.144) = 144
    t = _terms(
        delivered_on=date(2024, 4, 3),
        pdet=True,
        category="6",
        album_weight=1.2,
        review=(4, 4, 4, 4),
        survey=(5, 5, 5, 5, 4),
    )
    assert t.late_business_days == 2
    assert t.timeliness == approx(0.9)
    assert t.satisfaction == approx(0.95)
    assert t.quality == approx(0.83)
    assert t.equity == approx(1.4)
    assert t.points == 144


def test_a_delivered_song_not_reviewed_has_no_points_yet():
    t = _terms(state="delivered", review=(5, 5, 5, 5), survey=(5, 5, 5, 5, 5))
    assert t.review_score is None and t.quality is None and t.points is None
    assert t.satisfaction == 1.0


# --- Label index components ---------------------------------------------------------------------


def test_label_without_songs_or_target_scores_zero():
    assert scoring.on_time_ratio(0.0, 0, 0, 0) == 0.0
    assert scoring.progress(0, None) == 0.0
    assert scoring.progress(7, None) == 0.0  # no playlist target
    assert scoring.progress(7, 0) == 0.0  # a zero target is "no target"
    assert scoring.label_index(0.0, 0.0, 0.0) == 0.0
    assert scoring.label_index(0.0, 0.0, 0.0, has_target=False) == 0.0


def test_label_index_components():
    # OnTime = ΣT credited / (credited + not approved + late) = 3.0 / (4 + 1 + 1) = 0.5
    assert scoring.on_time_ratio(3.0, 4, 1, 1) == approx(0.5)
    # Progress = min(1, 12/10) = 1; 5/10 = 0.5
    assert scoring.progress(12, 10) == 1.0
    assert scoring.progress(5, 10) == 0.5
    # 100 · (0.40·0.8 + 0.35·0.5 + 0.25·1) = 100 · (0.32 + 0.175 + 0.25) = 74.5
    assert scoring.label_index(0.8, 0.5, 1.0) == pytest.approx(74.5, abs=1e-9)


def test_no_target_renormalises_quality_and_timeliness():
    # 100 · (0.40·0.8 + 0.35·0.5) / 0.75 = 100 · 0.495 / 0.75 = 66.0 (Progress left out, whatever is passed)
    assert scoring.label_index(0.8, 0.5, 0.0, has_target=False) == pytest.approx(66.0, abs=1e-9)
    assert scoring.label_index(0.8, 0.5, 1.0, has_target=False) == pytest.approx(66.0, abs=1e-9)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"state": "reviewed", "review_score": 0.5}, "credited"),  # R = 0.5 (rubric mean 3) approves
        ({"state": "reviewed", "review_score": 0.4375}, "not_approved"),
        ({"state": "delivered", "review_score": None}, "waiting"),
        ({"state": "delivered", "review_score": None, "awaiting_evidence": True}, "evidence_pending"),
        ({"state": "returned", "review_score": None}, "open"),
        ({"state": "cancelled", "review_score": None}, "cancelled"),
        ({"state": "cancelled", "review_score": None, "cancelled_late": True}, "late_cancelled"),
        (
            {"state": "cancelled", "review_score": None, "cancelled_late": True, "late_cancel_reason": "public_order"},
            "cancelled",
        ),
        ({"state": "in_progress", "review_score": None, "carried_over": True}, "carried_over"),
    ],
)
def test_standing_of_a_song(facts, expected):
    assert scoring.standing(**facts) == expected


def test_timeliness_is_measured_from_the_committed_due_date():
    # committed Mon 01/04/2024, due date later moved (say by an edit) to Fri 05/04: delivered Fri 05/04
    # -> 4 business days late from the committed date (02, 03, 04, 05), T = 0.8
    t = _terms(
        state="delivered", due_date=date(2024, 4, 5), committed_due=date(2024, 4, 1), delivered_on=date(2024, 4, 5)
    )
    assert (t.late_business_days, t.timeliness, t.standing) == (4, approx(0.8), "waiting")


def test_weights_come_from_the_season():
    # A season that weighs only quality: index = 100 · Q̄
    only_quality = replace(
        DEFAULT_WEIGHTS, index_quality_weight=1.0, index_ontime_weight=0.0, index_progress_weight=0.0
    )
    assert scoring.label_index(0.6, 1.0, 1.0, only_quality) == pytest.approx(60.0)
    # A season with a 10-day floor: 5 days late -> T = 0.5
    assert scoring.timeliness(5, replace(DEFAULT_WEIGHTS, late_floor_days=10)) == approx(0.5)
