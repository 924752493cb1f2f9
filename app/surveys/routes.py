"""Municipal satisfaction surveys through signed links (issue 6)."""

from app.surveys import bp  # noqa: F401
