"""Coverage, gaps and targets for managers (DESIGN.md §6).

Every figure is a set-based SQL aggregate over indexed song columns (songs are
never loaded row by row), so the pages stay fast at a million songs. "Delivered"
songs are those in state ``delivered`` or ``reviewed`` (DESIGN.md §4).

Results per season are kept in a small in-process cache for
``COVERAGE_CACHE_SECONDS`` (default 30 s; 0 when testing): a manager sees data at
most that old. Importing indicators clears the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app, has_request_context
from flask_babel import gettext, lazy_gettext
from sqlalchemy import and_, case, func, select

from app.domain.errors import NotFound
from app.extensions import db
from app.models import Album, Department, Label, Municipality, Playlist, Season, Song
from app.models.songs import DELIVERED_STATES, SongState

_CACHE: dict[tuple, tuple[float, Any]] = {}


def _(message: str, **values) -> str:
    """gettext inside a request; the Spanish text elsewhere (CLI, scheduler, tests)."""
    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


def _cache_seconds() -> float:
    default = 0 if current_app.testing else 30
    return float(current_app.config.get("COVERAGE_CACHE_SECONDS", default))


def cached(key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` memoised per database for a short time (see module docstring)."""
    ttl = _cache_seconds()
    if ttl <= 0:
        return compute()
    full_key = (current_app.config.get("SQLALCHEMY_DATABASE_URI"), *key)
    now = time.monotonic()
    hit = _CACHE.get(full_key)
    if hit and hit[0] > now:
        return hit[1]
    value = compute()
    if len(_CACHE) > 500:
        _CACHE.clear()
    _CACHE[full_key] = (now + ttl, value)
    return value


def clear_cache() -> None:
    _CACHE.clear()


def _delivered():
    return Song.state.in_(DELIVERED_STATES)


# --------------------------------------------------------------------------- seasons


def seasons() -> list[Season]:
    return list(db.session.scalars(select(Season).order_by(Season.year.desc())))


def resolve_season(year: int | None, today: date | None = None) -> Season | None:
    """The season of ``year``; without a year, the one containing today, else the latest.

    Returns None only when there is no season at all; an unknown year is NotFound.
    """
    if year is not None:
        season = db.session.scalar(select(Season).where(Season.year == year))
        if season is None:
            raise NotFound(_("No existe la temporada (vigencia) %(year)s.", year=year))
        return season
    today = today or date.today()
    season = db.session.scalar(select(Season).where(Season.starts_on <= today, Season.ends_on >= today))
    return season or db.session.scalar(select(Season).order_by(Season.year.desc()).limit(1))


def previous_season(season: Season) -> Season | None:
    return db.session.scalar(select(Season).where(Season.year < season.year).order_by(Season.year.desc()).limit(1))


# --------------------------------------------------------------------------- national summary


@dataclass
class Totals:
    departments: int
    municipalities: int
    prioritised: int


def reference_totals() -> Totals:
    row = db.session.execute(
        select(
            func.count(Municipality.id),
            func.coalesce(func.sum(case((Municipality.prioritised, 1), else_=0)), 0),
        )
    ).one()
    departments = db.session.scalar(select(func.count(Department.id))) or 0
    return Totals(departments=departments, municipalities=row[0] or 0, prioritised=int(row[1] or 0))


@dataclass
class SeasonFigures:
    """The national figures of one season (no comparison)."""

    year: int
    delivered: int
    departments_reached: int
    municipalities_reached: int
    prioritised_reached: int
    mean_quality: float | None  # mean Q of reviewed songs
    mean_satisfaction: float | None  # mean S of answered surveys
    on_time_rate: float | None  # on-time delivered / delivered


