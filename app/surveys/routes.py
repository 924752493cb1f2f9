"""Municipal satisfaction surveys through signed links (DESIGN.md §1, §4; issue 6).

The survey page needs no account: the signed link is the credential. It is rate
limited per IP, never cached, and shows only the assistance being rated.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, abort, flash, make_response, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.decorators import permission_required
from app.domain import lifecycle, permissions
from app.domain.errors import DomainError, ValidationFailed
from app.domain.surveys import (
    SURVEY_STATES,
    AnswerContext,
    SurveyUnavailable,
    discard_survey,
    hold_reason_names,
    link_expires_at,
    qr_svg,
    regenerate_survey_link,
    seconds_since,
    song_for_token,
    started_stamp,
    submit_survey,
    survey_url,
    validate_survey,
)
from app.extensions import limiter
from app.models import Song
from app.models.base import utcnow
from app.surveys import bp
from app.surveys.forms import ITEMS, SCALE, SurveyForm

SURVEY_RATE_LIMIT = "20 per minute"

UNAVAILABLE = {
    # reason: (HTTP status, title, message)
    "invalid": (
        404,
        lambda: _("Este enlace no es válido"),
        lambda: _(
            "El enlace está incompleto, fue modificado o fue reemplazado por uno nuevo. Pida al equipo que lo "
            "acompañó el enlace vigente de la encuesta."
        ),
    ),
    "expired": (
        410,
        lambda: _("Este enlace ya venció"),
        lambda: _(
            "El plazo para responder con este enlace terminó. Si aún quiere darnos su opinión, pida al equipo un "
            "enlace nuevo."
        ),
    ),
    "answered": (
        409,
        lambda: _("Esta encuesta ya fue respondida"),
        lambda: _(
            "Ya recibimos una respuesta para esta asistencia. Solo se admite una respuesta por asistencia. ¡Gracias!"
        ),
    ),
    "unavailable": (
        409,
        lambda: _("Esta encuesta no está disponible"),
        lambda: _(
            "La asistencia todavía no está marcada como entregada, o fue devuelta para ajustes. Intente más tarde."
        ),
    ),
}


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _unavailable(reason: str) -> Response:
    status, title, message = UNAVAILABLE.get(reason, UNAVAILABLE["invalid"])
    html = render_template("surveys/unavailable.html", reason=reason, title=title(), message=message())
    return _private(make_response(html, status))


@bp.route("/encuesta/<token>", methods=["GET", "POST"])
@limiter.limit(SURVEY_RATE_LIMIT)
def answer(token: str):
    """The survey for one delivered song; one response per song (unique constraint on surveys.song_id)."""
    try:
        song = song_for_token(token)
    except SurveyUnavailable as exc:
        return _unavailable(exc.reason)
    form = SurveyForm()
    status = 200
    started = request.form.get("started") if request.method == "POST" else None
    if started is None or seconds_since(started) is None:
        started = started_stamp()
    if request.method == "POST":
        if form.validate():
            context = AnswerContext(
                user=current_user if current_user.is_authenticated else None,
                ip=request.remote_addr,
                user_agent=request.headers.get("User-Agent", "")[:500],
                seconds=seconds_since(request.form.get("started")),
            )
            try:
                submit_survey(token, form.answers(), context)
            except SurveyUnavailable as exc:
                return _unavailable(exc.reason)
            except ValidationFailed:  # the form already checked the same rules; never a 500
                pass  # nothing is kept: app/transaction.py rolls the request back
            else:
                return _private(make_response(render_template("surveys/thanks.html", song=song)))
        status = 422
    html = render_template(
        "surveys/answer.html",
        song=song,
        form=form,
        items=ITEMS,
        scale=SCALE,
        expires=link_expires_at(song),
        started=started,
    )
    return _private(make_response(html, status))


def _viewable_song(song_id: int) -> Song:
    """The one song loader (404 if it does not exist, 403 if it is another label's)."""
    return lifecycle.get_song(current_user, song_id)


@bp.get("/encuesta-qr/<int:song_id>.svg")
@login_required
def qr(song_id: int):
    """The survey link as a printable QR code (SVG made on the server, no JavaScript)."""
    song = _viewable_song(song_id)
    url = survey_url(song) if song.state in SURVEY_STATES and song.survey is None else None
    if url is None:
        abort(404)
    response = make_response(qr_svg(url))
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/encuesta-imprimir/<int:song_id>")
@login_required
def print_sheet(song_id: int):
    """A print-friendly sheet with the link and its QR code, to hand to the municipality."""
    song = _viewable_song(song_id)
    if song.state not in SURVEY_STATES or song.survey is not None or not song.survey_nonce:
        abort(404)
    return render_template(
        "surveys/print.html", song=song, url=survey_url(song), expires=link_expires_at(song), now=utcnow()
    )


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return default


@bp.post("/encuesta-enlace/<int:song_id>/nuevo")
@login_required
def regenerate(song_id: int):
    """Issue a new link (new nonce): earlier links stop working. Coordinators; the team only for the first one."""
    song = _viewable_song(song_id)
    first = not song.survey_nonce

    def message(pending) -> str:
        if pending is not None:
            return _(
                "El enlace anterior venció: el enlace nuevo queda pendiente hasta que otra persona de la "
                "coordinación lo confirme (cuatro ojos)."
            )
        if first:
            return _("Enlace de encuesta creado.")
        return _("Se generó un enlace nuevo: los enlaces anteriores de esta canción ya no funcionan.")

    return _song_action(song, regenerate_survey_link, message)


def _song_action(song: Song, action, message):
    """Run ``action(current_user, song, ip=…)``, commit, flash ``message`` (or ``message(result)``);
    a 403 is a 403 page with the reason."""
    try:
        result = action(current_user, song, ip=request.remote_addr)
    except DomainError as exc:
        if exc.status == 403:
            raise
        flash(exc.message, "error")
    else:
        flash(message(result) if callable(message) else message, "success")
    return redirect(_safe_next(f"/songs/{song.id}"))


@bp.post("/encuesta-retenida/<int:song_id>/validar")
@permission_required(permissions.can_confirm_changes)
def validate_held(song_id: int):
    """A coordinator confirms a held answer (e.g. after calling the municipal contact)."""
    message = _("Encuesta validada: ya cuenta en la satisfacción (S).")
    return _song_action(_viewable_song(song_id), validate_survey, message)


@bp.post("/encuesta-retenida/<int:song_id>/descartar")
@permission_required(permissions.can_confirm_changes)
def discard_held(song_id: int):
    """A coordinator discards a held answer: the link can be answered again."""
    message = _("Respuesta descartada: el enlace de la encuesta vuelve a quedar abierto.")
    return _song_action(_viewable_song(song_id), discard_survey, message)


@bp.app_context_processor
def _survey_helpers():
    """Helpers for the song page partial ``surveys/_song_survey.html``."""

    def link_state(song: Song) -> dict:
        expires = link_expires_at(song)
        return {
            "url": survey_url(song) if song.survey_nonce else None,
            "expires": expires,
            "expired": bool(expires and utcnow() > expires),
        }

    return {"survey_link_state": link_state, "survey_states": SURVEY_STATES, "survey_hold_reasons": hold_reason_names}
