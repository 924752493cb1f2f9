"""The public survey form works with CSRF protection on (as in production), without an account."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain.surveys import issue_survey_nonce, survey_token
from app.extensions import db
from app.models import Survey
from tests.factories import make_song


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_survey_with_csrf(client, world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    issue_survey_nonce(song)
    db.session.commit()
    url = "/encuesta/" + survey_token(song)
    answers = {"q1": "4", "q2": "4", "q3": "4", "q4": "4", "q5": "4"}
    res = client.post(url, data=answers)  # no token: refused, nothing written
    assert res.status_code in (400, 422)
    assert db.session.scalar(select(func.count(Survey.id))) == 0
    html = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert token
    res = client.post(url, data={**answers, "csrf_token": token.group(1)})
    assert res.status_code == 200
    assert db.session.scalar(select(func.count(Survey.id))) == 1
