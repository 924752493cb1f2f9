"""Bulk import of songs from CSV/XLSX (issue 4)."""

from flask import render_template

from app.auth.decorators import roles_required
from app.imports import bp


@bp.get("")
@roles_required("territorial", "coordinator")
def upload():
    return render_template("placeholder.html", title="Importar canciones")
