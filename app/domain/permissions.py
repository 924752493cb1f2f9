"""Who may do what (DESIGN.md §1, §9): the ONE permission vocabulary of the app.

Every check is a predicate here, taking the user (and the object, if any). Views guard a route
with ``@permission_required(permissions.can_x)`` (app.auth.decorators), the domain calls
``require(...)`` or a ``require_*`` helper before it writes, the API reaches the same domain
functions, and templates ask the same predicates (exposed to Jinja as ``perm``). No role string
is compared anywhere else.

Refusals: an object that exists but belongs to another label is a 403 with a message that says
why ("Esta canción es de otra disquera."), everywhere (UI and API); 404 only for objects that do
not exist. Segregation of duties (§9) refusals are 403 with the reason, never a hidden button only.

Segregation of duties, for a song:
- a coordinator never reviews, corrects, returns, approves, regenerates or validates anything for
  a label of their home directorate (``User.home_labels``; the national office has none);
- whoever planned (created), delivered or answered the survey of a song never reviews it;
- the reviewer of a song never decides its due-date changes, and whoever decided one never
  reviews it; nobody decides their own request;
- a delivered song assigned to a reviewer is reviewed or returned by that reviewer only.
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import PermissionDenied
from app.i18n import _
from app.models import Role, SongState

ALL_ROLES = tuple(r.value for r in Role)
FINAL_STATES = (SongState.REVIEWED.value, SongState.CANCELLED.value)


# --------------------------------------------------------------------------- roles


def role_of(user: Any) -> str | None:
    """The signed-in user's role, or None (anonymous)."""
    return getattr(user, "role", None) if user is not None and getattr(user, "is_authenticated", False) else None


def role_name(role: str | None) -> str:
    """The role as people read it ("Coordinación"), translated."""
    from app.models.accounts import ROLE_LABELS

    return _(ROLE_LABELS[Role(role)]) if role in ALL_ROLES else (role or "")


def is_signed_in(user: Any) -> bool:
    return role_of(user) is not None


def is_territorial(user: Any) -> bool:
    return role_of(user) == Role.TERRITORIAL


def is_coordinator(user: Any) -> bool:
    return role_of(user) == Role.COORDINATOR


def is_manager(user: Any) -> bool:
    return role_of(user) == Role.MANAGER


def is_admin(user: Any) -> bool:
    return role_of(user) == Role.ADMIN


def is_staff(user: Any) -> bool:
    """The central roles (coordination, management, administration): not a territorial team."""
    return role_of(user) in (Role.COORDINATOR.value, Role.MANAGER.value, Role.ADMIN.value)


def needs_label(role: str) -> bool:
    """Territorial users belong to one label; the other roles to none."""
    return role == Role.TERRITORIAL


def has_home_directorate(role: str) -> bool:
    """Only coordinators have a home directorate (DESIGN.md §1)."""
    return role == Role.COORDINATOR


def home_label_ids(user: Any) -> set[int]:
    if not is_coordinator(user):
        return set()
    return {label.id for label in (getattr(user, "home_labels", None) or [])}


def is_home_label(user: Any, label_id: int | None) -> bool:
    return label_id is not None and label_id in home_label_ids(user)


# --------------------------------------------------------------------------- areas (route level)


def can_administer(user: Any) -> bool:
    """Users, catalogues, seasons and weights: the platform administrator."""
    return is_admin(user)


def can_manage_catalogue(user: Any) -> bool:
    return is_admin(user)


def can_set_playlists(user: Any) -> bool:
    """Annual targets: coordinators and administrators."""
    return is_coordinator(user) or is_admin(user)


def can_manage_seasons(user: Any) -> bool:
    """Season life (confirming drafts, closing, carry-over or cancel at the end): coordinators and
    administrators."""
    return is_coordinator(user) or is_admin(user)


def can_correct_closed_season(user: Any) -> bool:
    """Songs of a closed season change only through an audited admin correction (DESIGN.md §5)."""
    return is_admin(user)


def has_own_label_requests(user: Any) -> bool:
    """A territorial team with a label follows its own label's due-date requests (read-only)."""
    return is_territorial(user) and bool(getattr(user, "label_id", None))


def can_read_audit(user: Any) -> bool:
    return is_coordinator(user) or is_admin(user)


def can_see_audit_addresses(user: Any) -> bool:
    """The network address of audit events: administrators only."""
    return is_admin(user)


def can_import_songs(user: Any) -> bool:
    """A team (rows of its own label, checked per row) or a coordinator."""
    return is_territorial(user) or is_coordinator(user)


def can_plan_songs(user: Any) -> bool:
    return is_territorial(user) or is_coordinator(user)


