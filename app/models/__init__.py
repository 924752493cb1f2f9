"""SQLAlchemy models, one module per area (DESIGN.md §2)."""

from app.models.accounts import ApiToken, LoginThrottle, Role, User
from app.models.audit import AuditEvent
from app.models.catalogue import Album, Artist, Label, Playlist, Season
from app.models.charts import (
    AlbumChartEntry,
    ArtistChartEntry,
    BadgeAward,
    ChartLease,
    ChartSnapshot,
    LabelChartEntry,
)
from app.models.notifications import Notification, NotificationPreference
from app.models.offline import OfflineSync
from app.models.songs import DueDateChange, Evidence, PendingChange, Review, Song, SongState, Standing, Survey
from app.models.territory import Department, MunicipalCategory, MunicipalIndicator, Municipality, NeedWeights

__all__ = [
    "Album",
    "AlbumChartEntry",
    "ApiToken",
    "Artist",
    "ArtistChartEntry",
    "AuditEvent",
    "BadgeAward",
    "ChartLease",
    "ChartSnapshot",
    "Department",
    "DueDateChange",
    "Evidence",
    "Label",
    "LabelChartEntry",
    "LoginThrottle",
    "MunicipalCategory",
    "MunicipalIndicator",
    "PendingChange",
    "Municipality",
    "NeedWeights",
    "Notification",
    "NotificationPreference",
    "OfflineSync",
    "Playlist",
    "Review",
    "Role",
    "Season",
    "Song",
    "SongState",
    "Standing",
    "Survey",
    "User",
]
