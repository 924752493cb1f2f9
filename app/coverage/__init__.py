from flask import Blueprint

bp = Blueprint("coverage", __name__, template_folder="templates")

from app.coverage import routes  # noqa: E402,F401
