"""Integrity alerts for coordinators (DESIGN.md §9; issue 15): per label and season, each alert
linked to the songs behind it.

Every alert kind is ONE select of ``(label_id, song_id)`` rows ("the songs behind it") over values
stored at write time; the summary groups it by label, the detail pages through its songs. All
set-based SQL (no Python loop over songs), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal, or_, select

from app.domain import review_queue
from app.extensions import db
from app.i18n import _
from app.models import DueDateChange, Evidence, Label, PendingChange, Review, Season, Song, SongState, Survey
from app.models.base import utcnow

# An alert for a reviewer's share of a label's reviews: at least this many reviews, more than this share.
SHARE_MIN_REVIEWS = 4
SHARE_THRESHOLD = 0.5
SPLIT_DAYS = 90  # several songs for one municipality within 90 days (any album, cancelled included)
DEFAULT_DECLARATION_WINDOW = 10  # business days (a Season setting when the scoring issue adds it)


@dataclass(frozen=True)
class Kind:
    code: str
    title: str
    explanation: str


def kinds() -> list[Kind]:
    return [
        Kind(
            "late_cancellation",
            _("Cancelaciones después de la fecha de compromiso"),
            _("Canciones canceladas cuando ya estaban vencidas."),
        ),
        Kind(
            "backdated_delivery",
            _("Entregas con fecha declarada muy anterior a su registro"),
            _("La fecha de entrega declarada está más de la ventana de declaración antes del día en que se registró."),
        ),
        Kind(
            "due_date_drift",
            _("Fechas de compromiso corridas"),
            _("Canciones con cambios de fecha aprobados que alargan el plazo."),
        ),
        Kind(
            "reused_evidence",
            _("Evidencia reutilizada"),
            _("El mismo archivo (mismo SHA-256) aparece en varias canciones."),
        ),
        Kind(
            "held_survey",
            _("Encuestas retenidas"),
            _("Respuestas que no cuentan hasta que la coordinación las valide."),
        ),
        Kind(
            "splitting",
            _("Posible fraccionamiento"),
            _("Varias canciones para el mismo municipio en menos de 90 días (cualquier álbum, canceladas incluidas)."),
        ),
        Kind(
            "reviewer_share",
            _("Una sola persona revisa la mayoría"),
            _("Más de la mitad de las revisiones de la disquera las hizo una misma persona."),
        ),
        Kind("review_corrections", _("Revisiones corregidas"), _("Revisiones cuyo puntaje se corrigió después.")),
        Kind(
            "late_target_change",
            _("Cambios de meta tardíos"),
            _("Cambios de la meta anual después de la fecha de metas de la temporada."),
        ),
        Kind(
            "review_backlog",
            _("Revisiones vencidas"),
            _("Canciones entregadas que esperan revisión más allá del plazo de la temporada."),
        ),
    ]


KIND_CODES = (
    "late_cancellation",
    "backdated_delivery",
    "due_date_drift",
    "reused_evidence",
    "held_survey",
    "splitting",
    "reviewer_share",
    "review_corrections",
    "late_target_change",
    "review_backlog",
)


def _date_gap(later, earlier):
    """Days from ``earlier`` to ``later`` (two DATE expressions), on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier


def members(code: str, season: Season, today: date):
    """The select of ``(label_id, song_id)`` behind alert ``code`` in ``season``."""
    in_season = Song.season_id == season.id
    if code == "late_cancellation":
        return select(Song.label_id, Song.id).where(
            in_season, Song.state == SongState.CANCELLED.value, Song.cancelled_on > Song.due_date
        )
    if code == "backdated_delivery":
        window = int(getattr(season, "declaration_window_days", None) or DEFAULT_DECLARATION_WINDOW)
        return select(Song.label_id, Song.id).where(in_season, Song.declared_lag_days > window)
    if code == "due_date_drift":
        return (
            select(Song.label_id, Song.id)
            .join(DueDateChange, DueDateChange.song_id == Song.id)
            .where(
                in_season, DueDateChange.status == "approved", DueDateChange.proposed_due > DueDateChange.previous_due
            )
            .distinct()
        )
    if code == "reused_evidence":
        reused = (
            select(Evidence.sha256).group_by(Evidence.sha256).having(func.count(func.distinct(Evidence.song_id)) > 1)
        )
        return (
            select(Song.label_id, Song.id)
            .join(Evidence, Evidence.song_id == Song.id)
            .where(in_season, Evidence.sha256.in_(reused))
            .distinct()
        )
    if code == "held_survey":
        return (
            select(Song.label_id, Song.id)
            .join(Survey, Survey.song_id == Song.id)
            .where(in_season, Survey.held.is_(True), Survey.validated_at.is_(None))
        )
    if code == "splitting":
        window = (Song.label_id, Song.municipality_id)
        ordered = (
            select(
                Song.label_id.label("label_id"),
                Song.id.label("song_id"),
                Song.planned_start.label("start"),
                func.lag(Song.planned_start)
                .over(partition_by=window, order_by=(Song.planned_start, Song.id))
                .label("prev"),
                func.lead(Song.planned_start)
                .over(partition_by=window, order_by=(Song.planned_start, Song.id))
                .label("next"),
            )
            .where(in_season)
            .subquery()
        )
        return select(ordered.c.label_id, ordered.c.song_id).where(
            or_(
                _date_gap(ordered.c.start, ordered.c.prev) <= SPLIT_DAYS,
                _date_gap(ordered.c.next, ordered.c.start) <= SPLIT_DAYS,
            )
        )
    if code == "reviewer_share":
        per_reviewer = (
            select(Song.label_id.label("label_id"), Review.reviewer_id.label("reviewer_id"), func.count().label("n"))
            .join(Review, Review.song_id == Song.id)
            .where(in_season)
            .group_by(Song.label_id, Review.reviewer_id)
            .subquery()
        )
        totals = (
            select(per_reviewer.c.label_id, func.sum(per_reviewer.c.n).label("total"))
            .group_by(per_reviewer.c.label_id)
            .subquery()
        )
        dominant = (
            select(per_reviewer.c.label_id, per_reviewer.c.reviewer_id)
            .join(totals, totals.c.label_id == per_reviewer.c.label_id)
            .where(totals.c.total >= SHARE_MIN_REVIEWS, per_reviewer.c.n > totals.c.total * SHARE_THRESHOLD)
            .subquery()
        )
        return (
            select(Song.label_id, Song.id)
            .join(Review, Review.song_id == Song.id)
            .join(dominant, and_(dominant.c.label_id == Song.label_id, dominant.c.reviewer_id == Review.reviewer_id))
            .where(in_season)
        )
    if code == "review_corrections":
        return (
            select(Song.label_id, Song.id)
            .join(Review, Review.song_id == Song.id)
            .where(in_season, Review.corrections > 0)
        )
    if code == "late_target_change":  # not song-linked: one row per pending or confirmed late change
        return select(PendingChange.label_id, literal(None).label("song_id")).where(
            PendingChange.kind == "target_change",
            PendingChange.status != "rejected",
            PendingChange.payload["season_id"].as_integer() == season.id,
        )
    if code == "review_backlog":
        cutoff = review_queue.overdue_cutoff(today, int(season.review_sla_days or review_queue.DEFAULT_SLA))
        return select(Song.label_id, Song.id).where(
            in_season, Song.state == SongState.DELIVERED.value, Song.delivered_on <= cutoff
        )
    raise KeyError(code)


