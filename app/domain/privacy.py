"""Personal data (Ley 1581 de 2012; docs/PRIVACY.md).

Survey respondents' name and position are kept only for ``SURVEY_RETENTION_DAYS`` after the
survey was answered; then they are blanked (the answers themselves, which feed the scores,
stay). The run is recorded in the audit trail without any personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, update

from app.domain import audit
from app.extensions import db
from app.models import Song, Survey
from app.models.base import utcnow


def anonymise_surveys(days: int | None = None, *, now: datetime | None = None, actor_id: int | None = None) -> int:
    """Blank respondent_name/position of surveys answered more than ``days`` ago; returns how many.

    Idempotent: surveys already anonymised (or with nothing to blank) are left alone. Commits.
    """
    if days is None:
        days = int(current_app.config.get("SURVEY_RETENTION_DAYS", 730))
    if days < 0:
        raise ValueError("days must be >= 0")
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    result = db.session.execute(
        update(Survey)
        .where(
            Survey.submitted_at < cutoff,
            Survey.anonymised_at.is_(None),
            or_(Survey.respondent_name.is_not(None), Survey.respondent_position.is_not(None)),
        )
        .values(respondent_name=None, respondent_position=None, anonymised_at=now)
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0
    # How the answer came in (keyed address hash, browser, account): same retention.
    db.session.execute(
        update(Survey)
        .where(Survey.submitted_at < cutoff, or_(Survey.ip_hash.is_not(None), Survey.answered_by_id.is_not(None)))
        .values(ip_hash=None, browser_family=None, answered_by_id=None)
        .execution_options(synchronize_session=False)
    )
    # The municipal contact of a delivered song (DESIGN.md §1): kept for the survey and its validation.
    contacts = db.session.execute(
        update(Song)
        .where(Song.delivered_on < cutoff.date(), Song.contact_name.is_not(None))
        .values(contact_name=None, contact_position=None, contact_email=None, contact_phone=None)
        .execution_options(synchronize_session=False)
    )
    contacts_blanked = contacts.rowcount or 0
    audit.record(
        "surveys_anonymised",
        "survey",
        None,
        actor_id=actor_id,
        changes={
            "count": [None, count],
            "contacts": [None, contacts_blanked],
            "retention_days": [None, days],
            "cutoff": [None, cutoff],
        },
    )
    db.session.flush()
    return count
