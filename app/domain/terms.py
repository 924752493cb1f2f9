"""Store the per-song scoring terms whenever a song, its review or its survey changes.

DESIGN.md §4–§5: terms are computed at write time so the chart recompute can
aggregate them set-based in SQL.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.domain.categories import category_in_force
from app.domain.errors import ValidationFailed
from app.domain.scoring import song_terms
from app.extensions import db
from app.models import Season, Song


def season_for(due_date: date) -> Season:
    """The season whose year contains the due date (DESIGN.md §4), if it takes new dates (§5).

    A year without a season says what to do and who can do it; a closing or closed
    season takes no new songs nor new due dates.
    """
    from app.domain import seasons

    season = db.session.scalar(select(Season).where(Season.starts_on <= due_date, Season.ends_on >= due_date))
    if season is None:
        message = seasons.missing_season_message(due_date.year)
        raise ValidationFailed(message, {"due_date": [message]})
    seasons.require_plannable(season)
    return season


def refresh_song_terms(song: Song) -> Song:
    """Recompute and store late_business_days, T, R, S, Q, E, points, on_time and standing.

    E uses the municipality's category in force in the season's year (DESIGN.md §6)."""
    review = song.review
    survey = song.survey if song.survey is not None and song.survey.counts else None  # held: not yet
    terms = song_terms(
        state=song.state,
        due_date=song.due_date,
        delivered_on=song.delivered_on,
        pdet=bool(song.municipality.pdet),
        category=category_in_force(song.municipality_id or song.municipality.id, song.season.year),
        album_weight=float(song.album.weight),
        review=(review.pertinence, review.rigour, review.usefulness, review.evidence_quality) if review else None,
        survey=(survey.q1, survey.q2, survey.q3, survey.q4, survey.q5) if survey else None,
        w=song.season,
        committed_due=song.committed_due,
        cancelled_late=bool(song.cancelled_late),
        late_cancel_reason=song.late_cancel_reason,
        carried_over=bool(song.carried_over),
        awaiting_evidence=bool(song.awaiting_evidence),
    )
    for column, value in terms.columns().items():
        setattr(song, column, value)
    return song
