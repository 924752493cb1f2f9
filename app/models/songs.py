"""Songs (technical assistances) and what hangs off them (DESIGN.md §3, §4)."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import DDL, JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class SongState(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    RETURNED = "returned"
    REVIEWED = "reviewed"
    CANCELLED = "cancelled"


SONG_STATES = tuple(s.value for s in SongState)
DELIVERED_STATES = (SongState.DELIVERED.value, SongState.REVIEWED.value)
OPEN_STATES = (SongState.PLANNED.value, SongState.IN_PROGRESS.value, SongState.RETURNED.value)

_STATE_SQL = ",".join(f"'{s}'" for s in SONG_STATES)


class Standing(StrEnum):
    """Where a song stands on the board (DESIGN.md §4), stored at write time with the terms.

    Only ``credited`` songs move a label forward; ``not_approved`` ones lower Q̄ and OnTime;
    ``waiting`` (delivered, not reviewed yet) and ``evidence_pending`` (imported as
    delivered, no evidence attached yet) count nowhere; ``late_cancelled`` and
    ``carried_over`` always count as late (T = 0); an ``open`` song counts as late once
    its committed due date is past the cut-off; ``cancelled`` (in time, or late with an
    approved reason) counts nowhere.
    """

    CREDITED = "credited"
    NOT_APPROVED = "not_approved"
    WAITING = "waiting"
    EVIDENCE_PENDING = "evidence_pending"
    OPEN = "open"
    LATE_CANCELLED = "late_cancelled"
    CARRIED_OVER = "carried_over"
    CANCELLED = "cancelled"


STANDINGS = tuple(s.value for s in Standing)
# Late whatever the cut-off (an open song is late only once its due date is past).
ALWAYS_LATE = (Standing.LATE_CANCELLED.value, Standing.CARRIED_OVER.value)
REVIEWED_STANDINGS = (Standing.CREDITED.value, Standing.NOT_APPROVED.value)
COUNTED_DELIVERED = (Standing.CREDITED.value, Standing.NOT_APPROVED.value, Standing.WAITING.value)
_STANDING_SQL = ",".join(f"'{s}'" for s in STANDINGS)


class Song(db.Model):
    """Canción · Asistencia técnica territorial: one delivery to one municipality on one album.

    The per-song scoring terms (late_business_days … points) are stored whenever
    the song, its review or its survey changes, so charts aggregate them in SQL.
    """

    __tablename__ = "songs"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATE_SQL})", name="state_valid"),
        CheckConstraint("due_date >= planned_start", name="due_after_start"),
        CheckConstraint("beneficiaries IS NULL OR beneficiaries >= 0", name="beneficiaries_nonnegative"),
        CheckConstraint("late_business_days IS NULL OR late_business_days >= 0", name="late_nonnegative"),
        CheckConstraint("timeliness IS NULL OR (timeliness >= 0 AND timeliness <= 1)", name="t_range"),
        CheckConstraint("review_score IS NULL OR (review_score >= 0 AND review_score <= 1)", name="r_range"),
        CheckConstraint("satisfaction IS NULL OR (satisfaction >= 0 AND satisfaction <= 1)", name="s_range"),
        CheckConstraint("quality IS NULL OR (quality >= 0 AND quality <= 1)", name="q_range"),
        CheckConstraint("equity >= 1 AND equity <= 3", name="e_range"),
        CheckConstraint("points IS NULL OR points >= 0", name="points_nonnegative"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(f"standing IN ({_STANDING_SQL})", name="standing_valid"),
        # Boards and lists: per season and label / artist / album / department.
        # Do not append due_date to these: SQLite 3.40 (Debian 12) then answers
        # "season = ? AND label = ? AND state IN (…) AND due_date < ?" with wrong rows
        # (tests/test_charts.py::test_overdue_songs_stay_right_whatever_index_the_planner_picks).
        # survey_issued_at too: a team's home counts its unanswered and expired survey links
        # off this index alone (issue 18); the three-column prefix serves everything else.
        Index("ix_songs_season_label_state_link", "season_id", "label_id", "state", "survey_issued_at"),
        Index("ix_songs_season_artist_state", "season_id", "artist_id", "state"),
        Index("ix_songs_season_album_state", "season_id", "album_id", "state"),
        Index("ix_songs_season_department_state", "season_id", "department_id", "state"),
        # The song list's default "urgency" order is read per state off these (song_queries).
        Index("ix_songs_season_state_due", "season_id", "state", "due_date"),
        Index("ix_songs_state_due", "state", "due_date"),
        # Review queue: delivered songs, oldest delivery first; counts per label off the index.
        Index("ix_songs_state_delivered", "state", "delivered_on", "label_id"),
        # The chart recompute's grouped scan (charts.song_groups) and the coverage scan
        # (coverage.season_cells) read only this index, already in group order: no table
        # lookups, no sort (BENCHMARKS.md, findings 4 and 8).
        Index(
            "ix_songs_season_charts",
            "season_id",
            "label_id",
            "artist_id",
            "album_id",
            "department_id",
            "municipality_id",
            "state",
            "due_date",
            "delivered_on",
            "timeliness",
            "quality",
            "review_score",
            "satisfaction",
            "points",
            "on_time",
            "standing",
        ),
        # Duplicate warning: same municipality (any album) within 90 days.
        Index("ix_songs_municipality_album_start", "municipality_id", "album_id", "planned_start"),
        # Notifications (issue 18): survey links about to expire, the municipal contact's invitation
        # and reminder are read by the time the link was issued, not by a scan of delivered songs.
        Index("ix_songs_survey_issued", "survey_issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"))
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id"))
    album_id: Mapped[int] = mapped_column(ForeignKey("albums.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))

    state: Mapped[str] = mapped_column(String(20), default=SongState.PLANNED.value)
    scope: Mapped[str] = mapped_column(Text)  # alcance concertado
    planned_start: Mapped[date]
    due_date: Mapped[date]  # fecha de compromiso
    # The due date in force when the song left `planned` (then only approved changes move it);
    # timeliness is measured against it (DESIGN.md §3).
    committed_due: Mapped[date | None]
    # in_progress
    diagnosis: Mapped[str | None] = mapped_column(Text)
    action_plan: Mapped[str | None] = mapped_column(Text)
    # delivered
    delivered_on: Mapped[date | None]
    product: Mapped[str | None] = mapped_column(Text)
    beneficiaries: Mapped[int | None]
    # returned / cancelled
    return_comment: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # stored at write time for the integrity alerts (set-based, DESIGN.md §9)
    cancelled_on: Mapped[date | None]  # the day the song was cancelled
    declared_lag_days: Mapped[int | None]  # business days from the declared delivery date to its recording
    returned_on: Mapped[date | None]  # a re-delivery is measured from a date on or after it
    # Cancelled after the committed due date: late (T = 0) unless a coordinator approved it
    # with a reason from song_rules.LATE_CANCEL_REASONS (DESIGN.md §3).
    cancelled_late: Mapped[bool] = mapped_column(default=False, server_default=false())
    late_cancel_reason: Mapped[str | None] = mapped_column(String(30))
    late_cancel_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Hook for the season close (issue 16): a song carried over to the next season counts as
    # late in its own one. Set it and call terms.refresh_song_terms (which stores `standing`).
    carried_over: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Imported as delivered without evidence: counts only once evidence is attached.
    awaiting_evidence: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A re-planned song links to the one it replaces.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("songs.id", ondelete="SET NULL"))
    # carried over to the next season at the end of its own (DESIGN.md §5): counts late here
    carried_over_to_id: Mapped[int | None] = mapped_column(ForeignKey("songs.id", ondelete="SET NULL"))
    # survey link: a fresh nonce invalidates earlier links
    survey_nonce: Mapped[str | None] = mapped_column(String(32))
    survey_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # municipal contact: the mayor's-office official who received the assistance; the survey
    # goes to them (DESIGN.md §1, §9). Personal data (Ley 1581): docs/PRIVACY.md, retention.
    contact_name: Mapped[str | None] = mapped_column(String(160))
    contact_position: Mapped[str | None] = mapped_column(String(160))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # an answer discarded by a coordinator reopens the link (survey_status "discarded")
    survey_discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # review assignment in turn (DESIGN.md §9); reassignment is audited
    assigned_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    review_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)  # optimistic locking (issue 9)

    # Stored scoring terms (DESIGN.md §4)
    late_business_days: Mapped[int | None]
    timeliness: Mapped[float | None]  # T
    review_score: Mapped[float | None]  # R
    satisfaction: Mapped[float | None]  # S
    quality: Mapped[float | None]  # Q
    equity: Mapped[float] = mapped_column(default=1.0)  # E
    points: Mapped[int | None]
    on_time: Mapped[bool | None]
    standing: Mapped[str] = mapped_column(String(20), default=Standing.OPEN.value, server_default=Standing.OPEN.value)

    season: Mapped["Season"] = relationship()  # noqa: F821
    label: Mapped["Label"] = relationship()  # noqa: F821
    artist: Mapped["Artist"] = relationship()  # noqa: F821
    album: Mapped["Album"] = relationship()  # noqa: F821
    municipality: Mapped["Municipality"] = relationship()  # noqa: F821
    department: Mapped["Department"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    delivered_by: Mapped["User | None"] = relationship(foreign_keys=[delivered_by_id])  # noqa: F821
    assigned_reviewer: Mapped["User | None"] = relationship(foreign_keys=[assigned_reviewer_id])  # noqa: F821
    replaces: Mapped["Song | None"] = relationship(remote_side=[id], foreign_keys=[replaces_id])
    evidence: Mapped[list["Evidence"]] = relationship(
        back_populates="song", order_by="Evidence.uploaded_at", cascade="all, delete-orphan"
    )
    review: Mapped["Review | None"] = relationship(back_populates="song", uselist=False)
    survey: Mapped["Survey | None"] = relationship(back_populates="song", uselist=False)
    due_date_changes: Mapped[list["DueDateChange"]] = relationship(
        back_populates="song", order_by="DueDateChange.created_at"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_delivered(self) -> bool:
        return self.state in DELIVERED_STATES

    def __repr__(self) -> str:
        return f"<Song {self.id} {self.state}>"


class Evidence(db.Model):
    """An evidence file; stored outside the web root under a generated name."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint("size_bytes > 0", name="size_positive"),
        Index("ix_evidence_sha256", "sha256", "song_id"),  # reused files (integrity alerts)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    song: Mapped[Song] = relationship(back_populates="evidence")
    uploaded_by: Mapped["User | None"] = relationship()  # noqa: F821


