"""JSON API under /api/v1 (DESIGN.md §8)."""

from app.api import bp  # noqa: F401
