"""Route guards, visible where a route is defined: ``@permission_required(permissions.can_x)``.

The predicate is one of ``app.domain.permissions`` (the one vocabulary of who may do what);
object-level checks (another label's song, segregation of duties) happen in the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask_login import current_user, login_required

from app.domain.errors import PermissionDenied


def permission_required(predicate: Callable[[Any], bool], message: str | None = None):
    """Sign-in required, and ``predicate(current_user)`` must hold (else 403 with a message)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not predicate(current_user):
                from app.i18n import _

                raise PermissionDenied(message or _("No tiene permiso para ver esta página o hacer esta acción."))
            return view(*args, **kwargs)

        wrapped.permission = predicate  # readable by tests and tools
        return wrapped

    return decorator
