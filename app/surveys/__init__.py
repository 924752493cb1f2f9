from flask import Blueprint

bp = Blueprint("surveys", __name__, template_folder="templates")

from app.surveys import routes  # noqa: E402,F401
