"""Songs: list, detail, create, edit, transitions, evidence (issue 4)."""

from flask import render_template
from flask_login import login_required

from app.songs import bp


@bp.get("")
@login_required
def list_songs():
    return render_template("placeholder.html", title="Canciones · Asistencias técnicas")
