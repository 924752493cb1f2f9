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

from flask import Flask, abort, g, jsonify, render_template, request
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
    """"nul" or "surrogate" for the first string in a JSON value no database can store, else None.

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

    def _database_unavailable(exc: Exception):
        """503 while the database does not answer; pool_pre_ping reconnects when it returns."""
        from app.extensions import db, login_manager

        app.logger.error("Database unavailable: %s", type(exc).__name__)
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the connection is already gone
            pass
        g._login_user = login_manager.anonymous_user()  # render without touching the database again
        message = _("La base de datos no responde en este momento. Intente de nuevo en unos minutos.")
        if request.path.startswith("/api/") or (
            request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html
        ):
            response = jsonify({"error": message, "details": None})
        else:
            response = app.make_response(
                render_template("error.html", status=503, title=_("Servicio no disponible"), message=message)
            )
        response.status_code = 503
        response.headers["Retry-After"] = "30"
        return response

    for exc_class in DATABASE_DOWN:
        app.register_error_handler(exc_class, _database_unavailable)

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