def summary(season: Season, today: date, label_id: int | None = None) -> dict[str, Any]:
    """``{"season", "labels": [{"id", "code", "name", "alerts": {code: count}, "total"}], "kinds"}``.

    One grouped query per kind, nothing per song; labels without any alert are listed too."""
    counts: dict[int, dict[str, int]] = {}
    for code in KIND_CODES:
        rows = members(code, season, today).subquery()
        stmt = select(rows.c[0], func.count()).group_by(rows.c[0])
        if label_id is not None:
            stmt = stmt.where(rows.c[0] == label_id)
        for lid, n in db.session.execute(stmt):
            if lid is not None:
                counts.setdefault(lid, {})[code] = n
    labels = db.session.execute(
        select(Label.id, Label.code, Label.name)
        .where(Label.id == label_id if label_id else literal(True))
        .order_by(Label.code)
    ).all()
    out = []
    for lid, code, name in labels:
        alerts = {k: counts.get(lid, {}).get(k, 0) for k in KIND_CODES}
        out.append({"id": lid, "code": code, "name": name, "alerts": alerts, "total": sum(alerts.values())})
    return {"season": season.year, "labels": out}


def cached_summary(season: Season, today: date, ttl: float | None = None) -> dict[str, Any]:
    """``summary`` of every label, kept in the in-process cache (app.domain.coverage.cached) for
    ``INTEGRITY_CACHE_SECONDS`` (default 300 s, 0 under test): the set-based queries read whole
    seasons (about 3 s at 1,000,000 songs), and a stale copy is served while one background
    thread refreshes it. ``computed_at`` says when the figures were computed. A copy: callers
    may add to it."""
    import copy

    from flask import current_app

    from app.domain import coverage

    season_id = season.id
    if ttl is None:
        ttl = float(current_app.config.get("INTEGRITY_CACHE_SECONDS", 0 if current_app.testing else 300))

    def compute() -> dict[str, Any]:
        data = summary(db.session.get(Season, season_id), today)
        data["computed_at"] = utcnow().isoformat(timespec="seconds")
        return data

    return copy.deepcopy(coverage.cached(("integrity-summary", season_id, today.isoformat()), compute, ttl=ttl))


def songs(code: str, season: Season, today: date, label_id: int, page: int, per_page: int):
    """One page of the songs behind alert ``code`` for a label (a db.paginate result of Songs)."""
    rows = members(code, season, today).subquery()
    ids = select(rows.c[1]).where(rows.c[0] == label_id, rows.c[1].is_not(None))
    stmt = select(Song).where(Song.id.in_(ids)).order_by(Song.id)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def resolve_season(year: int | None, today: date) -> Season:
    """?season=YEAR, else the season of today's year, else the latest one (NotFound if none)."""
    from app.domain.errors import NotFound

    if year is not None:
        season = db.session.scalar(select(Season).where(Season.year == year))
        if season is None:
            raise NotFound(_("No existe la temporada (vigencia) %(year)s.", year=year), {"season": year})
        return season
    season = db.session.scalar(select(Season).where(Season.year == today.year)) or db.session.scalar(
        select(Season).order_by(Season.year.desc()).limit(1)
    )
    if season is None:
        raise NotFound(_("No hay ninguna temporada (vigencia) creada."))
    return season
