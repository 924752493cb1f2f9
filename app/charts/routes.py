"""Leaderboards (issue 5)."""

from flask import render_template
from flask_login import login_required

from app.charts import bp


@bp.get("")
@login_required
def board():
    return render_template("placeholder.html", title="Listas · Ranking")
