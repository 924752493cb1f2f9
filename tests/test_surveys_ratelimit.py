"""The public survey link is rate limited per IP (issue 6): 20 requests a minute, then 429."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.surveys import issue_survey_nonce, survey_token
from app.extensions import db
from tests.factories import make_song


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"}


def test_survey_link_rate_limited(client, world):
    song = make_song(world, state="delivered", delivered_on=date(2024, 4, 1))
    issue_survey_nonce(song)
    db.session.commit()
    url = "/encuesta/" + survey_token(song)
    statuses = [client.get(url).status_code for _ in range(20)]
    assert statuses == [200] * 20
    res = client.get(url)
    assert res.status_code == 429
    assert "Demasiadas solicitudes" in res.get_data(as_text=True)
    # a tampered link from the same IP is limited too (the limit is per IP, not per valid link)
    assert client.get(url[:-2] + "xx").status_code == 429
