"""Coverage, targets, impact, exports and open data (issue 7)."""

from flask import render_template

from app.auth.decorators import roles_required
from app.coverage import bp


@bp.get("/coverage")
@roles_required("manager", "coordinator", "admin")
def summary():
    return render_template("placeholder.html", title="Cobertura")


@bp.get("/open-data")
def open_data():
    return render_template("placeholder.html", title="Datos abiertos")
