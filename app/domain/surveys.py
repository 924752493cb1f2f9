"""Survey links: signed, single-use, expiring (DESIGN.md §1, issue 6).

A link carries the song id and the song's ``survey_nonce``, signed with the app's
secret. It expires after ``SURVEY_LINK_DAYS``; a new nonce invalidates older links;
once a survey exists for the song the link is spent (unique constraint on song).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.models import Song
from app.models.base import utcnow

SALT = "sinfonia-survey-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue_survey_nonce(song: Song) -> None:
    """Give a delivered song a fresh nonce (earlier links stop working)."""
    song.survey_nonce = secrets.token_hex(16)
    song.survey_issued_at = utcnow()


def survey_token(song: Song) -> str | None:
    if not song.survey_nonce:
        return None
    return _serializer().dumps({"s": song.id, "n": song.survey_nonce})


def survey_url(song: Song) -> str | None:
    """The public link to hand to the municipality, or None before delivery."""
    token = survey_token(song)
    if token is None:
        return None
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("surveys.answer", token=token)
    return url_for("surveys.answer", token=token, _external=True)


class SurveyLinkError(Exception):
    """reason: 'invalid' (tampered/unknown) or 'expired'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_survey_token(token: str) -> tuple[int, str]:
    """(song_id, nonce) from a link, or SurveyLinkError('invalid'|'expired')."""
    if not token or len(token) > 500:
        raise SurveyLinkError("invalid")
    max_age = int(current_app.config.get("SURVEY_LINK_DAYS", 30)) * 86400
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise SurveyLinkError("expired") from None
    except BadSignature:
        raise SurveyLinkError("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int) or not isinstance(payload.get("n"), str):
        raise SurveyLinkError("invalid")
    return payload["s"], payload["n"]


def link_expires_at(song: Song) -> datetime | None:
    from datetime import timedelta

    if song.survey_issued_at is None:
        return None
    return song.survey_issued_at + timedelta(days=int(current_app.config.get("SURVEY_LINK_DAYS", 30)))
