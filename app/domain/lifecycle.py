"""A song's life (DESIGN.md §3): create, edit, transitions, due-date change requests.

Shared by the HTML views, the JSON API and the importer: every rule lives here.

Transactions: these functions add to and flush the current SQLAlchemy session but
never commit. The caller (a view, an API handler, a CLI command) commits once the
whole action succeeded, or rolls back on a DomainError, so nothing is half-written.

Inputs may be Python values (``date``, ``int``) or raw JSON values (ISO
``YYYY-MM-DD`` strings, numeric strings): they are checked here and a bad value
raises ValidationFailed with ``details = {field: [message, ...]}``.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app.domain import audit, calendar, due_dates, names, permissions, song_rules, terms
from app.domain.calendar import business_days_between
from app.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.domain.parsing import DATE_MAX, DATE_MIN, ascii_int, plausible_date
from app.extensions import db
from app.i18n import _, _l
from app.models import Album, Artist, AuditEvent, Department, DueDateChange, Municipality, Song, SongState
from app.models.base import utcnow

BOGOTA = calendar.BOGOTA
DUPLICATE_WINDOW_DAYS = song_rules.DUPLICATE_WINDOW_DAYS
MAX_TEXT = song_rules.MAX_TEXT
MAX_ID = 2_147_483_647  # PostgreSQL integer

PLANNED = SongState.PLANNED.value
IN_PROGRESS = SongState.IN_PROGRESS.value
DELIVERED = SongState.DELIVERED.value
RETURNED = SongState.RETURNED.value
REVIEWED = SongState.REVIEWED.value
CANCELLED = SongState.CANCELLED.value

# DESIGN.md §3. "reviewed" is reached only through the review endpoint (reviews helper).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PLANNED: (IN_PROGRESS, CANCELLED),
    IN_PROGRESS: (DELIVERED, CANCELLED),
    DELIVERED: (RETURNED, REVIEWED, CANCELLED),
    RETURNED: (DELIVERED, CANCELLED),
    REVIEWED: (),
    CANCELLED: (),
}

STATE_NAMES = names.SONG_STATE_NAMES  # lazy strings: str() them where they are shown

# Which fields can be edited (update_song) in each state. Due date: directly only
# while planned; afterwards through a due-date change request.
EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    PLANNED: ("artist_id", "album_id", "municipality_id", "scope", "planned_start", "due_date"),
    IN_PROGRESS: ("scope", "diagnosis", "action_plan"),
    DELIVERED: ("scope", "diagnosis", "action_plan", "product", "beneficiaries"),
    RETURNED: ("scope", "diagnosis", "action_plan", "product", "beneficiaries"),
    REVIEWED: (),
    CANCELLED: (),
}
# After «planeada» the committed due date changes only through a due-date change request: an
# edit may repeat it unchanged (API clients send whole objects); a new value is refused with
# the way to ask for it (``_edited_values``).
THROUGH_REQUEST = ("due_date",)

# Every field a person can see change in the audit trail.
AUDITED_FIELDS = [
    "state",
    "season_id",
    "label_id",
    "artist_id",
    "album_id",
    "municipality_id",
    "department_id",
    "scope",
    "planned_start",
    "due_date",
    "diagnosis",
    "action_plan",
    "delivered_on",
    "product",
    "beneficiaries",
    "return_comment",
    "cancel_reason",
    "late_business_days",
    "timeliness",
    "equity",
    "points",
]

FIELD_NAMES = names.SONG_FIELD_NAMES


def today() -> date:
    """Today's date in Colombia (times are stored in UTC, days are Bogotá days)."""
    return calendar.today()


# --------------------------------------------------------------------------- parsing


def parse_date(value: Any, field: str, errors: dict[str, list[str]], *, required: bool = True) -> date | None:
    """A ``date`` from a date or an ISO ``YYYY-MM-DD`` string; records an error otherwise."""
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("Este campo es obligatorio."))
        return None
    parsed: date | None = None
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and len(value.strip()) == 10:
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if parsed is None:
        errors.setdefault(field, []).append(_("Fecha no válida; use el formato AAAA-MM-DD."))
    elif not plausible_date(parsed):
        errors.setdefault(field, []).append(
            _(
                "Fecha fuera del rango admitido (%(low)s a %(high)s).",
                low=f"{DATE_MIN:%d/%m/%Y}",
                high=f"{DATE_MAX:%d/%m/%Y}",
            )
        )
        parsed = None
    return parsed


def parse_int(
    value: Any, field: str, errors: dict[str, list[str]], *, required: bool = True, minimum: int | None = None
) -> int | None:
    """An int from an int or a numeric string (never a bool or a float with decimals)."""
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append(_("Este campo es obligatorio."))
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        number = ascii_int(value, maximum=10**12)
    if number is None:
        errors.setdefault(field, []).append(_("Debe ser un número entero."))
        return None
    if minimum is not None and number < minimum:
        errors.setdefault(field, []).append(_("Debe ser mayor o igual que %(minimum)s.", minimum=minimum))
        return None
    if abs(number) > 2_000_000_000:
        errors.setdefault(field, []).append(_("El número es demasiado grande."))
        return None
    return number


