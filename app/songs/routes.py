"""Songs pages (issue 4): list, detail, plan/edit, transitions, evidence, due-date requests.

Views only parse (WTForms) → call app.domain.lifecycle / evidence → render. Every
rule and permission lives in the domain, shared with the JSON API.

Picking a municipality: the text box accepts a name or a 5-digit DANE code. With
JavaScript, HTMX shows suggestions (GET /songs/municipalities?q=…) as radio
buttons named ``municipality_id``; without JavaScript the form is submitted as
typed and the server resolves it: a code or a unique name is taken, several
matches come back as radio buttons to choose from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from app.api.songs import send_evidence
from app.domain import (
    audit_trail,
    calendar,
    due_dates,
    four_eyes,
    lifecycle,
    permissions,
    seasons,
    song_queries,
    song_rules,
)
from app.domain import evidence as evidence_domain
from app.domain.calendar import business_days_left
from app.domain.errors import Conflict, ValidationFailed
from app.domain.parsing import ascii_int
from app.domain.text import fold
from app.extensions import db, htmx
from app.models import Album, Artist, Department, Label, Municipality, Song
from app.models.songs import OPEN_STATES, SONG_STATES
from app.songs import bp
from app.songs.forms import (
    CancelForm,
    ConfirmForm,
    DecisionForm,
    DeliverForm,
    DueDateRequestForm,
    EvidenceForm,
    LateCancellationForm,
    SongForm,
    StartForm,
)

PER_PAGE = 25
SUGGESTIONS = 12
FORM_FIELD_FOR = {"municipality_id": "municipality", "reason": "reason", "cancel_reason": "reason"}


def _actor() -> Any:
    return current_user._get_current_object()


def _ip() -> str | None:
    return request.remote_addr


def _apply_errors(form: Any, exc: ValidationFailed) -> list[str]:
    """Put a domain error's per-field messages next to the form's fields; return the others."""
    others: list[str] = []
    for key, messages in (exc.details or {}).items():
        messages = messages if isinstance(messages, list) else [str(messages)]
        name = FORM_FIELD_FOR.get(key, key)
        field = form._fields.get(name) if form is not None else None
        if field is not None:
            field.errors = list(field.errors) + [str(m) for m in messages]
        else:
            others.extend(str(m) for m in messages)
    return others


def days_left(song: Song) -> int | None:
    """Business days left (positive) or late (negative) for an open song; None otherwise."""
    if song.state not in OPEN_STATES:
        return None
    return business_days_left(song.due_date, calendar.today())


# --------------------------------------------------------------------------- municipalities


def _municipality_rows(actor: Any) -> list[tuple[int, str, str, str]]:
    stmt = (
        select(Municipality.id, Municipality.code, Municipality.name, Department.name)
        .join(Department, Municipality.department_id == Department.id)
        .order_by(Municipality.name)
    )
    if permissions.is_territorial(actor):
        stmt = stmt.where(Department.label_id == actor.label_id)
    return [tuple(row) for row in db.session.execute(stmt)]


def municipality_matches(actor: Any, text: str, limit: int = SUGGESTIONS) -> list[dict[str, Any]]:
    """Municipalities the actor may choose whose name (accents ignored) or DANE code matches ``text``."""
    query = fold(text).strip()
    if len(query) < 2:
        return []
    starts, contains = [], []
    for mid, code, name, department in _municipality_rows(actor):
        folded = fold(name)
        item = {"id": mid, "code": code, "name": name, "department": department, "exact": folded == query}
        if code == query or folded.startswith(query):
            starts.append(item)
        elif query in folded or query in fold(department):
            contains.append(item)
    return (starts + contains)[:limit]


def _resolve_municipality(form: SongForm) -> tuple[Municipality | None, list[dict[str, Any]]]:
    """The chosen municipality (a radio ``municipality_id`` or the typed name/code), or candidates."""
    actor = _actor()
    chosen = ascii_int(request.form.get("municipality_id", ""), minimum=1)
    if chosen is not None:
        allowed = {row[0] for row in _municipality_rows(actor)}
        if chosen in allowed:
            return db.session.get(Municipality, chosen), []
    # SongForm(obj=song) fills this field with the Municipality object when nothing was posted.
    text = form.municipality.data.strip() if isinstance(form.municipality.data, str) else ""
    if not text:
        form.municipality.errors = [_("Escriba el nombre o el código DANE del municipio y elíjalo.")]
        return None, []
    matches = municipality_matches(actor, text, limit=30)
    exact = [m for m in matches if m["exact"] or m["code"] == text]
    pick = exact if len(exact) == 1 else matches
    if len(pick) == 1:
        return db.session.get(Municipality, pick[0]["id"]), []
    if not matches:
        form.municipality.errors = [_("No encontramos ese municipio entre los departamentos que puede atender.")]
        return None, []
    form.municipality.errors = [_("Hay varios municipios que coinciden: elija uno de la lista.")]
    return None, matches


@bp.get("/municipalities")
@login_required
def municipalities():
    """HTMX suggestions: radio buttons named municipality_id."""
    text = request.args.get("q") or request.args.get("municipality") or ""
    options = municipality_matches(_actor(), text[:120])
    return render_template("songs/_municipality_options.html", options=options, query=text, selected_id=None)


# --------------------------------------------------------------------------- list


def _filter_options(actor: Any) -> dict[str, Any]:
    territorial = permissions.is_territorial(actor)
    artists = select(Artist).order_by(Artist.name)
    departments = select(Department).order_by(Department.name)
    if territorial:
        artists = artists.where(Artist.label_id == actor.label_id)
        departments = departments.where(Department.label_id == actor.label_id)
    return {
        "seasons": seasons.all_seasons(),
        "labels": [] if territorial else db.session.scalars(select(Label).order_by(Label.code)).all(),
        "artists": db.session.scalars(artists).all(),
        "albums": db.session.scalars(select(Album).order_by(Album.name)).all(),
        "departments": db.session.scalars(departments).all(),
        "states": SONG_STATES,
    }


@bp.get("")
@login_required
def list_songs():
    actor = _actor()
    args = {k: request.args.get(k, "").strip() for k in song_queries.FILTER_KEYS if request.args.get(k, "").strip()}
    raw_page = request.args.get("page", "1")
    page_number = ascii_int(raw_page, minimum=1, maximum=999_999) or 1
    filter_error = None
    page = None
    try:
        page = song_queries.paginate_songs(actor, args, page=page_number, per_page=PER_PAGE)
    except ValidationFailed as exc:
        filter_error = exc
    context = {
        "page": page,
        "args": args,
        "filter_error": filter_error,
        "days_left": days_left,
        "options": _filter_options(actor),
        "can_create": permissions.can_plan_songs(actor),
    }
    headers = {"Vary": "HX-Request, HX-Target"}
    if htmx and htmx.target == "songs-results" and not htmx.history_restore_request:
        # Push a clean URL (only the filters in use) so the address bar can be shared and "back" works.
        headers["HX-Push-Url"] = url_for("songs.list_songs", **args, page=page_number if page_number > 1 else None)
        return render_template("songs/_results.html", **context), 200, headers
    return render_template("songs/list.html", **context), 200, headers


# --------------------------------------------------------------------------- detail


def _detail_context(song: Song, **forms: Any) -> dict[str, Any]:
    events = lifecycle.song_timeline(song)
    deliver_form = forms.get("deliver_form") or DeliverForm(formdata=None)
    if deliver_form.delivered_on.data is None and not deliver_form.errors:
        deliver_form.delivered_on.data = calendar.today()
    if song.state == lifecycle.RETURNED and not forms.get("deliver_form"):
        deliver_form.product.data = song.product
        deliver_form.beneficiaries.data = song.beneficiaries
    return {
        "song": song,
        "events": events,
        "timeline": audit_trail.describe(events, viewer_is_admin=permissions.can_administer(current_user)),
        "today_iso": calendar.today().isoformat(),
        "days_left": days_left(song),
        "allowed": [s for s in lifecycle.allowed_transitions(song) if s not in ("reviewed", "returned")],
        "can_edit": permissions.can_edit_song(current_user, song),
        "pending_change": lifecycle.pending_due_date_change(song),
        "start_form": forms.get("start_form") or StartForm(formdata=None),
        "deliver_form": deliver_form,
        "cancel_form": forms.get("cancel_form") or CancelForm(formdata=None),
        "due_form": forms.get("due_form") or DueDateRequestForm(formdata=None),
        "evidence_form": EvidenceForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        "other_errors": forms.get("other_errors") or [],
        "open_form": forms.get("open_form"),
        "due_change_states": lifecycle.DUE_CHANGE_STATES,
        "closed_states": evidence_domain.CLOSED_STATES,
        "late_cancellation": _late_cancellation_context(song, forms.get("late_form")),
        "earlier_delivery": _earlier_delivery(song),
    }


def _earlier_delivery(song: Song) -> date | None:
    """The earlier delivery date the team asked for, while a coordinator has not decided it."""
    change = lifecycle.pending_earlier_delivery(song)
    return date.fromisoformat(change.payload["declared"]) if change is not None else None


def _late_cancellation_context(song: Song, form: LateCancellationForm | None) -> dict[str, Any] | None:
    """A song cancelled after its due date: approved, waiting for a second coordinator, or open
    to a coordinator's request (four eyes, DESIGN.md §3, §9)."""
    if not song.cancelled_late:
        return None
    names = song_rules.late_cancel_reason_names()
    form = form or LateCancellationForm(formdata=None)
    form.reason.choices = [SelectChoice("", _("— Elija —"))] + [SelectChoice(k, v) for k, v in names.items()]
    pending = lifecycle.pending_late_cancellation(song)
    return {
        "names": names,
        "pending": pending,
        "form": form,
        "may_ask": permissions.can_approve_late_cancellation(current_user, song),
        "confirm_refusal": four_eyes.confirm_refusal(current_user, pending) if pending else None,
        "decide_form": DecisionForm(formdata=None),
    }


