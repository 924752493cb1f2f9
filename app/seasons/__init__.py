from flask import Blueprint

bp = Blueprint("seasons", __name__, template_folder="templates", url_prefix="/seasons")

from app.seasons import routes  # noqa: E402,F401
