"""Chart snapshots written by the recompute, badges and the recompute lease (DESIGN.md §5)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class ChartSnapshot(db.Model):
    """One complete recompute of a season. Readers use the latest ``complete`` one.

    ``live``: the periodic recompute; ``closing``: the daily closing snapshot (history);
    ``final``: the frozen standings of a closed season (cut-off 31 December).
    """

    __tablename__ = "chart_snapshots"
    __table_args__ = (
        CheckConstraint("kind IN ('live','closing','final')", name="kind_valid"),
        Index("ix_chart_snapshots_season_kind_at", "season_id", "kind", "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default="live")
    closing_date: Mapped[date | None]  # for daily closing snapshots
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    as_of: Mapped[date]  # "today" used for overdue songs
    duration_ms: Mapped[int | None]
    complete: Mapped[bool] = mapped_column(default=False)

    season: Mapped["Season"] = relationship()  # noqa: F821


class LabelChartEntry(db.Model):
    __tablename__ = "label_chart_entries"
    __table_args__ = (UniqueConstraint("snapshot_id", "label_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("chart_snapshots.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    rank: Mapped[int]
    previous_rank: Mapped[int | None]
    index_value: Mapped[float]  # 0–100
    quality_mean: Mapped[float]  # Q̄
    on_time: Mapped[float]  # ΣT / (delivered + overdue)
    progress: Mapped[float]
    timeliness_sum: Mapped[float]
    delivered_songs: Mapped[int]
    reviewed_songs: Mapped[int]
    overdue_songs: Mapped[int]
    # DESIGN.md §4: credited (reviewed, R ≥ threshold), reviewed but not approved, waiting
    # for review (count nowhere), late (overdue + cancelled late + carried over; T = 0).
    credited_songs: Mapped[int] = mapped_column(default=0, server_default="0")
    not_approved_songs: Mapped[int] = mapped_column(default=0, server_default="0")
    waiting_songs: Mapped[int] = mapped_column(default=0, server_default="0")
    late_songs: Mapped[int] = mapped_column(default=0, server_default="0")
    playlist_target: Mapped[int | None]
    points: Mapped[int] = mapped_column(default=0)
    survey_count: Mapped[int] = mapped_column(default=0)
    satisfaction_mean: Mapped[float | None]
    last_delivery: Mapped[date | None]

    label: Mapped["Label"] = relationship()  # noqa: F821


class ArtistChartEntry(db.Model):
    __tablename__ = "artist_chart_entries"
    __table_args__ = (UniqueConstraint("snapshot_id", "artist_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("chart_snapshots.id", ondelete="CASCADE"))
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    rank: Mapped[int]
    previous_rank: Mapped[int | None]
    points: Mapped[int]
    reviewed_songs: Mapped[int]
    delivered_songs: Mapped[int]
    quality_mean: Mapped[float | None]

    artist: Mapped["Artist"] = relationship()  # noqa: F821


class AlbumChartEntry(db.Model):
    __tablename__ = "album_chart_entries"
    __table_args__ = (UniqueConstraint("snapshot_id", "album_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("chart_snapshots.id", ondelete="CASCADE"))
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id"))
    rank: Mapped[int]
    previous_rank: Mapped[int | None]
    delivered_songs: Mapped[int]
    reviewed_songs: Mapped[int]
    quality_mean: Mapped[float | None]
    satisfaction_mean: Mapped[float | None]
    on_time_rate: Mapped[float | None]

    album: Mapped["Album"] = relationship()  # noqa: F821


class BadgeAward(db.Model):
    """An achievement earned in a season by a label (or one of its artists)."""

    __tablename__ = "badge_awards"
    __table_args__ = (
        UniqueConstraint("season_id", "label_id", "badge"),
        CheckConstraint(
            "badge IN ('gold','platinum','full_tour','hit','punctuality','full_playlist')",
            name="badge_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    badge: Mapped[str] = mapped_column(String(20))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("chart_snapshots.id", ondelete="SET NULL"))

    label: Mapped["Label"] = relationship()  # noqa: F821


class ChartLease(db.Model):
    """A database lease so only one recompute runs at a time across processes and hosts."""

    __tablename__ = "chart_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
