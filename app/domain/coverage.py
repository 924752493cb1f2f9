"""Coverage, gaps and targets for managers (DESIGN.md §6).

How it stays fast at a million songs: ONE grouped SQL aggregate per season
(:func:`season_cells`) scans the season's delivered songs once and returns one
row per (municipality, album, label) — at most a few thousand rows, never the
songs themselves. Every figure (national summary, departments, drill-down,
gaps, targets, albums) is a pure function over those rows and the reference
tables (departments, municipalities). "Delivered" songs are those in state
``delivered`` or ``reviewed`` (DESIGN.md §4).

Caching: results are kept in-process for ``COVERAGE_CACHE_SECONDS`` (default 30 s;
0 = off, the default when testing). After that, the stale value is still served
while one background thread recomputes it (stale-while-revalidate), so only the
very first request of a process pays for the scan; figures are at most about
``COVERAGE_CACHE_SECONDS`` plus one recompute old. Importing indicators clears it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from app.domain import calendar
from app.domain import seasons as season_life
from app.domain.errors import NotFound
from app.domain.text import fold
from app.extensions import db
from app.i18n import _, _l
from app.models import Album, Department, Label, Municipality, Playlist, Season, Song
from app.models.songs import DELIVERED_STATES, SongState

_CACHE: dict[tuple, tuple[float, Any]] = {}
_REFRESHING: set[tuple] = set()
_KEY_LOCKS: dict[tuple, threading.Lock] = {}
_LOCK = threading.Lock()


def _cache_seconds() -> float:
    default = 0 if current_app.testing else 30
    return float(current_app.config.get("COVERAGE_CACHE_SECONDS", default))


_local = threading.local()


def _refresh(app, full_key: tuple, compute: Callable[[], Any], ttl: float) -> None:
    with app.app_context():
        _local.refreshing = True  # nested cached() calls recompute expired entries, never serve stale ones
        try:
            value = compute()
            _CACHE[full_key] = (time.monotonic() + ttl, value)
        except Exception:  # keep serving the stale value; try again on a later request
            app.logger.exception("coverage cache refresh failed for %s", full_key[1:])
        finally:
            _local.refreshing = False
            db.session.remove()
            with _LOCK:
                _REFRESHING.discard(full_key)


def cached(key: tuple, compute: Callable[[], Any], ttl: float | None = None) -> Any:
    """``compute()`` memoised per database (see the module docstring); ``ttl`` overrides
    ``COVERAGE_CACHE_SECONDS`` for this key.

    ``compute`` must capture plain values (ids), not ORM objects: it may run
    later in a background thread with its own session.
    """
    ttl = _cache_seconds() if ttl is None else ttl
    if ttl <= 0:
        return compute()
    full_key = (current_app.config.get("SQLALCHEMY_DATABASE_URI"), *key)
    hit = _CACHE.get(full_key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    if hit is not None and not getattr(_local, "refreshing", False):
        # Stale: serve it, and let one background thread recompute it.
        with _LOCK:
            start = full_key not in _REFRESHING
            _REFRESHING.add(full_key)
        if start:
            app = current_app._get_current_object()
            threading.Thread(target=_refresh, args=(app, full_key, compute, ttl), daemon=True).start()
        return hit[1]
    # Single flight: concurrent misses of one key (e.g. the warm-up thread and the
    # first request) wait for one computation instead of repeating it.
    with _LOCK:
        key_lock = _KEY_LOCKS.setdefault(full_key, threading.Lock())
    with key_lock:
        hit = _CACHE.get(full_key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = compute()
        if len(_CACHE) > 500:
            _CACHE.clear()
        _CACHE[full_key] = (time.monotonic() + ttl, value)
    return value


def clear_cache() -> None:
    _CACHE.clear()


_WARMED: set[str] = set()


def warm_in_background(app) -> None:
    """Once per process and database: fill the cache (every season's aggregate) in a
    background thread, so the first manager does not wait for the scan."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if app.testing or uri in _WARMED or float(app.config.get("COVERAGE_CACHE_SECONDS", 30)) <= 0:
        return
    _WARMED.add(uri)

    def run() -> None:
        with app.app_context():
            try:
                season = season_life.resolve(None)
                if season is not None:
                    national_summary(season)
                    department_rows(season)
                for season_id in db.session.scalars(select(Season.id)):  # gaps "ever" reads every season
                    season_cells(season_id)
            except Exception:  # e.g. tables not created yet: the first request will compute
                app.logger.info("coverage warm-up skipped", exc_info=True)
            finally:
                try:
                    db.session.remove()
                except Exception:  # the database went away meanwhile: drop the connection
                    app.logger.info("coverage warm-up: connection lost", exc_info=True)
                    db.session.invalidate()
                    db.session.remove()

    threading.Thread(target=run, daemon=True, name="coverage-warm-up").start()


def _delivered():
    return Song.state.in_(DELIVERED_STATES)


def _share(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


# --------------------------------------------------------------------------- seasons


def seasons() -> list[Season]:
    return season_life.all_seasons()


def previous_season(season: Season) -> Season | None:
    return db.session.scalar(select(Season).where(Season.year < season.year).order_by(Season.year.desc()).limit(1))


# --------------------------------------------------------------------------- the two building blocks


@dataclass(frozen=True)
class DepartmentRef:
    id: int
    code: str
    name: str
    label_id: int | None
    label_name: str | None


@dataclass(frozen=True)
class MunicipalityRef:
    id: int
    code: str
    name: str
    department_id: int
    category: str | None
    pdet: bool
    pdet_subregion: str | None
    prioritised: bool
    category_source: str | None = None  # "official:<year>" (the year of the category shown)


@dataclass
class Reference:
    departments: list[DepartmentRef]  # by DANE code
    municipalities: list[MunicipalityRef]  # by name, code

    @property
    def prioritised(self) -> list[MunicipalityRef]:
        return [m for m in self.municipalities if m.prioritised]


def reference() -> Reference:
    """Departments (with their label) and municipalities: about 1,150 small rows."""

    def compute() -> Reference:
        departments = [
            DepartmentRef(*r)
            for r in db.session.execute(
                select(Department.id, Department.code, Department.name, Department.label_id, Label.name)
                .outerjoin(Label, Label.id == Department.label_id)
                .order_by(Department.code)
            )
        ]
        municipalities = [
            MunicipalityRef(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], bool(r[7]), r[8])
            for r in db.session.execute(
                select(
                    Municipality.id,
                    Municipality.code,
                    Municipality.name,
                    Municipality.department_id,
                    Municipality.category,
                    Municipality.pdet,
                    Municipality.pdet_subregion,
                    Municipality.prioritised,
                    Municipality.category_source,
                ).order_by(Municipality.name, Municipality.code)
            )
        ]
        municipalities.sort(key=lambda m: (fold(m.name), m.code))
        return Reference(departments, municipalities)

    return cached(("reference",), compute)


@dataclass(frozen=True)
class Cell:
    """Delivered songs of one season for one (municipality, album, label)."""

    municipality_id: int
    department_id: int
    album_id: int
    label_id: int
    songs: int
    last_delivered: date | None
    on_time: int
    reviewed: int
    quality_sum: float
    quality_n: int
    satisfaction_sum: float
    satisfaction_n: int


def season_cells(season_id: int) -> list[Cell]:
    """The one grouped aggregate over a season's delivered songs (DESIGN.md §6).

    Grouped in the order of the covering index ``ix_songs_season_charts`` (label, artist,
    album, department, municipality): the database reads that index only, with no sort,
    and the artists of one (municipality, album, label) are added up here.
    """

    def compute() -> list[Cell]:
        reviewed = Song.state == SongState.REVIEWED.value
        rows = db.session.execute(
            select(
                Song.label_id,
                Song.artist_id,
                Song.album_id,
                Song.department_id,
                Song.municipality_id,
                func.count(),
                func.max(Song.delivered_on),
                func.coalesce(func.sum(case((Song.on_time.is_(True), 1), else_=0)), 0),
                func.coalesce(func.sum(case((reviewed, 1), else_=0)), 0),
                func.coalesce(func.sum(case((reviewed, Song.quality))), 0),
                func.count(case((reviewed, Song.quality))),
                func.coalesce(func.sum(Song.satisfaction), 0),
                func.count(Song.satisfaction),
            )
            .where(Song.season_id == season_id, _delivered())
            .group_by(Song.label_id, Song.artist_id, Song.album_id, Song.department_id, Song.municipality_id)
        )
        acc: dict[tuple[int, int, int, int], list[Any]] = {}
        for label, _artist, album, department, municipality, n, last, on_time, rev, q_sum, q_n, s_sum, s_n in rows:
            a = acc.get((municipality, department, album, label))
            if a is None:
                acc[(municipality, department, album, label)] = [n, last, on_time, rev, q_sum, q_n, s_sum, s_n]
                continue
            a[0] += n
            if last is not None and (a[1] is None or last > a[1]):
                a[1] = last
            a[2] += on_time
            a[3] += rev
            a[4] += q_sum
            a[5] += q_n
            a[6] += s_sum
            a[7] += s_n
        return [
            Cell(m, d, al, lb, a[0], a[1], int(a[2]), int(a[3]), float(a[4]), a[5], float(a[6]), a[7])
            for (m, d, al, lb), a in acc.items()
        ]

    return cached(("cells", season_id), compute)


def _by(cells: Iterable[Cell], key: Callable[[Cell], Any]) -> dict[Any, list[Cell]]:
    groups: dict[Any, list[Cell]] = defaultdict(list)
    for cell in cells:
        groups[key(cell)].append(cell)
    return groups


def _songs(cells: Iterable[Cell]) -> int:
    return sum(c.songs for c in cells)


def _last(cells: Iterable[Cell]) -> date | None:
    dates = [c.last_delivered for c in cells if c.last_delivered is not None]
    return max(dates) if dates else None


# --------------------------------------------------------------------------- national summary


@dataclass
class Totals:
    departments: int
    municipalities: int
    prioritised: int


def reference_totals() -> Totals:
    ref = reference()
    return Totals(len(ref.departments), len(ref.municipalities), len(ref.prioritised))


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
    surveys: int = 0  # answers in mean_satisfaction
    scored: int = 0  # reviewed songs in mean_quality


def season_figures(season: Season) -> SeasonFigures:
    """Delivered songs, reach and means of one season (DESIGN.md §4, §6)."""
    season_id, year = season.id, season.year

    def compute() -> SeasonFigures:
        cells = season_cells(season_id)
        prioritised = {m.id for m in reference().prioritised}
        reached = {c.municipality_id for c in cells}
        delivered = _songs(cells)
        return SeasonFigures(
            year=year,
            delivered=delivered,
            departments_reached=len({c.department_id for c in cells}),
            municipalities_reached=len(reached),
            prioritised_reached=len(reached & prioritised),
            mean_quality=_mean(sum(c.quality_sum for c in cells), sum(c.quality_n for c in cells)),
            mean_satisfaction=_mean(sum(c.satisfaction_sum for c in cells), sum(c.satisfaction_n for c in cells)),
            on_time_rate=_mean(sum(c.on_time for c in cells), delivered),
            surveys=sum(c.satisfaction_n for c in cells),
            scored=sum(c.quality_n for c in cells),
        )

    return cached(("figures", season_id), compute)


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
    prev = previous_season(season)
    now = season_figures(season)
    before = season_figures(prev) if prev else None
    totals = reference_totals()

    def p(attr: str):
        return getattr(before, attr) if before else None

    figures = [
        Figure(
            "delivered",
            _l("Canciones entregadas · Asistencias entregadas"),
            "count",
            now.delivered,
            p("delivered"),
        ),
        Figure(
            "departments",
            _l("Departamentos alcanzados"),
            "reach",
            now.departments_reached,
            p("departments_reached"),
            totals.departments,
        ),
        Figure(
            "municipalities",
            _l("Municipios alcanzados"),
            "reach",
            now.municipalities_reached,
            p("municipalities_reached"),
            totals.municipalities,
        ),
        Figure(
            "prioritised",
            _l("Municipios priorizados alcanzados (PDET o categoría 5–6)"),
            "reach",
            now.prioritised_reached,
            p("prioritised_reached"),
            totals.prioritised,
        ),
        Figure(
            "quality",
            _l("Calidad media Q (canciones revisadas)"),
            "score",
            now.mean_quality,
            p("mean_quality"),
        ),
        Figure(
            "satisfaction",
            _l("Satisfacción media S (encuestas)"),
            "score",
            now.mean_satisfaction,
            p("mean_satisfaction"),
        ),
        Figure("on_time", _l("Entregas a tiempo"), "rate", now.on_time_rate, p("on_time_rate")),
    ]
    return Summary(season=season, previous_season=prev, totals=totals, figures=figures)


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
    "name": lambda r: fold(r.name),
    "municipalities": lambda r: r.municipalities,
    "prioritised": lambda r: r.prioritised,
    "assisted": lambda r: r.assisted,
    "coverage": lambda r: (r.coverage is not None, r.coverage or 0),
    "prioritised_coverage": lambda r: (r.prioritised_coverage is not None, r.prioritised_coverage or 0),
    "delivered": lambda r: r.delivered,
}


