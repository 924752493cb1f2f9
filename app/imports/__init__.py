from flask import Blueprint

bp = Blueprint("imports", __name__, template_folder="templates", url_prefix="/songs/import")

from app.imports import routes  # noqa: E402,F401
