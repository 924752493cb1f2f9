"""Issue 9: personal data retention (Ley 1581 de 2012) — `flask --app wsgi privacy anonymise`."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.domain.privacy import anonymise_surveys
from app.extensions import db
from app.models import AuditEvent, Survey
from app.models.base import utcnow
from tests.factories import make_song


def _survey(world, days_ago: int, name: str | None = "Ana Pérez") -> Survey:
    song = make_song(world, state="delivered", delivered_on=date(2024, 3, 28))
    survey = Survey(
        song_id=song.id,
        q1=5,
        q2=4,
        q3=4,
        q4=5,
        q5=3,
        comment="Muy útil",
        respondent_name=name,
        respondent_position="Secretaria de Planeación" if name else None,
        consent=name is not None,
        submitted_at=utcnow() - timedelta(days=days_ago),
    )
    db.session.add(survey)
    db.session.commit()
    return survey


def test_cli_blanks_old_respondent_data_only(app, runner, world):
    old = _survey(world, 800)
    recent = _survey(world, 10)
    result = runner.invoke(args=["privacy", "anonymise"])  # default retention 730 days
    assert result.exit_code == 0, result.output
    assert "Encuestas anonimizadas: 1." in result.output
    db.session.expire_all()
    old, recent = db.session.get(Survey, old.id), db.session.get(Survey, recent.id)
    assert old.respondent_name is None and old.respondent_position is None and old.anonymised_at is not None
    assert (old.q1, old.comment) == (5, "Muy útil")  # the answers that feed the scores stay
    assert recent.respondent_name == "Ana Pérez" and recent.anonymised_at is None
    event = db.session.scalar(select(AuditEvent).filter_by(action="surveys_anonymised"))
    assert event.changes["count"] == [None, 1]
    assert "Ana" not in str(event.changes)


def test_days_option_and_idempotence(app, runner, world):
    s = _survey(world, 40)
    assert runner.invoke(args=["privacy", "anonymise", "--days", "60"]).output.strip().endswith("0.")
    assert "Encuestas anonimizadas: 1." in runner.invoke(args=["privacy", "anonymise", "--days", "30"]).output
    first = db.session.get(Survey, s.id).anonymised_at
    assert anonymise_surveys(30) == 0
    db.session.expire_all()
    assert db.session.get(Survey, s.id).anonymised_at == first


def test_bad_days_rejected(app, runner, world):
    result = runner.invoke(args=["privacy", "anonymise", "--days", "-3"])
    assert result.exit_code != 0


def test_surveys_without_personal_data_are_not_touched(app, world):
    s = _survey(world, 900, name=None)
    assert anonymise_surveys(730) == 0
    assert db.session.get(Survey, s.id).anonymised_at is None