def can_see_all_labels(user: Any) -> bool:
    """The central roles see every label's songs; a team only its own."""
    return is_staff(user)


def can_review(user: Any) -> bool:
    """The review queue and rubric: central coordinators (per song, see ``can_review_song``)."""
    return is_coordinator(user)


def can_decide_due_date(user: Any) -> bool:
    """Due-date requests: coordinators (per request, see ``can_decide_due_date_change``)."""
    return is_coordinator(user)


def can_read_survey_results(user: Any) -> bool:
    return is_coordinator(user) or is_manager(user)


def can_read_survey_comment(user: Any) -> bool:
    """A survey's free comment (it may hold personal data the respondent wrote): coordinators
    and managers, as docs/PRIVACY.md says; the song's team sees the ratings, not the comment."""
    return can_read_survey_results(user)


def can_see_respondent_data(user: Any) -> bool:
    """Survey respondents' and municipal contacts' personal data: coordinators (Ley 1581 de 2012)."""
    return is_coordinator(user)


def can_recompute_charts(user: Any) -> bool:
    return is_coordinator(user) or is_admin(user)


def can_read_coverage(user: Any) -> bool:
    return is_staff(user)


def can_import_indicators(user: Any) -> bool:
    return is_coordinator(user) or is_admin(user)


def can_read_integrity_alerts(user: Any) -> bool:
    return is_coordinator(user) or is_admin(user)


def can_confirm_changes(user: Any) -> bool:
    """Four eyes: a second coordinator confirms what moves the board after the fact."""
    return is_coordinator(user)


# --------------------------------------------------------------------------- songs


def can_view_song(user: Any, song: Any) -> bool:
    """Territorial users see their own label's songs; the central roles see all."""
    if is_territorial(user):
        return user.label_id == song.label_id
    return is_signed_in(user)


def can_see_song_details(user: Any, song: Any) -> bool:
    """A song's municipality and satisfaction S (and Q, which contains S) on pages that list
    songs of every label (the chart breakdowns): only for whoever may open the song
    (docs/PRIVACY.md); the aggregates stay visible to everyone signed in."""
    return can_view_song(user, song)


def can_create_song_for_label(user: Any, label_id: int) -> bool:
    """Territorial users create songs only for artists of their own label; coordinators for any."""
    if is_territorial(user):
        return user.label_id == label_id
    return is_coordinator(user)


def can_edit_song(user: Any, song: Any) -> bool:
    """Territorial (own label) and coordinators change songs; managers read only."""
    return can_create_song_for_label(user, song.label_id)


def view_refusal(user: Any, song: Any) -> str | None:
    if can_view_song(user, song):
        return None
    return _("Esta canción es de otra disquera.")


def edit_refusal(user: Any, song: Any) -> str | None:
    if can_edit_song(user, song):
        return None
    if is_territorial(user):
        return _("No puede modificar canciones de otra disquera.")
    return _("Su rol solo puede consultar canciones.")


def _home_refusal(user: Any, label_id: int | None) -> str | None:
    if is_home_label(user, label_id):
        return _(
            "Esta disquera es de su dirección de origen: por separación de funciones, otra persona de la "
            "coordinación debe hacerlo."
        )
    return None


def review_refusal(user: Any, song: Any, *, ignore_assignment: bool = False) -> str | None:
    """Why ``user`` may not review, correct or return ``song`` (None if they may).

    A delivered song assigned to a reviewer (app.domain.review_queue) is reviewed or returned by
    that reviewer only; ``ignore_assignment`` asks whether ``user`` could be assigned at all."""
    if not is_coordinator(user):
        return _("Solo la coordinación central puede revisar o devolver canciones.")
    if (reason := _home_refusal(user, song.label_id)) is not None:
        return reason
    if user.id is not None and user.id in (song.created_by_id, song.delivered_by_id):
        return _(
            "Usted planeó o entregó esta canción: por separación de funciones, otra persona de la coordinación "
            "debe revisarla."
        )
    survey = getattr(song, "survey", None)
    if survey is not None and survey.answered_by_id == user.id:
        return _("Usted respondió la encuesta de esta canción: otra persona de la coordinación debe revisarla.")
    if any(c.decided_by_id == user.id and c.status == "approved" for c in song.due_date_changes):
        return _(
            "Usted aprobó un cambio de fecha de esta canción: por separación de funciones, otra persona de la "
            "coordinación debe revisarla."
        )
    assigned = getattr(song, "assigned_reviewer_id", None)
    if not ignore_assignment and assigned not in (None, user.id) and song.state == SongState.DELIVERED:
        return _(
            "Esta revisión está asignada a otra persona de la coordinación; para hacerla usted, reasígnela primero."
        )
    return None


