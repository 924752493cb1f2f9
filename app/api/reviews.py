"""API: the quality review of a song (DESIGN.md §8, issue 6).

``POST /api/v1/songs/<id>/review`` with ``{"pertinence", "rigour", "usefulness", "evidence"}``
(each an integer 1–5) and an optional ``"comment"``:

- on a ``delivered`` song: creates the review, the song becomes ``reviewed`` → **201**;
- on a ``reviewed`` song: corrects its review (audited with before/after) → **200**;
- body ``{"review": {...}, "song": {"state", "R", "Q", "S", "T", "points", ...}, "created": bool}``;
- not a coordinator, another label's song for a team, or a segregation-of-duties refusal (home
  directorate, planned/delivered/surveyed it, decided its due date) → 403 with the reason; any other state → 409;
  a score missing or out of 1–5 → 422 with per-field details; a body that is not JSON → 400.
"""

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.api import bp, schemas
from app.api.core import ApiError, json_body
from app.domain import four_eyes, lifecycle, permissions, reviews, surveys
from app.i18n import _


@bp.post("/songs/<int:song_id>/survey/<any(validate, discard):action>")
def decide_held_survey(song_id: int, action: str):
    """A held survey answer: ``validate`` (it counts from now) or ``discard`` (the link reopens) → 200.

    Coordinators, never for their home directorate or a song they planned or delivered (403)."""
    song = lifecycle.get_song(current_user, song_id)
    (surveys.validate_survey if action == "validate" else surveys.discard_survey)(
        current_user, song, ip=request.remote_addr
    )
    return jsonify({"song": schemas.song_terms(song), "survey_status": surveys.survey_status(song)})


@bp.post("/songs/<int:song_id>/review")
def review_song(song_id: int):
    data = json_body()
    song = lifecycle.get_song(current_user, song_id)
    scores = {key: data.get(key) for key in reviews.CRITERIA}
    try:
        review, created = reviews.review_or_correct(
            current_user, song, scores, data.get("comment"), ip=request.remote_addr
        )
    except (StaleDataError, IntegrityError):
        raise ApiError(
            409, _("Otra persona cambió esta canción al mismo tiempo; consulte su estado e intente de nuevo.")
        ) from None
    body = {"created": created, "review": schemas.review(review), "song": schemas.song_terms(song)}
    pending = getattr(review, "pending_change", None)
    if pending is not None:  # a correction that raises R waits for a second coordinator (four eyes)
        body["pending_change"] = schemas.pending_change(pending)
        return jsonify(body), 202
    return jsonify(body), 201 if created else 200


@bp.post("/songs/<int:song_id>/late-cancellation")
def approve_late_cancellation(song_id: int):
    """``{"reason": one of song_rules.LATE_CANCEL_REASONS, "comment"}``: a coordinator asks to approve
    a late cancellation as not the team's doing → **202** with the pending change; it applies when a
    second coordinator confirms it (``POST pending-changes/ID``). Not a coordinator, or one who may
    not review the song (home directorate, planned or delivered it) → 403; a song not cancelled
    late, already approved or already waiting → 409; an unknown reason → 422."""
    data = json_body()
    song = lifecycle.get_song(current_user, song_id)
    reason, comment = data.get("reason"), data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ApiError(422, _("'comment' debe ser texto."), {"comment": [_("Texto.")]})
    change = lifecycle.approve_late_cancellation(
        current_user,
        song,
        reason if isinstance(reason, str) else None,
        comment,
        ip=request.remote_addr,
    )
    return jsonify({"pending_change": schemas.pending_change(change), "song": schemas.song_terms(song)}), 202


@bp.get("/pending-changes")
def list_pending_changes():
    """Changes waiting for a second coordinator (four eyes)."""
    permissions.require(permissions.can_confirm_changes(current_user))
    return jsonify({"items": [schemas.pending_change(c) for c in four_eyes.pending()]})


@bp.post("/pending-changes/<int:change_id>")
def decide_pending_change(change_id: int):
    """``{"confirm": true|false, "comment"}``: a second coordinator confirms (applied now) or rejects."""
    permissions.require(permissions.can_confirm_changes(current_user))
    data = json_body()
    confirm = data.get("confirm")
    if not isinstance(confirm, bool):
        raise ApiError(422, _("'confirm' debe ser true o false."), {"confirm": [_("Booleano obligatorio.")]})
    change = four_eyes.get(change_id)
    four_eyes.decide(
        current_user,
        change,
        confirm,
        data.get("comment") if isinstance(data.get("comment"), str) else None,
        ip=request.remote_addr,
    )
    return jsonify(schemas.pending_change(change))