def parse_text(value: Any, field: str, errors: dict[str, list[str]], *, required: bool = True) -> str | None:
    """Trimmed text (``None`` when empty and optional)."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        errors.setdefault(field, []).append(_("Debe ser texto."))
        return None
    if not text:
        if required:
            errors.setdefault(field, []).append(_("Este campo es obligatorio."))
        return None
    problems = song_rules.check_text(field, text, required=required)
    if problems:
        _add(errors, problems)
        return None
    return text


def _beneficiaries(value: Any, errors: dict[str, list[str]]) -> int | None:
    number = parse_int(value, "beneficiaries", errors)
    problems = song_rules.check_beneficiaries(number, required=False) if number is not None else []
    _add(errors, problems)
    return None if problems else number


def _add(errors: dict[str, list[str]], problems: list[song_rules.Problem]) -> None:
    """Merge song_rules problems into a ``{field: [message, ...]}`` dict."""
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.message)


def _is_coordinator(actor: Any) -> bool:
    return permissions.is_coordinator(actor)


def _raise_if(errors: dict[str, list[str]], message: str = _("Revise los datos marcados.")) -> None:
    if errors:
        raise ValidationFailed(message, errors)


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None)


def _snapshot(song: Song) -> dict[str, Any]:
    return audit.snapshot(song, AUDITED_FIELDS)


CONCURRENT_CHANGE = _l(
    "Otra persona modificó esta canción al mismo tiempo. Revise los valores actuales e intente de nuevo."
)


@contextmanager
def concurrent_write(song: Song, seen_version: int | None, data: dict[str, Any] | None = None):
    """Run a write of ``song`` and flush it; if another request changed the song meanwhile (its
    version moved on: SQLAlchemy's StaleDataError, from this flush or any autoflush inside),
    roll back and raise a 409 Conflict saying what changed, on SQLite and PostgreSQL (issue 19).

    ``seen_version`` is the version the client saw (``version`` in the request), or the one
    this request loaded when the client sent none.
    """
    song_id = song.id
    try:
        yield
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        current = db.session.get(Song, song_id)
        if current is None:
            raise NotFound(_("La canción ya no existe.")) from None
        raise Conflict(CONCURRENT_CHANGE, _changed_since(current, seen_version or 1, data)) from None


def require_version(song: Song, expected_version: int | None, data: dict[str, Any] | None = None) -> None:
    """A client that saw ``expected_version`` of a song that has moved on gets a 409 listing what
    changed (issue 19), never a silent overwrite; ``None`` means the client sent no version."""
    if expected_version is not None and expected_version != song.version:
        raise Conflict(CONCURRENT_CHANGE, _changed_since(song, expected_version, data))


def _record(action: str, song: Song, actor: Any, changes: dict[str, Any], ip: str | None = None) -> None:
    audit.record(action, "song", song.id, actor_id=_actor_id(actor), changes=changes, ip=ip)


# --------------------------------------------------------------------------- reference look-ups


def _artist(artist_id: int | None, errors: dict[str, list[str]]) -> Artist | None:
    if artist_id is None:
        return None
    artist = db.session.get(Artist, artist_id)
    if artist is None or not artist.active:
        errors.setdefault("artist_id", []).append(_("El artista (equipo) no existe o está inactivo."))
        return None
    return artist


def _album(album_id: int | None, errors: dict[str, list[str]]) -> Album | None:
    if album_id is None:
        return None
    album = db.session.get(Album, album_id)
    if album is None or not album.active:
        errors.setdefault("album_id", []).append(_("El álbum (línea temática) no existe o está inactivo."))
        return None
    return album


def _municipality(municipality_id: int | None, errors: dict[str, list[str]]) -> Municipality | None:
    if municipality_id is None:
        return None
    municipality = db.session.get(Municipality, municipality_id)
    if municipality is None:
        errors.setdefault("municipality_id", []).append(_("El municipio no existe."))
    return municipality


def require_can_plan_for_artist(actor: Any, artist_id: Any) -> None:
    """403 unless ``actor`` may plan songs for this artist's label: asked before the duplicate
    warning, so a refusal is never shown as a warning about someone else's songs."""
    artist = db.session.get(Artist, artist_id) if isinstance(artist_id, int) else None
    if artist is not None:
        permissions.require(
            permissions.can_create_song_for_label(actor, artist.label_id),
            _("Solo puede registrar canciones de los artistas (equipos) de su propia disquera."),
        )


def _check_territory(actor: Any, artist: Artist, municipality: Municipality, errors: dict[str, list[str]]) -> None:
    """Territorial users plan for their own label's artists (403 otherwise); for everyone the
    municipality lies in a department of the artist's label (song_rules.check_territory)."""
    permissions.require(
        permissions.can_create_song_for_label(actor, artist.label_id),
        _("Solo puede registrar canciones de los artistas (equipos) de su propia disquera."),
    )
    department = db.session.get(Department, municipality.department_id)
    _add(
        errors,
        song_rules.check_territory(
            actor_role=getattr(actor, "role", None),
            actor_label_id=getattr(actor, "label_id", None),
            artist_label_id=artist.label_id,
            municipality_label_id=department.label_id if department else None,
        ),
    )


# --------------------------------------------------------------------------- create / duplicates


def duplicate_warning(
    municipality_id: int, album_id: int | None, planned_start: date, exclude_id: int | None = None
) -> list[Song]:
    """Songs on the same municipality starting within 90 days, any album, cancelled ones included
    (DESIGN.md §3). ``album_id`` is kept for the callers; it no longer narrows the warning.

    A warning only: the UI asks to confirm, the API returns it in ``warnings``, the reviewer sees it.
    """
    if not plausible_date(planned_start):
        return []  # the date itself is refused by the validation (parse_date)
    first, last = song_rules.duplicate_window(planned_start)
    stmt = (
        select(Song)
        .where(
            Song.municipality_id == municipality_id,
            Song.planned_start >= first,
            Song.planned_start <= last,
        )
        .order_by(Song.planned_start, Song.id)
        .limit(20)
    )
    if exclude_id is not None:
        stmt = stmt.where(Song.id != exclude_id)
    return list(db.session.scalars(stmt))


def _replaced_song(value: Any, label_id: int, errors: dict[str, list[str]]) -> Song | None:
    """The cancelled song of the same label that a re-planned song replaces (optional)."""
    if value in (None, ""):
        return None
    song_id = parse_int(value, "replaces_id", errors)
    if song_id is None:
        return None
    replaced = db.session.get(Song, song_id) if 0 < song_id <= MAX_ID else None
    if replaced is None or replaced.label_id != label_id or replaced.state != CANCELLED:
        errors.setdefault("replaces_id", []).append(_("Solo se reemplaza una canción cancelada de la misma disquera."))
        return None
    return replaced


def create_song(actor: Any, data: dict[str, Any], *, ip: str | None = None) -> Song:
    """Plan a new song (state ``planned``). DESIGN.md §1 (own label only), §3, §4 (season by due date).

    ``data``: artist_id, album_id, municipality_id, scope, planned_start, due_date.
    Flushes (the song gets its id); the caller commits.
    """
    permissions.require(
        permissions.can_plan_songs(actor),
        _("Su rol no permite registrar canciones (solo lectura)."),
    )
    errors: dict[str, list[str]] = {}
    artist_id = parse_int(data.get("artist_id"), "artist_id", errors)
    album_id = parse_int(data.get("album_id"), "album_id", errors)
    municipality_id = parse_int(data.get("municipality_id"), "municipality_id", errors)
    scope = parse_text(data.get("scope"), "scope", errors)
    planned_start = parse_date(data.get("planned_start"), "planned_start", errors)
    due_date = parse_date(data.get("due_date"), "due_date", errors)
    artist = _artist(artist_id, errors)
    album = _album(album_id, errors)
    municipality = _municipality(municipality_id, errors)
    _raise_if(errors)
    # Who may plan for this label is asked before any date rule: a refusal stays a 403.
    _check_territory(actor, artist, municipality, errors)
    _add(
        errors,
        song_rules.check_due_date(
            planned_start, due_date, max_duration_days=album.max_duration_days, coordinator=_is_coordinator(actor)
        ),
    )
    replaces = _replaced_song(data.get("replaces_id"), artist.label_id, errors)
    _raise_if(errors)
    season = terms.season_for(due_date)

    song = Song(
        season=season,
        label_id=artist.label_id,
        artist=artist,
        album=album,
        municipality=municipality,
        department_id=municipality.department_id,
        state=PLANNED,
        scope=scope,
        planned_start=planned_start,
        due_date=due_date,
        created_by_id=_actor_id(actor),
        replaces_id=replaces.id if replaces is not None else None,
    )
    db.session.add(song)
    terms.refresh_song_terms(song)
    db.session.flush()
    _record("song_created", song, actor, {k: [None, v] for k, v in _snapshot(song).items() if v is not None}, ip)
    return song


# --------------------------------------------------------------------------- update


def _changed_since(song: Song, expected_version: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fields changed by others since ``expected_version`` with their current values.

    Read from the audit trail (song events carry ``version``); when the change came
    from elsewhere (e.g. a review), the fields the user submitted that differ from
    the current values are listed instead.
    """
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "song", AuditEvent.entity_id == song.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    fields: list[str] = []
    who: list[str] = []
    for event in events:
        version = (event.changes or {}).get("version")
        if not isinstance(version, list) or len(version) != 2 or not isinstance(version[1], int):
            continue
        if version[1] <= expected_version:
            continue
        for field in event.changes:
            if field in FIELD_NAMES and field not in fields:
                fields.append(field)
        if event.actor is not None and event.actor.name not in who:
            who.append(event.actor.name)
    current = _snapshot(song)
    if not fields and data:
        fields = [k for k in data if k in current and str(current[k]) != str(data[k])]
    return {
        "expected_version": expected_version,
        "current_version": song.version,
        "changed_by": who,
        "fields": {f: current.get(f) for f in fields},
    }


def update_song(
    actor: Any,
    song: Song,
    data: dict[str, Any],
    expected_version: int | None = None,
    *,
    ip: str | None = None,
) -> Song:
    """Edit the fields allowed in the song's current state (DESIGN.md §3).

    A due-date change after ``planned`` is refused here: it needs a due-date change
    request approved by a coordinator. With ``expected_version`` (optimistic
    locking) a song changed by someone else raises Conflict listing what changed.
    Keys present in ``data`` are applied; absent keys are left alone.
    """
    _check_editable(actor, song, data, expected_version)
    values = {k: v for k, v in _edited_values(song, data).items() if getattr(song, k) != v}
    if not values:
        return song
    artist, album, municipality = _check_edit(actor, song, values)

    before = _snapshot(song)
    before_version = song.version
    with concurrent_write(song, expected_version or before_version, data):
        if "due_date" in values:
            song.season = terms.season_for(values["due_date"])
        song.artist = artist
        song.label_id = artist.label_id
        song.album = album
        song.municipality = municipality
        song.department_id = municipality.department_id
        for key in ("scope", "planned_start", "due_date", "diagnosis", "action_plan", "product", "beneficiaries"):
            if key in values:
                setattr(song, key, values[key])
        terms.refresh_song_terms(song)
    changes = audit.changes_between(before, _snapshot(song))
    changes["version"] = [before_version, song.version]
    _record("song_updated", song, actor, changes, ip)
    return song


def _check_editable(actor: Any, song: Song, data: dict[str, Any], expected_version: int | None) -> None:
    """The actor may edit the song, nobody changed it since ``expected_version``, every key may change now."""
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    if expected_version is not None and expected_version != song.version:
        raise Conflict(
            _("Otra persona modificó esta canción mientras usted la editaba. Revise los valores actuales."),
            _changed_since(song, expected_version, data),
        )
    allowed = EDITABLE_FIELDS.get(song.state, ())
    if not allowed:
        raise ValidationFailed(
            _("Una canción %(state)s ya no se puede modificar.", state=names.song_state_name(song.state)),
            {"state": [song.state]},
        )
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in FIELD_NAMES and key != "version":
            errors.setdefault(key, []).append(_("Campo desconocido."))
    for key in data:
        if key in FIELD_NAMES and key not in allowed and key not in THROUGH_REQUEST:
            errors.setdefault(key, []).append(
                _("No se puede cambiar en estado «%(state)s».", state=names.song_state_name(song.state))
            )
    _raise_if(errors)


def _edited_values(song: Song, data: dict[str, Any]) -> dict[str, Any]:
    """The parsed values of the keys in ``data`` (422 with every unreadable one)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for key in ("artist_id", "album_id", "municipality_id"):
        if key in data:
            values[key] = parse_int(data[key], key, errors)
    for key in ("planned_start", "due_date"):
        if key in data:
            values[key] = parse_date(data[key], key, errors)
    for key in ("scope", "diagnosis", "action_plan", "product"):
        if key in data:
            values[key] = parse_text(data[key], key, errors, required=key not in ("diagnosis", "action_plan"))
    if "beneficiaries" in data:
        values["beneficiaries"] = _beneficiaries(data["beneficiaries"], errors)
    _raise_if(errors)
    if "due_date" in values and values["due_date"] != song.due_date and song.state != PLANNED:
        raise ValidationFailed(
            _(
                "Después de «planeada» la fecha de compromiso solo cambia con una solicitud de cambio "
                "aprobada por la coordinación. Use «Solicitar cambio de fecha»."
            ),
            {"due_date": [_("Use una solicitud de cambio de fecha de compromiso.")]},
        )
    return values


def _check_edit(actor: Any, song: Song, values: dict[str, Any]) -> tuple[Artist, Album, Municipality]:
    """The song's artist, album and municipality after the edit, once the rules accept them."""
    errors: dict[str, list[str]] = {}
    artist = _artist(values["artist_id"], errors) if "artist_id" in values else song.artist
    album = _album(values["album_id"], errors) if "album_id" in values else song.album
    municipality = (
        _municipality(values["municipality_id"], errors) if "municipality_id" in values else song.municipality
    )
    _raise_if(errors)
    if {"planned_start", "due_date", "album_id"} & set(values):
        _add(
            errors,
            song_rules.check_due_date(
                values.get("planned_start", song.planned_start),
                values.get("due_date", song.due_date),
                max_duration_days=album.max_duration_days,
                coordinator=_is_coordinator(actor),
            ),
        )
    _raise_if(errors)
    if "artist_id" in values or "municipality_id" in values:
        _check_territory(actor, artist, municipality, errors)
        if artist.label_id != song.label_id:
            permissions.require(
                permissions.is_coordinator(actor),
                _("Solo la coordinación puede pasar una canción a otra disquera."),
            )
        _raise_if(errors)
    return artist, album, municipality


# --------------------------------------------------------------------------- transitions

TRANSITION_FIELDS = (
    "diagnosis",
    "action_plan",
    "delivered_on",
    "product",
    "beneficiaries",
    "reason",
    "cancel_reason",
    "comment",
    "return_comment",
    # the municipal contact, at delivery (app.domain.surveys.clean_contact)
    "contact_name",
    "contact_position",
    "contact_email",
    "contact_phone",
    # a declared delivery date before the declaration window, asked of the coordination (§3)
    "request_earlier",
)


def allowed_transitions(song: Song) -> tuple[str, ...]:
    return TRANSITIONS.get(song.state, ())


def _state_list(states: tuple[str, ...]) -> str:
    return ", ".join(f"«{names.song_state_name(s)}» ({s})" for s in states) or str(_("ninguno"))


def transition_song(
    actor: Any,
    song: Song,
    to: str,
    *,
    ip: str | None = None,
    expected_version: int | None = None,
    recorded_at: datetime | None = None,
    **fields: Any,
) -> Song:
    """Move a song along its life (DESIGN.md §3).

    - planned → in_progress: ``diagnosis`` (required), ``action_plan`` (optional).
    - in_progress → delivered, returned → delivered: ``delivered_on`` (not in the future,
      not before the planned start), ``product`` (required; kept from the previous
      delivery when re-delivering), ``beneficiaries`` (≥ 0, required), and at least
      one evidence file. Issues the survey link the first time.
    - delivered → returned: delegated to ``app.domain.reviews.return_song`` (coordinator).
    - any state before reviewed → cancelled: ``reason`` required.
    - → reviewed: only through the review endpoint.

    ``recorded_at`` (aware) is when a delivery was recorded on a device offline (issue 22): its
    declaration window counts from it within a bounded sync delay (``song_rules.recording_day``).

    Concurrency (issue 19): with ``expected_version`` a song changed since is a 409 listing
    what changed; a transition to the state the song is already in (someone else just made
    it) and a write that loses a race are 409 too.
    """
    if not isinstance(to, str) or to not in STATE_NAMES:
        raise ValidationFailed(
            _("Estado de destino desconocido."),
            {"to": [_("Use uno de: %(states)s.", states=", ".join(STATE_NAMES))]},
        )
    if to == REVIEWED:
        raise ValidationFailed(
            _("Una canción pasa a «revisada» solo cuando la coordinación registra la revisión (rúbrica)."),
            {"to": [_("Use la revisión de la coordinación (POST /api/v1/songs/ID/review).")]},
        )
    if to == RETURNED:
        # One rule, one place: reviews.return_song decides (who may return, from which state,
        # and the 409 for a song that is not delivered), whichever path the request took.
        permissions.require(permissions.can_view_song(actor, song), _("No puede ver esta canción."))
        from app.domain import reviews  # reviews imports lifecycle: imported here

        comment = fields.get("comment") or fields.get("return_comment")
        return reviews.return_song(actor, song, comment, ip=ip)
    _check_transition(actor, song, to, expected_version, fields)

    before = _snapshot(song)
    before_version = song.version
    earlier = None  # an earlier delivery date the team asks the coordination to approve
    with concurrent_write(song, expected_version or before_version, fields):
        if to == IN_PROGRESS:
            _start(song, fields)
        elif to == DELIVERED:
            earlier = _deliver(actor, song, fields, recorded_at)
        elif to == CANCELLED:
            _cancel(song, fields)
        song.state = to
        terms.refresh_song_terms(song)
    changes = audit.changes_between(before, _snapshot(song))
    changes["version"] = [before_version, song.version]
    if recorded_at is not None and to == DELIVERED:
        changes["recorded_on_device"] = [None, recorded_at.isoformat()]
    _record("song_transition", song, actor, changes, ip)
    due_dates.close_pending_of_final_song(song, actor, ip)  # cancelled: nothing left to decide
    if to == DELIVERED:
        _after_delivery(actor, song, earlier, ip)
    return song


def _check_transition(actor: Any, song: Song, to: str, expected_version: int | None, fields: dict[str, Any]) -> None:
    """The actor may move the song, nobody moved it since, and ``to`` follows from its state."""
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    require_version(song, expected_version, fields)
    if to == song.state:
        raise Conflict(
            _(
                "La canción ya está «%(state)s»: otra persona acaba de hacer este cambio.",
                state=names.song_state_name(to),
            ),
            _changed_since(song, max(1, song.version - 1)),
        )
    allowed = tuple(s for s in allowed_transitions(song) if s != REVIEWED)
    if to not in allowed:
        raise ValidationFailed(
            _(
                "No se puede pasar de «%(current)s» a «%(to)s». Desde «%(current)s» se permite: %(allowed)s.",
                current=names.song_state_name(song.state),
                to=names.song_state_name(to),
                allowed=_state_list(allowed),
            ),
            {
                "to": [
                    _(
                        "Estado actual: %(state)s; permitidos: %(allowed)s.",
                        state=song.state,
                        allowed=", ".join(allowed) or _("ninguno"),
                    )
                ]
            },
        )


def _start(song: Song, fields: dict[str, Any]) -> None:
    """planned → in_progress: the diagnosis, and the due date is committed."""
    errors: dict[str, list[str]] = {}
    diagnosis = parse_text(fields.get("diagnosis"), "diagnosis", errors)
    action_plan = parse_text(fields.get("action_plan"), "action_plan", errors, required=False)
    _raise_if(errors)
    song.diagnosis = diagnosis
    if action_plan is not None:
        song.action_plan = action_plan
    song.committed_due = song.due_date  # timeliness is measured against it from now on


def _deliver(actor: Any, song: Song, fields: dict[str, Any], recorded_at: datetime | None) -> date | None:
    """→ delivered: date, product, beneficiaries, evidence, contact; the earlier date to approve, if any."""
    from app.domain.surveys import clean_contact, issue_survey_nonce

    errors: dict[str, list[str]] = {}
    delivered_on = parse_date(fields.get("delivered_on"), "delivered_on", errors)
    product_raw = fields.get("product")
    if product_raw in (None, "") and song.state == RETURNED:
        product_raw = song.product
    product = parse_text(product_raw, "product", errors)
    beneficiaries_raw = fields.get("beneficiaries")
    if beneficiaries_raw in (None, "") and song.state == RETURNED:
        beneficiaries_raw = song.beneficiaries
    beneficiaries = _beneficiaries(beneficiaries_raw, errors)
    recorded_on, clock_problems = song_rules.recording_day(recorded_at, today=today(), now=utcnow())
    _add(errors, clock_problems)
    delivered_on, earlier, problems = _delivery_date(
        actor, song, delivered_on, fields.get("request_earlier"), recorded_on
    )
    _add(errors, problems)
    if not song.evidence:
        errors.setdefault("evidence", []).append(
            _("Adjunte al menos una evidencia (acta, fotos o PDF) antes de entregar.")
        )
    contact = clean_contact(fields, errors)
    _raise_if(errors, _("No se puede registrar la entrega: revise los datos marcados."))
    for key, value in contact.items():
        if value is not None:  # a re-delivery keeps the contact on record unless a new one is given
            setattr(song, key, value)
    song.delivered_on = delivered_on
    song.delivered_by_id = _actor_id(actor)
    song.declared_lag_days = max(0, business_days_between(delivered_on, today()))
    song.product = product
    song.beneficiaries = beneficiaries
    if delivered_on < song.planned_start:
        song.planned_start = delivered_on  # the work started earlier than planned (audited)
    if song.committed_due is None:
        song.committed_due = song.due_date
    if song.survey_nonce is None:
        issue_survey_nonce(song)
    return earlier


def _cancel(song: Song, fields: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    reason = parse_text(fields.get("reason") or fields.get("cancel_reason"), "reason", errors)
    _raise_if(errors, _("Indique el motivo de la cancelación."))
    song.cancel_reason = reason
    song.cancelled_on = today()
    # After the committed due date a cancellation counts as late (T = 0) unless a
    # coordinator approves it (approve_late_cancellation).
    song.cancelled_late = song_rules.cancelled_late(song.committed_due or song.due_date, today())


def _after_delivery(actor: Any, song: Song, earlier: date | None, ip: str | None) -> None:
    """A delivered song goes in turn to an eligible coordinator (DESIGN.md §9); an earlier date to approve waits."""
    from app.domain import four_eyes
    from app.domain.review_queue import assign_reviewer

    assign_reviewer(song, actor=actor, ip=ip)
    db.session.flush()
    if earlier is not None:
        payload = {"declared": earlier.isoformat(), "recorded_on": song.delivered_on.isoformat()}
        four_eyes.request("earlier_delivery", actor, song=song, payload=payload, ip=ip)


def _delivery_date(actor: Any, song: Song, delivered_on: date | None, request_earlier: Any, recorded_on: date):
    """``(date recorded, earlier date asked for or None, problems)`` for a delivery (DESIGN.md §3).

    A declared date before the season's declaration window (counted back from ``recorded_on``, the
    day the delivery counts as recorded) needs a coordinator's approval: a coordinator records it
    directly; a team that asks (``request_earlier``) has the delivery measured at ``recorded_on``,
    with the earlier date pending until a coordinator approves it (``four_eyes`` kind
    ``earlier_delivery``); otherwise it is refused."""
    rules = {
        "today": recorded_on,
        "window_days": song.season.declaration_window_days,
        "returned_on": song.returned_on if song.state == RETURNED else None,
    }
    problems = song_rules.check_delivery_date(delivered_on, coordinator=_is_coordinator(actor), **rules)
    asked = request_earlier is True or str(request_earlier).strip().lower() in ("1", "true", "on", "y", "yes")
    if problems and asked and not song_rules.check_delivery_date(delivered_on, coordinator=True, **rules):
        return recorded_on, delivered_on, []  # only the window stood in the way
    return delivered_on, None, problems


def pending_earlier_delivery(song: Song):
    """The earlier delivery date a team asked for, waiting for a coordinator, if any."""
    from app.domain import four_eyes

    return four_eyes.pending_for(song, "earlier_delivery") if song.delivered_on is not None else None


def _apply_earlier_delivery(confirmer: Any, change) -> None:
    """A coordinator approved the earlier delivery date the team declared: the song is measured
    at it from now on (audited, with who asked and who approved)."""
    song = change.song
    payload = change.payload or {}
    if (
        song is None
        or song.state not in (DELIVERED, REVIEWED)
        or song.delivered_on is None
        or song.delivered_on.isoformat() != payload.get("recorded_on")
    ):
        raise Conflict(
            _(
                "La canción cambió desde la solicitud (devuelta, cancelada o entregada de nuevo): la fecha anterior "
                "ya no se puede aplicar."
            )
        )
    declared = date.fromisoformat(payload["declared"])
    before = _snapshot(song)
    before_version = song.version
    song.delivered_on = declared
    song.declared_lag_days = max(0, business_days_between(declared, date.fromisoformat(payload["recorded_on"])))
    if declared < song.planned_start:
        song.planned_start = declared
    terms.refresh_song_terms(song)
    db.session.flush()
    changes = audit.changes_between(before, _snapshot(song))
    changes["version"] = [before_version, song.version]
    changes["confirmed_by"] = [None, confirmer.id]
    _record("delivery_date_approved", song, change.requested_by, changes, None)


# --------------------------------------------------------------------------- due-date changes

# Refused once the song is delivered (DESIGN.md §3): a returned song was delivered too.
DUE_CHANGE_STATES = (IN_PROGRESS,)


def pending_due_date_change(song: Song) -> DueDateChange | None:
    if song.state not in DUE_CHANGE_STATES:  # reviewed or cancelled: nothing left to decide
        return None
    return db.session.scalar(
        select(DueDateChange).where(DueDateChange.song_id == song.id, DueDateChange.status == "pending")
    )


def request_due_date_change(
    actor: Any, song: Song, proposed_due: Any, reason: Any, *, ip: str | None = None
) -> DueDateChange:
    """Ask a coordinator to move the due date of a song past ``planned`` (DESIGN.md §3)."""
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    if song.state == PLANNED:
        raise ValidationFailed(
            _("Mientras la canción está planeada, la fecha de compromiso se cambia editándola directamente."),
            {"proposed_due": [_("Edite la canción.")]},
        )
    if song.state not in DUE_CHANGE_STATES:
        raise ValidationFailed(
            _(
                "Una canción %(state)s no admite cambios de fecha de compromiso.",
                state=names.song_state_name(song.state),
            ),
            {"proposed_due": [_("Estado actual: %(state)s.", state=song.state)]},
        )
    errors: dict[str, list[str]] = {}
    proposed = parse_date(proposed_due, "proposed_due", errors)
    text = parse_text(reason, "reason", errors)
    if proposed is not None:
        if proposed == song.due_date:
            errors.setdefault("proposed_due", []).append(_("Es la misma fecha de compromiso actual."))
        else:
            # The coordinator's approval covers a date past the album's maximum duration.
            for problem in song_rules.check_due_date(song.planned_start, proposed, coordinator=True):
                errors.setdefault("proposed_due", []).append(problem.message)
    _raise_if(errors)
    terms.season_for(proposed)  # a season must exist for the new date
    if pending_due_date_change(song) is not None:
        raise Conflict(
            _("Ya hay una solicitud de cambio de fecha pendiente para esta canción."),
            {"proposed_due": [_("Espere la decisión de la coordinación.")]},
        )
    change = DueDateChange(
        song=song,
        requested_by_id=_actor_id(actor),
        previous_due=song.due_date,
        proposed_due=proposed,
        reason=text,
        status="pending",
    )
    db.session.add(change)
    db.session.flush()
    _record(
        "due_date_change_requested",
        song,
        actor,
        {"due_date_change": [None, change.id], "proposed_due": [song.due_date, proposed], "reason": [None, text]},
        ip,
    )
    return change


def get_due_date_change(change_id: int) -> DueDateChange:
    change = db.session.get(DueDateChange, change_id) if 0 < change_id <= MAX_ID else None
    if change is None:
        raise NotFound(_("La solicitud de cambio de fecha no existe."))
    return change


def decide_due_date_change(
    actor: Any, change: DueDateChange, approve: bool, comment: Any = None, *, ip: str | None = None
) -> DueDateChange:
    """A coordinator approves or rejects a due-date change (DESIGN.md §3).

    On approval the song's due date (and season, if the year changes) is updated
    and its scoring terms re-stored. Both the decision and the song change are audited.
    """
    permissions.refuse_if(permissions.due_date_decision_refusal(actor, change))
    if change.status != "pending":
        raise Conflict(_("Esta solicitud ya fue decidida."), {"status": [change.status]})
    errors: dict[str, list[str]] = {}
    note = parse_text(comment, "comment", errors, required=not approve)
    _raise_if(errors, _("Explique el motivo del rechazo."))
    song = change.song
    change.status = "approved" if approve else "rejected"
    change.decided_by_id = _actor_id(actor)
    change.decided_at = utcnow()
    change.decision_comment = note
    audit.record(
        "due_date_change_decided",
        "due_date_change",
        change.id,
        actor_id=_actor_id(actor),
        changes={"status": ["pending", change.status], "comment": [None, note]},
        ip=ip,
    )
    if approve:
        if song.state not in DUE_CHANGE_STATES:
            raise ValidationFailed(
                _(
                    "La canción ya está %(state)s; no se puede cambiar su fecha.",
                    state=names.song_state_name(song.state),
                ),
                {"status": [song.state]},
            )
        before = _snapshot(song)
        before_version = song.version
        song.due_date = change.proposed_due
        song.committed_due = change.proposed_due  # an approved change moves the commitment
        song.season = terms.season_for(change.proposed_due)
        terms.refresh_song_terms(song)
        db.session.flush()
        changes = audit.changes_between(before, _snapshot(song))
        changes["version"] = [before_version, song.version]
        changes["due_date_change"] = [change.id, "approved"]
        _record("due_date_change_approved", song, actor, changes, ip)
    else:
        db.session.flush()
        _record(
            "due_date_change_rejected",
            song,
            actor,
            {"due_date_change": [change.id, "rejected"], "proposed_due": [change.proposed_due, None]},
            ip,
        )
    return change


# --------------------------------------------------------------------------- late cancellations


def approve_late_cancellation(actor: Any, song: Song, reason: Any, comment: Any = None, *, ip: str | None = None):
    """A coordinator approves a late cancellation as not the team's doing (DESIGN.md §3), with
    ``reason`` from song_rules.LATE_CANCEL_REASONS. It moves the board after the fact, so it is
    four eyes (§9): this records a pending ``late_cancellation`` change (returned) and nothing
    changes until a second coordinator confirms it (``four_eyes.decide``); the song then counts
    nowhere instead of late. Whoever may review the song may ask (never its home directorate,
    its planner or deliverer). Flushes, never commits."""
    from app.domain import four_eyes

    note = _check_late_cancellation(actor, song, reason, comment)
    return four_eyes.request("late_cancellation", actor, song=song, payload={"reason": reason, "comment": note}, ip=ip)


def _check_late_cancellation(actor: Any, song: Song, reason: Any, comment: Any) -> str | None:
    permissions.refuse_if(permissions.late_cancellation_refusal(actor, song))
    if song.state != CANCELLED or not song.cancelled_late:
        raise Conflict(
            _("Solo se aprueba una canción cancelada después de su fecha de compromiso."),
            {"state": [song.state]},
        )
    if song.late_cancel_reason is not None:
        raise Conflict(_("Esta cancelación tardía ya fue aprobada."), {"reason": [song.late_cancel_reason]})
    errors: dict[str, list[str]] = {}
    _add(errors, song_rules.check_late_cancel_reason(reason))
    note = parse_text(comment, "comment", errors, required=False)
    _raise_if(errors, _("Revise los datos marcados."))
    return note


def _apply_late_cancellation(confirmer: Any, change) -> None:
    """Four eyes confirmed: the late cancellation asked by ``change.requested_by`` is approved now."""
    song = change.song
    if song is None:
        raise Conflict(_("La canción ya no existe."))
    requester = change.requested_by
    reason, comment = change.payload.get("reason"), change.payload.get("comment")
    _check_late_cancellation(requester, song, reason, comment)  # still true when confirmed
    before = _snapshot(song) | {"late_cancel_reason": None}
    before_version = song.version
    song.late_cancel_reason = reason
    song.late_cancel_approved_by_id = requester.id
    terms.refresh_song_terms(song)
    db.session.flush()
    changes = audit.changes_between(before, _snapshot(song) | {"late_cancel_reason": reason})
    changes["version"] = [before_version, song.version]
    changes["comment"] = [None, comment]
    changes["confirmed_by"] = [None, confirmer.id]
    _record("late_cancellation_approved", song, requester, changes, None)


def pending_late_cancellation(song: Song):
    """The late-cancellation approval waiting for a second coordinator, if any."""
    from app.domain import four_eyes

    return four_eyes.pending_for(song, "late_cancellation") if song.cancelled_late else None


# --------------------------------------------------------------------------- reading


def get_song(actor: Any, song_id: int) -> Song:
    """The song if it exists (404) and the actor may see it (403)."""
    song = db.session.get(Song, song_id) if 0 < song_id <= MAX_ID else None
    if song is None:
        raise NotFound(_("La canción no existe."))
    if not permissions.can_view_song(actor, song):
        raise PermissionDenied(_("Esta canción es de otra disquera."))
    return song


def song_timeline(song: Song, limit: int = 200) -> list[AuditEvent]:
    """The song's audit events, most recent first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "song", AuditEvent.entity_id == song.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


def _register_four_eyes() -> None:
    from app.domain import four_eyes

    four_eyes.APPLY["late_cancellation"] = _apply_late_cancellation
    four_eyes.APPLY["earlier_delivery"] = _apply_earlier_delivery


_register_four_eyes()
