"""Coordinators' review queue and rubric (issue 6)."""

from flask import render_template

from app.auth.decorators import roles_required
from app.reviews import bp


@bp.get("")
@roles_required("coordinator")
def queue():
    return render_template("placeholder.html", title="Revisión de calidad")
