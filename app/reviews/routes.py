"""Coordinators' review queue and rubric, and the survey results page (issue 6).

Views stay thin: parse with a form → app.domain.reviews (rules, writes, audit) → commit → render.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.routing import BuildError

from app import numbers
from app.api.songs import PREVIEW_TYPES
from app.auth.decorators import permission_required
from app.charts import svg
from app.domain import calendar, four_eyes, integrity, lifecycle, permissions, review_queue, seasons, survey_stats
from app.domain import reviews as review_domain
from app.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.domain.parsing import ascii_int
from app.extensions import db, htmx
from app.models import Label, Song, SongState
from app.reviews import bp
from app.reviews.forms import RUBRIC, ReturnForm, ReviewForm
from app.surveys.forms import ITEMS as SURVEY_ITEMS
from app.surveys.forms import SCALE as SURVEY_SCALE


def song_page_url(song: Song) -> str:
    """The song's detail page (songs blueprint, built by another area)."""
    for endpoint in ("songs.detail", "songs.show", "songs.song_detail", "songs.view_song"):
        for kwargs in ({"song_id": song.id}, {"id": song.id}):
            try:
                return url_for(endpoint, **kwargs)
            except BuildError:
                continue
    return f"/songs/{song.id}"


def evidence_url(song: Song, evidence) -> str | None:
    for endpoint in ("songs.evidence_file", "songs.download_evidence", "songs.evidence", "songs.evidence_download"):
        for kwargs in ({"song_id": song.id, "evidence_id": evidence.id}, {"evidence_id": evidence.id}):
            try:
                return url_for(endpoint, **kwargs)
            except BuildError:
                continue
    return None


def _int_arg(name: str) -> int | None:
    return ascii_int(request.args.get(name, ""), minimum=1)


def _filters() -> dict[str, int]:
    filters = {k: v for k in ("season", "label", "album", "department") if (v := _int_arg(k))}
    filters.update({k: 1 for k in ("mine", "overdue") if request.args.get(k) in ("1", "on", "true")})
    return filters


@bp.get("")
@permission_required(permissions.can_review)
def queue():
    """Delivered songs awaiting review, oldest delivery first (filters in the URL; HTMX partial refresh)."""
    filters = _filters()
    today = calendar.today()
    context = review_queue.queue(
        current_user, filters, _int_arg("page") or 1, current_app.config.get("PAGE_SIZE", 25), today
    )
    context["rows"] = [(song, review_domain.business_age(song, today)) for song in context["page"].items]
    context["filters"] = filters
    coordinators = review_queue.active_coordinators()
    context["reassign_choices"] = lambda song: review_queue.eligible_reviewers(song, coordinators)
    context["seasons"] = seasons.all_seasons()
    if htmx and not htmx.boosted:
        return render_template("reviews/_queue_results.html", **context)
    return render_template("reviews/queue.html", **context)


@bp.post("/<int:song_id>/reassign")
@permission_required(permissions.can_review)
def reassign(song_id: int):
    """Hand a waiting review to another eligible coordinator (audited)."""
    song = _load_song(song_id)
    try:
        reviewer = review_queue.reassign_reviewer(
            current_user, song, ascii_int(request.form.get("reviewer", ""), minimum=1), ip=request.remote_addr
        )
    except DomainError as exc:  # a refused rule: app/transaction.py rolls the request back
        if exc.status == 403:
            raise
        flash(exc.message, "error")
    else:
        flash(_("Revisión reasignada a %(name)s.", name=reviewer.name), "success")
    return redirect(url_for("reviews.queue"))


def _load_song(song_id: int) -> Song:
    return lifecycle.get_song(current_user, song_id)


def _page(song: Song, form: ReviewForm, return_form: ReturnForm, status: int = 200):
    evidence = [(ev, evidence_url(song, ev)) for ev in song.evidence]
    return (
        render_template(
            "reviews/review.html",
            song=song,
            form=form,
            return_form=return_form,
            rubric=RUBRIC,
            evidence=evidence,
            preview_types=PREVIEW_TYPES,
            age=review_domain.business_age(song),
            song_url=song_page_url(song),
            state_name=review_domain.state_name,
            # DESIGN.md §3: the reviewer sees the duplicate warning too.
            duplicates=lifecycle.duplicate_warning(song.municipality_id, None, song.planned_start, exclude_id=song.id),
        ),
        status,
    )