def season_figures(season: Season) -> SeasonFigures:
    """Two aggregate queries over the season's delivered songs (DESIGN.md §6)."""
    row = db.session.execute(
        select(
            func.count(Song.id),
            func.count(func.distinct(Song.department_id)),
            func.count(func.distinct(Song.municipality_id)),
            func.avg(case((Song.state == SongState.REVIEWED.value, Song.quality))),
            func.avg(Song.satisfaction),
            func.coalesce(func.sum(case((Song.on_time.is_(True), 1), else_=0)), 0),
        ).where(Song.season_id == season.id, _delivered())
    ).one()
    prioritised = db.session.scalar(
        select(func.count(func.distinct(Song.municipality_id)))
        .join(Municipality, Municipality.id == Song.municipality_id)
        .where(Song.season_id == season.id, _delivered(), Municipality.prioritised)
    )
    delivered = row[0] or 0
    return SeasonFigures(
        year=season.year,
        delivered=delivered,
        departments_reached=row[1] or 0,
        municipalities_reached=row[2] or 0,
        prioritised_reached=prioritised or 0,
        mean_quality=float(row[3]) if row[3] is not None else None,
        mean_satisfaction=float(row[4]) if row[4] is not None else None,
        on_time_rate=(int(row[5]) / delivered) if delivered else None,
    )


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


@dataclass
class Figure:
    """One headline figure, with the previous season's value and the change."""

    key: str
    label: str
    kind: str  # "count", "reach" (with total and share), "score" (0–1) or "rate" (0–1)
    value: float | int | None
    previous: float | int | None
    total: int | None = None

    @property
    def share(self) -> float | None:
        return _share(self.value, self.total) if self.kind == "reach" else None

    @property
    def previous_share(self) -> float | None:
        return _share(self.previous, self.total) if self.kind == "reach" else None

    @property
    def delta(self) -> float | int | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def delta_share(self) -> float | None:
        if self.share is None or self.previous_share is None:
            return None
        return self.share - self.previous_share


@dataclass
class Summary:
    season: Season
    previous_season: Season | None
    totals: Totals
    figures: list[Figure]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def national_summary(season: Season) -> Summary:
    """Headline figures of a season compared with the previous one (DESIGN.md §6)."""

    def compute() -> Summary:
        prev = previous_season(season)
        now = season_figures(season)
        before = season_figures(prev) if prev else None
        totals = reference_totals()

        def p(attr: str):
            return getattr(before, attr) if before else None

        figures = [
            Figure(
                "delivered",
                lazy_gettext("Canciones entregadas · Asistencias entregadas"),
                "count",
                now.delivered,
                p("delivered"),
            ),
            Figure(
                "departments",
                lazy_gettext("Departamentos alcanzados"),
                "reach",
                now.departments_reached,
                p("departments_reached"),
                totals.departments,
            ),
            Figure(
                "municipalities",
                lazy_gettext("Municipios alcanzados"),
                "reach",
                now.municipalities_reached,
                p("municipalities_reached"),
                totals.municipalities,
            ),
            Figure(
                "prioritised",
                lazy_gettext("Municipios priorizados alcanzados (PDET o categoría 5–6)"),
                "reach",
                now.prioritised_reached,
                p("prioritised_reached"),
                totals.prioritised,
            ),
            Figure(
                "quality",
                lazy_gettext("Calidad media Q (canciones revisadas)"),
                "score",
                now.mean_quality,
                p("mean_quality"),
            ),
            Figure(
                "satisfaction",
                lazy_gettext("Satisfacción media S (encuestas)"),
                "score",
                now.mean_satisfaction,
                p("mean_satisfaction"),
            ),
            Figure("on_time", lazy_gettext("Entregas a tiempo"), "rate", now.on_time_rate, p("on_time_rate")),
        ]
        return Summary(season=season, previous_season=prev, totals=totals, figures=figures)

    return cached(("summary", season.id), compute)


# --------------------------------------------------------------------------- departments


