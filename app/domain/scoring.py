"""Scoring terms of DESIGN.md §4, as pure functions with weights from the Season.

Every function takes plain values so it can be tested without a database; the
``song_terms`` helper turns a song's facts into the stored per-song columns that
the chart recompute aggregates in SQL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Protocol

from app.domain.calendar import late_business_days


class Weights(Protocol):
    late_floor_days: int
    quality_review_weight: float
    quality_survey_weight: float
    equity_pdet: float
    equity_category6: float
    equity_category5: float
    equity_cap: float
    points_scale: float
    points_quality_weight: float
    points_timeliness_weight: float
    approval_threshold: float
    index_quality_weight: float
    index_ontime_weight: float
    index_progress_weight: float


@dataclass(frozen=True)
class DefaultWeights:
    """The defaults of DESIGN.md §4 (a Season row carries the ones in force)."""

    late_floor_days: int = 20
    quality_review_weight: float = 0.6
    quality_survey_weight: float = 0.4
    equity_pdet: float = 0.25
    equity_category6: float = 0.15
    equity_category5: float = 0.10
    equity_cap: float = 1.5
    points_scale: float = 100.0
    points_quality_weight: float = 0.6
    points_timeliness_weight: float = 0.4
    approval_threshold: float = 0.5
    index_quality_weight: float = 0.40
    index_ontime_weight: float = 0.35
    index_progress_weight: float = 0.25


DEFAULT_WEIGHTS = DefaultWeights()


def timeliness(late_days: int, w: Weights = DEFAULT_WEIGHTS) -> float:
    """T = max(0, 1 - late / 20)."""
    return max(0.0, 1.0 - late_days / w.late_floor_days)


def likert_to_unit(mean: float) -> float:
    """(mean - 1) / 4: a 1–5 mean on the 0–1 scale."""
    return (mean - 1.0) / 4.0


def review_score(pertinence: int, rigour: int, usefulness: int, evidence: int) -> float:
    """R = (mean of the four rubric criteria - 1) / 4."""
    return likert_to_unit((pertinence + rigour + usefulness + evidence) / 4.0)


def satisfaction_score(q1: int, q2: int, q3: int, q4: int, q5: int) -> float:
    """S = (mean of the five Likert items - 1) / 4."""
    return likert_to_unit((q1 + q2 + q3 + q4 + q5) / 5.0)


def quality(r: float, s: float | None, w: Weights = DEFAULT_WEIGHTS) -> float:
    """Q = 0.6·R + 0.4·S when the survey was answered, else Q = R."""
    if s is None:
        return r
    return w.quality_review_weight * r + w.quality_survey_weight * s


def equity(pdet: bool, category: str | None, w: Weights = DEFAULT_WEIGHTS) -> float:
    """E = min(1.5, 1 + 0.25·PDET + 0.15·[cat 6] + 0.10·[cat 5])."""
    e = 1.0
    if pdet:
        e += w.equity_pdet
    if category == "6":
        e += w.equity_category6
    elif category == "5":
        e += w.equity_category5
    return min(w.equity_cap, e)


def song_points(q: float, t: float, e: float, album_weight: float, r: float, w: Weights = DEFAULT_WEIGHTS) -> int:
    """round(100 · (0.6·Q + 0.4·T) · E · album weight) if R ≥ 0.5, else 0."""
    if r < w.approval_threshold - 1e-12:
        return 0
    raw = w.points_scale * (w.points_quality_weight * q + w.points_timeliness_weight * t) * e * album_weight
    return int(round_half_up(raw))


def round_half_up(x: float) -> float:
    """Round half away from zero (Python's round() is banker's rounding)."""
    import math

    return math.floor(x + 0.5 + 1e-9) if x >= 0 else -math.floor(-x + 0.5 + 1e-9)


def on_time_ratio(timeliness_sum: float, credited: int, not_approved: int, late: int) -> float:
    """OnTime = ΣT over credited songs / (credited + reviewed not approved + late songs); 0 with nothing to average.

    Songs waiting for review are in neither part (DESIGN.md §4).
    """
    denominator = credited + not_approved + late
    return timeliness_sum / denominator if denominator else 0.0


def progress(credited: int, target: int | None) -> float:
    """Progress = min(1, credited songs / target); 0 without a target (then the index leaves it out)."""
    if not target:
        return 0.0
    return min(1.0, credited / target)


def label_index(
    q_mean: float, on_time: float, prog: float, w: Weights = DEFAULT_WEIGHTS, *, has_target: bool = True
) -> float:
    """Label index (0–100) = 100 · (0.40·Q̄ + 0.35·OnTime + 0.25·Progress).

    Without a target for the season there is no Progress term: the other two are
    renormalised, 100 · (0.40·Q̄ + 0.35·OnTime) / 0.75.
    """
    qo = w.index_quality_weight * q_mean + w.index_ontime_weight * on_time
    if not has_target:
        weight = w.index_quality_weight + w.index_ontime_weight
        return 100.0 * qo / weight if weight else 0.0
    return 100.0 * (qo + w.index_progress_weight * prog)


def standing(
    *,
    state: str,
    review_score: float | None,
    cancelled_late: bool = False,
    late_cancel_reason: str | None = None,
    carried_over: bool = False,
    awaiting_evidence: bool = False,
    w: Weights = DEFAULT_WEIGHTS,
) -> str:
    """Where a song stands on the board (``Standing`` in app.models.songs; DESIGN.md §4)."""
    if carried_over:
        return "carried_over"
    if state == "reviewed":
        return (
            "credited" if review_score is not None and review_score >= w.approval_threshold - 1e-12 else "not_approved"
        )
    if state == "delivered":
        return "evidence_pending" if awaiting_evidence else "waiting"
    if state == "cancelled":
        return "late_cancelled" if cancelled_late and not late_cancel_reason else "cancelled"
    return "open"


@dataclass(frozen=True)
class SongTerms:
    late_business_days: int | None
    timeliness: float | None
    review_score: float | None
    satisfaction: float | None
    quality: float | None
    equity: float
    points: int | None
    on_time: bool | None
    standing: str

    def columns(self) -> dict[str, Any]:
        """The stored ``Song`` columns these terms fill, by name (each field is the column of that name)."""
        return asdict(self)


def song_terms(
    *,
    state: str,
    due_date: date,
    delivered_on: date | None,
    pdet: bool,
    category: str | None,
    album_weight: float,
    review: tuple[int, int, int, int] | None,
    survey: tuple[int, int, int, int, int] | None,
    w: Weights = DEFAULT_WEIGHTS,
    committed_due: date | None = None,
    cancelled_late: bool = False,
    late_cancel_reason: str | None = None,
    carried_over: bool = False,
    awaiting_evidence: bool = False,
) -> SongTerms:
    """Every stored per-song term of DESIGN.md §4 from the song's facts.

    Timeliness exists for delivered songs (``delivered`` or ``reviewed``), measured
    from the committed due date (``due_date`` while the song never left planned);
    R, Q and points only for reviewed ones; S whenever a survey was answered.
    """
    due_date = committed_due or due_date
    delivered = state in ("delivered", "reviewed") and delivered_on is not None
    late = late_business_days(due_date, delivered_on) if delivered else None
    t = timeliness(late, w) if late is not None else None
    r = review_score(*review) if review and state == "reviewed" else None
    s = satisfaction_score(*survey) if survey else None
    e = equity(pdet, category, w)
    q = quality(r, s, w) if r is not None else None
    pts = (
        song_points(q, t if t is not None else 0.0, e, album_weight, r, w) if r is not None and q is not None else None
    )
    return SongTerms(
        late_business_days=late,
        timeliness=t,
        review_score=r,
        satisfaction=s,
        quality=q,
        equity=e,
        points=pts,
        on_time=(late == 0) if late is not None else None,
        standing=standing(
            state=state,
            review_score=r,
            cancelled_late=cancelled_late,
            late_cancel_reason=late_cancel_reason,
            carried_over=carried_over,
            awaiting_evidence=awaiting_evidence,
            w=w,
        ),
    )