def _reviewable(song: Song) -> None:
    """The page is for a reviewer: same rules as the domain (clear 403/409 pages)."""
    review_domain.require_reviewer(current_user, song)
    if song.state not in (SongState.DELIVERED.value, SongState.REVIEWED.value):
        raise Conflict(
            _(
                "Esta canción no está esperando revisión: solo se revisan canciones entregadas (estado actual: "
                "%(state)s).",
                state=review_domain.state_name(song.state),
            )
        )


def _concurrent_change() -> None:
    flash(_("Otra persona cambió esta canción al mismo tiempo. Revise su estado e intente de nuevo."), "error")


@bp.route("/<int:song_id>", methods=["GET", "POST"])
@permission_required(permissions.can_review)
def review(song_id: int):
    """The rubric for a delivered song (or the correction of a reviewed one's rubric)."""
    song = _load_song(song_id)
    _reviewable(song)
    form = ReviewForm()
    return_form = ReturnForm(formdata=None)
    if request.method == "GET" and song.review is not None:
        form = ReviewForm(
            formdata=None,
            data={
                "pertinence": song.review.pertinence,
                "rigour": song.review.rigour,
                "usefulness": song.review.usefulness,
                "evidence": song.review.evidence_quality,
                "comment": song.review.comment or "",
            },
        )
    if request.method == "POST":
        if not form.validate():
            flash(_("Revise el formulario: cada criterio necesita un puntaje de 1 a 5."), "error")
            return _page(song, form, return_form, 422)
        try:
            _review, created = review_domain.review_or_correct(
                current_user, song, form.scores(), form.comment.data, ip=request.remote_addr
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return _page(song, form, return_form, exc.status)
        except (StaleDataError, IntegrityError):
            _concurrent_change()
            return redirect(url_for("reviews.review", song_id=song_id))
        points = song.points if song.points is not None else 0
        if getattr(_review, "pending_change", None) is not None:
            flash(
                _(
                    "La corrección sube la revisión: queda pendiente hasta que otra persona de la coordinación la "
                    "confirme (cuatro ojos)."
                ),
                "success",
            )
            return redirect(song_page_url(song))
        if created:
            flash(
                _(
                    "Canción revisada: %(m)s · %(a)s. R = %(r)s, Q = %(q)s, %(p)s puntos.",
                    m=song.municipality.name,
                    a=song.album.name,
                    r=numbers.score(song.review_score),
                    q=numbers.score(song.quality),
                    p=points,
                ),
                "success",
            )
            return redirect(url_for("reviews.queue"))
        flash(
            _(
                "Revisión corregida. R = %(r)s, Q = %(q)s, %(p)s puntos.",
                r=numbers.score(song.review_score),
                q=numbers.score(song.quality),
                p=points,
            ),
            "success",
        )
        return redirect(song_page_url(song))
    return _page(song, form, return_form)


@bp.post("/<int:song_id>/return")
@permission_required(permissions.can_review)
def return_for_changes(song_id: int):
    """Send a delivered song back to its team with a required comment."""
    song = _load_song(song_id)
    return_form = ReturnForm()
    form = ReviewForm(formdata=None)
    if not return_form.validate():
        review_domain.require_reviewer(current_user, song)
        flash(_("Para devolver la canción escriba qué debe ajustar el equipo."), "error")
        return _page(song, form, return_form, 422)
    try:
        review_domain.return_song(current_user, song, return_form.return_comment.data, ip=request.remote_addr)
    except DomainError as exc:
        if exc.status == 403:
            raise
        flash(exc.message, "error")
        return _page(song, form, return_form, exc.status)
    except (StaleDataError, IntegrityError):
        _concurrent_change()
        return redirect(url_for("reviews.review", song_id=song_id))
    flash(
        _("Canción devuelta al equipo para ajustes: %(m)s · %(a)s.", m=song.municipality.name, a=song.album.name),
        "success",
    )
    return redirect(url_for("reviews.queue"))


@bp.get("/alerts")
@permission_required(permissions.can_read_integrity_alerts)
def alerts():
    """Integrity alerts per label for a season, each linked to the songs behind it (DESIGN.md §9)."""
    today = review_domain.today_bogota()
    season = integrity.resolve_season(_int_arg("season"), today)
    data = integrity.cached_summary(season, today)
    kinds = integrity.kinds()
    return render_template(
        "reviews/alerts.html",
        season=season,
        seasons=seasons.all_seasons(),
        labels=data["labels"],
        kinds=kinds,
        computed_at=datetime.fromisoformat(data["computed_at"]),
    )


@bp.get("/alerts/<any({kinds}):kind>".format(kinds=", ".join(integrity.KIND_CODES)))
@permission_required(permissions.can_read_integrity_alerts)
def alert_songs(kind: str):
    """The songs behind one alert for one label."""
    today = review_domain.today_bogota()
    season = integrity.resolve_season(_int_arg("season"), today)
    label_id = _int_arg("label")
    if label_id is None:
        raise ValidationFailed(_("Elija una disquera."), {"label": [_("Requerido.")]})
    label = db.session.get(Label, label_id)
    if label is None:
        raise NotFound(_("La disquera no existe."))
    page = integrity.songs(
        kind, season, today, label.id, _int_arg("page") or 1, current_app.config.get("PAGE_SIZE", 25)
    )
    return render_template(
        "reviews/alert_songs.html",
        kind=next(k for k in integrity.kinds() if k.code == kind),
        season=season,
        label=label,
        page=page,
        song_url=song_page_url,
        state_name=review_domain.state_name,
    )


@bp.get("/pending")
@permission_required(permissions.can_confirm_changes)
def pending_changes():
    """Changes waiting for a second coordinator (four eyes), oldest first."""
    return render_template(
        "reviews/pending.html",
        changes=four_eyes.pending(),
        kind_name=four_eyes.kind_name,
        describe=four_eyes.describe,
        refusal=four_eyes.confirm_refusal,
        song_url=song_page_url,
    )


@bp.post("/pending/<int:change_id>")
@permission_required(permissions.can_confirm_changes)
def decide_pending(change_id: int):
    change = four_eyes.get(change_id)
    decision = request.form.get("decision")
    if decision not in ("confirm", "reject"):
        raise ValidationFailed(_("Elija confirmar o rechazar."), {"decision": [_("Requerido.")]})
    try:
        four_eyes.decide(
            current_user, change, decision == "confirm", request.form.get("comment"), ip=request.remote_addr
        )
    except DomainError as exc:  # a refused rule: app/transaction.py rolls the request back
        if exc.status == 403:
            raise
        flash(exc.message, "error")
    else:
        flash(_("Cambio confirmado y aplicado.") if decision == "confirm" else _("Cambio rechazado."), "success")
    if request.form.get("back") == "song" and change.song is not None:
        return redirect(song_page_url(change.song), code=303)
    return redirect(url_for("reviews.pending_changes"))


@bp.get("/surveys")
@permission_required(permissions.can_read_survey_results)
def survey_results():
    """Answered surveys, newest first. Respondent name/position only for coordinators (Ley 1581 de 2012)."""
    label_id = _int_arg("label")
    context = review_queue.survey_results(label_id, _int_arg("page") or 1, current_app.config.get("PAGE_SIZE", 25))
    questions = survey_stats.answers_by_question(label_id)
    return render_template(
        "reviews/surveys.html",
        label_id=label_id,
        mean_s=context.pop("mean_s"),
        questions=questions,
        question_texts=SURVEY_ITEMS,
        scale_names=dict(SURVEY_SCALE),
        chart=svg.stacked_bars([(f"P{i}", list(q.counts.items())) for i, q in enumerate(questions, start=1)]),
        show_personal=permissions.can_see_respondent_data(current_user),
        **context,
    )
