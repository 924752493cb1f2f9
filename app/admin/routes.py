"""Administration: users and the audit trail (issue 9). Catalogues live in ``app.admin.catalogue``.

Views stay thin: parse the form → ``app.domain.accounts`` (rules, writes, audit) → render.
The audit trail viewer is read-only: the app has no route that edits or deletes audit events.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from app.admin import bp
from app.auth.decorators import permission_required
from app.domain import accounts, audit_search, audit_trail, exports, permissions
from app.domain.errors import DomainError
from app.extensions import db
from app.models import Artist, AuditEvent, Label, Role, User
from app.models.accounts import ROLE_LABELS

AUDIT_EXPORT_MAX_ROWS = 100_000


def _role_choices():
    return [(r.value, _(ROLE_LABELS[r])) for r in Role]


def _label_choices():
    labels = db.session.scalars(select(Label).order_by(Label.code)).all()
    return [("", _("— ninguna —"))] + [(str(label.id), f"{label.code} · {label.name}") for label in labels]


def _team_choices():
    teams = db.session.execute(
        select(Artist.id, Artist.name, Label.code)
        .join(Label, Artist.label_id == Label.id)
        .order_by(Label.code, Artist.name)
    ).all()
    return [(str(team_id), f"{code} · {name}") for team_id, name, code in teams]


def _ids(values) -> list[int]:
    return [int(v) for v in values or [] if str(v).isdigit()]


class UserEditForm(FlaskForm):
    """Role, label, teams, name and home directorate (issue 15, issue 21)."""

    name = StringField(_l("Nombre"), validators=[DataRequired(), Length(max=160)])
    role = SelectField(_l("Rol"), validators=[DataRequired()])
    label = SelectField(_l("Disquera · Dirección Territorial (solo territorial)"), validators=[Optional()])
    teams = SelectMultipleField(_l("Equipos · Artistas (solo territorial, de su disquera)"), validators=[Optional()])
    home_labels = SelectMultipleField(
        _l("Dirección de origen (solo coordinación; ninguna = oficina nacional)"), validators=[Optional()]
    )

    def fill_choices(self) -> None:
        self.role.choices = [SelectChoice(*choice) for choice in _role_choices()]
        self.label.choices = [SelectChoice(*choice) for choice in _label_choices()]
        self.teams.choices = [SelectChoice(*choice) for choice in _team_choices()]
        self.home_labels.choices = [SelectChoice(*choice) for choice in _label_choices()[1:]]

    def scope(self) -> dict:
        """Label, home directorate and teams as ``accounts.create_user``/``update_user`` take them."""
        return {
            "label_id": int(self.label.data) if self.label.data else None,
            "home_label_ids": _ids(self.home_labels.data),
            "team_ids": _ids(self.teams.data),
        }


class UserForm(UserEditForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Contraseña temporal"), validators=[DataRequired(), Length(max=200)])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("Contraseña temporal"), validators=[DataRequired(), Length(max=200)])


class ActionForm(FlaskForm):
    """A POST with only the CSRF token (deactivate, reactivate, unlock)."""


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _page_arg() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), 100_000)


@bp.get("")
@permission_required(permissions.can_administer)
def index():
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return render_template("admin/index.html", counts=counts, roles=_role_choices())


# --- Users -----------------------------------------------------------------------------------


@bp.get("/users")
@permission_required(permissions.can_administer)
def users():
    q = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role") or ""
    state = request.args.get("state") or ""
    page = db.paginate(
        accounts.search_users(q, role, state),
        page=_page_arg(),
        per_page=current_app.config.get("PAGE_SIZE", 25),
        error_out=False,
    )
    return render_template(
        "admin/users.html",
        page=page,
        q=q,
        role=role,
        state=state,
        roles=_role_choices(),
        role_labels=dict(_role_choices()),
        args={"q": q, "role": role, "state": state},
        now=datetime.now(UTC),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(permissions.can_administer)
def new_user():
    form = UserForm()
    form.fill_choices()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data,
                form.name.data,
                form.password.data,
                form.role.data,
                **form.scope(),
                actor=current_user,
                ip=request.remote_addr,
            )
        except DomainError as exc:
            _attach_errors(form, exc)
            status = exc.status
        else:
            flash(_("Usuario creado: %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/user_new.html", form=form), status


def _attach_errors(form: FlaskForm, exc: DomainError) -> None:
    """The summary as a flash, and each field's messages next to the field."""
    details = exc.details if isinstance(exc.details, dict) else {}
    for name, messages in details.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages if isinstance(messages, list) else [messages])
    flash(exc.message, "error")


