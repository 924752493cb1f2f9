"""The municipality's satisfaction survey (DESIGN.md §4 S; issue 6). Plain language, five items 1–5."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

SCALE = [
    (1, _l("Muy en desacuerdo")),
    (2, _l("En desacuerdo")),
    (3, _l("Ni de acuerdo ni en desacuerdo")),
    (4, _l("De acuerdo")),
    (5, _l("Muy de acuerdo")),
]

ITEMS = {
    "q1": _l("La asistencia respondió a las necesidades de nuestra alcaldía."),
    "q2": _l("El equipo explicó los temas con claridad y resolvió nuestras dudas."),
    "q3": _l("Lo que nos entregaron (documento, plan, guía o herramienta) nos sirve en el trabajo diario."),
    "q4": _l("El equipo cumplió lo que acordamos, en las fechas acordadas."),
    "q5": _l("En general, estamos satisfechos con la asistencia recibida."),
}


def _item(name: str) -> RadioField:
    return RadioField(
        ITEMS[name],
        choices=[SelectChoice(*choice) for choice in SCALE],
        coerce=int,
        validators=[InputRequired(message=_l("Elija una respuesta para esta pregunta."))],
    )


class SurveyForm(FlaskForm):
    q1 = _item("q1")
    q2 = _item("q2")
    q3 = _item("q3")
    q4 = _item("q4")
    q5 = _item("q5")
    comment = TextAreaField(
        _l("¿Algo más que quiera contarnos? (opcional)"),
        validators=[Optional(), Length(max=2000, message=_l("Máximo 2.000 caracteres."))],
    )
    respondent_name = StringField(
        _l("Su nombre (opcional)"), validators=[Optional(), Length(max=160, message=_l("Máximo 160 caracteres."))]
    )
    respondent_position = StringField(
        _l("Su cargo en la alcaldía (opcional)"),
        validators=[Optional(), Length(max=160, message=_l("Máximo 160 caracteres."))],
    )
    consent = BooleanField(_l("Autorizo el tratamiento de mi nombre y cargo para los fines descritos arriba."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        given = (self.respondent_name.data or "").strip() or (self.respondent_position.data or "").strip()
        if given and not self.consent.data:
            self.consent.errors = [
                *self.consent.errors,
                _l("Para guardar su nombre y cargo necesitamos su autorización. Márquela o deje esos campos vacíos."),
            ]
            ok = False
        return ok

    def answers(self) -> dict:
        return {
            **{name: getattr(self, name).data for name in ITEMS},
            "comment": self.comment.data,
            "respondent_name": self.respondent_name.data,
            "respondent_position": self.respondent_position.data,
            "consent": self.consent.data,
        }
