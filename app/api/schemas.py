"""The JSON shapes of the API, one function per thing (issue 20).

Plain functions rather than marshmallow schemas: every shape here is written once and
only dumped (input is validated by the domain, which returns per-field errors), so a
function that returns a dict reads as the shape itself. Every endpoint in app/api/*.py
answers with these; dates are ISO 8601 strings, missing values ``null``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from flask_login import current_user

from app.domain import badges as badge_rules
from app.domain import charts, lifecycle, permissions, seasons
from app.domain.catalogue import SEASON_DATE_SETTINGS, SEASON_WEIGHT_FIELDS
from app.i18n import _, text
from app.models import Album, Artist, DueDateChange, Evidence, Label, Municipality, PendingChange, Review, Season, Song


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --------------------------------------------------------------------------- envelopes


def error(message: Any, details: Any = None) -> dict[str, Any]:
    """``{"error", "details"}``; a lazy message is read now, in the language of the request."""
    return {"error": text(message), "details": text(details)}


def page(result: Any, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of a list (any object with items, page, per_page, total, pages)."""
    return {
        "items": [shape(item) for item in result.items],
        "page": result.page,
        "per_page": result.per_page,
        "total": result.total,
        "pages": result.pages,
    }


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A whole, short list: ``{"items", "total"}``."""
    return {"items": items, "total": len(items)}


# --------------------------------------------------------------------------- songs


def terms(song: Song) -> dict[str, Any]:
    """The stored scoring terms of a song (DESIGN.md §4) under their API names."""
    return {
        "late_business_days": song.late_business_days,
        "on_time": song.on_time,
        "T": song.timeliness,
        "R": song.review_score,
        "S": song.satisfaction,
        "Q": song.quality,
        "E": song.equity,
        "points": song.points,
    }


def song_terms(song: Song) -> dict[str, Any]:
    """What a review or survey decision changed: state, terms and the return comment."""
    return {"id": song.id, "state": song.state, **terms(song), "return_comment": song.return_comment}


def song(song: Song, *, detail: bool = False) -> dict[str, Any]:
    """A song: state, dates, ids and codes, every scoring term, version, survey_url (``detail``: all)."""
    from app.domain.surveys import survey_url

    data: dict[str, Any] = {
        "id": song.id,
        "state": song.state,
        "version": song.version,
        "season": song.season.year if song.season else None,
        "label_id": song.label_id,
        "label_code": song.label.code if song.label else None,
        "artist_id": song.artist_id,
        "artist": song.artist.name if song.artist else None,
        "album_id": song.album_id,
        "album_code": song.album.code if song.album else None,
        "municipality_id": song.municipality_id,
        "municipality_code": song.municipality.code if song.municipality else None,
        "municipality": song.municipality.name if song.municipality else None,
        "department_id": song.department_id,
        "department_code": song.department.code if song.department else None,
        "scope": song.scope,
        "planned_start": iso(song.planned_start),
        "due_date": iso(song.due_date),
        "delivered_on": iso(song.delivered_on),
        "product": song.product,
        "beneficiaries": song.beneficiaries,
        **terms(song),
        "standing": song.standing,
        "survey_url": survey_url(song) if song.is_delivered else None,
        "created_at": iso(song.created_at),
        "updated_at": iso(song.updated_at),
    }
    if detail:
        data.update(_song_detail(song))
    return data


def _song_detail(song: Song) -> dict[str, Any]:
    from app.domain.surveys import CONTACT_FIELDS, survey_status

    data = {
        "diagnosis": song.diagnosis,
        "action_plan": song.action_plan,
        "return_comment": song.return_comment,
        "cancel_reason": song.cancel_reason,
        "cancelled_late": song.cancelled_late,
        "late_cancel_reason": song.late_cancel_reason,
        "replaces_id": song.replaces_id,
        "committed_due": iso(song.committed_due),
        "awaiting_evidence": song.awaiting_evidence,
        "evidence": [evidence(e) for e in song.evidence],
        "allowed_transitions": [s for s in lifecycle.allowed_transitions(song) if s != "reviewed"],
        "pending_due_date_change": due_date_change(lifecycle.pending_due_date_change(song)),
        "survey_status": survey_status(song),
    }
    if permissions.can_see_respondent_data(current_user) or permissions.can_edit_song(current_user, song):
        data["municipal_contact"] = {key[len("contact_") :]: getattr(song, key) for key in CONTACT_FIELDS}
    return data


def song_link(song: Song) -> dict[str, Any]:
    """A song in a list that points to it (integrity alerts)."""
    from flask import url_for

    return {"id": song.id, "state": song.state, "url": url_for("api.get_song", song_id=song.id)}


def duplicate_warning(other: Song) -> dict[str, Any]:
    return {
        "type": "duplicate",
        "message": _(
            "Ya hay una canción en el mismo municipio (de cualquier álbum, también canceladas) con inicio "
            "a menos de 90 días."
        ),
        "song_id": other.id,
        "state": other.state,
        "planned_start": iso(other.planned_start),
        "due_date": iso(other.due_date),
    }


def saved_song(saved: Song, warnings: Iterable[Song]) -> dict[str, Any]:
    """The answer to a create or an update: the song and its duplicate warnings."""
    return {"song": song(saved, detail=True), "warnings": [duplicate_warning(s) for s in warnings]}


def evidence(item: Evidence) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.original_name,
        "content_type": item.content_type,
        "size_bytes": item.size_bytes,
        "sha256": item.sha256,
        "uploaded_at": iso(item.uploaded_at),
        "url": f"/api/v1/songs/{item.song_id}/evidence/{item.id}",
    }


def due_date_change(change: DueDateChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "id": change.id,
        "song_id": change.song_id,
        "status": change.status,
        "previous_due": iso(change.previous_due),
        "proposed_due": iso(change.proposed_due),
        "reason": change.reason,
        "requested_by": change.requested_by.name if change.requested_by else None,
        "created_at": iso(change.created_at),
        "decided_at": iso(change.decided_at),
        "decision_comment": change.decision_comment,
    }


# --------------------------------------------------------------------------- reviews


def review(item: Review) -> dict[str, Any]:
    return {
        "id": item.id,
        "song_id": item.song_id,
        "reviewer": {"id": item.reviewer_id, "name": item.reviewer.name if item.reviewer else None},
        "pertinence": item.pertinence,
        "rigour": item.rigour,
        "usefulness": item.usefulness,
        "evidence": item.evidence_quality,
        "mean": item.mean,
        "comment": item.comment,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def pending_change(change: PendingChange) -> dict[str, Any]:
    """A change waiting for a second coordinator (four eyes)."""
    return {
        "id": change.id,
        "kind": change.kind,
        "song_id": change.song_id,
        "label_id": change.label_id,
        "payload": change.payload,
        "status": change.status,
        "requested_by": change.requested_by_id,
        "requested_at": iso(change.requested_at),
        "decided_by": change.decided_by_id,
        "decided_at": iso(change.decided_at),
    }


# --------------------------------------------------------------------------- catalogue


def season(item: Season) -> dict[str, Any]:
    return {
        "id": item.id,
        "year": item.year,
        "starts_on": iso(item.starts_on),
        "ends_on": iso(item.ends_on),
        "state": item.state,
        "closing_date": iso(seasons.closing_date(item)),
        "target_date": iso(item.target_date),
        "targets_frozen": seasons.targets_frozen(item),
        "drafts_from": item.drafts_from_year if item.has_drafts else None,
        "closed_at": iso(item.closed_at),
        "corrected_at": iso(item.corrected_at),
        "weights": {name: getattr(item, name) for name in SEASON_WEIGHT_FIELDS if name not in SEASON_DATE_SETTINGS},
        **{name: getattr(item, name) for name in SEASON_DATE_SETTINGS},  # business days (DESIGN.md §3, §9)
    }


def label_ref(label: Label) -> dict[str, Any]:
    return {"id": label.id, "code": label.code, "name": label.name}


def label(item: Label, departments: list[str]) -> dict[str, Any]:
    return {**label_ref(item), "city": item.city, "departments": departments}


def album_ref(album: Album) -> dict[str, Any]:
    return {"id": album.id, "code": album.code, "name": album.name, "weight": album.weight}


def album(item: Album) -> dict[str, Any]:
    return {**album_ref(item), "active": item.active}


def artist(item: Artist, label_code: str, members: int) -> dict[str, Any]:
    """An artist (team) with its member count, never its members' names (personal data stays in the UI)."""
    return {
        "id": item.id,
        "name": item.name,
        "label_id": item.label_id,
        "label_code": label_code,
        "active": item.active,
        "members": members,
    }


