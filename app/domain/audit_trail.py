"""The audit trail as people read it (DESIGN.md §3: who, when, before, after).

``app.domain.audit`` writes events with codes and ids (``playlist_target_set``,
``{"label_id": [3, 3]}``); this module turns them into words for the song page's
history and the audit page: the action's name, the object's name, each change as
"field: before → after" with names instead of ids, and where the object lives (an
endpoint the view turns into a link). One place for both pages, so they read alike.

Respondents' personal data (Ley 1581 de 2012) and technical keys are never shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import format_date
from sqlalchemy import select

from app import numbers
from app.domain.names import SONG_STATE_NAMES, season_state_name, song_state_name
from app.domain.names import field_name as _field_name
from app.extensions import db
from app.i18n import _, _l
from app.models import (
    Album,
    Artist,
    AuditEvent,
    Department,
    DueDateChange,
    Label,
    Municipality,
    Playlist,
    Season,
    Song,
    Survey,
    User,
)
from app.models.accounts import ROLE_LABELS, Role

ACTION_NAMES = {
    "song_created": _l("Canción planeada"),
    "song_updated": _l("Datos modificados"),
    "song_transition": _l("Cambio de estado"),
    "songs_imported": _l("Canciones importadas"),
    "evidence_added": _l("Evidencia adjuntada"),
    "evidence_removed": _l("Evidencia eliminada"),
    "due_date_change_requested": _l("Solicitud de cambio de fecha"),
    "due_date_change_approved": _l("Cambio de fecha aprobado"),
    "due_date_change_rejected": _l("Cambio de fecha rechazado"),
    "due_date_change_decided": _l("Solicitud de cambio de fecha decidida"),
    "due_date_change_closed": _l("Solicitud de cambio de fecha cerrada (canción revisada o cancelada)"),
    "song_returned": _l("Devuelta por la coordinación"),
    "song_reviewed": _l("Revisada por la coordinación"),
    "review_corrected": _l("Revisión corregida"),
    "survey_answered": _l("Encuesta respondida a través del enlace"),
    "survey_validated": _l("Encuesta retenida validada por la coordinación"),
    "survey_discarded": _l("Encuesta retenida descartada: el enlace vuelve a quedar abierto"),
    "review_assigned": _l("Revisión asignada"),
    "review_reassigned": _l("Revisión reasignada"),
    "change_pending": _l("Cambio pendiente de una segunda persona (cuatro ojos)"),
    "change_confirmed": _l("Cambio confirmado por una segunda persona"),
    "change_rejected": _l("Cambio rechazado por una segunda persona"),
    "survey_link_issued": _l("Enlace de encuesta generado"),
    "survey_link_regenerated": _l("Enlace de encuesta renovado"),
    "surveys_anonymised": _l("Encuestas anonimizadas"),
    "song_terms_recomputed": _l("Puntajes de canciones recalculados"),
    "season_created": _l("Temporada creada"),
    "season_weights_changed": _l("Pesos de la temporada cambiados"),
    "album_created": _l("Álbum creado"),
    "album_updated": _l("Álbum modificado"),
    "artist_created": _l("Artista creado"),
    "artist_updated": _l("Artista modificado"),
    "playlist_target_set": _l("Meta fijada"),
    "delivery_date_approved": _l("Fecha de entrega anterior aprobada por la coordinación"),
    "late_cancellation_approved": _l("Cancelación tardía aprobada por la coordinación"),
    "song_corrected": _l("Canción corregida en una temporada cerrada"),
    "song_carried_over": _l("Canción trasladada a la temporada siguiente"),
    "song_cancelled_at_season_end": _l("Canción cancelada al cierre de la temporada"),
    "song_evidence_completed": _l("Evidencia completada: la canción importada ya cuenta"),
    "song_imported": _l("Canción importada"),
    "songs_import_failed": _l("Importación de canciones rechazada"),
    "season_opened": _l("Temporada abierta"),
    "season_drafts_confirmed": _l("Borradores de la temporada confirmados"),
    "season_state_changed": _l("Cambio de estado de la temporada"),
    "season_closed": _l("Temporada cerrada: listas finales"),
    "season_corrected": _l("Temporada cerrada corregida: listas finales recalculadas"),
    "categories_imported": _l("Categorías municipales importadas"),
    "need_weights_changed": _l("Pesos de la necesidad cambiados"),
    "indicators_imported": _l("Indicadores municipales importados"),
    "user_created": _l("Usuario creado"),
    "user_updated": _l("Usuario modificado"),
    "user_deactivated": _l("Usuario desactivado"),
    "user_reactivated": _l("Usuario reactivado"),
    "user_unlocked": _l("Usuario desbloqueado"),
    "account_locked": _l("Cuenta bloqueada por intentos fallidos"),
    "password_reset": _l("Contraseña temporal asignada"),
    "password_changed": _l("Contraseña cambiada"),
    "login": _l("Inicio de sesión"),
    "login_failed": _l("Inicio de sesión fallido"),
    "logout": _l("Cierre de sesión"),
    "api_token_issued": _l("Token de la API emitido"),
    "api_login_failed": _l("Acceso a la API fallido"),
}

ENTITY_NAMES = {
    "song": _l("Canción"),
    "songs": _l("Canciones"),
    "user": _l("Usuario"),
    "label": _l("Disquera"),
    "album": _l("Álbum"),
    "artist": _l("Artista"),
    "season": _l("Temporada"),
    "playlist": _l("Meta"),
    "survey": _l("Encuesta"),
    "due_date_change": _l("Cambio de fecha"),
    "municipal_indicator": _l("Indicador municipal"),
    "token": _l("Token"),
    "pending_change": _l("Cambio pendiente (cuatro ojos)"),
    "municipal_category": _l("Categorías municipales"),
    "need_weights": _l("Pesos de la necesidad"),
}


_STATUS_NAMES = {"pending": _l("pendiente"), "approved": _l("aprobada"), "rejected": _l("rechazada")}

# Technical keys, and never personal data of survey respondents (Ley 1581 de 2012).
HIDDEN_CHANGES = {
    "version",
    "evidence_id",
    "sha256",
    "size_bytes",
    "due_date_change",
    "pending_change",
    "final_snapshot",
    "respondent_name",
    "respondent_position",
    "channel",
    "next",
    "token_type",
    "expires_at",
}

# Keys whose values are ids of another object, shown by name.
_NAMED_IDS: dict[str, tuple[Any, str]] = {
    "artist_id": (Artist, "name"),
    "album_id": (Album, "name"),
    "municipality_id": (Municipality, "name"),
    "department_id": (Department, "name"),
    "label_id": (Label, "name"),
    "season_id": (Season, "year"),
    "user_id": (User, "name"),
    "reviewer_id": (User, "name"),
    "confirmed_by": (User, "name"),
    "teams": (Artist, "name"),  # a list of ids
}

# Keys whose values are ids of a song, shown as "#id".
_SONG_IDS = {"carried_over_to_id", "carried_over_from"}

# Where each kind of object is shown: (endpoint, argument name, only for admins).
_LINKS = {
    "song": ("songs.detail", "song_id", False),
    "user": ("admin.user_detail", "user_id", True),
    "label": ("charts.label", "label_id", False),
    "artist": ("charts.artist", "artist_id", False),
    "album": ("admin.edit_album", "album_id", True),
    "season": ("admin.edit_season", "season_id", True),
}


@dataclass
class Entry:
    """One event as read on screen."""

    event: AuditEvent
    title: str
    actor: str
    entity: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    link: tuple[str, dict[str, int]] | None = None


def action_name(action: str) -> str:
    """``playlist_target_set`` → "Meta fijada" (an unknown code still reads as words)."""
    name = ACTION_NAMES.get(action)
    return str(name) if name is not None else action.replace("_", " ").capitalize()


def entity_type_name(entity_type: str) -> str:
    name = ENTITY_NAMES.get(entity_type)
    return str(name) if name is not None else entity_type.replace("_", " ").capitalize()


def action_choices(actions: Iterable[str]) -> list[tuple[str, str]]:
    """(code, name) pairs for a filter, in the order of the names."""
    return sorted(((a, action_name(a)) for a in actions), key=lambda pair: pair[1].lower())


def entity_type_choices(types: Iterable[str]) -> list[tuple[str, str]]:
    return sorted(((t, entity_type_name(t)) for t in types), key=lambda pair: pair[1].lower())


def field_name(key: str) -> str:
    return _field_name(key)


def _pairs(changes: dict | None) -> Iterable[tuple[str, Any, Any]]:
    for key, pair in (changes or {}).items():
        if key in HIDDEN_CHANGES:
            continue
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        yield key, before, after


def _names_for(events: list[AuditEvent]) -> dict[str, dict[Any, str]]:
    """Readable names for the ids found in the events' changes, one query per kind."""
    wanted: dict[str, set[int]] = {k: set() for k in _NAMED_IDS}
    for event in events:
        for key, before, after in _pairs(event.changes):
            if key in _NAMED_IDS:
                for value in (before, after):
                    for v in value if isinstance(value, list) else [value]:
                        if isinstance(v, int) and not isinstance(v, bool):
                            wanted[key].add(v)
    names: dict[str, dict[Any, str]] = {}
    for key, ids in wanted.items():
        model, attr = _NAMED_IDS[key]
        rows = db.session.execute(select(model.id, getattr(model, attr)).where(model.id.in_(ids))) if ids else []
        names[key] = {row_id: str(value) for row_id, value in rows}
    return names


