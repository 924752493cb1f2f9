"""Labels, albums, artists, seasons and playlists (DESIGN.md §2, §4)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime

# A season's life (DESIGN.md §5): planning → open → closing → closed.
SEASON_STATES = ("planning", "open", "closing", "closed")
_SEASON_STATE_SQL = ",".join(f"'{s}'" for s in SEASON_STATES)

artist_members = Table(
    "artist_members",
    db.metadata,
    Column("artist_id", ForeignKey("artists.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Label(db.Model):
    """Disquera · Dirección Territorial. Covers one or more departments."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    city: Mapped[str | None] = mapped_column(String(120))

    departments: Mapped[list["Department"]] = relationship(  # noqa: F821
        back_populates="label", order_by="Department.code"
    )
    artists: Mapped[list["Artist"]] = relationship(back_populates="label", order_by="Artist.name")

    def __repr__(self) -> str:
        return f"<Label {self.code}>"


class Album(db.Model):
    """Álbum · Línea temática, with a complexity weight used in song points."""

    __tablename__ = "albums"
    __table_args__ = (
        CheckConstraint("weight > 0 AND weight <= 5", name="weight_range"),
        CheckConstraint("max_duration_days > 0", name="max_duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    weight: Mapped[float] = mapped_column(default=1.0)
    # A due date lies at most this many calendar days after the planned start, unless a
    # coordinator sets it (DESIGN.md §3).
    max_duration_days: Mapped[int] = mapped_column(default=180, server_default="180")
    active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Album {self.code}>"


class Artist(db.Model):
    """Artista · Equipo humano: a team inside one label."""

    __tablename__ = "artists"
    __table_args__ = (UniqueConstraint("label_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    label: Mapped[Label] = relationship(back_populates="artists")
    members: Mapped[list["User"]] = relationship(  # noqa: F821
        secondary=artist_members, back_populates="artists"
    )

    def __repr__(self) -> str:
        return f"<Artist {self.name}>"


class Season(db.Model):
    """Temporada · Vigencia. Holds every scoring weight of DESIGN.md §4."""

    __tablename__ = "seasons"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint("late_floor_days > 0", name="late_floor_positive"),
        CheckConstraint("approval_threshold >= 0 AND approval_threshold <= 1", name="approval_range"),
        CheckConstraint("equity_cap >= 1", name="equity_cap_min"),
        CheckConstraint("declaration_window_days >= 0", name="declaration_window_nonnegative"),
        CheckConstraint(f"state IN ({_SEASON_STATE_SQL})", name="state_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    # Life of the season (app.domain.seasons): stored, advanced by the daily job.
    state: Mapped[str] = mapped_column(String(10), default="open")
    closing_date: Mapped[date | None]  # end of "closing" (default: last business day of January)
    target_date: Mapped[date | None]  # targets frozen from this day (default: 31 January)
    drafts_from_year: Mapped[int | None]  # weights and targets copied from this season, not yet confirmed
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last audited admin correction

    @property
    def has_drafts(self) -> bool:
        return self.drafts_from_year is not None and self.confirmed_at is None

    # Timeliness: T = max(0, 1 - late / late_floor_days)
    late_floor_days: Mapped[int] = mapped_column(default=20)
    # Quality: Q = w_review·R + w_survey·S (Q = R without survey)
    quality_review_weight: Mapped[float] = mapped_column(default=0.6)
    quality_survey_weight: Mapped[float] = mapped_column(default=0.4)
    # Equity multiplier
    equity_pdet: Mapped[float] = mapped_column(default=0.25)
    equity_category6: Mapped[float] = mapped_column(default=0.15)
    equity_category5: Mapped[float] = mapped_column(default=0.10)
    equity_cap: Mapped[float] = mapped_column(default=1.5)
    # Song points = round(points_scale · (pq·Q + pt·T) · E · album weight) if R ≥ threshold
    points_scale: Mapped[float] = mapped_column(default=100.0)
    points_quality_weight: Mapped[float] = mapped_column(default=0.6)
    points_timeliness_weight: Mapped[float] = mapped_column(default=0.4)
    approval_threshold: Mapped[float] = mapped_column(default=0.5)
    # Label index = 100 · (iq·Q̄ + io·OnTime + ip·Progress)
    index_quality_weight: Mapped[float] = mapped_column(default=0.40)
    index_ontime_weight: Mapped[float] = mapped_column(default=0.35)
    index_progress_weight: Mapped[float] = mapped_column(default=0.25)
    # Achievements
    badge_quality_threshold: Mapped[float] = mapped_column(default=0.75)
    badge_gold_songs: Mapped[int] = mapped_column(default=10)
    badge_platinum_songs: Mapped[int] = mapped_column(default=25)
    badge_punctuality_streak: Mapped[int] = mapped_column(default=10)
    badge_hit_review_threshold: Mapped[float] = mapped_column(default=0.75)
    # Review service level: a delivered song is reviewed within this many business days (§9)
    review_sla_days: Mapped[int] = mapped_column(default=10, server_default="10")
    # A declared delivery date lies at most this many business days before it is recorded;
    # an earlier one needs a coordinator (DESIGN.md §3).
    declaration_window_days: Mapped[int] = mapped_column(default=10, server_default="10")

    playlists: Mapped[list["Playlist"]] = relationship(back_populates="season")

    def __repr__(self) -> str:
        return f"<Season {self.year}>"


class Playlist(db.Model):
    """Lista de reproducción · Meta anual: target songs per label (optionally per album)."""

    __tablename__ = "playlists"
    __table_args__ = (
        UniqueConstraint("season_id", "label_id", "album_id"),
        CheckConstraint("target >= 0", name="target_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    album_id: Mapped[int | None] = mapped_column(ForeignKey("albums.id"))
    target: Mapped[int]

    season: Mapped[Season] = relationship(back_populates="playlists")
    label: Mapped[Label] = relationship()
    album: Mapped[Album | None] = relationship()