def _likert(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} >= 1 AND {column} <= 5", name=f"{column}_likert")


class Review(db.Model):
    """A coordinator's rubric: four criteria scored 1–5 (DESIGN.md §4)."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("song_id"),
        # A team's home lists the reviews it received, newest first (issue 18).
        Index("ix_reviews_created_at", "created_at"),
        _likert("pertinence"),
        _likert("rigour"),
        _likert("usefulness"),
        _likert("evidence_quality"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pertinence: Mapped[int]
    rigour: Mapped[int]
    usefulness: Mapped[int]
    evidence_quality: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    corrections: Mapped[int] = mapped_column(default=0, server_default="0")  # integrity alerts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    song: Mapped[Song] = relationship(back_populates="review")
    reviewer: Mapped["User"] = relationship()  # noqa: F821

    @property
    def mean(self) -> float:
        return (self.pertinence + self.rigour + self.usefulness + self.evidence_quality) / 4


class Survey(db.Model):
    """The municipality's satisfaction survey: five Likert items 1–5 (DESIGN.md §4).

    respondent_name / respondent_position are personal data (Ley 1581 de 2012):
    visible to coordinators only, anonymised after the retention period.
    """

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("song_id"),
        _likert("q1"),
        _likert("q2"),
        _likert("q3"),
        _likert("q4"),
        _likert("q5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"))
    q1: Mapped[int]
    q2: Mapped[int]
    q3: Mapped[int]
    q4: Mapped[int]
    q5: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    respondent_name: Mapped[str | None] = mapped_column(String(160))
    respondent_position: Mapped[str | None] = mapped_column(String(160))
    consent: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Held answers (DESIGN.md §9): stored, but they count only once a coordinator validates them.
    # Only what is needed is kept: a keyed hash of the address, the browser family, the time taken.
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    hold_reasons: Mapped[str | None] = mapped_column(String(80))  # "session,address,speed"
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    browser_family: Mapped[str | None] = mapped_column(String(40))
    answer_seconds: Mapped[int | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # a signed-in session

    song: Mapped[Song] = relationship(back_populates="survey")

    @property
    def mean(self) -> float:
        return (self.q1 + self.q2 + self.q3 + self.q4 + self.q5) / 5

    @property
    def counts(self) -> bool:
        """A held answer counts only once a coordinator validated it (DESIGN.md §9)."""
        return not self.held or self.validated_at is not None


class DueDateChange(db.Model):
    """A request to move a song's due date after `planned`; a coordinator decides."""

    __tablename__ = "due_date_changes"
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected')", name="status_valid"),
        Index("ix_due_date_changes_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    previous_due: Mapped[date]
    proposed_due: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    song: Mapped[Song] = relationship(back_populates="due_date_changes")
    requested_by: Mapped["User"] = relationship(foreign_keys=[requested_by_id])  # noqa: F821
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id])  # noqa: F821


