"""Quality review of delivered songs by central coordinators (DESIGN.md §1, §3, §4; issue 6).

Rules enforced here (shared by the HTML views and the JSON API):

- only coordinators review, never for their home directorate, never a song they planned,
  delivered, surveyed or whose due date they decided (segregation of duties, permissions.py);
- only a ``delivered`` song can be reviewed or returned; a ``reviewed`` one can be corrected;
- the rubric has four criteria scored 1–5 (pertinence, rigour, usefulness, evidence);
- returning a song for changes needs a comment; a returned song counts as not delivered;
- after every change the song's stored scoring terms are re-computed and the change audited.

These functions write to the session but do not commit: the caller (view, API, lifecycle)
owns the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.domain import audit, calendar, due_dates, names
from app.domain.calendar import business_days_between
from app.domain.calendar import today as calendar_today
from app.domain.errors import Conflict, ValidationFailed
from app.domain.parsing import ascii_int
from app.domain.permissions import refuse_if, review_refusal
from app.domain.terms import refresh_song_terms
from app.extensions import db
from app.i18n import _
from app.models import Review, Song, SongState

# API/form name → Review column.
CRITERIA: dict[str, str] = {
    "pertinence": "pertinence",
    "rigour": "rigour",
    "usefulness": "usefulness",
    "evidence": "evidence_quality",
}
TERM_FIELDS = ["state", "late_business_days", "timeliness", "review_score", "satisfaction", "quality", "points"]
COMMENT_MAX = 5000


def today_bogota() -> date:
    return calendar.today()


def business_age(song: Song, today: date | None = None) -> int | None:
    """Business days since delivery (how long a song has waited for review)."""
    if song.delivered_on is None:
        return None
    return max(0, business_days_between(song.delivered_on, today or calendar_today()))


def require_reviewer(actor: Any, song: Song) -> None:
    """403 with the reason unless ``actor`` may review this song (segregation of duties, §9)."""
    refuse_if(review_refusal(actor, song))


def state_name(state: str) -> str:
    return names.song_state_name(state)


def validate_scores(scores: Any) -> dict[str, int]:
    """The four rubric scores as ``{column: int}``; ValidationFailed with per-field details otherwise."""
    if not isinstance(scores, dict):
        raise ValidationFailed(_("Envíe los cuatro criterios de la rúbrica."), {k: [_("Requerido.")] for k in CRITERIA})
    errors: dict[str, list[str]] = {}
    values: dict[str, int] = {}
    for key, column in CRITERIA.items():
        raw = scores.get(key)
        if raw is None or raw == "":
            errors[key] = [_("Requerido: un número entero de 1 a 5.")]
            continue
        if isinstance(raw, bool):
            errors[key] = [_("Debe ser un número entero de 1 a 5.")]
            continue
        if isinstance(raw, str):
            raw = ascii_int(raw) if ascii_int(raw) is not None else raw
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if not isinstance(raw, int):
            errors[key] = [_("Debe ser un número entero de 1 a 5.")]
        elif not 1 <= raw <= 5:
            errors[key] = [_("Debe estar entre 1 y 5.")]
        else:
            values[column] = raw
    if errors:
        raise ValidationFailed(_("Revise los puntajes de la rúbrica: cada criterio va de 1 a 5."), errors)
    return values


def _clean_comment(comment: Any, *, required: bool, field: str = "comment") -> str | None:
    if comment is not None and not isinstance(comment, str):
        raise ValidationFailed(_("El comentario debe ser texto."), {field: [_("Debe ser texto.")]})
    text = (comment or "").strip()
    if required and not text:
        raise ValidationFailed(
            _("Escriba qué debe ajustar el equipo: el comentario es obligatorio para devolver una canción."),
            {field: [_("Requerido.")]},
        )
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(
            _("El comentario es demasiado largo (máximo %(n)s caracteres).", n=COMMENT_MAX),
            {field: [_("Máximo %(n)s caracteres.", n=COMMENT_MAX)]},
        )
    return text or None


def _terms(song: Song) -> dict[str, Any]:
    return audit.snapshot(song, TERM_FIELDS)


def review_song(actor: Any, song: Song, scores: dict, comment: str | None, *, ip: str | None = None) -> Review:
    """Score a delivered song's rubric (DESIGN.md §3 reviewed, §4 R): state → ``reviewed``; terms re-stored."""
    require_reviewer(actor, song)
    if song.state != SongState.DELIVERED:
        raise Conflict(
            _(
                "Solo se pueden revisar canciones entregadas; esta canción está %(state)s.",
                state=state_name(song.state),
            ),
            {"state": song.state},
        )
    if song.awaiting_evidence:  # imported as delivered without evidence (API deliveries need one)
        raise Conflict(
            _("La canción no tiene evidencias adjuntas: el equipo debe adjuntarlas antes de la revisión."),
            {"evidence": song.id},
        )
    values = validate_scores(scores)
    text = _clean_comment(comment, required=False)
    before = _terms(song)
    review = song.review
    if review is None:  # a song returned and delivered again keeps no earlier review
        review = Review(song_id=song.id, reviewer_id=actor.id, **values, comment=text)
        db.session.add(review)
        song.review = review
    else:
        for column, value in values.items():
            setattr(review, column, value)
        review.reviewer_id, review.comment = actor.id, text
    song.state = SongState.REVIEWED.value
    song.return_comment = None
    db.session.flush()
    refresh_song_terms(song)
    changes = {column: [None, value] for column, value in values.items()}
    changes["comment"] = [None, text]
    changes.update(audit.changes_between(before, _terms(song)))
    audit.record("song_reviewed", "song", song.id, actor_id=actor.id, changes=changes, ip=ip)
    due_dates.close_pending_of_final_song(song, actor, ip)
    db.session.flush()
    return review


