from flask import Blueprint

bp = Blueprint("reviews", __name__, template_folder="templates", url_prefix="/reviews")

from app.reviews import routes  # noqa: E402,F401
