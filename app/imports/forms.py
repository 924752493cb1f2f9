from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class UploadForm(FlaskForm):
    file = FileField(
        _l("Archivo CSV o Excel (.xlsx)"),
        validators=[FileRequired(_l("Seleccione un archivo para importar."))],
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the file itself stays on the server between preview and confirm."""
