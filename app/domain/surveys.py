"""Survey links: signed, single-use, expiring (DESIGN.md §1, issue 6).

A link carries the song id and the song's ``survey_nonce``, signed with the app's
secret. It expires after ``SURVEY_LINK_DAYS``; a new nonce invalidates older links;
once a survey exists for the song the link is spent (unique constraint on song).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app, url_for
from flask_babel import gettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.models import Song
from app.models.base import utcnow

SALT = "sinfonia-survey-link"


def _(message: str, **values) -> str:
    """gettext inside a request; the Spanish source text otherwise (CLI, jobs, tests)."""
    from flask import has_request_context

    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


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


# --- Answering a survey, link management, QR (issue 6) ------------------------------------

SURVEY_STATES = ("delivered", "reviewed")
LIKERT_FIELDS = ("q1", "q2", "q3", "q4", "q5")
COMMENT_MAX = 2000
PERSONAL_MAX = 160


class SurveyUnavailable(Exception):
    """Why a link cannot be answered: 'invalid', 'expired', 'answered' or 'unavailable'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def song_for_token(token: str) -> Song:
    """The song a link rates, if the link can be answered now; SurveyUnavailable otherwise.

    Checks, in order: signature and token age, the song exists, the nonce is the
    current one (a regenerated link invalidates older ones), no survey exists yet,
    the link's issue date is within SURVEY_LINK_DAYS, the song is delivered/reviewed.
    """
    from app.extensions import db

    try:
        song_id, nonce = read_survey_token(token)
    except SurveyLinkError as exc:
        raise SurveyUnavailable(exc.reason) from None
    song = db.session.get(Song, song_id)
    if song is None or not song.survey_nonce or not secrets.compare_digest(song.survey_nonce.encode(), nonce.encode()):
        raise SurveyUnavailable("invalid")
    if song.survey is not None:
        raise SurveyUnavailable("answered")
    expires = link_expires_at(song)
    if expires is not None and utcnow() > expires:
        raise SurveyUnavailable("expired")
    if song.state not in SURVEY_STATES:
        raise SurveyUnavailable("unavailable")
    return song


def submit_survey(token: str, answers: dict):
    """Store the municipality's one survey for a song, re-store S/Q/points, audit; commits.

    ``answers``: q1..q5 (int 1–5), comment, respondent_name, respondent_position,
    consent. Name and position are personal data (Ley 1581 de 2012): they are kept
    only with consent. The unique constraint on surveys.song_id decides a race: the
    loser gets SurveyUnavailable('answered') and nothing is written.
    """
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    from app.domain import audit
    from app.domain.errors import ValidationFailed
    from app.domain.terms import refresh_song_terms
    from app.extensions import db
    from app.models import Survey

    song = song_for_token(token)
    errors: dict[str, list[str]] = {}
    values: dict[str, int] = {}
    for field in LIKERT_FIELDS:
        raw = answers.get(field)
        if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 5:
            values[field] = raw
        else:
            errors[field] = [_("Elija una opción de 1 a 5.")]
    comment = (answers.get("comment") or "").strip()[:COMMENT_MAX] or None
    name = (answers.get("respondent_name") or "").strip()[:PERSONAL_MAX] or None
    position = (answers.get("respondent_position") or "").strip()[:PERSONAL_MAX] or None
    consent = bool(answers.get("consent"))
    if (name or position) and not consent:
        errors["consent"] = [_("Para guardar su nombre y cargo necesitamos su autorización.")]
    if errors:
        raise ValidationFailed(_("Revise las respuestas marcadas."), errors)
    song_id = song.id
    survey = Survey(
        song_id=song_id,
        **values,
        comment=comment,
        respondent_name=name if consent else None,
        respondent_position=position if consent else None,
        consent=consent,
    )
    try:
        db.session.add(survey)
        db.session.flush()  # the INSERT first: the unique constraint decides a race
        song.survey = survey
        before = audit.snapshot(song, ["satisfaction", "quality", "points"])
        refresh_song_terms(song)
        after = audit.snapshot(song, ["satisfaction", "quality", "points"])
        # No personal data in the trail: scores, terms and whether consent was given.
        changes = {f: [None, v] for f, v in values.items()}
        changes["consent"] = [None, consent]
        changes["has_comment"] = [None, comment is not None]
        changes.update(audit.changes_between(before, after))
        audit.record("survey_answered", "song", song_id, actor_id=None, changes=changes)
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        raise SurveyUnavailable("answered") from None
    return survey


def regenerate_survey_link(actor, song: Song, *, ip: str | None = None) -> None:
    """A new nonce for a delivered/reviewed, unanswered song (earlier links stop working).

    Coordinators may always regenerate; the song's own team may create the first
    link when none exists yet. Does not commit.
    """
    from app.domain import audit
    from app.domain.errors import Conflict
    from app.domain.permissions import refuse_if, survey_link_refusal

    first = not song.survey_nonce
    refuse_if(survey_link_refusal(actor, song))
    if song.state not in SURVEY_STATES:
        raise Conflict(_("Solo las canciones entregadas o revisadas tienen encuesta."))
    if song.survey is not None:
        raise Conflict(_("La encuesta de esta canción ya fue respondida; no se necesita un enlace nuevo."))
    before = song.survey_issued_at
    issue_survey_nonce(song)
    audit.record(
        "survey_link_issued" if first else "survey_link_regenerated",
        "song",
        song.id,
        actor_id=actor.id,
        changes={"survey_issued_at": [before, song.survey_issued_at]},
        ip=ip,
    )


def qr_svg(data: str) -> bytes:
    """A QR code of ``data`` as an SVG document (printable, no JavaScript)."""
    import io

    import qrcode
    from qrcode.image.svg import SvgPathImage

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
