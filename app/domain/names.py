"""The names people read for codes: song and season states, song fields and the other
fields of the audit trail (issue 20: one table, lazy strings that read in the language
of the page or of the API request that shows them)."""

from __future__ import annotations

from app.i18n import _l

SONG_STATE_NAMES = {
    "planned": _l("planeada"),
    "in_progress": _l("en curso"),
    "delivered": _l("entregada"),
    "returned": _l("devuelta"),
    "reviewed": _l("revisada"),
    "cancelled": _l("cancelada"),
}

SEASON_STATE_NAMES = {
    "planning": _l("En planeación"),
    "open": _l("Abierta"),
    "closing": _l("En cierre"),
    "closed": _l("Cerrada"),
}

# The song's own fields (lifecycle.update_song accepts exactly these keys).
SONG_FIELD_NAMES = {
    "artist_id": _l("artista (equipo)"),
    "album_id": _l("álbum (línea temática)"),
    "municipality_id": _l("municipio"),
    "scope": _l("alcance concertado"),
    "planned_start": _l("inicio planeado"),
    "due_date": _l("fecha de compromiso"),
    "diagnosis": _l("diagnóstico"),
    "action_plan": _l("plan de acción"),
    "delivered_on": _l("fecha de entrega"),
    "product": _l("producto"),
    "beneficiaries": _l("beneficiarios"),
    "state": _l("estado"),
    "season_id": _l("temporada"),
    "label_id": _l("disquera"),
    "department_id": _l("departamento"),
    "cancel_reason": _l("motivo de cancelación"),
    "return_comment": _l("comentario de devolución"),
}

# Field names beyond the song's own, as the audit trail shows them.
OTHER_FIELD_NAMES = {
    "late_business_days": _l("días hábiles de retraso"),
    "timeliness": "T",
    "equity": "E",
    "points": _l("puntos"),
    "review_score": "R",
    "satisfaction": "S",
    "quality": "Q",
    "evidence": _l("evidencia"),
    "proposed_due": _l("fecha de compromiso propuesta"),
    "reason": _l("justificación"),
    "comment": _l("comentario"),
    "held": _l("retenida hasta validar"),
    "hold_reasons": _l("motivo de retención"),
    "status": _l("decisión"),
    "target": _l("meta"),
    "season": _l("temporada"),
    "label": _l("disquera"),
    "name": _l("nombre"),
    "code": _l("código"),
    "weight": _l("peso"),
    "year": _l("año"),
    "active": _l("activo"),
    "email": _l("correo"),
    "role": _l("rol"),
    "locked_until": _l("bloqueado hasta"),
    "songs": _l("canciones"),
    "user_id": _l("usuario"),
    "reviewer_id": _l("revisor"),
    "pertinence": _l("pertinencia"),
    "rigour": _l("rigor técnico"),
    "usefulness": _l("utilidad"),
    "evidence_quality": _l("calidad de la evidencia"),
    "original_name": _l("archivo"),
    "created": _l("creadas"),
    "rows": _l("filas"),
    "kind": _l("tipo de cambio"),
    "confirmed_by": _l("confirmó"),
    "carried_over_to_id": _l("trasladada a la canción"),
    "carried_over_from": _l("trasladada desde la canción"),
    "awaiting_evidence": _l("espera evidencia"),
    "standing": _l("situación en el índice"),
    "drafts_from_year": _l("borradores copiados de"),
    "open_songs": _l("canciones abiertas al cierre"),
    "count": _l("cantidad"),
    "file": _l("archivo"),
    "errors": _l("errores"),
    "first_error": _l("primer error"),
    "changed": _l("cambiadas"),
    "years": _l("años"),
    "idf": _l("valores del IDF"),
    "idf_changed": _l("valores del IDF cambiados"),
    "contacts": _l("contactos borrados"),
    "cutoff": _l("fecha de corte"),
    "retention_days": _l("días de conservación"),
    "indicators": _l("indicadores"),
    "inserted": _l("agregados"),
    "max_duration_days": _l("duración máxima (días)"),
    "survey_issued_at": _l("enlace de encuesta generado"),
    "actor": _l("quién"),
    "teams": _l("equipos"),
    "home_labels": _l("dirección de origen"),
}


def song_state_name(state: str) -> str:
    name = SONG_STATE_NAMES.get(state)
    return str(name) if name is not None else str(state)


def season_state_name(state: str) -> str:
    name = SEASON_STATE_NAMES.get(state)
    return str(name) if name is not None else str(state)


def field_name(key: str) -> str:
    """``due_date`` → "fecha de compromiso" (an unknown key still reads as words)."""
    name = OTHER_FIELD_NAMES.get(key) or SONG_FIELD_NAMES.get(key)
    return str(name) if name is not None else key.replace("_", " ")