def department_rows(season: Season) -> list[DepartmentRow]:
    """Per department: municipalities, prioritised, assisted, coverage, songs by album (DESIGN.md §6)."""
    season_id = season.id

    def compute() -> list[DepartmentRow]:
        ref = reference()
        cells_by_dep = _by(season_cells(season_id), lambda c: c.department_id)
        muns_by_dep = _by(ref.municipalities, lambda m: m.department_id)
        prioritised = {m.id for m in ref.prioritised}
        rows = []
        for dep in ref.departments:
            cells = cells_by_dep.get(dep.id, [])
            assisted = {c.municipality_id for c in cells}
            by_album: dict[int, int] = defaultdict(int)
            for c in cells:
                by_album[c.album_id] += c.songs
            municipalities = muns_by_dep.get(dep.id, [])
            rows.append(
                DepartmentRow(
                    id=dep.id,
                    code=dep.code,
                    name=dep.name,
                    label_name=dep.label_name,
                    municipalities=len(municipalities),
                    prioritised=sum(1 for m in municipalities if m.prioritised),
                    assisted=len(assisted),
                    prioritised_assisted=len(assisted & prioritised),
                    delivered=_songs(cells),
                    by_album=dict(by_album),
                )
            )
        return rows

    return cached(("departments", season_id), compute)


