"""API plumbing shared by every resource module: auth, CSRF, JSON errors, paging.

Auth: the browser session, or ``Authorization: Bearer <token>`` from
``POST /api/v1/tokens``. Session-authenticated state-changing requests need the
CSRF token (header ``X-CSRFToken``); requests that a bearer token authenticated do not (no
ambient cookie) — a header that authenticates nothing exempts nothing.
Errors are ``{"error": "...", "details": ...}`` with the right status.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from app.api import bp, schemas
from app.domain import accounts, audit
from app.domain.errors import DomainError, ValidationFailed
from app.extensions import csrf, db, limiter
from app.i18n import _
from app.transaction import keep_writes

csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.create_token", "api.open_coverage"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
MAX_PER_PAGE = 200


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details


def error(status: int, message: str, details: Any = None):
    """The JSON error response (schemas.error) with its status."""
    return jsonify(schemas.error(message, details)), status


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return error(401, _("Se requiere autenticación (sesión o token Bearer)."))
    # Exempt only a request that a token really authenticated (no ambient cookie): a cookie
    # session with any "Authorization: Bearer …" header still needs the CSRF header (issue 19).
    by_token = g.get("token_user") is not None and g.token_user is current_user._get_current_object()
    if request.method in STATE_CHANGING and not by_token and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # session-authenticated writes need the CSRF header
    return None


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error(exc.status, exc.message, exc.details)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    return error(exc.status, exc.message, exc.details)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    messages = {
        400: _("Solicitud no válida."),
        401: _("Se requiere autenticación."),
        403: _("No tiene permiso para esta acción."),
        404: _("No encontrado."),
        405: _("Método no permitido."),
        413: _("La solicitud supera el tamaño máximo permitido."),
        429: _("Demasiadas solicitudes; espere e intente de nuevo."),
    }
    message = messages.get(exc.code or 500, exc.description or _("Error."))
    if exc.code == 400 and exc.description and "CSRF" in exc.description:
        message = _("Falta o no es válido el token CSRF (cabecera X-CSRFToken).")
    return error(exc.code or 500, message)


def json_body(required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or a 400 with a clear message."""
    data = request.get_json(silent=True)
    if data is None:
        if not required and not request.data:
            return {}
        raise ApiError(400, _("El cuerpo debe ser JSON válido (Content-Type: application/json)."))
    if not isinstance(data, dict):
        raise ApiError(400, _("El cuerpo JSON debe ser un objeto."))
    return data


def int_arg(
    name: str, default: int | None = None, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """An integer query parameter, or a 400 naming the parameter."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, _("El parámetro '%(name)s' debe ser un número entero.", name=name), {name: raw[:50]}
        ) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ApiError(400, _("El parámetro '%(name)s' está fuera de rango.", name=name), {name: value})
    return value


def page_args() -> tuple[int, int]:
    """``(page, per_page)`` from the query string (400 on a bad value)."""
    return (
        int_arg("page", 1, minimum=1, maximum=1_000_000),
        int_arg("per_page", 50, minimum=1, maximum=MAX_PER_PAGE),
    )


def paginate(select_stmt, serialize) -> dict[str, Any]:
    """``{"items", "page", "per_page", "total", "pages"}`` for a select statement."""
    page, per_page = page_args()
    return schemas.page(db.paginate(select_stmt, page=page, per_page=per_page, error_out=False, count=True), serialize)


@bp.post("/tokens")
@limiter.limit("10 per minute")
def create_token():
    """Exchange ``{"email", "password"}`` for a bearer token."""
    data = json_body()
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise ValidationFailed(
            _("Envíe 'email' y 'password' como texto."), {"email": _("requerido"), "password": _("requerido")}
        )
    device = accounts.device_for(email, request.cookies.get(accounts.DEVICE_COOKIE))
    user = accounts.authenticate(email[:254], password[:200], address=request.remote_addr, device=device)
    if user is None:
        audit.record(
            "api_login_failed",
            "user",
            None,
            actor_id=None,
            changes={"email": accounts.normalise_email(email[:254])},
            ip=request.remote_addr,
        )
        keep_writes()  # the failed attempt is audited (and counted) although the answer is 401
        return error(401, _("Correo o contraseña incorrectos."))
    token, row = accounts.issue_token(user)
    audit.record("api_token_issued", "user", user.id, actor_id=user.id, ip=request.remote_addr)
    return jsonify({"token": token, "token_type": "Bearer", "expires_at": row.expires_at.isoformat()}), 201