@bp.get("/<int:song_id>")
@login_required
def detail(song_id: int):
    song = lifecycle.get_song(_actor(), song_id)
    return render_template("songs/detail.html", **_detail_context(song))


TRANSITION_FORMS = {
    "in_progress": ("start_form", StartForm),
    "delivered": ("deliver_form", DeliverForm),
    "cancelled": ("cancel_form", CancelForm),
}


@bp.post("/<int:song_id>/transition/<to>")
@login_required
def transition(song_id: int, to: str):
    actor = _actor()
    song = lifecycle.get_song(actor, song_id)
    if to not in TRANSITION_FORMS:
        raise ValidationFailed(_("Esa acción no existe para una canción."), {"to": [to[:30]]})
    key, form_class = TRANSITION_FORMS[to]
    form = form_class()
    other: list[str] = []
    if form.validate_on_submit():
        fields = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
        try:
            lifecycle.transition_song(actor, song, to, ip=_ip(), **fields)
        except ValidationFailed as exc:
            other = _apply_errors(form, exc)
            flash(exc.message, "error")
        else:
            messages = {
                "in_progress": _("La canción está en curso."),
                "delivered": _("Entrega registrada. Comparta el enlace de la encuesta con el municipio."),
                "cancelled": _("La canción quedó cancelada."),
            }
            flash(messages[to], "success")
            return redirect(url_for("songs.detail", song_id=song.id), code=303)
    else:
        flash(_("Revise los datos marcados."), "error")
    song = lifecycle.get_song(actor, song_id)
    context = _detail_context(song, **{key: form, "other_errors": other, "open_form": key})
    return render_template("songs/detail.html", **context), 422


