"""Survey links: signed, single-use, expiring (DESIGN.md §1, issue 6).

A link carries the song id and the song's ``survey_nonce``, signed with the app's
secret. It expires after ``SURVEY_LINK_DAYS``; a new nonce invalidates older links;
once a survey exists for the song the link is spent (unique constraint on song).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.i18n import _
from app.models import Song
from app.models.base import utcnow

SALT = "sinfonia-survey-link"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue_survey_nonce(song: Song) -> None:
    """Give a delivered song a fresh nonce (earlier links stop working)."""
    song.survey_nonce = secrets.token_hex(16)
    song.survey_issued_at = utcnow()
    link_issued(song)


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


# --- Held answers (DESIGN.md §9) ----------------------------------------------------------

HOLD_SESSION, HOLD_ADDRESS, HOLD_SPEED = "session", "address", "speed"
STARTED_SALT = "sinfonia-survey-started"


@dataclass
class AnswerContext:
    """Where an answer came from. Only a keyed hash of the address, the browser family and the
    answering time are stored (never the address itself)."""

    user: Any = None  # the signed-in user of the browser that answered, if any
    ip: str | None = None
    user_agent: str | None = None
    seconds: int | None = None  # from opening the form to sending it (None: unknown)


def address_hash(ip: str | None) -> str | None:
    """HMAC-SHA256 of the address with the app's secret: comparable, not reversible."""
    if not ip:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"survey-address:" + ip.encode(), hashlib.sha256).hexdigest()


def browser_family(user_agent: str | None) -> str | None:
    """ "Edge", "Chrome", "Firefox", "Safari", "Opera", "other" (the family only, no version)."""
    if not user_agent:
        return None
    ua = user_agent.lower()
    for needle, family in (
        ("edg/", "Edge"),
        ("opr/", "Opera"),
        ("firefox/", "Firefox"),
        ("chrome/", "Chrome"),
        ("crios/", "Chrome"),
        ("safari/", "Safari"),
    ):
        if needle in ua:
            return family
    return "other"


