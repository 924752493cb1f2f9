from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications", template_folder="templates")

from app.notifications import routes  # noqa: E402,F401
