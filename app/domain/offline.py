"""Deliveries recorded offline on a device and synced later (issue 22; DESIGN.md §3, §9).

A draft is made on the device with a UUID and sent, with its evidence files, the song version
the user saw and the device's recorded time, in one request. Here, in one transaction:

1. **Idempotency**: the draft id is the key. A draft already synced answers with what its
   first sync did and creates nothing (no second delivery, no second evidence file). The key
   row (``OfflineSync``) is written *first*, so a concurrent replay stops at the unique
   constraint before it writes anything, on SQLite and PostgreSQL.
2. **No silent overwrite**: a song that changed on the server since the user opened it
   (another version) is a 409 listing what changed; the user decides on the device.
3. **The device's time, bounded**: the declaration window counts from the recorded time within
   a bounded sync delay, and a device clock in the future is refused
   (``song_rules.recording_day``, applied by ``lifecycle.transition_song``).
4. The evidence files and the delivery go through ``evidence.add_evidence`` and
   ``lifecycle.transition_song``: the same rules as every other path. A song still planned
   when the team left is started first, from the draft's ``diagnosis`` (and ``action_plan``),
   in the same transaction: started and delivered, or neither.

Like the rest of the domain, this flushes and never commits (app/transaction.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain import evidence, lifecycle, permissions
from app.domain.errors import Conflict, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.models import OfflineSync, Song

DELIVERY_FIELDS = (
    "delivered_on",
    "product",
    "beneficiaries",
    "contact_name",
    "contact_position",
    "contact_email",
    "contact_phone",
    "diagnosis",  # a planned song is started first (planned → in_progress → delivered)
    "action_plan",
)
START_FIELDS = ("diagnosis", "action_plan")


@dataclass(frozen=True)
class SyncResult:
    sync: OfflineSync
    song: Song
    replayed: bool


def parse_draft_id(value: Any) -> str:
    """The draft id made on the device: a UUID, kept in its canonical text form."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed(
            _("Falta el identificador del borrador o no es válido."), {"draft_id": [_("Un UUID.")]}
        ) from None


def parse_recorded_at(value: Any) -> datetime:
    """The device's recorded time, ISO 8601 with its UTC offset (e.g. 2026-12-01T09:30:00-05:00)."""
    try:
        recorded = datetime.fromisoformat(str(value))
    except (ValueError, TypeError):
        recorded = None
    if recorded is None or recorded.tzinfo is None:
        raise ValidationFailed(
            _("Falta la hora en que se registró la entrega en el dispositivo, con su zona horaria."),
            {"recorded_at": [_("Fecha y hora ISO 8601 con zona horaria.")]},
        )
    return recorded


def find_sync(draft_id: str) -> OfflineSync | None:
    return db.session.scalar(select(OfflineSync).where(OfflineSync.client_draft_id == draft_id))


def _replay(actor: Any, song_id: int, sync: OfflineSync) -> SyncResult:
    if sync.song_id != song_id or sync.user_id != getattr(actor, "id", None):
        raise Conflict(_("Ese identificador de borrador ya se usó para otra entrega."), {"draft_id": [sync.song_id]})
    return SyncResult(sync, db.session.get(Song, sync.song_id), True)


def sync_delivery(
    actor: Any,
    song: Song,
    *,
    draft_id: Any,
    recorded_at: Any,
    expected_version: int | None,
    fields: dict[str, Any],
    files: list[Any],
    ip: str | None = None,
) -> SyncResult:
    """Deliver ``song`` from an offline draft, once (see the module docstring)."""
    # Who may deliver comes first: a role without the right learns nothing about its input.
    permissions.require(permissions.can_edit_song(actor, song), _("No puede modificar canciones de otra disquera."))
    key = parse_draft_id(draft_id)
    song_id = song.id
    existing = find_sync(key)
    if existing is not None:
        return _replay(actor, song_id, existing)

    recorded = parse_recorded_at(recorded_at)
    unknown = sorted(k for k in fields if k not in DELIVERY_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Campos desconocidos para una entrega: %(f)s.", f=", ".join(unknown[:10])),
            {k: [_("Campo desconocido.")] for k in unknown[:10]},
        )
    if expected_version is None:
        raise ValidationFailed(
            _("Indique la versión de la canción que vio el dispositivo."), {"version": [_("Obligatorio.")]}
        )
    lifecycle.require_version(song, expected_version, fields)
    files = [f for f in files if getattr(f, "filename", None)]
    if not files:
        raise ValidationFailed(
            _("Adjunte al menos una evidencia (acta, fotos o PDF)."), {"file": [_("Seleccione un archivo.")]}
        )

    sync = OfflineSync(
        client_draft_id=key, song_id=song_id, user_id=actor.id, recorded_at=recorded, evidence_count=len(files)
    )
    db.session.add(sync)
    try:
        db.session.flush()  # the key first: a concurrent replay stops here
    except IntegrityError:
        db.session.rollback()
        existing = find_sync(key)
        if existing is None:
            raise
        return _replay(actor, song_id, existing)

    delivery = {k: v for k, v in fields.items() if v != "" and k not in START_FIELDS}
    if song.state == lifecycle.PLANNED:
        start = {k: fields.get(k) for k in START_FIELDS}
        lifecycle.transition_song(actor, song, lifecycle.IN_PROGRESS, ip=ip, **start)
    for file in files:
        evidence.add_evidence(actor, song, file, ip=ip)
    lifecycle.transition_song(actor, song, lifecycle.DELIVERED, ip=ip, recorded_at=recorded, **delivery)
    return SyncResult(sync, song, False)