# --------------------------------------------------------------------------- create / edit


def _song_form_choices(form: SongForm, actor: Any) -> None:
    placeholder = [SelectChoice("", _("— Elija —"))]
    if "artist_id" in form._fields:
        if permissions.is_territorial(actor):
            artists = db.session.scalars(
                select(Artist).where(Artist.label_id == actor.label_id, Artist.active.is_(True)).order_by(Artist.name)
            ).all()
            form.artist_id.choices = placeholder + [SelectChoice(a.id, a.name) for a in artists]
            own = [a.id for a in artists if actor in a.members]
            if form.artist_id.data is None and request.method == "GET" and (len(artists) == 1 or len(own) == 1):
                form.artist_id.data = artists[0].id if len(artists) == 1 else own[0]
        else:
            grouped: dict[str, list[SelectChoice]] = {}
            rows = db.session.execute(
                select(Artist.id, Artist.name, Label.code, Label.name)
                .join(Label, Artist.label_id == Label.id)
                .where(Artist.active.is_(True))
                .order_by(Label.code, Artist.name)
            )
            for aid, name, code, label_name in rows:
                grouped.setdefault(f"{code} · {label_name}", []).append(SelectChoice(aid, name))
            form.artist_id.choices = {"": placeholder, **grouped}
        form.artist_id.validate_choice = False  # the domain checks the artist and its label
    if "album_id" in form._fields:
        albums = db.session.scalars(select(Album).where(Album.active.is_(True)).order_by(Album.name)).all()
        form.album_id.choices = placeholder + [SelectChoice(a.id, a.name) for a in albums]
        form.album_id.validate_choice = False