def started_stamp() -> str:
    """A signed stamp of when the form was opened (a hidden field of the survey form)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STARTED_SALT).dumps(int(time.time()))


def seconds_since(stamp: str | None) -> int | None:
    """Seconds since ``started_stamp`` made ``stamp``; None if missing or tampered with."""
    if not stamp or len(stamp) > 200:
        return None
    try:
        started = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=STARTED_SALT).loads(stamp)
    except BadSignature:
        return None
    return max(0, int(time.time()) - int(started)) if isinstance(started, int) else None


def _label_used_address(song: Song, ip: str, days: int) -> bool:
    """Did a user of the song's label act from this address in the last ``days`` (audit trail)?"""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AuditEvent, User

    since = utcnow() - timedelta(days=days)
    stmt = (
        select(AuditEvent.id)
        .join(User, AuditEvent.actor_id == User.id)
        .where(User.label_id == song.label_id, AuditEvent.ip == ip, AuditEvent.at >= since)
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def hold_reasons(song: Song, context: AnswerContext | None) -> list[str]:
    """Why an answer is held: a signed-in session of the song's label or of a staff role, an
    address the label's users used recently, or faster than a person reads five questions."""
    from app.domain import permissions

    if context is None:
        return []
    reasons = []
    user = context.user
    if permissions.is_staff(user) or (permissions.is_territorial(user) and user.label_id == song.label_id):
        reasons.append(HOLD_SESSION)
    days = int(current_app.config.get("SURVEY_ADDRESS_DAYS", 14))
    if context.ip and days > 0 and _label_used_address(song, context.ip, days):
        reasons.append(HOLD_ADDRESS)
    minimum = int(current_app.config.get("SURVEY_MIN_SECONDS", 20))
    if minimum > 0 and (context.seconds is None or context.seconds < minimum):
        reasons.append(HOLD_SPEED)
    return reasons


def hold_reason_names(survey) -> list[str]:
    names = {
        HOLD_SESSION: _("respondida desde una sesión de la disquera o de la coordinación"),
        HOLD_ADDRESS: _("desde una dirección de red que usó la disquera hace poco"),
        HOLD_SPEED: _("más rápido de lo que se tarda en leer las cinco preguntas"),
    }
    return [names.get(code, code) for code in (survey.hold_reasons or "").split(",") if code]


def submit_survey(token: str, answers: dict, context: AnswerContext | None = None):
    """Store the municipality's one survey for a song, re-store S/Q/points, audit (the caller commits).

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
    reasons = hold_reasons(song, context)
    survey = Survey(
        song_id=song_id,
        **values,
        comment=comment,
        respondent_name=name if consent else None,
        respondent_position=position if consent else None,
        consent=consent,
        held=bool(reasons),
        hold_reasons=",".join(reasons) or None,
        ip_hash=address_hash(context.ip) if context else None,
        browser_family=browser_family(context.user_agent) if context else None,
        answer_seconds=context.seconds if context else None,
        answered_by_id=getattr(context.user, "id", None)
        if context and getattr(context.user, "is_authenticated", False)
        else None,
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
        changes["channel"] = [None, "link"]
        changes["held"] = [None, bool(reasons)]
        if reasons:
            changes["hold_reasons"] = [None, ",".join(reasons)]
        changes.update(audit.changes_between(before, after))
        # No address in the trail either (only its keyed hash, on the survey row).
        audit.record("survey_answered", "song", song_id, actor_id=survey.answered_by_id, changes=changes)
        db.session.flush()
    except (IntegrityError, StaleDataError):
        # The other answer won the race. The INSERT is this request's first write, so
        # rolling the transaction back undoes exactly this attempt (a SAVEPOINT would do
        # the same on PostgreSQL, but pysqlite's RELEASE of an outermost one commits).
        db.session.rollback()
        raise SurveyUnavailable("answered") from None
    return survey


def regenerate_survey_link(actor, song: Song, *, ip: str | None = None):
    """A new nonce for a delivered/reviewed, unanswered song (earlier links stop working).

    Coordinators outside the song's home directorate regenerate; the song's own team may create the
    first link when none exists yet. An expired link is regenerated only once a second coordinator
    confirms: the pending change is returned (None when the link changed at once). Does not commit.
    """
    from app.domain.errors import Conflict
    from app.domain.permissions import refuse_if, survey_link_refusal

    first = not song.survey_nonce
    refuse_if(survey_link_refusal(actor, song))
    if song.state not in SURVEY_STATES:
        raise Conflict(_("Solo las canciones entregadas o revisadas tienen encuesta."))
    if song.survey is not None:
        raise Conflict(_("La encuesta de esta canción ya fue respondida; no se necesita un enlace nuevo."))
    expires = link_expires_at(song)
    if not first and expires is not None and utcnow() > expires:
        # An expired link regenerated moves the board after the fact: four eyes (DESIGN.md §9).
        from app.domain import four_eyes

        return four_eyes.request("survey_regenerate", actor, song=song, ip=ip)
    _new_link(actor, song, first, ip)
    return None


def _new_link(actor, song: Song, first: bool, ip: str | None) -> None:
    from app.domain import audit

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


def _apply_pending_regenerate(confirmer, change) -> None:
    song = change.song
    if song.survey is not None:
        from app.domain.errors import Conflict

        raise Conflict(_("La encuesta de esta canción ya fue respondida; no se necesita un enlace nuevo."))
    _new_link(confirmer, song, False, None)


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


# --- Validating held answers, survey status, municipal contact, invitations -------------------


def _held_survey(actor, song: Song):
    from app.domain.errors import Conflict
    from app.domain.permissions import refuse_if, survey_validation_refusal

    refuse_if(survey_validation_refusal(actor, song))
    survey = song.survey
    if survey is None or not survey.held or survey.validated_at is not None:
        raise Conflict(_("Esta canción no tiene una encuesta retenida por validar."))
    return survey


def validate_survey(actor, song: Song, *, ip: str | None = None):
    """A coordinator confirms a held answer (e.g. after calling the contact): it counts from now."""
    from app.domain import audit
    from app.domain.terms import refresh_song_terms
    from app.extensions import db

    survey = _held_survey(actor, song)
    before = audit.snapshot(song, ["satisfaction", "quality", "points"])
    survey.validated_at = utcnow()
    survey.validated_by_id = actor.id
    db.session.flush()
    refresh_song_terms(song)
    changes = {"held": [True, False]} | audit.changes_between(
        before, audit.snapshot(song, ["satisfaction", "quality", "points"])
    )
    audit.record("survey_validated", "song", song.id, actor_id=actor.id, changes=changes, ip=ip)
    db.session.flush()
    return survey


def discard_survey(actor, song: Song, *, ip: str | None = None) -> None:
    """A coordinator discards a held answer: it is deleted and the link can be answered again."""
    from app.domain import audit
    from app.extensions import db

    survey = _held_survey(actor, song)
    changes = {f: [getattr(survey, f), None] for f in LIKERT_FIELDS}
    changes["hold_reasons"] = [survey.hold_reasons, None]
    db.session.delete(survey)
    song.survey = None
    song.survey_discarded_at = utcnow()
    db.session.flush()
    audit.record("survey_discarded", "song", song.id, actor_id=actor.id, changes=changes, ip=ip)
    db.session.flush()


SURVEY_STATUSES = ("none", "open", "expired", "answered", "held", "validated", "discarded")


def survey_status(song: Song) -> str:
    """none / open / expired / answered / held / validated / discarded (API ``survey_status``)."""
    survey = song.survey
    if survey is not None:
        if survey.held:
            return "validated" if survey.validated_at is not None else "held"
        return "answered"
    if not song.survey_nonce:
        return "none"
    expires = link_expires_at(song)
    if expires is not None and utcnow() > expires:
        return "expired"
    return "discarded" if song.survey_discarded_at is not None else "open"


CONTACT_FIELDS = ("contact_name", "contact_position", "contact_email", "contact_phone")


def clean_contact(fields: dict, errors: dict) -> dict[str, str | None]:
    """The municipal contact from ``fields`` (name, position, institutional e-mail or phone).

    Only the keys present are returned; a given contact needs a name and an e-mail or a phone."""
    import re

    out: dict[str, str | None] = {}
    limits = {"contact_name": 160, "contact_position": 160, "contact_email": 254, "contact_phone": 40}
    for key in CONTACT_FIELDS:
        if key not in fields:
            continue
        raw = fields.get(key)
        if raw is not None and not isinstance(raw, str):
            errors.setdefault(key, []).append(_("Debe ser texto."))
            continue
        value = (raw or "").strip() or None
        if value and len(value) > limits[key]:
            errors.setdefault(key, []).append(_("Máximo %(n)s caracteres.", n=limits[key]))
        out[key] = value
    email, phone = out.get("contact_email"), out.get("contact_phone")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors.setdefault("contact_email", []).append(_("Correo no válido."))
    if phone and not re.fullmatch(r"[0-9+() \-]{7,40}", phone):
        errors.setdefault("contact_phone", []).append(
            _("Teléfono no válido (solo números, espacios, +, - y paréntesis).")
        )
    if any(out.get(k) for k in CONTACT_FIELDS) and not out.get("contact_name"):
        errors.setdefault("contact_name", []).append(_("Escriba el nombre del contacto de la alcaldía."))
    if out.get("contact_name") and not (email or phone):
        errors.setdefault("contact_email", []).append(_("Escriba el correo institucional o el teléfono del contacto."))
    return out


# Mail of the link (the notifications area): callbacks run with the song after its link was issued
# or regenerated; ``invitation(song)`` is what to send, or None when no e-mail is on record.
LINK_ISSUED_HOOKS: list[Callable[[Song], None]] = []


def on_link_issued(callback: Callable[[Song], None]) -> Callable[[Song], None]:
    LINK_ISSUED_HOOKS.append(callback)
    return callback


def link_issued(song: Song) -> None:
    for callback in list(LINK_ISSUED_HOOKS):
        callback(song)


def invitation(song: Song) -> dict[str, Any] | None:
    """The survey invitation for the song's municipal contact: to, name, url, expires_at."""
    if not song.contact_email or survey_status(song) not in ("open", "discarded"):
        return None
    return {
        "song_id": song.id,
        "to": song.contact_email,
        "name": song.contact_name,
        "municipality": song.municipality.name if song.municipality else None,
        "url": survey_url(song),
        "expires_at": link_expires_at(song),
    }


def _register_four_eyes() -> None:
    from app.domain import four_eyes

    four_eyes.APPLY["survey_regenerate"] = _apply_pending_regenerate


_register_four_eyes()