def sort_departments(rows: list[DepartmentRow], sort: str | None, descending: bool = False) -> list[DepartmentRow]:
    """Sort by one of DEPARTMENT_SORTS (unknown keys fall back to the DANE code)."""
    key = DEPARTMENT_SORTS.get(sort or "code", DEPARTMENT_SORTS["code"])
    return sorted(rows, key=key, reverse=descending)


def albums_with_songs(season: Season) -> list[Album]:
    """Albums to show as columns: active ones and any with delivered songs in the season."""
    used = {c.album_id for c in season_cells(season.id)}
    albums = db.session.scalars(select(Album).order_by(Album.code))
    return [a for a in albums if a.active or a.id in used]


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
    category_source: str | None = None
    need: Any = None  # app.domain.need.NeedScore in the season's year


def department_by_code(code: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(_("No existe el departamento con código %(code)s.", code=code))
    return department


def department_municipalities(season: Season, department: Department) -> list[MunicipalityRow]:
    """A department's municipalities with their delivered songs and need score in the season."""
    from app.domain import need

    cells = _by((c for c in season_cells(season.id) if c.department_id == department.id), lambda c: c.municipality_id)
    needs = need.scores(season.year)
    return [
        MunicipalityRow(
            code=m.code,
            name=m.name,
            category=m.category,
            pdet=m.pdet,
            pdet_subregion=m.pdet_subregion,
            prioritised=m.prioritised,
            songs=_songs(cells.get(m.id, [])),
            last_delivered=_last(cells.get(m.id, [])),
            category_source=m.category_source,
            need=needs.get(m.id),
        )
        for m in reference().municipalities
        if m.department_id == department.id
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
    category_source: str | None = None
    need: Any = None  # app.domain.need.NeedScore in the season's year
    pdet_subregion_code: int | None = None


def _last_delivered_ever() -> dict[int, date | None]:
    """Municipality → its latest delivery in any season (from every season's cells)."""
    last: dict[int, date | None] = {}
    for season_id in db.session.scalars(select(Season.id)):
        for municipality_id, cells in _by(season_cells(season_id), lambda c: c.municipality_id).items():
            candidates = [d for d in (last.get(municipality_id), _last(cells)) if d is not None]
            last[municipality_id] = max(candidates) if candidates else None
    return last


def gaps(
    season: Season,
    *,
    ever: bool = False,
    department_code: str | None = None,
    label_id: int | None = None,
    subregion: int | None = None,
) -> list[GapRow]:
    """Prioritised municipalities with no delivered song in the season (or ever), as a work
    plan: never-assisted ones first, then by need score, highest first (DESIGN.md §6)."""
    from app.domain import need

    ref = reference()
    last_ever = _last_delivered_ever()
    reached = set(last_ever) if ever else {c.municipality_id for c in season_cells(season.id)}
    departments = {d.id: d for d in ref.departments}
    subregions = pdet_subregion_codes()
    needs = need.scores(season.year)
    rows = []
    for m in ref.prioritised:
        dep = departments.get(m.department_id)
        if m.id in reached or dep is None:
            continue
        if (department_code and dep.code != department_code) or (label_id and dep.label_id != label_id):
            continue
        if subregion and subregions.get(m.id) != subregion:
            continue
        rows.append(
            GapRow(
                dep.code,
                dep.name,
                dep.label_name,
                m.code,
                m.name,
                m.category,
                m.pdet,
                m.pdet_subregion,
                last_ever.get(m.id),
                m.category_source,
                needs.get(m.id),
                subregions.get(m.id),
            )
        )
    # Stable over the (name, code) order of reference(): ties keep the alphabetical order.
    rows.sort(key=lambda g: (g.last_delivered_ever is not None, -(g.need.score if g.need else 0)))
    return rows


def pdet_subregion_codes() -> dict[int, int]:
    """Municipality id → PDET subregion code (1–16)."""

    def compute() -> dict[int, int]:
        stmt = select(Municipality.id, Municipality.pdet_subregion_code).where(
            Municipality.pdet_subregion_code.is_not(None)
        )
        return dict(db.session.execute(stmt).all())

    return cached(("subregions",), compute)


def pdet_subregions() -> list[tuple[int, str]]:
    """(code, name) of the 16 PDET subregions, by code."""
    stmt = (
        select(Municipality.pdet_subregion_code, Municipality.pdet_subregion)
        .where(Municipality.pdet_subregion_code.is_not(None))
        .distinct()
        .order_by(Municipality.pdet_subregion_code)
    )
    return [(code, name) for code, name in db.session.execute(stmt)]


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
    as_of = as_of or calendar.today()
    cells = season_cells(season.id)
    per_label = {k: _songs(v) for k, v in _by(cells, lambda c: c.label_id).items()}
    per_label_album = {k: _songs(v) for k, v in _by(cells, lambda c: (c.label_id, c.album_id)).items()}
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


# --------------------------------------------------------------------------- albums and open data


@dataclass
class AlbumRow:
    code: str
    name: str
    delivered: int
    reviewed: int
    mean_quality: float | None
    mean_satisfaction: float | None
    on_time_rate: float | None
    surveys: int = 0
    scored: int = 0


def album_rows(season: Season) -> list[AlbumRow]:
    """Per album: delivered, reviewed, mean Q, mean S, on-time rate (aggregates only)."""
    by_album = _by(season_cells(season.id), lambda c: c.album_id)
    out = []
    for album in albums_with_songs(season):
        cells = by_album.get(album.id, [])
        delivered = _songs(cells)
        out.append(
            AlbumRow(
                code=album.code,
                name=album.name,
                delivered=delivered,
                reviewed=sum(c.reviewed for c in cells),
                mean_quality=_mean(sum(c.quality_sum for c in cells), sum(c.quality_n for c in cells)),
                mean_satisfaction=_mean(sum(c.satisfaction_sum for c in cells), sum(c.satisfaction_n for c in cells)),
                on_time_rate=_mean(sum(c.on_time for c in cells), delivered),
                surveys=sum(c.satisfaction_n for c in cells),
                scored=sum(c.quality_n for c in cells),
            )
        )
    return out


# A department's public figures: (key in JSON and CSV, DepartmentRow attribute), in column order.
DEPARTMENT_FIGURES = (
    ("department_code", "code"),
    ("department", "name"),
    ("municipalities", "municipalities"),
    ("prioritised_municipalities", "prioritised"),
    ("assisted_municipalities", "assisted"),
    ("coverage", "coverage"),
    ("prioritised_assisted", "prioritised_assisted"),
    ("prioritised_coverage", "prioritised_coverage"),
    ("delivered_songs", "delivered"),
)


def department_figures(row: DepartmentRow) -> dict[str, Any]:
    """The figures of one department row that open data and the coverage API both publish."""
    return {key: getattr(row, attribute) for key, attribute in DEPARTMENT_FIGURES}


def min_cell_size() -> int:
    """The fewest values a public mean is made of (``OPEN_DATA_MIN_CELL``, 5; docs/PRIVACY.md)."""
    return max(1, int(current_app.config.get("OPEN_DATA_MIN_CELL", 5)))


def _published_means(quality: float | None, scored: int, satisfaction: float | None, surveys: int) -> dict[str, Any]:
    """Q̄ and S̄ as open data publishes them: a mean of fewer than ``min_cell_size()`` values
    (reviewed songs for Q, surveys for S) is suppressed (None, named in ``suppressed``):
    the exact mean of one or two answers would give the respondents' answers away."""
    k = min_cell_size()
    out: dict[str, Any] = {"mean_quality": quality, "mean_satisfaction": satisfaction, "suppressed": []}
    for key, n in (("mean_quality", scored), ("mean_satisfaction", surveys)):
        if out[key] is not None and n < k:
            out[key] = None
            out["suppressed"].append(key)
    return out


def open_data(season: Season) -> dict[str, Any]:
    """Aggregates only, for the public (no personal data, no free text) (DESIGN.md §1, §6);
    means over fewer than ``min_cell_size()`` values are suppressed (issue 19)."""
    summary = national_summary(season)
    now = season_figures(season)
    national_means = _published_means(now.mean_quality, now.scored, now.mean_satisfaction, now.surveys)
    national: dict[str, Any] = {
        f.key: {"value": f.value, "total": f.total, "share": f.share} if f.kind == "reach" else f.value
        for f in summary.figures
    }
    pairs = (("quality", "mean_quality"), ("satisfaction", "mean_satisfaction"))
    national["suppressed"] = [key for key, mean in pairs if mean in national_means["suppressed"]]
    for key in national["suppressed"]:
        national[key] = None
    return {
        "season": season.year,
        "licence": "CC BY 4.0",
        "min_cell_size": min_cell_size(),
        "national": national,
        "departments": [department_figures(r) for r in department_rows(season)],
        "albums": [
            {
                "album_code": a.code,
                "album": a.name,
                "delivered_songs": a.delivered,
                "reviewed_songs": a.reviewed,
                **_published_means(a.mean_quality, a.scored, a.mean_satisfaction, a.surveys),
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