def can_review_song(user: Any, song: Any) -> bool:
    return review_refusal(user, song) is None


def due_date_decision_refusal(user: Any, change: Any) -> str | None:
    """Why ``user`` may not approve or reject the due-date ``change`` (None if they may)."""
    if not is_coordinator(user):
        return _("Solo la coordinación decide cambios de fecha de compromiso.")
    return _date_decision_refusal(user, change.song, change.requested_by_id)


def _date_decision_refusal(user: Any, song: Any, requested_by_id: int | None = None) -> str | None:
    """A coordinator deciding a date of ``song`` (due date, earlier delivery date): never for their
    home directorate, never their own request or a song they planned or delivered, never as its reviewer."""
    if (reason := _home_refusal(user, song.label_id)) is not None:
        return reason
    if user.id in (requested_by_id, song.created_by_id, song.delivered_by_id):
        return _("Nadie decide su propia solicitud: otra persona de la coordinación debe decidirla.")
    review = getattr(song, "review", None)
    if review is not None and review.reviewer_id == user.id:
        return _(
            "Usted revisó esta canción: por separación de funciones, otra persona de la coordinación decide sus "
            "cambios de fecha."
        )
    return None


def can_decide_due_date_change(user: Any, change: Any) -> bool:
    return due_date_decision_refusal(user, change) is None


def survey_link_refusal(user: Any, song: Any) -> str | None:
    """Why ``user`` may not issue or regenerate ``song``'s survey link (None if they may).

    The team issues the first link of its own song; afterwards only a coordinator outside the
    song's home directorate regenerates it."""
    if not song.survey_nonce and can_edit_song(user, song) and not is_home_label(user, song.label_id):
        return None
    if not is_coordinator(user):
        return _("Solo la coordinación puede generar un enlace nuevo de encuesta.")
    return _home_refusal(user, song.label_id)


def can_regenerate_survey_link(user: Any, song: Any) -> bool:
    return survey_link_refusal(user, song) is None


def survey_validation_refusal(user: Any, song: Any) -> str | None:
    """Why ``user`` may not validate or discard ``song``'s held survey (None if they may)."""
    if not is_coordinator(user):
        return _("Solo la coordinación valida o descarta encuestas retenidas.")
    if (reason := _home_refusal(user, song.label_id)) is not None:
        return reason
    if user.id in (song.created_by_id, song.delivered_by_id):
        return _("Usted planeó o entregó esta canción: otra persona de la coordinación debe validar su encuesta.")
    return None


def can_validate_survey(user: Any, song: Any) -> bool:
    return survey_validation_refusal(user, song) is None


def late_cancellation_refusal(user: Any, song: Any) -> str | None:
    """Why ``user`` may not ask for (or confirm) approving ``song``'s late cancellation as not the
    team's doing (None if they may): whoever could review the song (DESIGN.md §3, §9)."""
    if not is_coordinator(user):
        return _("Solo la coordinación (de otra dirección territorial) aprueba cancelaciones tardías.")
    return review_refusal(user, song, ignore_assignment=True)


def can_approve_late_cancellation(user: Any, song: Any) -> bool:
    return late_cancellation_refusal(user, song) is None


def earlier_delivery_refusal(user: Any, song: Any) -> str | None:
    """Why ``user`` may not approve the earlier delivery date a team declared for ``song`` (DESIGN.md
    §3): a coordinator outside its home directorate who neither planned nor delivered it, and not
    its reviewer (as for due-date changes)."""
    if not is_coordinator(user):
        return _("Solo la coordinación aprueba una fecha de entrega anterior a la ventana de declaración.")
    return _date_decision_refusal(user, song)


def label_action_refusal(user: Any, label_id: int | None) -> str | None:
    """Why a coordinator may not confirm a change for ``label_id`` (home directorate)."""
    if not is_coordinator(user):
        return _("Solo la coordinación confirma estos cambios.")
    return _home_refusal(user, label_id)


# --------------------------------------------------------------------------- refusing


def require(allowed: bool, message: str | None = None) -> None:
    """Raise PermissionDenied unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(message or _("No tiene permiso para esta acción."))


def refuse_if(reason: str | None) -> None:
    """Raise PermissionDenied(reason) when a ``*_refusal`` predicate gave one."""
    if reason is not None:
        raise PermissionDenied(reason)


def can_import_reference(user: Any) -> bool:
    """Official reference figures (categories, indicators): coordinators and admins (DESIGN.md §1)."""
    return is_coordinator(user) or is_admin(user)


def can_set_need_weights(user: Any) -> bool:
    """The weights of the need score are an admin setting (DESIGN.md §6)."""
    return is_admin(user)
