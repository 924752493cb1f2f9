from flask import Blueprint

bp = Blueprint("offline", __name__, template_folder="templates")

from app.offline import routes  # noqa: E402,F401