def _drop_fields(form: SongForm, keep: set[str]) -> None:
    for name in list(form._fields):
        if name not in keep and name != "csrf_token":
            delattr(form, name)


CREATE_FIELDS = {
    "artist_id",
    "album_id",
    "municipality",
    "municipality_id",
    "scope",
    "planned_start",
    "due_date",
    "confirm_duplicate",
}


def _municipality_option(municipality: Municipality | None) -> list[dict[str, Any]]:
    if municipality is None:
        return []
    return [
        {
            "id": municipality.id,
            "code": municipality.code,
            "name": municipality.name,
            "department": municipality.department.name,
            "exact": True,
        }
    ]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    actor = _actor()
    permissions.require(
        permissions.can_plan_songs(actor),
        _("Su rol no permite registrar canciones (solo lectura)."),
    )
    form = SongForm()
    _drop_fields(form, CREATE_FIELDS)
    _song_form_choices(form, actor)
    candidates: list[dict[str, Any]] = []
    duplicates: list[Song] = []
    municipality = None
    status = 200
    if request.method == "POST":
        status = 422
        valid = form.validate_on_submit()
        municipality, candidates = _resolve_municipality(form)
        if valid and municipality is not None:
            lifecycle.require_can_plan_for_artist(actor, form.artist_id.data)
            duplicates = lifecycle.duplicate_warning(municipality.id, form.album_id.data, form.planned_start.data)
            if duplicates and not form.confirm_duplicate.data:
                flash(
                    _(
                        "Ya hay una canción parecida (mismo municipio y álbum, a menos de 30 días). "
                        "Revísela y confirme si de todos modos quiere registrar esta."
                    ),
                    "warning",
                )
                status = 200
            else:
                data = {
                    "artist_id": form.artist_id.data,
                    "album_id": form.album_id.data,
                    "municipality_id": municipality.id,
                    "scope": form.scope.data,
                    "planned_start": form.planned_start.data,
                    "due_date": form.due_date.data,
                }
                try:
                    song = lifecycle.create_song(actor, data, ip=_ip())
                except ValidationFailed as exc:
                    for message in _apply_errors(form, exc):
                        flash(message, "error")
                else:
                    flash(_("Canción planeada. Siguiente paso: al iniciar, regístrela «en curso»."), "success")
                    return redirect(url_for("songs.detail", song_id=song.id), code=303)
        if not candidates and municipality is not None:
            candidates = _municipality_option(municipality)
    return render_template(
        "songs/form.html",
        form=form,
        song=None,
        candidates=candidates,
        selected_id=municipality.id if municipality else None,
        duplicates=duplicates,
        conflict=None,
    ), status


@bp.route("/<int:song_id>/edit", methods=["GET", "POST"])
@login_required
def edit(song_id: int):
    actor = _actor()
    song = lifecycle.get_song(actor, song_id)
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    editable = set(lifecycle.EDITABLE_FIELDS.get(song.state, ()))
    if not editable:
        flash(_("Esta canción ya no se puede modificar."), "warning")
        return redirect(url_for("songs.detail", song_id=song.id), code=303)
    form = _edit_form(actor, song, editable)
    candidates: list[dict[str, Any]] = []
    duplicates: list[Song] = []
    conflict = None
    municipality = song.municipality
    status = 200
    if request.method == "GET":
        form.version.data = str(song.version)
        if "municipality" in form._fields:
            form.municipality.data = song.municipality.name
    else:
        status = 422
        valid = form.validate_on_submit()
        if "municipality" in form._fields:
            municipality, candidates = _resolve_municipality(form)
        if valid and municipality is not None:
            data = {name: form[name].data for name in editable if name in form._fields}
            if "municipality_id" in editable:
                data["municipality_id"] = municipality.id
            duplicates = _edit_duplicates(song, municipality, data)
            if duplicates and not form.confirm_duplicate.data:
                flash(
                    _(
                        "Ya hay una canción parecida (mismo municipio y álbum, a menos de 30 días). "
                        "Confirme si de todos modos quiere guardar."
                    ),
                    "warning",
                )
                status = 200
            else:
                refused = _save_edit(actor, song_id, song, form, data)
                if refused is None:
                    flash(_("Cambios guardados."), "success")
                    return redirect(url_for("songs.detail", song_id=song.id), code=303)
                song, conflict, status = refused
        if not candidates and municipality is not None:
            candidates = _municipality_option(municipality)
    if not candidates and "municipality" in form._fields:
        candidates = _municipality_option(song.municipality)
    return render_template(
        "songs/form.html",
        form=form,
        song=song,
        candidates=candidates,
        selected_id=municipality.id if municipality else None,
        duplicates=duplicates,
        conflict=conflict,
        conflict_values=_conflict_values(conflict),
    ), status