@bp.get("/users/<int:user_id>")
@permission_required(permissions.can_administer)
def user_detail(user_id: int):
    user = _get_user(user_id)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "admin/user_detail.html",
        user=user,
        events=events,
        locked=accounts.is_locked(user),
        action_form=ActionForm(),
        reset_form=PasswordResetForm(),
        role_labels=dict(_role_choices()),
    )


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required(permissions.can_administer)
def edit_user(user_id: int):
    """Name, role, label, teams and home directorate of an existing user (audited before/after)."""
    user = _get_user(user_id)
    form = UserEditForm(
        formdata=request.form if request.method == "POST" else None,
        data={
            "name": user.name,
            "role": user.role,
            "label": str(user.label_id) if user.label_id else "",
            "teams": [str(team.id) for team in user.artists],
            "home_labels": [str(label.id) for label in user.home_labels],
        },
    )
    form.fill_choices()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                changes = accounts.update_user(
                    user,
                    name=form.name.data,
                    role=form.role.data,
                    **form.scope(),
                    actor=current_user,
                    ip=request.remote_addr,
                )
            except DomainError as exc:
                db.session.rollback()
                _attach_errors(form, exc)
                status = exc.status
            else:
                flash(_("Usuario actualizado.") if changes else _("No hubo cambios."), "success")
                return redirect(url_for("admin.user_detail", user_id=user.id))
        else:
            status = 422
    return render_template("admin/user_edit.html", form=form, user=user), status


def _user_action(user_id: int, action, message: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    user = _get_user(user_id)
    try:
        action(user)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    flash(message, "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.get("/users/<int:user_id>/deactivate")
@permission_required(permissions.can_administer)
def confirm_deactivate(user_id: int):
    """A confirmation page (works without JavaScript) before a destructive action."""
    return render_template("admin/user_deactivate.html", user=_get_user(user_id), action_form=ActionForm())


@bp.post("/users/<int:user_id>/deactivate")
@permission_required(permissions.can_administer)
def deactivate_user(user_id: int):
    return _user_action(
        user_id,
        lambda u: accounts.set_active(u, False, actor=current_user, ip=request.remote_addr),
        _("Usuario desactivado: ya no puede iniciar sesión y sus tokens quedaron revocados."),
    )


@bp.post("/users/<int:user_id>/reactivate")
@permission_required(permissions.can_administer)
def reactivate_user(user_id: int):
    return _user_action(
        user_id,
        lambda u: accounts.set_active(u, True, actor=current_user, ip=request.remote_addr),
        _("Usuario reactivado."),
    )


@bp.post("/users/<int:user_id>/unlock")
@permission_required(permissions.can_administer)
def unlock_user(user_id: int):
    return _user_action(
        user_id,
        lambda u: accounts.unlock(u, actor=current_user, ip=request.remote_addr),
        _("Bloqueo levantado."),
    )


@bp.post("/users/<int:user_id>/password")
@permission_required(permissions.can_administer)
def reset_password(user_id: int):
    user = _get_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data, actor=current_user, ip=request.remote_addr)
        except DomainError as exc:
            form.password.errors = [exc.message]
        else:
            flash(_("Contraseña temporal asignada. Comuníquela por un canal seguro."), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(20)
    ).all()
    return (
        render_template(
            "admin/user_detail.html",
            user=user,
            events=events,
            locked=accounts.is_locked(user),
            action_form=ActionForm(),
            reset_form=form,
            role_labels=dict(_role_choices()),
        ),
        422,
    )


# --- Audit trail (read-only) -----------------------------------------------------------------


@bp.get("/audit")
@permission_required(permissions.can_read_audit)
def audit():
    filters = audit_search.parse_filters(request.args)
    page = audit_search.search(filters.conditions, _page_arg(), current_app.config.get("PAGE_SIZE", 25))
    entity_types, actions = audit_search.known_values()
    return (
        render_template(
            "admin/audit.html",
            rows=page.items,
            entries=audit_trail.describe(
                [event for event, _email in page.items], permissions.can_administer(current_user)
            ),
            page=page,
            values=filters.values,
            errors=filters.errors,
            entity_types=audit_trail.entity_type_choices(entity_types),
            actions=audit_trail.action_choices(actions),
            args={k: v for k, v in filters.values.items() if v},
            show_ip=permissions.can_see_audit_addresses(current_user),
        ),
        400 if filters.errors else 200,
    )


@bp.get("/audit.csv")
@permission_required(permissions.can_read_audit)
def audit_export():
    filters = audit_search.parse_filters(request.args)
    flavour = request.args.get("flavour", "rfc4180")
    if flavour not in exports.CSV_FLAVOURS:
        filters.errors["flavour"] = _("Formato de CSV desconocido.")
    if filters.errors:
        return render_template(
            "error.html", status=400, title=_("Filtros no válidos"), message=" ".join(filters.errors.values())
        ), 400
    header, data = audit_search.export_rows(
        filters.conditions, AUDIT_EXPORT_MAX_ROWS, show_ip=permissions.can_see_audit_addresses(current_user)
    )
    stamp = datetime.now(UTC).astimezone(audit_search.display_timezone()).strftime("%Y-%m-%d-%H%M")
    # Shared export helper: formula-neutralised cells, no-store; RFC 4180 for systems, or
    # "Excel (es-CO)" (semicolon, UTF-8 with BOM) for people.
    name = f"auditoria-{stamp}" + ("-excel" if flavour == "excel" else "") + ".csv"
    return exports.csv_response(name, header, data, flavour=flavour)
