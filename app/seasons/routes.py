"""Seasons through the year (DESIGN.md §5): states, drafts, closing, end of season, final standings.

Views parse, call ``app.domain.seasons`` and render; the rules (who may close,
confirm or carry over, what a closed season allows) live in the domain.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.decorators import permission_required
from app.domain import lifecycle, permissions, seasons
from app.domain.calendar import today
from app.domain.errors import DomainError, ValidationFailed
from app.domain.lifecycle import parse_date
from app.domain.parsing import ascii_int
from app.extensions import db
from app.models import Label, Season, Song
from app.seasons import bp

PER_PAGE = 50


def _season(year: int) -> Season:
    return seasons.resolve(year)


@bp.get("")
@login_required
def index():
    rows = seasons.all_seasons()
    return render_template(
        "seasons/index.html",
        seasons=rows,
        today=today(),
        ending=seasons.ending_seasons(),
        undelivered={s.id: seasons.undelivered_count(s) for s in rows if s.state in ("open", "closing")},
    )


@bp.post("/<int:year>/confirm")
@permission_required(permissions.can_manage_seasons)
def confirm(year: int):
    season = _season(year)
    seasons.confirm_drafts(season, current_user, request.remote_addr)
    flash(_("Pesos y metas de la temporada %(year)s confirmados.", year=year), "success")
    return redirect(url_for("seasons.index"))


@bp.route("/<int:year>/close", methods=["GET", "POST"])
@permission_required(permissions.can_manage_seasons)
def close(year: int):
    season = _season(year)
    error = None
    if request.method == "POST":
        try:
            seasons.close(season, current_user, ip=request.remote_addr)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            flash(_("Temporada %(year)s cerrada: estas son sus posiciones finales.", year=year), "success")
            return redirect(url_for("seasons.final", year=year))
    return render_template(
        "seasons/close.html",
        season=season,
        open_songs=seasons.undelivered_count(season),
        error=error,
        closing_date=seasons.closing_date(season),
    ), (409 if error else 200)


@bp.route("/<int:year>/end", methods=["GET", "POST"])
@permission_required(permissions.can_manage_seasons)
def end(year: int):
    """Undelivered songs of a season ending: cancel them or carry them over to the next season."""
    season = _season(year)
    errors: dict[int, dict] = {}
    if request.method == "POST":
        song_id = ascii_int(request.form.get("song_id", ""), minimum=1)
        song = db.session.get(Song, song_id) if song_id else None
        if song is None or song.season_id != season.id:
            abort(404)
        action = request.form.get("action")
        try:
            if action == "carry":
                field_errors: dict[str, list[str]] = {}
                due = parse_date(request.form.get("due_date"), "due_date", field_errors)
                if field_errors:
                    raise ValidationFailed(_("Revise la nueva fecha de compromiso."), field_errors)
                copy = seasons.carry_over(song, current_user, due, request.remote_addr)
                message = _(
                    "Canción %(id)s trasladada a %(year)s (nueva canción %(new)s); cuenta como tardía en %(old)s.",
                    id=song.id,
                    year=copy.season.year,
                    new=copy.id,
                    old=season.year,
                )
            elif action == "cancel":
                seasons.cancel_at_end(song, current_user, request.form.get("reason", ""), request.remote_addr)
                message = _("Canción %(id)s cancelada; cuenta como tardía en %(year)s.", id=song.id, year=season.year)
            else:
                abort(400)
        except DomainError as exc:
            db.session.rollback()
            errors[song.id] = {"message": exc.message, "details": exc.details or {}, "form": request.form}
        else:
            flash(message, "success")
            return redirect(url_for("seasons.end", year=year, page=request.args.get("page")))
    page = ascii_int(request.args.get("page") or "1", minimum=1, maximum=100_000) or 1
    data = seasons.end_of_season(season, page, PER_PAGE)
    labels = {label.id: label for label in db.session.query(Label)}
    return render_template(
        "seasons/end.html",
        data=data,
        season=season,
        labels=labels,
        errors=errors,
        page=page,
        pages=max(1, -(-data.total // PER_PAGE)),
    ), (422 if errors else 200)


@bp.route("/<int:year>/correct", methods=["GET", "POST"])
@permission_required(permissions.can_administer)
def correct(year: int):
    """The audited admin correction of a closed season's song (recomputes its final standings)."""
    season = _season(year)
    errors: dict = {}
    if request.method == "POST":
        form = request.form
        try:
            song = seasons.correct_song(
                season,
                current_user,
                form.get("song_id"),
                form.get("what", ""),
                form.get("value"),
                form.get("reason", ""),
                request.remote_addr,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            errors = exc.details if isinstance(exc.details, dict) else {}
        else:
            flash(
                _(
                    "Canción %(id)s corregida; las posiciones finales de %(year)s se recalcularon.",
                    id=song.id,
                    year=year,
                ),
                "success",
            )
            return redirect(url_for("seasons.final", year=year))
    return render_template("seasons/correct.html", season=season, errors=errors, values=request.form), (
        422 if errors else 200
    )


@bp.get("/<int:year>/final")
@login_required
def final(year: int):
    standings = seasons.final_standings(_season(year))
    return render_template("seasons/final.html", s=standings, season=standings.season)


@bp.get("/<int:year>/final/certificate/<int:label_id>")
@login_required
def certificate(year: int, label_id: int):
    standings = seasons.final_standings(_season(year))
    row = next(((e, lab) for e, lab in standings.labels if lab.id == label_id), None)
    if row is None:
        abort(404)
    entry, label = row
    return render_template(
        "seasons/certificate.html",
        s=standings,
        season=standings.season,
        entry=entry,
        label=label,
        badges=standings.badges.get(label.id, []),
        improved=standings.most_improved is not None and standings.most_improved[1].id == label.id,
    )


@bp.app_context_processor
def _season_helpers():
    return {"season_state_name": seasons.state_name, "song_state_names": lifecycle.STATE_NAMES}
