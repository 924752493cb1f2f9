"""Forms of the coverage pages (DESIGN.md §6)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class IndicatorUploadForm(FlaskForm):
    """CSV municipality_code, indicator, year, value (coordinators and admins)."""

    file = FileField(_l("Archivo CSV de indicadores"), validators=[FileRequired(_l("Seleccione un archivo CSV."))])