def _edit_form(actor: Any, song: Song, editable: set[str]) -> SongForm:
    """The song form with only the fields that may change now."""
    keep = (editable - {"municipality_id"}) | {"version"}
    if "municipality_id" in editable:
        keep |= {"municipality", "municipality_id", "confirm_duplicate"}
    form = SongForm(obj=song)
    _drop_fields(form, keep)
    _song_form_choices(form, actor)
    return form


def _edit_duplicates(song: Song, municipality: Municipality, data: dict[str, Any]) -> list[Song]:
    """Songs the edited one would resemble, when a planned song moves in place, album or start."""
    changed_place = song.state == lifecycle.PLANNED and (
        municipality.id != song.municipality_id
        or data.get("album_id") != song.album_id
        or data.get("planned_start") != song.planned_start
    )
    if changed_place and data.get("album_id") and data.get("planned_start"):
        return lifecycle.duplicate_warning(municipality.id, data["album_id"], data["planned_start"], exclude_id=song.id)
    return []


def _save_edit(
    actor: Any, song_id: int, song: Song, form: SongForm, data: dict[str, Any]
) -> tuple[Song, dict[str, Any] | None, int] | None:
    """None once saved; else the song as it now is, the conflict (if any) and the status to answer."""
    expected = ascii_int(str(form.version.data or ""), minimum=1)
    try:
        lifecycle.update_song(actor, song, data, expected_version=expected, ip=_ip())
    except Conflict as exc:
        song = lifecycle.get_song(actor, song_id)
        form.version.data = str(song.version)
        flash(exc.message, "error")
        return song, exc.details or {}, 409
    except ValidationFailed as exc:
        song = lifecycle.get_song(actor, song_id)
        for message in _apply_errors(form, exc):
            flash(message, "error")
        return song, None, 422
    return None