def municipality(item: Municipality) -> dict[str, Any]:
    return {
        "id": item.id,
        "code": item.code,
        "name": item.name,
        "department": item.department.code,
        "category": item.category,
        "pdet": item.pdet,
        "pdet_subregion": item.pdet_subregion,
        "prioritised": item.prioritised,
        "population": item.population,
    }


# --------------------------------------------------------------------------- coverage


def coverage_figure(figure: Any) -> dict[str, Any]:
    """One national coverage figure, with the previous season's for comparison."""
    return {
        "value": figure.value,
        "total": figure.total,
        "share": figure.share,
        "previous": figure.previous,
        "previous_share": figure.previous_share,
        "delta": figure.delta,
    }


def department_coverage(row: Any, albums: Iterable[Album]) -> dict[str, Any]:
    from app.domain import coverage

    return {
        **coverage.department_figures(row),
        "label": row.label_name,
        "delivered_by_album": {a.code: row.by_album.get(a.id, 0) for a in albums},
    }


# --------------------------------------------------------------------------- charts


def chart(item: Season, snapshot: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope of one chart: its season, snapshot and ranked items."""
    return {
        "season": item.year,
        "computed_at": iso(snapshot.computed_at),
        "as_of": iso(snapshot.as_of),
        "kind": snapshot.kind,
        "snapshot_id": snapshot.id,
        "items": items,
    }


def _rank(entry: Any) -> dict[str, Any]:
    return {
        "rank": entry.rank,
        "previous_rank": entry.previous_rank,
        "movement": charts.movement(entry.rank, entry.previous_rank),
    }


def badges(awards: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {"code": a.badge, "name": str(badge_rules.BADGE_NAMES[a.badge]), "awarded_at": iso(a.awarded_at)}
        for a in awards
    ]


def label_item(entry: Any, item: Label, item_season: Season, awards: list, late_targets: list) -> dict[str, Any]:
    """One line of the labels chart: rank, index and every component of it."""
    return {
        **_rank(entry),
        "label": label_ref(item),
        "index": entry.index_value,
        "quality_mean": entry.quality_mean,
        "on_time": entry.on_time,
        "progress": entry.progress,
        "timeliness_sum": entry.timeliness_sum,
        "delivered_songs": entry.delivered_songs,
        "reviewed_songs": entry.reviewed_songs,
        "overdue_songs": entry.overdue_songs,
        "credited_songs": entry.credited_songs,
        "not_approved_songs": entry.not_approved_songs,
        "waiting_songs": entry.waiting_songs,
        "late_songs": entry.late_songs,
        "playlist_target": entry.playlist_target,
        "has_target": bool(entry.playlist_target),
        "late_target_changes": late_targets,  # after the target date, four eyes
        "points": entry.points,
        "survey_count": entry.survey_count,
        "survey_response_rate": (entry.survey_count / entry.delivered_songs) if entry.delivered_songs else None,
        "satisfaction_mean": entry.satisfaction_mean,
        "last_delivery": iso(entry.last_delivery),
        "weights": {
            "quality": item_season.index_quality_weight,
            "on_time": item_season.index_ontime_weight,
            "progress": item_season.index_progress_weight,
        },
        "badges": badges(awards),
    }


def artist_item(entry: Any, item: Artist, item_label: Label, awards: list) -> dict[str, Any]:
    return {
        **_rank(entry),
        "artist": {"id": item.id, "name": item.name},
        "label": label_ref(item_label),
        "points": entry.points,
        "reviewed_songs": entry.reviewed_songs,
        "delivered_songs": entry.delivered_songs,
        "quality_mean": entry.quality_mean,
        "badges": badges(awards),
    }


def album_item(entry: Any, item: Album) -> dict[str, Any]:
    return {
        **_rank(entry),
        "album": album_ref(item),
        "delivered_songs": entry.delivered_songs,
        "reviewed_songs": entry.reviewed_songs,
        "quality_mean": entry.quality_mean,
        "satisfaction_mean": entry.satisfaction_mean,
        "on_time_rate": entry.on_time_rate,
    }
