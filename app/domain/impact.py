"""Impact: imported municipal indicators vs cumulative assistances (DESIGN.md §2, §6).

Import: CSV ``municipality_code, indicator, year, value`` (optional ``source``),
header row, ``,`` or ``;``, UTF-8 with or without BOM. All rows or none: every
bad row is reported with its line number and reason. Rows are upserted on
(municipality, indicator, year).

Comparison: for one indicator and two years, municipalities with a value in
both years are grouped by their cumulative delivered songs in every season up
to the later year (0, 1–4, 5 or more). Nothing here invents values: with no
imported data the page says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.domain import audit, coverage
from app.domain.parsing import ascii_int
from app.domain.reference_import import ImportReport, RowError
from app.domain.text import FileRefused, csv_records, dane_code
from app.extensions import db
from app.i18n import _, _l
from app.models import MunicipalIndicator, Municipality, Season

REQUIRED_COLUMNS = ("municipality_code", "indicator", "year", "value")
GROUPS = ("0", "1-4", "5+")
GROUP_LABELS = {"0": "0", "1-4": "1–4", "5+": _l("5 o más")}
MIN_YEAR, MAX_YEAR = 1990, 2100


def _parse_value(raw: str) -> float | None:
    text = raw.strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # decimal comma (es-CO), e.g. 45,3
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


Key = tuple[int, str, int]  # (municipality id, indicator, year)


def import_indicators(raw: bytes, actor_id: int | None = None) -> ImportReport:
    """Validate every row, then upsert all of them or none, audited (DESIGN.md §2)."""
    report = ImportReport()
    rows = _indicator_rows(raw, report)
    if rows is None:
        return report
    codes = dict(db.session.execute(select(Municipality.code, Municipality.id)).all())
    parsed: dict[Key, tuple[float, str | None]] = {}
    seen_at: dict[Key, int] = {}
    for line, row in enumerate(rows, start=2):
        checked = _check_indicator_row(row, codes)
        if isinstance(checked, str):
            report.errors.append(RowError(line, checked))
        elif checked[0] in seen_at:
            message = _(
                "Fila repetida: el mismo municipio, indicador y año ya está en la línea %(n)s.", n=seen_at[checked[0]]
            )
            report.errors.append(RowError(line, message))
        else:
            seen_at[checked[0]] = line
            parsed[checked[0]] = checked[1]
    if report.errors:
        return report
    _upsert_indicators(parsed, actor_id)
    coverage.clear_cache()  # process-local, with a short TTL; the caller's commit follows at once
    report.created = len(parsed)
    return report


def _indicator_rows(raw: bytes, report: ImportReport) -> list[dict] | None:
    """The file's rows, or None after reporting why the file as a whole is refused (line 1)."""
    try:
        rows = csv_records(raw)
    except FileRefused as exc:  # not UTF-8, binary, malformed quoting
        report.errors.append(RowError(1, str(exc)))
        return None
    if not rows:
        report.errors.append(RowError(1, _("El archivo no tiene filas de datos.")))
        return None
    missing = [c for c in REQUIRED_COLUMNS if c not in rows[0]]
    if missing:
        report.errors.append(RowError(1, _("Faltan columnas en el encabezado: %(cols)s.", cols=", ".join(missing))))
        return None
    return rows


def _check_indicator_row(row: dict, codes: dict[str, int]) -> str | tuple[Key, tuple[float, str | None]]:
    """``(key, (value, source))`` of a row, or the reason it is refused."""
    code = (row.get("municipality_code") or "").strip()
    code = dane_code(code) or code
    indicator = (row.get("indicator") or "").strip().lower()
    year_raw = (row.get("year") or "").strip()
    value = _parse_value(row.get("value") or "")
    if None in row:  # more cells than header columns
        return _("La fila tiene más columnas que el encabezado.")
    if code not in codes:
        return _("Código DANE de municipio desconocido: %(code)r.", code=code)
    if not indicator or len(indicator) > 40:
        return _("Indicador vacío o de más de 40 caracteres.")
    if ascii_int(year_raw, minimum=MIN_YEAR, maximum=MAX_YEAR) is None:
        return _("Año no válido: %(year)r.", year=year_raw)
    if value is None:
        return _("Valor no numérico: %(value)r.", value=(row.get("value") or ""))
    source = (row.get("source") or "").strip()[:200] or None
    return (codes[code], indicator, int(year_raw)), (value, source)


