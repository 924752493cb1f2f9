"""Locked sign-ins (issue 19): which accounts wait, from where, until when; the admin lifts it.

The unlock itself is the existing ``POST /admin/users/<id>/unlock`` (``accounts.unlock``), which
clears the account-wide lock and every waiting source.
"""

from __future__ import annotations

from flask import render_template

from app.admin import bp
from app.admin.routes import ActionForm
from app.auth.decorators import permission_required
from app.domain import accounts, permissions
from app.models.base import utcnow


@bp.get("/locked")
@permission_required(permissions.can_administer)
def locked_accounts():
    now = utcnow()
    return render_template(
        "admin/locked.html", accounts=accounts.locked_accounts(now), now=now, action_form=ActionForm()
    )
