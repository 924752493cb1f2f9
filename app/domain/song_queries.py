"""Song list filters shared by the songs page and ``GET /api/v1/songs`` (DESIGN.md §8).

``filter_songs(user, params)`` turns query-string values into a SELECT. Bad values
raise ValidationFailed naming the parameter (400/422 in the API, a message on the
page), never a 500. Territorial users only ever see their own label's songs.

Sort keys: ``urgency`` (default: open songs first, soonest due date first, then the
rest by most recent due date), ``due_date`` (soonest first), ``created`` (newest first),
``municipality`` (A→Z), ``state``, ``points`` (most points first); a leading ``-``
reverses any of them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from app.domain.errors import ValidationFailed
from app.domain.lifecycle import today
from app.domain.parsing import ascii_int
from app.models import Department, Municipality, Role, Season, Song
from app.models.songs import OPEN_STATES, SONG_STATES

SORTS = ("urgency", "due_date", "created", "municipality", "state", "points")
FILTER_KEYS = ("season", "label", "artist", "album", "department", "municipality", "state", "overdue", "q", "sort")
TRUE = {"1", "true", "on", "yes", "si", "sí"}
FALSE = {"", "0", "false", "off", "no"}
MAX_Q = 100


def _param(params: Any, key: str) -> str:
    value = params.get(key) if hasattr(params, "get") else None
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return value.strip()


def _positive_int(raw: str, key: str, errors: dict[str, list[str]], *, maximum: int = 2_000_000_000) -> int | None:
    if not raw:
        return None
    value = ascii_int(raw, minimum=1, maximum=maximum)
    if value is None:
        errors.setdefault(key, []).append("Debe ser un número entero positivo.")
    return value


def clean_params(params: Any) -> dict[str, Any]:
    """Validated filter values (absent ones omitted). Raises ValidationFailed on any bad value."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    season = _param(params, "season")
    if season:
        if not re.fullmatch(r"\d{4}", season):
            errors.setdefault("season", []).append("Año de temporada no válido (AAAA).")
        else:
            out["season"] = int(season)
    for key in ("label", "artist", "album"):
        value = _positive_int(_param(params, key), key, errors)
        if value is not None:
            out[key] = value
    department = _param(params, "department")
    if department:
        if not re.fullmatch(r"\d{2}", department):
            errors.setdefault("department", []).append("Código DANE de departamento no válido (2 dígitos).")
        else:
            out["department"] = department
    municipality = _param(params, "municipality")
    if municipality:
        if not re.fullmatch(r"\d{5}", municipality):
            errors.setdefault("municipality", []).append("Código DANE de municipio no válido (5 dígitos).")
        else:
            out["municipality"] = municipality
    state = _param(params, "state")
    if state:
        if state not in SONG_STATES:
            errors.setdefault("state", []).append(f"Estado no válido; use uno de: {', '.join(SONG_STATES)}.")
        else:
            out["state"] = state
    overdue = _param(params, "overdue").lower()
    if overdue in TRUE:
        out["overdue"] = True
    elif overdue not in FALSE:
        errors.setdefault("overdue", []).append("Use 1 (sí) o 0 (no).")
    q = _param(params, "q")
    if q:
        if len(q) > MAX_Q:
            errors.setdefault("q", []).append(f"Máximo {MAX_Q} caracteres.")
        else:
            out["q"] = q
    sort = _param(params, "sort")
    if sort:
        if sort.lstrip("-") not in SORTS:
            errors.setdefault("sort", []).append(f"Orden no válido; use uno de: {', '.join(SORTS)} (con - para invertir).")
        else:
            out["sort"] = sort
    if errors:
        raise ValidationFailed("Hay filtros no válidos: " + ", ".join(errors) + ".", errors)
    return out


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _order(sort: str) -> list[Any]:
    key = sort.lstrip("-")
    reverse = sort.startswith("-")
    if key == "urgency":
        is_open = Song.state.in_(OPEN_STATES)
        open_first = case((is_open, 0), else_=1)
        open_due = case((is_open, Song.due_date), else_=None)
        return [open_first, open_due.asc(), Song.due_date.desc(), Song.id.desc()]
    if key == "points":
        # Most points first; songs without points (not reviewed) always last.
        nulls_last = case((Song.points.is_(None), 1), else_=0)
        return [nulls_last, Song.points.asc() if reverse else Song.points.desc(), Song.id.desc()]
    column = {
        "due_date": Song.due_date,
        "created": Song.created_at,
        "municipality": Municipality.name,
        "state": Song.state,
    }[key]
    if key == "created":  # newest first by default
        reverse = not reverse
    return [column.desc() if reverse else column.asc(), Song.id.desc() if reverse else Song.id.asc()]


def filter_songs(user: Any, params: Any) -> Select:
    """A SELECT of the songs ``user`` may see, filtered and sorted by ``params``."""
    p = clean_params(params)
    stmt = (
        select(Song)
        .join(Municipality, Song.municipality_id == Municipality.id)
        .join(Department, Song.department_id == Department.id)
        .options(
            contains_eager(Song.municipality),
            contains_eager(Song.department),
            joinedload(Song.album),
            joinedload(Song.artist),
            joinedload(Song.label),
            joinedload(Song.season),
        )
    )
    if getattr(user, "role", None) == Role.TERRITORIAL.value:
        stmt = stmt.where(Song.label_id == user.label_id)
    if "season" in p:
        stmt = stmt.where(Song.season_id == select(Season.id).where(Season.year == p["season"]).scalar_subquery())
    if "label" in p:
        stmt = stmt.where(Song.label_id == p["label"])
    if "artist" in p:
        stmt = stmt.where(Song.artist_id == p["artist"])
    if "album" in p:
        stmt = stmt.where(Song.album_id == p["album"])
    if "department" in p:
        stmt = stmt.where(Department.code == p["department"])
    if "municipality" in p:
        stmt = stmt.where(Municipality.code == p["municipality"])
    if "state" in p:
        stmt = stmt.where(Song.state == p["state"])
    if p.get("overdue"):
        stmt = stmt.where(Song.due_date < today(), Song.state.in_(OPEN_STATES))
    if "q" in p:
        pattern = _like(p["q"])
        stmt = stmt.where(
            or_(
                func.lower(Song.scope).like(pattern, escape="\\"),
                func.lower(Municipality.name).like(pattern, escape="\\"),
                func.lower(Song.product).like(pattern, escape="\\"),
            )
        )
    return stmt.order_by(*_order(p.get("sort", "urgency")))
