"""Administration: users, catalogues, seasons, weights (issue 9 and others)."""

from flask import render_template

from app.admin import bp
from app.auth.decorators import roles_required


@bp.get("")
@roles_required("admin")
def index():
    return render_template("placeholder.html", title="Administración")