def _conflict_values(conflict: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(field name, current value) rows for the conflict message, ids shown as names."""
    if not conflict:
        return []
    rows = []
    lookups = {"artist_id": Artist, "album_id": Album, "municipality_id": Municipality}
    for field, value in (conflict.get("fields") or {}).items():
        shown = value
        if field in lookups and isinstance(value, int):
            obj = db.session.get(lookups[field], value)
            shown = obj.name if obj else value
        rows.append((lifecycle.FIELD_NAMES.get(field, field), "—" if shown in (None, "") else str(shown)))
    return rows


# --------------------------------------------------------------------------- evidence


@bp.post("/<int:song_id>/evidence")
@login_required
def upload_evidence(song_id: int):
    actor = _actor()
    song = lifecycle.get_song(actor, song_id)
    form = EvidenceForm()
    if not form.validate_on_submit():
        flash(_("La sesión del formulario expiró. Recargue la página e intente de nuevo."), "error")
        return redirect(url_for("songs.detail", song_id=song.id, _anchor="evidencias"), code=303)
    try:
        evidence = evidence_domain.add_evidence(actor, song, request.files.get("file"), ip=_ip())
    except ValidationFailed as exc:
        flash(exc.message, "error")
    else:
        flash(_("Evidencia «%(name)s» adjuntada.", name=evidence.original_name), "success")
    return redirect(url_for("songs.detail", song_id=song_id, _anchor="evidencias"), code=303)


@bp.post("/<int:song_id>/evidence/<int:evidence_id>/delete")
@login_required
def remove_evidence(song_id: int, evidence_id: int):
    actor = _actor()
    song = lifecycle.get_song(actor, song_id)
    evidence = evidence_domain.get_evidence(actor, song, evidence_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            name = evidence.original_name
            evidence_domain.remove_evidence(actor, evidence, ip=_ip())
        except ValidationFailed as exc:
            flash(exc.message, "error")
        else:
            flash(_("Evidencia «%(name)s» eliminada.", name=name), "success")
    return redirect(url_for("songs.detail", song_id=song_id, _anchor="evidencias"), code=303)


@bp.get("/<int:song_id>/evidence/<int:evidence_id>")
@login_required
def download_evidence(song_id: int, evidence_id: int):
    actor = _actor()
    evidence = evidence_domain.get_evidence(actor, lifecycle.get_song(actor, song_id), evidence_id)
    return send_evidence(evidence)


@bp.get("/<int:song_id>/evidence/<int:evidence_id>/preview")
@login_required
def preview_evidence(song_id: int, evidence_id: int):
    """An image or PDF shown inline (the review page frames it); the same permission as the download."""
    actor = _actor()
    evidence = evidence_domain.get_evidence(actor, lifecycle.get_song(actor, song_id), evidence_id)
    return send_evidence(evidence, inline=True)


# --------------------------------------------------------------------------- late cancellations


@bp.post("/<int:song_id>/late-cancellation")
@login_required
def approve_late_cancellation(song_id: int):
    """A coordinator asks to approve a late cancellation; a second coordinator confirms it (four eyes)."""
    form = LateCancellationForm()
    return _post_detail_form(
        song_id,
        form,
        lambda actor, song: lifecycle.approve_late_cancellation(
            actor, song, form.reason.data, form.comment.data, ip=_ip()
        ),
        _("Solicitud registrada: una segunda persona de la coordinación debe confirmarla."),
        late_form=form,
    )


def _post_detail_form(song_id: int, form: Any, act: Any, done: str, **context: Any):
    """A form of the song page: ``act(actor, song)``, then the page again; if refused, the page
    with the form and its errors (422)."""
    actor = _actor()
    song = lifecycle.get_song(actor, song_id)
    other: list[str] = []
    if form.validate_on_submit():
        try:
            act(actor, song)
        except (ValidationFailed, Conflict) as exc:
            other = _apply_errors(form, exc) if isinstance(exc, ValidationFailed) else [exc.message]
            flash(exc.message, "error")
        else:
            flash(done, "success")
            return redirect(url_for("songs.detail", song_id=song_id), code=303)
    song = lifecycle.get_song(actor, song_id)
    return render_template("songs/detail.html", **_detail_context(song, other_errors=other, **context)), 422


# --------------------------------------------------------------------------- due-date changes


@bp.post("/<int:song_id>/due-date-change")
@login_required
def request_due_date_change(song_id: int):
    form = DueDateRequestForm()
    return _post_detail_form(
        song_id,
        form,
        lambda actor, song: lifecycle.request_due_date_change(
            actor, song, form.proposed_due.data, form.reason.data, ip=_ip()
        ),
        _("Solicitud enviada a la coordinación."),
        due_form=form,
        open_form="due_form",
    )


@bp.get("/due-date-requests")
@login_required
def due_date_requests():
    """The coordination decides the pending requests; a territorial team follows its own."""
    if permissions.can_decide_due_date(current_user):
        changes, deciding = due_dates.pending_queue(), True
    else:
        changes, deciding = due_dates.label_requests(current_user), False
    return render_template(
        "songs/due_date_requests.html", changes=changes, deciding=deciding, form=DecisionForm(formdata=None)
    )


@bp.post("/due-date-requests/<int:change_id>")
@login_required
def decide_due_date(change_id: int):
    actor = _actor()
    permissions.require(permissions.can_decide_due_date(actor), _("Solo la coordinación decide estos cambios."))
    change = lifecycle.get_due_date_change(change_id)
    form = DecisionForm()
    if form.validate_on_submit() and form.decision.data in ("approve", "reject"):
        approve = form.decision.data == "approve"
        try:
            lifecycle.decide_due_date_change(actor, change, approve, form.comment.data, ip=_ip())
        except (ValidationFailed, Conflict) as exc:
            flash(exc.message, "error")
        else:
            flash(
                _("Solicitud aprobada: la fecha de compromiso cambió.") if approve else _("Solicitud rechazada."),
                "success",
            )
    else:
        flash(_("Elija aprobar o rechazar."), "error")
    return redirect(url_for("songs.due_date_requests"), code=303)
