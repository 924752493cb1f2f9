"""API: songs resources (see DESIGN.md §8)."""

from app.api import bp  # noqa: F401
