"""Cross-cutting security (DESIGN.md §7, issue 9; OWASP ASVS level 2).

- Security headers on every response (HTML, JSON, errors, static files).
- Pages for signed-in users are not stored by browsers or proxies (``Cache-Control: no-store``).
- NUL characters in any text input, and absurdly nested JSON, are a 400 up front.
- The database going away gives a friendly 503 (HTML or JSON), never a stack trace or a secret.
- The audit trail is append-only: the ORM refuses to update or delete ``AuditEvent`` rows,
  whether through a loaded object or a bulk ``update()``/``delete()`` statement.
"""

from __future__ import annotations

import re

from flask import Flask, abort, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from app.domain.errors import DomainError
from app.models import AuditEvent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an audit event."""


def _refuse(mapper, connection, target):
    raise AuditTrailIsAppendOnly("El registro de auditoría no se puede modificar ni borrar.")


event.listen(AuditEvent, "before_update", _refuse)
event.listen(AuditEvent, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state):
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if mapper.class_ is AuditEvent:
            raise AuditTrailIsAppendOnly("El registro de auditoría no se puede modificar ni borrar.")


STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value, depth: int = 0) -> str | None:
    """ "nul" or "surrogate" for the first string in a JSON value no database can store, else None.

    JSON may escape a lone UTF-16 surrogate (``"\\ud800"``): Python decodes it into a string
    that cannot be encoded as UTF-8, which SQLite and PostgreSQL then refuse (issue 19).
    """
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        return None if found is None else ("nul" if found.group() == "\x00" else "surrogate")
    if depth > 50:
        return None
    if isinstance(value, dict):
        items = [x for pair in value.items() for x in pair]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = _unstorable(item, depth + 1)
        if problem:
            return problem
    return None


DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


def is_database_down(exc: BaseException | None) -> bool:
    """``exc`` or an exception it came from says the database does not answer."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DATABASE_DOWN) or getattr(exc, "connection_invalidated", False):
            return True
        if isinstance(exc, sa_exc.PendingRollbackError) and "invalid transaction" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _unavailable_message() -> str:
    return _("La base de datos no responde en este momento. Intente de nuevo en unos minutos.")


def database_unavailable(exc: Exception):
    """503 while the database does not answer, for everyone (signed in or not), with Retry-After.

    Nothing here touches the database: the user becomes anonymous for the page, and the page
    is rendered by ``web.render_error_page``. ``pool_pre_ping`` reconnects when it returns.
    """
    from flask import current_app

    from app.extensions import db, login_manager
    from app.web import render_error_page

    current_app.logger.error("Database unavailable: %s", type(exc).__name__)
    try:
        db.session.rollback()
    except Exception:  # noqa: S110 - the connection is already gone
        pass
    g._login_user = login_manager.anonymous_user()  # render without touching the database again
    message = _unavailable_message()
    if request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
    ):
        response = jsonify({"error": message, "details": None})
    else:
        response = current_app.make_response(render_error_page(503, _("Servicio no disponible"), message))
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


class _LastResort:
    """WSGI guard: an exception that escapes Flask (an error page that failed, a teardown that
    met a dead connection) is a plain 503 in the right format, never the server's bare 500."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app, self.app = wsgi_app, app

    def __call__(self, environ, start_response):
        try:
            return self.wsgi_app(environ, start_response)
        except Exception:
            if self.app.config.get("PROPAGATE_EXCEPTIONS"):
                raise
            import sys

            self.app.logger.exception("Error escaped the application")
            api = environ.get("PATH_INFO", "").startswith("/api/")
            if api:
                body = b'{"error": "Servicio no disponible; intente de nuevo en unos minutos.", "details": null}'
                kind = "application/json"
            else:
                body = b"<!doctype html><title>Servicio no disponible</title><h1>Servicio no disponible</h1><p>Intente de nuevo en unos minutos.</p>"
                kind = "text/html; charset=utf-8"
            headers = [("Content-Type", kind), ("Content-Length", str(len(body))), ("Retry-After", "30")]
            headers += [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff")]
            start_response("503 Service Unavailable", headers, sys.exc_info())
            return [body]


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_hostile_input():
        """Input no field ever needs, refused before any view sees it (ASVS V5.1), as a 400:

        - NUL characters in query parameters, form fields or JSON strings (PostgreSQL refuses
          them in text, which would otherwise surface as a 500), and lone UTF-16 surrogates in
          JSON strings (no database can store them: issue 19);
        - JSON nested so deep that parsing blows Python's recursion limit.
        """
        if any("\x00" in value for value in request.args.values()):
            abort(400, description="NUL character in the query string")
        if request.method in STATE_CHANGING and request.mimetype in FORM_TYPES:
            if any("\x00" in value for value in request.form.values()):
                abort(400, description="NUL character in a form field")
        if request.is_json and request.content_length != 0:
            try:
                data = request.get_json(silent=True)  # cached for the view
            except RecursionError:
                abort(400, description="JSON nested too deeply")
            problem = _unstorable(data)
            if problem == "nul":
                abort(400, description="NUL character in the JSON body")
            if problem == "surrogate":
                raise DomainError(
                    _("El JSON trae un carácter no válido (un sustituto UTF-16 suelto, p. ej. \\ud800)."),
                    {"json": [_("Carácter no válido.")]},
                )

    for exc_class in DATABASE_DOWN:
        app.register_error_handler(exc_class, database_unavailable)
    app.wsgi_app = _LastResort(app.wsgi_app, app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("APP_ENV") == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            from flask_login import current_user

            try:
                signed_in = current_user.is_authenticated
            except Exception:  # the database may be gone while rendering an error page
                signed_in = False
            if signed_in or request.path.startswith("/api/"):
                response.headers["Cache-Control"] = "no-store"
        return response
