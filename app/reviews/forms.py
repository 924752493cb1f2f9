"""Forms of the quality review (issue 6): the rubric and the "return for changes" comment."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

SCALE = [(i, str(i)) for i in range(1, 6)]

# What 1, 3 and 5 mean for each criterion (shown next to each radio group).
RUBRIC = {
    "pertinence": {
        "label": _l("Pertinencia"),
        "question": _l("¿La asistencia respondió a lo concertado y a las necesidades del municipio?"),
        1: _l("No responde a lo concertado"),
        3: _l("Responde en parte"),
        5: _l("Responde por completo a lo concertado y al contexto"),
    },
    "rigour": {
        "label": _l("Rigor técnico"),
        "question": _l("¿El contenido es técnicamente correcto, con normas y fuentes vigentes?"),
        1: _l("Errores o información desactualizada"),
        3: _l("Correcto, con vacíos menores"),
        5: _l("Sólido, actualizado y bien sustentado"),
    },
    "usefulness": {
        "label": _l("Utilidad del producto"),
        "question": _l("¿La alcaldía puede usar el producto entregado en su gestión?"),
        1: _l("No se puede aplicar"),
        3: _l("Útil con ajustes"),
        5: _l("Listo para aplicar"),
    },
    "evidence": {
        "label": _l("Calidad de la evidencia"),
        "question": _l("¿Las evidencias (acta, fotos, listas, documentos) demuestran la entrega?"),
        1: _l("Insuficiente o ilegible"),
        3: _l("Suficiente, con faltantes"),
        5: _l("Completa, clara y verificable"),
    },
}


def _score(name: str) -> RadioField:
    return RadioField(
        RUBRIC[name]["label"],
        choices=[SelectChoice(*choice) for choice in SCALE],
        coerce=int,
        validators=[InputRequired(message=_l("Elija un puntaje de 1 a 5."))],
    )


class ReviewForm(FlaskForm):
    pertinence = _score("pertinence")
    rigour = _score("rigour")
    usefulness = _score("usefulness")
    evidence = _score("evidence")
    comment = TextAreaField(_l("Comentario para el equipo (opcional)"), validators=[Length(max=5000)])

    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name).data for name in RUBRIC}


class ReturnForm(FlaskForm):
    return_comment = TextAreaField(
        _l("Qué debe ajustar el equipo"),
        validators=[
            DataRequired(message=_l("Escriba qué debe ajustar el equipo: es obligatorio para devolver.")),
            Length(max=5000),
        ],
    )
