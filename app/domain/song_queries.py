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

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, or_, select, union_all
from sqlalchemy.orm import contains_eager, joinedload

from app.domain import permissions, seasons
from app.domain.calendar import today
from app.domain.errors import DomainError, ValidationFailed
from app.domain.parsing import ascii_int
from app.extensions import db
from app.i18n import _
from app.models import Department, Municipality, Season, Song
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
        errors.setdefault(key, []).append(_("Debe ser un número entero positivo."))
    return value


def clean_params(params: Any) -> dict[str, Any]:
    """Validated filter values (absent ones omitted). Raises ValidationFailed on any bad value."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    try:
        season = seasons.parse_year(_param(params, "season"))
    except DomainError as exc:
        errors.update(exc.details)
    else:
        if season is not None:
            out["season"] = season
    for key in ("label", "artist", "album"):
        value = _positive_int(_param(params, key), key, errors)
        if value is not None:
            out[key] = value
    department = _param(params, "department")
    if department:
        if not re.fullmatch(r"\d{2}", department):
            errors.setdefault("department", []).append(_("Código DANE de departamento no válido (2 dígitos)."))
        else:
            out["department"] = department
    municipality = _param(params, "municipality")
    if municipality:
        if not re.fullmatch(r"\d{5}", municipality):
            errors.setdefault("municipality", []).append(_("Código DANE de municipio no válido (5 dígitos)."))
        else:
            out["municipality"] = municipality
    state = _param(params, "state")
    if state:
        if state not in SONG_STATES:
            errors.setdefault("state", []).append(
                _("Estado no válido; use uno de: %(states)s.", states=", ".join(SONG_STATES))
            )
        else:
            out["state"] = state
    overdue = _param(params, "overdue").lower()
    if overdue in TRUE:
        out["overdue"] = True
    elif overdue not in FALSE:
        errors.setdefault("overdue", []).append(_("Use 1 (sí) o 0 (no)."))
    q = _param(params, "q")
    if q:
        if len(q) > MAX_Q:
            errors.setdefault("q", []).append(_("Máximo %(n)s caracteres.", n=MAX_Q))
        else:
            out["q"] = q
    sort = _param(params, "sort")
    if sort:
        if sort.lstrip("-") not in SORTS:
            errors.setdefault("sort", []).append(
                _("Orden no válido; use uno de: %(sorts)s (con - para invertir).", sorts=", ".join(SORTS))
            )
        else:
            out["sort"] = sort
    if errors:
        raise ValidationFailed(_("Hay filtros no válidos: %(names)s.", names=", ".join(errors)), errors)
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


def _conditions(user: Any, p: dict[str, Any]) -> list[Any]:
    """WHERE clauses on ``songs`` alone (codes and names through subqueries, no joins),
    so the pagination count reads one table and its indexes."""
    conditions: list[Any] = []
    if permissions.is_territorial(user):
        conditions.append(Song.label_id == user.label_id)
    if "season" in p:
        conditions.append(Song.season_id == select(Season.id).where(Season.year == p["season"]).scalar_subquery())
    if "label" in p:
        conditions.append(Song.label_id == p["label"])
    if "artist" in p:
        conditions.append(Song.artist_id == p["artist"])
    if "album" in p:
        conditions.append(Song.album_id == p["album"])
    if "department" in p:
        conditions.append(
            Song.department_id == select(Department.id).where(Department.code == p["department"]).scalar_subquery()
        )
    if "municipality" in p:
        conditions.append(
            Song.municipality_id
            == select(Municipality.id).where(Municipality.code == p["municipality"]).scalar_subquery()
        )
    if "state" in p:
        conditions.append(Song.state == p["state"])
    if p.get("overdue"):
        conditions.extend([Song.due_date < today(), Song.state.in_(OPEN_STATES)])
    if "q" in p:
        pattern = _like(p["q"])
        conditions.append(
            or_(
                func.lower(Song.scope).like(pattern, escape="\\"),
                Song.municipality_id.in_(
                    select(Municipality.id).where(func.lower(Municipality.name).like(pattern, escape="\\"))
                ),
                func.lower(Song.product).like(pattern, escape="\\"),
            )
        )
    return conditions


def filter_songs(user: Any, params: Any) -> Select:
    """A SELECT of the songs ``user`` may see, filtered and sorted by ``params``."""
    p = clean_params(params)
    return _sorted(_conditions(user, p), p)


def _sorted(conditions: list[Any], p: dict[str, Any]) -> Select:
    return _eager_select().where(*conditions).order_by(*_order(p.get("sort", "urgency")))


def _eager_select() -> Select:
    """Songs with what a list row shows (municipality, department, album, artist, label, season)."""
    return (
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


@dataclass
class SongPage:
    """One page of songs, with what the templates' pagination macro and the API read."""

    items: list[Song]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def _urgency_page_ids(conditions: list[Any], p: dict[str, Any], offset: int, limit: int) -> list[int]:
    """The ids of one page in "urgency" order, without sorting every matching song.

    Urgency is open songs by soonest due date, then the others by latest due date. For
    each state, the first ``offset + limit`` songs in that state's own order come
    straight off an index on (state, due_date) — or (season, state, due_date) — and
    only those few are merged and sorted.
    """
    states = [p["state"]] if "state" in p else list(SONG_STATES)
    if p.get("overdue"):
        states = [s for s in states if s in OPEN_STATES]
    wanted = offset + limit
    parts = []
    for state in states:
        due = Song.due_date.asc() if state in OPEN_STATES else Song.due_date.desc()
        part = (
            select(Song.id, Song.state, Song.due_date)
            .where(*conditions, Song.state == state)
            .order_by(due, Song.id.desc())
            .limit(wanted)
            .subquery()
        )
        parts.append(select(part.c.id, part.c.state, part.c.due_date))
    if not parts:
        return []
    merged = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    is_open = merged.c.state.in_(OPEN_STATES)
    stmt = (
        select(merged.c.id)
        .order_by(
            case((is_open, 0), else_=1),
            case((is_open, merged.c.due_date), else_=None).asc(),
            merged.c.due_date.desc(),
            merged.c.id.desc(),
        )
        .offset(offset)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def paginate_songs(user: Any, params: Any, *, page: int, per_page: int) -> SongPage:
    """One page of ``filter_songs(user, params)`` and the total, each the cheap way:
    the total counted on ``songs`` alone; the default "urgency" page picked per state
    from the indexes, then loaded with its municipality, department, album… by id."""
    p = clean_params(params)
    conditions = _conditions(user, p)
    total = db.session.scalar(select(func.count()).select_from(Song).where(*conditions)) or 0
    offset = (page - 1) * per_page
    if offset >= total:
        return SongPage([], page, per_page, total)
    if p.get("sort", "urgency").lstrip("-") == "urgency":
        ids = _urgency_page_ids(conditions, p, offset, per_page)
        by_id = {s.id: s for s in db.session.scalars(_eager_select().where(Song.id.in_(ids))).unique()}
        items = [by_id[i] for i in ids if i in by_id]
    else:
        items = list(db.session.scalars(_sorted(conditions, p).offset(offset).limit(per_page)).unique())
    return SongPage(items, page, per_page, total)
