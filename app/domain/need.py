"""Need score per municipality and year (DESIGN.md §6): what makes the gaps list a work plan.

Built only from official figures the app ships or imports, never invented:

- **fiscal**: ``1 − IDF / 100``, the fiscal performance index (DNP's *nuevo IDF*,
  0–100, higher is better) in force in the year (latest year ≤ it);
- **capacity**: DNP's group of initial capacities in force: G5 (lowest) = 1,
  G4 = 0.5, C, G1, G2 and G3 = 0;
- **PDET**: 1 for the 170 PDET municipalities.

``score = 100 · Σ wᵢ·cᵢ / Σ wᵢ`` with the weights an admin sets (defaults: fiscal
0.5, capacity 0.3, PDET 0.2), so it reads 0–100, higher = needier. A component
without data (San Andrés and the non-municipalised areas have no IDF nor group)
adds 0 and the row is marked incomplete: a missing figure never makes a
municipality look needier than its data show. A territory with no official figure
at all (no IDF, no group, not PDET: San Andrés and the non-municipalised areas) has
no score: pages show "sin datos", the map its no-data colour, and department means
leave it out rather than count it as 0 (the least needy).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.domain import audit, coverage
from app.domain.categories import InForce
from app.domain.errors import ValidationFailed
from app.domain.text import fold
from app.extensions import db
from app.i18n import _
from app.models import MunicipalIndicator, Municipality, NeedWeights

CAPACITY_NEED = {"G5": 1.0, "G4": 0.5, "G3": 0.0, "G2": 0.0, "G1": 0.0, "C": 0.0}
DEFAULTS = {"idf_weight": 0.5, "capacity_weight": 0.3, "pdet_weight": 0.2}
WEIGHT_FIELDS = tuple(DEFAULTS)
IDF = "idf"


@dataclass(frozen=True)
class Weights:
    idf_weight: float
    capacity_weight: float
    pdet_weight: float

    @property
    def total(self) -> float:
        return self.idf_weight + self.capacity_weight + self.pdet_weight


def current_weights() -> Weights:
    row = db.session.scalar(select(NeedWeights).order_by(NeedWeights.id).limit(1))
    if row is None:
        return Weights(**DEFAULTS)
    return Weights(row.idf_weight, row.capacity_weight, row.pdet_weight)


def set_weights(values: dict[str, Any], actor: Any) -> Weights:
    """Validate and store the weights (admins; audited). Flushes, never commits."""
    from app.domain.permissions import can_set_need_weights, require

    require(can_set_need_weights(actor), _("Solo la administración puede cambiar los pesos del puntaje de necesidad."))
    parsed, errors = {}, {}
    for name in WEIGHT_FIELDS:
        raw = str(values.get(name, "")).strip().replace(",", ".")
        try:
            number = float(raw)
        except ValueError:
            errors[name] = [_("Escriba un número entre 0 y 1.")]
            continue
        if not 0 <= number <= 1:
            errors[name] = [_("Escriba un número entre 0 y 1.")]
        else:
            parsed[name] = number
    if not errors and sum(parsed.values()) <= 0:
        errors["idf_weight"] = [_("Al menos un peso debe ser mayor que 0.")]
    if errors:
        raise ValidationFailed(_("Revise los pesos del puntaje de necesidad."), errors)
    row = db.session.scalar(select(NeedWeights).order_by(NeedWeights.id).limit(1))
    before = current_weights()
    if row is None:
        row = NeedWeights(**parsed)
        db.session.add(row)
    else:
        for name, value in parsed.items():
            setattr(row, name, value)
    db.session.flush()
    audit.record(
        "need_weights_changed",
        "need_weights",
        row.id,
        actor_id=getattr(actor, "id", None),
        changes={name: [getattr(before, name), parsed[name]] for name in WEIGHT_FIELDS},
    )
    coverage.clear_cache()
    return Weights(**parsed)


@dataclass(frozen=True)
class NeedScore:
    score: float  # 0–100, higher = needier
    idf: float | None
    idf_year: int | None
    capacity_group: str | None
    capacity_year: int | None
    pdet: bool
    complete: bool  # every component had data


def _idf_by_municipality() -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = defaultdict(list)
    stmt = (
        select(MunicipalIndicator.municipality_id, MunicipalIndicator.year, MunicipalIndicator.value)
        .where(MunicipalIndicator.indicator == IDF)
        .order_by(MunicipalIndicator.municipality_id, MunicipalIndicator.year)
    )
    for mid, year, value in db.session.execute(stmt):
        out[mid].append((year, value))
    return out


def _in_force(series: list[tuple[int, float]], year: int) -> tuple[int, float] | None:
    found = None
    for item in series:
        if item[0] > year:
            break
        found = item
    return found


def compute(year: int, weights: Weights, idf: dict, groups: InForce, pdet: dict[int, bool]) -> dict[int, NeedScore]:
    """The score of every municipality with an official figure in ``year`` (pure over the loaded figures)."""
    total = weights.total or 1.0
    out = {}
    for mid, is_pdet in pdet.items():
        idf_item = _in_force(idf.get(mid, []), year)
        group = groups.capacity_group(mid, year)
        if idf_item is None and group is None and not is_pdet:
            continue  # nothing official to score: "sin datos", never 0
        fiscal = 1 - max(0.0, min(100.0, idf_item[1])) / 100 if idf_item else 0.0
        capacity = CAPACITY_NEED.get(group or "", 0.0)
        raw = weights.idf_weight * fiscal + weights.capacity_weight * capacity + weights.pdet_weight * is_pdet
        out[mid] = NeedScore(
            score=round(100 * raw / total, 1),
            idf=idf_item[1] if idf_item else None,
            idf_year=idf_item[0] if idf_item else None,
            capacity_group=group,
            capacity_year=groups.year(mid, year) if group else None,
            pdet=is_pdet,
            complete=idf_item is not None and group is not None,
        )
    return out


def scores(year: int) -> dict[int, NeedScore]:
    """Municipality id → its need score in ``year``, for those with official figures (cached
    with the coverage figures)."""
    weights = current_weights()

    def run() -> dict[int, NeedScore]:
        pdet = {mid: bool(p) for mid, p in db.session.execute(select(Municipality.id, Municipality.pdet))}
        return compute(year, weights, _idf_by_municipality(), InForce(), pdet)

    return coverage.cached(("need", year, weights), run)


def prioritised_counts() -> dict[str, int]:
    """Why municipalities are prioritised, with the current official figures (reference page)."""
    ref = coverage.reference()
    low = [m for m in ref.municipalities if m.category in ("5", "6")]
    return {
        "pdet": sum(1 for m in ref.municipalities if m.pdet),
        "category": len(low),
        "category_only": sum(1 for m in low if not m.pdet),
        "none": sum(1 for m in ref.municipalities if m.category is None),
    }


@dataclass
class Profile:
    """A municipality's page: official figures by year, need score, assistances by season."""

    municipality: Municipality
    categories: list  # MunicipalCategory rows by year
    indicators: dict[str, list[tuple[int, float, str | None]]]  # indicator → (year, value, source)
    need_by_year: list[tuple[int, NeedScore]]
    songs_by_season: list[tuple[int, int]]  # (season year, delivered songs)
    need_now: NeedScore | None


