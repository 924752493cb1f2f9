"""Municipal satisfaction surveys through signed links (issue 6)."""

from flask import render_template

from app.surveys import bp


@bp.route("/encuesta/<token>", methods=["GET", "POST"])
def answer(token: str):
    return render_template("placeholder.html", title="Encuesta de satisfacción")