def _song_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = (
        select(Song.id, Municipality.name, Album.name)
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .where(Song.id.in_(ids))
    )
    return {song_id: f"#{song_id} · {muni} · {album}" for song_id, muni, album in db.session.execute(stmt)}


def _objects(events: list[AuditEvent]) -> dict[tuple[str, int], tuple[str, tuple[str, int] | None]]:
    """(entity type, id) → (name, (type, id) of the object to link to)."""
    by_type: dict[str, set[int]] = {}
    for event in events:
        if event.entity_id is not None:
            by_type.setdefault(event.entity_type, set()).add(event.entity_id)
    out: dict[tuple[str, int], tuple[str, tuple[str, int] | None]] = {}
    # Objects that belong to a song point to the song.
    song_of: dict[tuple[str, int], int] = {}
    for model, kind in ((DueDateChange, "due_date_change"), (Survey, "survey")):
        ids = by_type.get(kind)
        if ids:
            for object_id, song_id in db.session.execute(select(model.id, model.song_id).where(model.id.in_(ids))):
                song_of[(kind, object_id)] = song_id
    songs = _song_names(by_type.get("song", set()) | set(song_of.values()))
    for song_id, name in songs.items():
        out[("song", song_id)] = (name, ("song", song_id))
    for (kind, object_id), song_id in song_of.items():
        out[(kind, object_id)] = (songs.get(song_id, f"#{song_id}"), ("song", song_id))
    for kind, model, attr in (
        ("user", User, "name"),
        ("label", Label, "name"),
        ("album", Album, "name"),
        ("artist", Artist, "name"),
        ("season", Season, "year"),
    ):
        ids = by_type.get(kind)
        if ids:
            for object_id, value in db.session.execute(select(model.id, getattr(model, attr)).where(model.id.in_(ids))):
                out[(kind, object_id)] = (str(value), (kind, object_id))
    ids = by_type.get("playlist")
    if ids:
        stmt = (
            select(Playlist.id, Label.name, Album.name, Season.year)
            .join(Label, Label.id == Playlist.label_id)
            .outerjoin(Album, Album.id == Playlist.album_id)
            .join(Season, Season.id == Playlist.season_id)
            .where(Playlist.id.in_(ids))
        )
        for object_id, label, album, year in db.session.execute(stmt):
            out[("playlist", object_id)] = (f"{label} · {album or _('todas las líneas')} · {year}", None)
    return out


