"""Searching the audit log (DESIGN.md §7): the filters of ``/admin/audit`` and its CSV export.

The view reads the query string and renders; the filters, the query and its page
live here, so the page and the export select exactly the same events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from app.domain.parsing import ascii_int
from app.domain.song_queries import SongPage  # the page the pagination macro reads, of any rows
from app.extensions import db
from app.i18n import _
from app.models import AuditEvent, User

FILTERS = {"entity_type": 40, "entity_id": 20, "actor": 254, "action": 60, "date_from": 10, "date_to": 10}


@dataclass
class AuditFilters:
    """What was asked (``values``, trimmed), what was wrong with it, and the SQL conditions."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    conditions: list[Any] = field(default_factory=list)


def display_timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("DISPLAY_TIMEZONE", "America/Bogota"))


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=display_timezone()).astimezone(UTC)


def _parse_day(raw: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw[:10], fmt).date()
        except ValueError:
            continue
    return None


def parse_filters(args: Mapping[str, Any]) -> AuditFilters:
    """The filters in ``args`` (a query string); bad values are reported, never a 500."""
    found = AuditFilters({name: (args.get(name) or "").strip()[:limit] for name, limit in FILTERS.items()})
    values, conditions = found.values, found.conditions
    if values["entity_type"]:
        conditions.append(AuditEvent.entity_type == values["entity_type"])
    if values["entity_id"]:
        entity_id = ascii_int(values["entity_id"], minimum=0, maximum=10**15)
        if entity_id is not None:
            conditions.append(AuditEvent.entity_id == entity_id)
        else:
            found.errors["entity_id"] = _("El identificador debe ser un número entero.")
    if values["actor"]:
        actor_id = ascii_int(values["actor"], minimum=0, maximum=10**15)
        if actor_id is not None:
            conditions.append(AuditEvent.actor_id == actor_id)
        else:  # part of an e-mail address or a name
            needle = f"%{values['actor'].lower()}%"
            ids = select(User.id).where(func.lower(User.email).like(needle) | func.lower(User.name).like(needle))
            conditions.append(AuditEvent.actor_id.in_(ids))
    if values["action"]:
        conditions.append(AuditEvent.action == values["action"])
    days = {}
    for name in ("date_from", "date_to"):
        raw = (args.get(name) or "").strip()
        if raw:
            days[name] = _parse_day(raw)
            if days[name] is None:
                found.errors[name] = _("Fecha no válida (use AAAA-MM-DD o DD/MM/AAAA).")
    if days.get("date_from"):
        conditions.append(AuditEvent.at >= _local_midnight_utc(days["date_from"]))
    if days.get("date_to"):
        conditions.append(AuditEvent.at < _local_midnight_utc(days["date_to"] + timedelta(days=1)))
    return found


def events_select(conditions: list[Any]) -> Select:
    """``(event, actor e-mail)`` matching ``conditions``, newest first."""
    actor = aliased(User)
    return (
        select(AuditEvent, actor.email)
        .outerjoin(actor, AuditEvent.actor_id == actor.id)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def search(conditions: list[Any], page: int, per_page: int) -> SongPage:
    """One page of the matching ``(event, actor e-mail)`` rows (a page past the last shows the last)."""
    total = db.session.scalar(select(func.count()).select_from(select(AuditEvent.id).where(*conditions).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = db.session.execute(events_select(conditions).limit(per_page).offset((page - 1) * per_page)).all()
    return SongPage(items=rows, page=page, per_page=per_page, total=total)


def known_values() -> tuple[list[str], list[str]]:
    """The entity types and actions the log holds, for the filter pickers."""
    entity_types = db.session.scalars(select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)).all()
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return list(entity_types), list(actions)


EXPORT_HEADER = ["id", "fecha_hora_bogota", "actor", "accion", "tipo_entidad", "id_entidad", "cambios"]


def format_changes(changes: dict | None) -> str:
    if not changes:
        return ""
    return json.dumps(changes, ensure_ascii=False, sort_keys=True, default=str)


def export_rows(conditions: list[Any], limit: int, *, show_ip: bool) -> tuple[list[str], Any]:
    """The header and rows of the CSV export (local time; the IP column only for ``show_ip``)."""
    tz = display_timezone()
    rows = db.session.execute(events_select(conditions).limit(limit)).all()
    data = (
        [
            event.id,
            event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            actor_email or "",
            event.action,
            event.entity_type,
            event.entity_id,
            format_changes(event.changes),
        ]
        + ([event.ip or ""] if show_ip else [])
        for event, actor_email in rows
    )
    return EXPORT_HEADER + (["ip"] if show_ip else []), data
