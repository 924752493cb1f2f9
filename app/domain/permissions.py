"""Who may do what (DESIGN.md §1). Shared by the HTML views and the JSON API.

Checks live here, in the domain, so a hidden button is never the only guard.
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import PermissionDenied
from app.models import Role, SongState

ALL_ROLES = tuple(r.value for r in Role)
SONG_EDITOR_ROLES = (Role.TERRITORIAL.value, Role.COORDINATOR.value)
FINAL_STATES = (SongState.REVIEWED.value, SongState.CANCELLED.value)


def _role(user: Any) -> str | None:
    return getattr(user, "role", None) if user is not None and getattr(user, "is_authenticated", False) else None


def can_view_song(user: Any, song: Any) -> bool:
    """Territorial users see their own label's songs; the central roles see all."""
    role = _role(user)
    if role is None:
        return False
    if role == Role.TERRITORIAL:
        return user.label_id == song.label_id
    return True


def can_create_song_for_label(user: Any, label_id: int) -> bool:
    """Territorial users create songs only for artists of their own label."""
    role = _role(user)
    if role == Role.TERRITORIAL:
        return user.label_id == label_id
    return role == Role.COORDINATOR


def can_edit_song(user: Any, song: Any) -> bool:
    """Territorial (own label) and coordinators change songs; managers read only."""
    return can_create_song_for_label(user, song.label_id)


def can_review_song(user: Any, song: Any) -> bool:
    """Coordinators review, never a song of their own label (segregation of duties)."""
    return _role(user) == Role.COORDINATOR and (user.label_id is None or user.label_id != song.label_id)


def can_decide_due_date(user: Any) -> bool:
    return _role(user) == Role.COORDINATOR


def can_recompute_charts(user: Any) -> bool:
    return _role(user) in (Role.COORDINATOR.value, Role.ADMIN.value)


def can_see_respondent_data(user: Any) -> bool:
    """Survey respondents' personal data: coordinators only (Ley 1581 de 2012)."""
    return _role(user) == Role.COORDINATOR


def can_administer(user: Any) -> bool:
    return _role(user) == Role.ADMIN


def can_import_songs(user: Any) -> bool:
    """The bulk import (CSV/XLSX): the teams and the coordination (app/imports)."""
    return _role(user) in (Role.TERRITORIAL.value, Role.COORDINATOR.value)


def can_read_audit(user: Any) -> bool:
    """The audit trail (every object's history): coordinators and admins (issue 21)."""
    return _role(user) in (Role.COORDINATOR.value, Role.ADMIN.value)


def can_read_coverage(user: Any) -> bool:
    return _role(user) in (Role.MANAGER.value, Role.COORDINATOR.value, Role.ADMIN.value)


def require(allowed: bool, message: str = "No tiene permiso para esta acción.") -> None:
    """Raise PermissionDenied unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(message)


def can_import_reference(user: Any) -> bool:
    """Official reference figures (categories, indicators): coordinators and admins (DESIGN.md §1)."""
    return _role(user) in (Role.COORDINATOR.value, Role.ADMIN.value)


def can_set_need_weights(user: Any) -> bool:
    """The weights of the need score are an admin setting (DESIGN.md §6)."""
    return _role(user) == Role.ADMIN