def show_value(key: str, value: Any, names: dict[str, dict[Any, str]] | None = None) -> str:
    """One value of a change, as a person reads it (names, dates, states, es-CO numbers)."""
    names = names or {}
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(show_value(key, v, names) for v in value)
    if key in names and value in names[key]:
        return names[key][value]
    if key in _NAMED_IDS and isinstance(value, int):
        return _("#%(id)s (ya no existe)", id=value)
    if key == "state":
        return song_state_name(value) if value in SONG_STATE_NAMES else season_state_name(value)
    if key == "kind":
        from app.domain.four_eyes import kind_name

        return kind_name(value)
    if key == "standing":
        from app.domain.charts import STATUS_NAMES

        return str(STATUS_NAMES.get(value, str(value).replace("_", " ")))
    if key in _SONG_IDS and isinstance(value, int):
        return f"#{value}"
    if key == "status":
        return str(_STATUS_NAMES.get(value, value))
    if key == "role":
        try:
            return str(_(ROLE_LABELS[Role(value)]))
        except (KeyError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return _("sí") if value else _("no")
    if isinstance(value, float):
        return numbers.decimal(value)
    if isinstance(value, int):
        return numbers.number(value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            parsed = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return value
        return format_date(parsed.date() if isinstance(parsed, datetime) else parsed, "dd/MM/yyyy")
    text = str(value)
    return text if len(text) <= 300 else text[:300] + "…"


def describe(events: list[AuditEvent], viewer_is_admin: bool = False) -> list[Entry]:
    """The events in words, in the order given (two or three queries for any number of events)."""
    names = _names_for(events)
    objects = _objects(events)
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    actors = (
        {uid: name for uid, name in db.session.execute(select(User.id, User.name).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )
    out = []
    for event in events:
        rows = [(field_name(k), show_value(k, b, names), show_value(k, a, names)) for k, b, a in _pairs(event.changes)]
        actor = actors.get(event.actor_id, _("#%(id)s", id=event.actor_id)) if event.actor_id else _("sistema")
        name, target = objects.get((event.entity_type, event.entity_id), (None, None))
        if name is None:
            entity = entity_type_name(event.entity_type) + (
                f" #{event.entity_id}" if event.entity_id is not None else ""
            )
        else:
            entity = f"{entity_type_name(event.entity_type)}: {name}"
        link = None
        if target and target[0] in _LINKS:
            endpoint, argument, admin_only = _LINKS[target[0]]
            if viewer_is_admin or not admin_only:
                link = (endpoint, {argument: target[1]})
        out.append(Entry(event, action_name(event.action), actor, entity, rows, link))
    return out
