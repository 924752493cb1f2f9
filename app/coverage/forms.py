"""Forms of the coverage pages (DESIGN.md §6)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField
from wtforms.validators import InputRequired, NumberRange, Optional


class IndicatorUploadForm(FlaskForm):
    """CSV municipality_code, indicator, year, value (coordinators and admins)."""

    file = FileField(_l("Archivo CSV de indicadores"), validators=[FileRequired(_l("Seleccione un archivo CSV."))])


class CategoryUploadForm(FlaskForm):
    """Official categories: CSV, or the XLSX as DNP or the Contaduría publish it."""

    file = FileField(
        _l("Archivo de categorías (CSV o XLSX oficial)"),
        validators=[FileRequired(_l("Seleccione un archivo CSV o XLSX."))],
    )
    year = IntegerField(
        _l("Año (vigencia), si el archivo no lo indica"),
        validators=[Optional(), NumberRange(1990, 2100, _l("Escriba un año entre 1990 y 2100."))],
    )


_WEIGHT = [InputRequired(_l("Escriba un número entre 0 y 1.")), NumberRange(0, 1, _l("Escriba un número entre 0 y 1."))]


class NeedWeightsForm(FlaskForm):
    """Weights of the need score (admins)."""

    idf_weight = DecimalField(_l("Peso del desempeño fiscal bajo (1 − IDF/100)"), places=2, validators=_WEIGHT)
    capacity_weight = DecimalField(_l("Peso del grupo de capacidades G4/G5 (DNP)"), places=2, validators=_WEIGHT)
    pdet_weight = DecimalField(_l("Peso de PDET"), places=2, validators=_WEIGHT)
