"""JSON API under /api/v1 (DESIGN.md §8): one module per resource."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import alerts, catalogue, charts, core, coverage, reviews, songs  # noqa: E402,F401
