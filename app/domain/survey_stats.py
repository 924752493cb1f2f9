"""Answers of the satisfaction survey per question (DESIGN.md §3; issue 21).

How many municipalities chose each point of the 1–5 scale for each question, for the
survey results page's chart and its table. One query for the five questions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.domain.surveys import LIKERT_FIELDS
from app.extensions import db
from app.models import Song, Survey

SCALE = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class QuestionAnswers:
    key: str  # q1 … q5
    counts: dict[int, int]  # scale point → answers

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        return sum(v * n for v, n in self.counts.items()) / self.total if self.total else None

    def share(self, value: int) -> float:
        return self.counts.get(value, 0) / self.total if self.total else 0.0


def answers_by_question(label_id: int | None = None) -> list[QuestionAnswers]:
    """The distribution of the answers to each question (optionally of one label's songs)."""
    columns = [
        func.count().filter(getattr(Survey, key) == value).label(f"{key}_{value}")
        for key in LIKERT_FIELDS
        for value in SCALE
    ]
    stmt = select(*columns).select_from(Survey)
    if label_id:
        stmt = stmt.join(Song, Song.id == Survey.song_id).where(Song.label_id == label_id)
    row = db.session.execute(stmt).one()._mapping
    return [QuestionAnswers(key, {value: int(row[f"{key}_{value}"] or 0) for value in SCALE}) for key in LIKERT_FIELDS]
