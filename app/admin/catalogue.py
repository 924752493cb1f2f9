"""Admin and coordinator screens for catalogues: labels, albums, artists, seasons, playlists."""

from app.admin import bp  # noqa: F401