def write_indicators(
    values: dict[Key, tuple[float, str | None]], *, only_missing: bool = False, refresh_source: bool = True
) -> tuple[int, int]:
    """Upsert ``(municipality id, indicator, year) → (value, source)`` into the municipal
    indicators: the one writer for the long-format import and the IDF column of the category
    workbooks. A present row is updated when its value differs (or, with ``refresh_source``,
    when a new source is given); ``only_missing`` leaves present rows alone. Flushes nothing
    itself. Returns ``(inserted, updated)``."""
    from app.domain.categories import bulk_update

    table = MunicipalIndicator.__table__
    indicators = sorted({key[1] for key in values})
    years = sorted({key[2] for key in values})
    existing: dict[Key, tuple[int, float, str | None]] = {}
    for chunk_start in range(0, len(indicators), 500):
        names = indicators[chunk_start : chunk_start + 500]
        rows = db.session.execute(
            select(
                table.c.id, table.c.municipality_id, table.c.indicator, table.c.year, table.c.value, table.c.source
            ).where(table.c.indicator.in_(names), table.c.year.in_(years))
        )
        for id_, mid, indicator, year, value, source in rows:
            existing[(mid, indicator, year)] = (id_, value, source)
    inserts, updates = [], []
    for (mid, indicator, year), (value, source) in values.items():
        old = existing.get((mid, indicator, year))
        if old is None:
            inserts.append(
                {"municipality_id": mid, "indicator": indicator, "year": year, "value": value, "source": source}
            )
            continue
        if only_missing:
            continue
        if refresh_source:
            changed, new_source = old[1] != value or source not in (None, old[2]), source or old[2]
        else:
            changed, new_source = old[1] != value, source
        if changed:
            updates.append({"b_id": old[0], "b_value": value, "b_source": new_source})
    if inserts:
        db.session.execute(table.insert(), inserts)
    bulk_update(table, updates)
    return len(inserts), len(updates)


def _upsert_indicators(parsed: dict[Key, tuple[float, str | None]], actor_id: int | None) -> None:
    # A failure here propagates: the caller's unit of work (app/transaction.py) rolls back.
    inserted, _updated = write_indicators(parsed)
    audit.record(
        "indicators_imported",
        "municipal_indicator",
        None,
        actor_id=actor_id,
        changes={"rows": len(parsed), "inserted": inserted, "indicators": sorted({k[1] for k in parsed})[:20]},
    )
    db.session.flush()


def import_indicators_path(path: str) -> ImportReport:
    with open(path, "rb") as handle:
        return import_indicators(handle.read())


# --------------------------------------------------------------------------- comparison


def indicator_years() -> dict[str, list[int]]:
    """Every imported indicator with the years it has values for."""
    out: dict[str, list[int]] = {}
    for indicator, year in db.session.execute(
        select(MunicipalIndicator.indicator, MunicipalIndicator.year)
        .distinct()
        .order_by(MunicipalIndicator.indicator, MunicipalIndicator.year)
    ):
        out.setdefault(indicator, []).append(year)
    return out


@dataclass
class ImpactGroup:
    key: str  # "0", "1-4", "5+"
    label: str
    municipalities: int  # with a value in both years
    mean_from: float | None
    mean_to: float | None
    mean_change: float | None
    median_from: float | None = None
    median_to: float | None = None
    median_change: float | None = None  # median of the municipalities' own changes


def cumulative_assistances(year_to: int) -> dict[int, int]:
    """Municipality → delivered songs in every season whose year is at most ``year_to``.

    Built from the per-season aggregates of app.domain.coverage (cached), so it
    never scans the songs again.
    """
    totals: dict[int, int] = {}
    for season_id in db.session.scalars(select(Season.id).where(Season.year <= year_to)):
        for cell in coverage.season_cells(season_id):
            totals[cell.municipality_id] = totals.get(cell.municipality_id, 0) + cell.songs
    return totals


def group_for(assistances: int) -> str:
    """0, 1–4, or 5 or more cumulative assistances (DESIGN.md §6)."""
    if assistances <= 0:
        return "0"
    return "1-4" if assistances < 5 else "5+"


def compare(indicator: str, year_from: int, year_to: int) -> list[ImpactGroup]:
    """Mean and median indicator in each year and the change, per cumulative-assistance group (DESIGN.md §6).

    Cumulative assistances: delivered songs of every season whose year is at most
    ``year_to``. Only municipalities with a value in both years count.
    """
    before, after = aliased(MunicipalIndicator), aliased(MunicipalIndicator)
    pairs = db.session.execute(
        select(before.municipality_id, before.value, after.value)
        .join(
            after,
            (after.municipality_id == before.municipality_id)
            & (after.indicator == indicator)
            & (after.year == year_to),
        )
        .where(before.indicator == indicator, before.year == year_from)
    ).all()
    counts = cumulative_assistances(year_to)
    values: dict[str, list[tuple[float, float]]] = {key: [] for key in GROUPS}
    for municipality_id, value_from, value_to in pairs:
        values[group_for(counts.get(municipality_id, 0))].append((value_from, value_to))
    out = []
    for key in GROUPS:
        pairs_in = values[key]
        n = len(pairs_in)
        befores = [a for a, _b in pairs_in]
        afters = [b for _a, b in pairs_in]
        out.append(
            ImpactGroup(
                key=key,
                label=GROUP_LABELS[key],
                municipalities=n,
                mean_from=sum(befores) / n if n else None,
                mean_to=sum(afters) / n if n else None,
                mean_change=(sum(afters) - sum(befores)) / n if n else None,
                median_from=median(befores) if n else None,
                median_to=median(afters) if n else None,
                median_change=median([b - a for a, b in pairs_in]) if n else None,
            )
        )
    return out


def import_indicators_as(user, raw: bytes) -> ImportReport:
    from app.domain.permissions import can_import_indicators, require

    require(can_import_indicators(user), _("Solo coordinación y administración pueden importar indicadores."))
    return import_indicators(raw, actor_id=user.id)
