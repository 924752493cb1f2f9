"""Cross-cutting security (DESIGN.md §7, issue 9; OWASP ASVS level 2).

- Security headers on every response (HTML, JSON, errors, static files).
- Pages for signed-in users are not stored by browsers or proxies (``Cache-Control: no-store``).
- The audit trail is append-only: the ORM refuses to update or delete ``AuditEvent`` rows,
  whether through a loaded object or a bulk ``update()``/``delete()`` statement.
"""

from __future__ import annotations

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.orm import Session

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


def init_app(app: Flask) -> None:
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