@dataclass
class DepartmentRow:
    id: int
    code: str
    name: str
    label_name: str | None
    municipalities: int
    prioritised: int
    assisted: int
    prioritised_assisted: int
    delivered: int
    by_album: dict[int, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return _share(self.assisted, self.municipalities)

    @property
    def prioritised_coverage(self) -> float | None:
        return _share(self.prioritised_assisted, self.prioritised)


DEPARTMENT_SORTS = {
    "code": lambda r: r.code,
    "name": lambda r: r.name.lower(),
    "municipalities": lambda r: r.municipalities,
    "prioritised": lambda r: r.prioritised,
    "assisted": lambda r: r.assisted,
    "coverage": lambda r: (r.coverage is not None, r.coverage or 0),
    "prioritised_coverage": lambda r: (r.prioritised_coverage is not None, r.prioritised_coverage or 0),
    "delivered": lambda r: r.delivered,
}


def _assisted_municipalities(season: Season):
    """Subquery: municipality_id, delivered songs, last delivery — for the season."""
    return (
        select(
            Song.municipality_id.label("municipality_id"),
            func.count(Song.id).label("songs"),
            func.max(Song.delivered_on).label("last_delivered"),
        )
        .where(Song.season_id == season.id, _delivered())
        .group_by(Song.municipality_id)
        .subquery()
    )


def department_rows(season: Season) -> list[DepartmentRow]:
    """Per department: municipalities, prioritised, assisted, coverage, songs by album (DESIGN.md §6)."""

    def compute() -> list[DepartmentRow]:
        assisted = _assisted_municipalities(season)
        prioritised = case((Municipality.prioritised, 1), else_=0)
        rows = db.session.execute(
            select(
                Department.id,
                Department.code,
                Department.name,
                Label.name,
                func.count(Municipality.id),
                func.coalesce(func.sum(prioritised), 0),
                func.count(assisted.c.municipality_id),
                func.coalesce(
                    func.sum(
                        case((and_(Municipality.prioritised, assisted.c.municipality_id.is_not(None)), 1), else_=0)
                    ),
                    0,
                ),
                func.coalesce(func.sum(assisted.c.songs), 0),
            )
            .select_from(Department)
            .outerjoin(Label, Label.id == Department.label_id)
            .outerjoin(Municipality, Municipality.department_id == Department.id)
            .outerjoin(assisted, assisted.c.municipality_id == Municipality.id)
            .group_by(Department.id, Department.code, Department.name, Label.name)
            .order_by(Department.code)
        ).all()
        by_album: dict[int, dict[int, int]] = {}
        for dep_id, album_id, count in db.session.execute(
            select(Song.department_id, Song.album_id, func.count(Song.id))
            .where(Song.season_id == season.id, _delivered())
            .group_by(Song.department_id, Song.album_id)
        ):
            by_album.setdefault(dep_id, {})[album_id] = count
        return [
            DepartmentRow(
                id=r[0],
                code=r[1],
                name=r[2],
                label_name=r[3],
                municipalities=r[4] or 0,
                prioritised=int(r[5] or 0),
                assisted=r[6] or 0,
                prioritised_assisted=int(r[7] or 0),
                delivered=int(r[8] or 0),
                by_album=by_album.get(r[0], {}),
            )
            for r in rows
        ]

    return cached(("departments", season.id), compute)


def sort_departments(rows: list[DepartmentRow], sort: str | None, descending: bool = False) -> list[DepartmentRow]:
    """Sort by one of DEPARTMENT_SORTS (unknown keys fall back to the DANE code)."""
    key = DEPARTMENT_SORTS.get(sort or "code", DEPARTMENT_SORTS["code"])
    return sorted(rows, key=key, reverse=descending)


def albums_with_songs(season: Season) -> list[Album]:
    """Albums to show as columns: active ones and any with delivered songs in the season."""
    with_songs = select(Song.album_id).where(Song.season_id == season.id, _delivered()).distinct()
    return list(
        db.session.scalars(
            select(Album).where((Album.active.is_(True)) | (Album.id.in_(with_songs))).order_by(Album.code)
        )
    )


# --------------------------------------------------------------------------- drill-down


@dataclass
class MunicipalityRow:
    code: str
    name: str
    category: str | None
    pdet: bool
    pdet_subregion: str | None
    prioritised: bool
    songs: int
    last_delivered: date | None


def department_by_code(code: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(_("No existe el departamento con código %(code)s.", code=code))
    return department


def department_municipalities(season: Season, department: Department) -> list[MunicipalityRow]:
    """A department's municipalities with their delivered songs in the season."""
    assisted = _assisted_municipalities(season)
    rows = db.session.execute(
        select(
            Municipality.code,
            Municipality.name,
            Municipality.category,
            Municipality.pdet,
            Municipality.pdet_subregion,
            Municipality.prioritised,
            func.coalesce(assisted.c.songs, 0),
            assisted.c.last_delivered,
        )
        .outerjoin(assisted, assisted.c.municipality_id == Municipality.id)
        .where(Municipality.department_id == department.id)
        .order_by(Municipality.name, Municipality.code)
    ).all()
    return [
        MunicipalityRow(
            code=r[0],
            name=r[1],
            category=r[2],
            pdet=bool(r[3]),
            pdet_subregion=r[4],
            prioritised=bool(r[5]),
            songs=int(r[6] or 0),
            last_delivered=r[7],
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- gaps


@dataclass
class GapRow:
    department_code: str
    department_name: str
    label_name: str | None
    code: str
    name: str
    category: str | None
    pdet: bool
    pdet_subregion: str | None
    last_delivered_ever: date | None


def gaps(
    season: Season, *, ever: bool = False, department_code: str | None = None, label_id: int | None = None
) -> list[GapRow]:
    """Prioritised municipalities with no delivered song in the season (or ever) (DESIGN.md §6)."""
    with_songs = select(Song.municipality_id).where(_delivered())
    if not ever:
        with_songs = with_songs.where(Song.season_id == season.id)
    # Correlated per result row, through the index on songs.municipality_id.
    last_ever = (
        select(func.max(Song.delivered_on))
        .where(Song.municipality_id == Municipality.id, _delivered())
        .scalar_subquery()
    )
    stmt = (
        select(
            Department.code,
            Department.name,
            Label.name,
            Municipality.code,
            Municipality.name,
            Municipality.category,
            Municipality.pdet,
            Municipality.pdet_subregion,
            last_ever,
        )
        .select_from(Municipality)
        .join(Department, Department.id == Municipality.department_id)
        .outerjoin(Label, Label.id == Department.label_id)
        .where(Municipality.prioritised, Municipality.id.not_in(with_songs.distinct()))
        .order_by(Department.code, Municipality.name, Municipality.code)
    )
    if department_code:
        stmt = stmt.where(Department.code == department_code)
    if label_id:
        stmt = stmt.where(Department.label_id == label_id)
    return cached(
        ("gaps", season.id, ever, department_code, label_id),
        lambda: [GapRow(*r[:6], bool(r[6]), r[7], r[8]) for r in db.session.execute(stmt)],
    )


# --------------------------------------------------------------------------- targets


@dataclass
class TargetRow:
    label_code: str
    label_name: str
    album_code: str | None
    album_name: str | None
    target: int
    delivered: int
    projection: float | None

    @property
    def progress(self) -> float | None:
        return min(1.0, self.delivered / self.target) if self.target else None

    @property
    def projected_progress(self) -> float | None:
        if self.projection is None or not self.target:
            return None
        return self.projection / self.target


def projection(delivered: int, season: Season, as_of: date) -> float | None:
    """Delivered so far / elapsed days × season days; None before the season starts."""
    if as_of < season.starts_on:
        return None
    season_days = (season.ends_on - season.starts_on).days + 1
    elapsed = (min(as_of, season.ends_on) - season.starts_on).days + 1
    return delivered / elapsed * season_days


def targets(season: Season, as_of: date | None = None) -> list[TargetRow]:
    """Playlist progress per label (album NULL) and per album playlist, with projection (DESIGN.md §6)."""
    as_of = as_of or date.today()
    per_label = dict(
        db.session.execute(
            select(Song.label_id, func.count(Song.id))
            .where(Song.season_id == season.id, _delivered())
            .group_by(Song.label_id)
        ).all()
    )
    per_label_album = {
        (r[0], r[1]): r[2]
        for r in db.session.execute(
            select(Song.label_id, Song.album_id, func.count(Song.id))
            .where(Song.season_id == season.id, _delivered())
            .group_by(Song.label_id, Song.album_id)
        )
    }
    rows = db.session.execute(
        select(Playlist.label_id, Playlist.album_id, Playlist.target, Label.code, Label.name, Album.code, Album.name)
        .join(Label, Label.id == Playlist.label_id)
        .outerjoin(Album, Album.id == Playlist.album_id)
        .where(Playlist.season_id == season.id)
        .order_by(Label.code, Playlist.album_id.is_not(None), Album.code)
    ).all()
    result = []
    for label_id, album_id, target, label_code, label_name, album_code, album_name in rows:
        delivered = per_label.get(label_id, 0) if album_id is None else per_label_album.get((label_id, album_id), 0)
        result.append(
            TargetRow(
                label_code=label_code,
                label_name=label_name,
                album_code=album_code,
                album_name=album_name,
                target=target,
                delivered=delivered,
                projection=projection(delivered, season, as_of),
            )
        )
    return result


# --------------------------------------------------------------------------- open data


@dataclass
class AlbumRow:
    code: str
    name: str
    delivered: int
    reviewed: int
    mean_quality: float | None
    mean_satisfaction: float | None
    on_time_rate: float | None


def album_rows(season: Season) -> list[AlbumRow]:
    """Per album: delivered, reviewed, mean Q, mean S, on-time rate (aggregates only)."""

    def compute() -> list[AlbumRow]:
        stats = {
            r[0]: r[1:]
            for r in db.session.execute(
                select(
                    Song.album_id,
                    func.count(Song.id),
                    func.coalesce(func.sum(case((Song.state == SongState.REVIEWED.value, 1), else_=0)), 0),
                    func.avg(case((Song.state == SongState.REVIEWED.value, Song.quality))),
                    func.avg(Song.satisfaction),
                    func.coalesce(func.sum(case((Song.on_time.is_(True), 1), else_=0)), 0),
                )
                .where(Song.season_id == season.id, _delivered())
                .group_by(Song.album_id)
            )
        }
        out = []
        for album in albums_with_songs(season):
            delivered, reviewed, q, s, on_time = stats.get(album.id, (0, 0, None, None, 0))
            out.append(
                AlbumRow(
                    code=album.code,
                    name=album.name,
                    delivered=delivered,
                    reviewed=int(reviewed),
                    mean_quality=float(q) if q is not None else None,
                    mean_satisfaction=float(s) if s is not None else None,
                    on_time_rate=int(on_time) / delivered if delivered else None,
                )
            )
        return out

    return cached(("albums", season.id), compute)


def open_data(season: Season) -> dict[str, Any]:
    """Aggregates only, for the public (no personal data, no free text) (DESIGN.md §1, §6)."""
    summary = national_summary(season)
    return {
        "season": season.year,
        "licence": "CC BY 4.0",
        "national": {
            f.key: {"value": f.value, "total": f.total, "share": f.share} if f.kind == "reach" else f.value
            for f in summary.figures
        },
        "departments": [
            {
                "department_code": r.code,
                "department": r.name,
                "municipalities": r.municipalities,
                "prioritised_municipalities": r.prioritised,
                "assisted_municipalities": r.assisted,
                "coverage": r.coverage,
                "prioritised_assisted": r.prioritised_assisted,
                "prioritised_coverage": r.prioritised_coverage,
                "delivered_songs": r.delivered,
            }
            for r in department_rows(season)
        ],
        "albums": [
            {
                "album_code": a.code,
                "album": a.name,
                "delivered_songs": a.delivered,
                "reviewed_songs": a.reviewed,
                "mean_quality": a.mean_quality,
                "mean_satisfaction": a.mean_satisfaction,
                "on_time_rate": a.on_time_rate,
            }
            for a in album_rows(season)
        ],
    }


# --------------------------------------------------------------------------- permissions


def require_reader(user: Any) -> None:
    """Managers, coordinators and admins read coverage; territorial users do not (DESIGN.md §1)."""
    from app.domain.permissions import can_read_coverage, require

    require(can_read_coverage(user), _("Solo gestión, coordinación y administración pueden ver la cobertura."))