# PostgreSQL multiplies the distinct counts of label, artist, album and department when it
# estimates the chart recompute's groups (~100,000 instead of ~600), then picks an on-disk
# sort instead of a hash aggregate. Extended statistics tell it the columns are correlated.
# (Also in migration 0002 — Alembic creates tables without these model events.)
SONG_GROUP_STATISTICS = "songs_groups_nd"
SONG_GROUP_STATISTICS_SQL = (
    f"CREATE STATISTICS IF NOT EXISTS {SONG_GROUP_STATISTICS} (ndistinct) "
    "ON label_id, artist_id, album_id, department_id FROM songs"
)
event.listen(Song.__table__, "after_create", DDL(SONG_GROUP_STATISTICS_SQL).execute_if(dialect="postgresql"))


class PendingChange(db.Model):
    """Four eyes (DESIGN.md §9): a change that moves the board after the fact waits here until a
    second coordinator confirms it. ``kind``: review_raise, late_cancellation, target_change,
    survey_regenerate. ``payload`` holds what to apply on confirmation."""

    __tablename__ = "pending_changes"
    __table_args__ = (
        CheckConstraint("status IN ('pending','confirmed','rejected')", name="status_valid"),
        Index("ix_pending_changes_status", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    song_id: Mapped[int | None] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"))
    payload: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(Text)

    song: Mapped[Song | None] = relationship()
    requested_by: Mapped["User"] = relationship(foreign_keys=[requested_by_id])  # noqa: F821
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id])  # noqa: F821
