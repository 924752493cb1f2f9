"""Songs forms (WTForms). They only parse; rules live in app.domain.lifecycle."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

REQUIRED = _l("Este campo es obligatorio.")
DATE_HINT = _l("Fecha no válida.")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SongForm(FlaskForm):
    """Plan (create) or edit a song. The edit view removes fields not editable in the song's state."""

    artist_id = SelectField(
        _l("Artista · Equipo humano"), coerce=_int_or_none, validators=[InputRequired(message=REQUIRED)]
    )
    album_id = SelectField(
        _l("Álbum · Línea temática"), coerce=_int_or_none, validators=[InputRequired(message=REQUIRED)]
    )
    municipality = StringField(
        _l("Municipio"),
        validators=[Optional(), Length(max=120)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    municipality_id = HiddenField()  # set by the chosen suggestion (a radio button named municipality_id)
    scope = TextAreaField(_l("Alcance concertado"), validators=[DataRequired(message=REQUIRED), Length(max=5000)])
    planned_start = DateField(_l("Inicio planeado"), validators=[InputRequired(message=REQUIRED)])
    due_date = DateField(_l("Fecha de compromiso"), validators=[InputRequired(message=REQUIRED)])
    diagnosis = TextAreaField(_l("Diagnóstico · caracterización"), validators=[Optional(), Length(max=5000)])
    action_plan = TextAreaField(_l("Plan de acción municipal"), validators=[Optional(), Length(max=5000)])
    product = TextAreaField(_l("Producto entregado"), validators=[Optional(), Length(max=5000)])
    beneficiaries = IntegerField(
        _l("Beneficiarios (servidores públicos)"),
        validators=[Optional(), NumberRange(min=0, message=_l("Debe ser 0 o más."))],
    )
    confirm_duplicate = BooleanField(_l("Entiendo el aviso: registrar de todos modos"))
    version = HiddenField()


class StartForm(FlaskForm):
    diagnosis = TextAreaField(
        _l("Diagnóstico · caracterización"), validators=[DataRequired(message=REQUIRED), Length(max=5000)]
    )
    action_plan = TextAreaField(_l("Plan de acción municipal"), validators=[Optional(), Length(max=5000)])


class DeliverForm(FlaskForm):
    delivered_on = DateField(_l("Fecha de entrega"), validators=[InputRequired(message=REQUIRED)])
    product = TextAreaField(_l("Producto entregado"), validators=[Optional(), Length(max=5000)])
    beneficiaries = IntegerField(
        _l("Beneficiarios (servidores públicos alcanzados)"),
        validators=[Optional(), NumberRange(min=0, message=_l("Debe ser 0 o más."))],
    )
    # The municipal contact who receives the survey (DESIGN.md §1; personal data, docs/PRIVACY.md)
    contact_name = StringField(_l("Contacto de la alcaldía: nombre"), validators=[Optional(), Length(max=160)])
    contact_position = StringField(_l("Cargo del contacto"), validators=[Optional(), Length(max=160)])
    contact_email = StringField(_l("Correo institucional del contacto"), validators=[Optional(), Length(max=254)])
    contact_phone = StringField(_l("Teléfono del contacto"), validators=[Optional(), Length(max=40)])
    request_earlier = BooleanField(
        _l("Si la fecha es anterior a la ventana de declaración, pedir su aprobación a la coordinación")
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Motivo de la cancelación"),
        validators=[DataRequired(message=REQUIRED), Length(max=5000)],
        id="cancel_reason",  # unique on the detail page, which also shows the due-date form
    )


class DueDateRequestForm(FlaskForm):
    proposed_due = DateField(_l("Nueva fecha de compromiso propuesta"), validators=[InputRequired(message=REQUIRED)])
    reason = TextAreaField(
        _l("Justificación"), validators=[DataRequired(message=REQUIRED), Length(max=5000)], id="due_reason"
    )


class LateCancellationForm(FlaskForm):
    """A coordinator asks to approve a late cancellation as not the team's doing (four eyes).
    The choices are song_rules.LATE_CANCEL_REASONS, set by the view; the domain checks them."""

    reason = SelectField(_l("Motivo (no atribuible al equipo)"), validate_choice=False, id="late_cancel_reason")
    comment = TextAreaField(_l("Comentario"), validators=[Optional(), Length(max=5000)], id="late_cancel_comment")


class EvidenceForm(FlaskForm):
    file = FileField(_l("Archivo de evidencia"))


class DecisionForm(FlaskForm):
    decision = HiddenField()
    comment = TextAreaField(_l("Comentario"), validators=[Optional(), Length(max=5000)])


class ConfirmForm(FlaskForm):
    """An empty form: just the CSRF token (remove evidence)."""


__all__ = [
    "CancelForm",
    "ConfirmForm",
    "DecisionForm",
    "DeliverForm",
    "DueDateRequestForm",
    "EvidenceForm",
    "LateCancellationForm",
    "SongForm",
    "StartForm",
    "DATE_HINT",
]
