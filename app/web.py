"""Shared web plumbing: template filters, error pages, JSON errors for the API."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from flask import Flask, g, jsonify, render_template, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app import numbers
from app.domain.errors import DomainError
from app.i18n import text


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    )


def safe_next(target: str | None) -> str:
    """Where to go after sign-in or a language switch: a same-site path, else home (issue 19).

    Browsers drop tabs and newlines and read ``\\`` as ``/``, so ``/\t/evil.example`` would
    become ``//evil.example``: a target with a control character or a space is a 400 (never a
    header with a newline), and one with a scheme, a host or a leading ``//`` or ``/\\`` goes home.
    """
    home = url_for("main.index")
    if not target:
        return home
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        raise DomainError(_("La dirección de regreso (next) no es válida."), {"next": [_("No válida.")]})
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target or parts.scheme or parts.netloc:
        return home
    return target


def fmt_date(value: date | datetime | None, fmt: str = "dd/MM/yyyy") -> str:
    """Dates in Colombian format (DESIGN.md §7)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, "dd/MM/yyyy HH:mm")
    return format_date(value, fmt)


# The one number formatter (app/numbers.py), under the names the templates and tests use.
fmt_number = numbers.number
fmt_percent = numbers.percent
fmt_score = numbers.score


def render_error_page(status: int, title: str, message: str) -> str:
    """The HTML error page, rendered without ever failing on the database (issue 19).

    The page shows the signed-in user's menu when the user can be loaded; if that, or
    anything the page reads (e.g. the user's label), needs a database that is gone, it is
    rendered again for an anonymous visitor.
    """
    from flask_login import current_user

    from app.extensions import db, login_manager

    try:
        return render_template("error.html", status=status, title=title, message=message)
    except Exception:  # the page itself touched a database that is gone
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the connection is already gone
            pass
        g._login_user = login_manager.anonymous_user()
        assert not current_user.is_authenticated
        return render_template("error.html", status=status, title=title, message=message)


def init_app(app: Flask) -> None:
    app.add_template_filter(fmt_date, "date")
    app.add_template_filter(fmt_number, "number")
    app.add_template_filter(fmt_percent, "percent")
    app.add_template_filter(fmt_score, "score")
    app.add_template_filter(numbers.decimal, "decimal")
    app.add_template_filter(numbers.input_decimal, "input_decimal")
    app.add_template_filter(numbers.signed, "signed")
    app.add_template_filter(numbers.direction, "direction")

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico on every page: the app's icon, cached for a week."""
        response = app.send_static_file("favicon.ico")
        response.headers["Cache-Control"] = "public, max-age=604800"
        return response

    @app.context_processor
    def _globals():
        from app.domain import permissions

        return {"perm": permissions, "current_locale": str(get_locale() or "es")}

    def _error(status: int, title: str, message: str, details=None):
        if _wants_json():
            return jsonify({"error": text(message), "details": text(details)}), status
        return render_error_page(status, title, message), status

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return _error(exc.status, _("No se pudo completar"), exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        titles = {
            400: _("Solicitud no válida"),
            401: _("Inicie sesión"),
            403: _("Acceso no permitido"),
            404: _("Página no encontrada"),
            405: _("Método no permitido"),
            409: _("Conflicto"),
            413: _("Archivo demasiado grande"),
            422: _("Datos no válidos"),
            429: _("Demasiadas solicitudes"),
        }
        messages = {
            400: _("La solicitud no se pudo entender. Revise los datos e intente de nuevo."),
            401: _("Debe iniciar sesión para continuar."),
            403: _("No tiene permiso para ver esta página o hacer esta acción."),
            404: _("No encontramos lo que busca. Puede que se haya movido o eliminado."),
            405: _("Esta acción no está permitida en esta dirección."),
            413: _("El archivo o la solicitud supera el tamaño máximo permitido."),
            429: _("Ha hecho demasiadas solicitudes. Espere un momento e intente de nuevo."),
        }
        code = exc.code or 500
        message = messages.get(code) or exc.description or _("Ocurrió un error.")
        if code == 400 and exc.description and "CSRF" in exc.description:
            message = _("La sesión del formulario expiró. Recargue la página e intente de nuevo.")
        return _error(code, titles.get(code, _("Error")), message)

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError):
        """Safety net: a lost race the domain did not turn into a Conflict is still a 409."""
        from app.extensions import db

        db.session.rollback()
        return _error(
            409, _("Conflicto"), _("Otra persona modificó estos datos al mismo tiempo. Recargue e intente de nuevo.")
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        from app.security import database_unavailable, is_database_down

        if is_database_down(exc):  # e.g. a PendingRollbackError after the connection died
            return database_unavailable(exc)
        app.logger.exception("Unhandled error")
        from app.extensions import db

        try:
            db.session.rollback()
        except Exception:  # the database may be gone
            pass
        return _error(
            500,
            _("Algo salió mal"),
            _("Ocurrió un error inesperado. Ya quedó registrado; intente de nuevo en unos minutos."),
        )