def profile(code: str, season) -> Profile:
    from app.domain import categories
    from app.domain.errors import NotFound
    from app.models import Season

    municipality = db.session.scalar(select(Municipality).where(Municipality.code == code))
    if municipality is None:
        raise NotFound(_("No existe el municipio con código %(code)s.", code=code))
    indicators: dict[str, list[tuple[int, float, str | None]]] = defaultdict(list)
    for name, year, value, source in db.session.execute(
        select(
            MunicipalIndicator.indicator, MunicipalIndicator.year, MunicipalIndicator.value, MunicipalIndicator.source
        )
        .where(MunicipalIndicator.municipality_id == municipality.id)
        .order_by(MunicipalIndicator.indicator, MunicipalIndicator.year)
    ):
        indicators[name].append((year, value, source))
    history_rows = categories.history(municipality.id)
    years = sorted({r.year for r in history_rows} | {y for y, _v, _s in indicators.get(IDF, [])})
    songs = []
    for season_id, year in db.session.execute(select(Season.id, Season.year).order_by(Season.year)):
        n = sum(c.songs for c in coverage.season_cells(season_id) if c.municipality_id == municipality.id)
        songs.append((year, n))
    return Profile(
        municipality=municipality,
        categories=history_rows,
        indicators=dict(indicators),
        need_by_year=[(y, scores(y).get(municipality.id)) for y in years],
        songs_by_season=songs,
        need_now=scores(season.year).get(municipality.id) if season else None,
    )


@dataclass(frozen=True)
class MapMunicipality:
    code: str
    name: str
    department_code: str
    songs: int  # delivered in the season
    prioritised: bool
    need: NeedScore | None


@dataclass(frozen=True)
class MapDepartment:
    code: str
    name: str
    municipalities: int
    assisted: int
    mean_need: float | None


@dataclass
class MapData:
    municipalities: list[MapMunicipality]  # by name (the data table beside the map)
    departments: list[MapDepartment]  # by name


def map_data(season, department=None) -> MapData:
    """Coverage and need per municipality of the country or of one department (DESIGN.md §6)."""
    ref = coverage.reference()
    songs: dict[int, int] = defaultdict(int)
    for cell in coverage.season_cells(season.id):
        songs[cell.municipality_id] += cell.songs
    needs = scores(season.year)
    dep_code = {d.id: d.code for d in ref.departments}
    rows = [
        MapMunicipality(
            m.code, m.name, dep_code.get(m.department_id, ""), songs.get(m.id, 0), m.prioritised, needs.get(m.id)
        )
        for m in ref.municipalities
        if department is None or m.department_id == department.id
    ]
    by_dep: dict[str, list[MapMunicipality]] = defaultdict(list)
    for row in rows:
        by_dep[row.department_code].append(row)
    departments = []
    for d in sorted(ref.departments, key=lambda d: fold(d.name)):
        members = by_dep.get(d.code, [])
        if not members:
            continue
        scored = [r.need.score for r in members if r.need is not None]
        departments.append(
            MapDepartment(
                d.code,
                d.name,
                len(members),
                sum(1 for r in members if r.songs),
                sum(scored) / len(scored) if scored else None,
            )
        )
    return MapData(rows, departments)
