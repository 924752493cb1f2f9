"""Audit trail writer (DESIGN.md §3: who, when, before, after)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from app.extensions import db
from app.models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The current values of ``fields`` on ``obj``, JSON-ready."""
    return {f: _plain(getattr(obj, f)) for f in fields}


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field whose value changed."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record(
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    actor_id: int | None,
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one audit event to the current transaction (never updated or deleted)."""
    event = AuditEvent(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        changes={
            k: _plain(v) if not isinstance(v, list) else [_plain(x) for x in v] for k, v in (changes or {}).items()
        },
        ip=ip,
    )
    db.session.add(event)
    return event