def correct_review(actor: Any, song: Song, scores: dict, comment: str | None, *, ip: str | None = None) -> Review:
    """A coordinator corrects an existing review; the audit keeps each score before and after.

    A correction that raises R moves the board after the fact: it waits, pending and visible, until a
    second coordinator confirms it (four eyes, app.domain.four_eyes); ``review.pending_change`` is
    then set and nothing changes yet. A correction that keeps or lowers R applies at once."""
    require_reviewer(actor, song)
    review = song.review
    if song.state != SongState.REVIEWED or review is None:
        raise Conflict(
            _(
                "Solo se puede corregir la revisión de una canción ya revisada; esta canción está %(state)s.",
                state=state_name(song.state),
            ),
            {"state": song.state},
        )
    values = validate_scores(scores)
    text = _clean_comment(comment, required=False)
    if sum(values.values()) > sum(getattr(review, column) for column in CRITERIA.values()):
        from app.domain import four_eyes

        review.pending_change = four_eyes.request(
            "review_raise", actor, song=song, payload={"scores": values, "comment": text}, ip=ip
        )
        return review
    review.pending_change = None
    return _apply_correction(actor, song, values, text, reviewer_id=actor.id, ip=ip)


def _apply_correction(
    actor: Any,
    song: Song,
    values: dict[str, int],
    text: str | None,
    *,
    reviewer_id: int,
    ip: str | None,
    confirmed_by: int | None = None,
) -> Review:
    review = song.review
    before = audit.snapshot(review, [*CRITERIA.values(), "comment", "reviewer_id"]) | _terms(song)
    for column, value in values.items():
        setattr(review, column, value)
    review.comment = text
    review.reviewer_id = reviewer_id
    review.corrections = (review.corrections or 0) + 1
    db.session.flush()
    refresh_song_terms(song)
    after = audit.snapshot(review, [*CRITERIA.values(), "comment", "reviewer_id"]) | _terms(song)
    changes = audit.changes_between(before, after)
    # Every score is recorded with its before/after, changed or not, so the trail reads on its own.
    for column in CRITERIA.values():
        changes[column] = [before[column], after[column]]
    if confirmed_by is not None:
        changes["confirmed_by"] = [None, confirmed_by]
    audit.record("review_corrected", "song", song.id, actor_id=actor.id, changes=changes, ip=ip)
    db.session.flush()
    return review


def _apply_pending_raise(confirmer: Any, change) -> None:
    """Four eyes confirmed: the raising correction asked by ``change.requested_by`` applies now."""
    song = change.song
    if song.state != SongState.REVIEWED or song.review is None:
        raise Conflict(_("La canción ya no está revisada: la corrección pendiente no se puede aplicar."))
    values = {column: int(v) for column, v in (change.payload.get("scores") or {}).items()}
    _apply_correction(
        confirmer,
        song,
        values,
        change.payload.get("comment"),
        reviewer_id=change.requested_by_id,
        ip=None,
        confirmed_by=confirmer.id,
    )


def return_song(actor: Any, song: Song, comment: str, *, ip: str | None = None) -> Song:
    """Send a delivered song back to its team for changes (DESIGN.md §3 returned); comment required."""
    require_reviewer(actor, song)
    if song.state != SongState.DELIVERED:
        raise Conflict(
            _(
                "Solo se pueden devolver canciones entregadas; esta canción está %(state)s.",
                state=state_name(song.state),
            ),
            {"state": song.state},
        )
    text = _clean_comment(comment, required=True)
    before = _terms(song) | {"return_comment": song.return_comment}
    song.state = SongState.RETURNED.value
    song.return_comment = text
    song.returned_on = calendar.today()  # the re-delivery is dated on or after it (DESIGN.md §3)
    refresh_song_terms(song)
    after = _terms(song) | {"return_comment": song.return_comment}
    audit.record(
        "song_returned", "song", song.id, actor_id=actor.id, changes=audit.changes_between(before, after), ip=ip
    )
    db.session.flush()
    return song


def review_or_correct(actor: Any, song: Song, scores: dict, comment: str | None, *, ip: str | None = None):
    """``(review, created)``: review a delivered song, or correct the review of a reviewed one."""
    if song.state == SongState.REVIEWED and song.review is not None:
        return correct_review(actor, song, scores, comment, ip=ip), False
    return review_song(actor, song, scores, comment, ip=ip), True


def _register_four_eyes() -> None:
    from app.domain import four_eyes

    four_eyes.APPLY["review_raise"] = _apply_pending_raise


_register_four_eyes()
