"""Re-import of official reference files: municipal categories by year (DESIGN.md §2, §6).

CLI ``import categories FILE [--year]``, the reference page, and ``seed reference``
all call :func:`import_categories`. The file is a CSV with a header
``municipality_code, year, category`` (optional ``capacity_group``, ``source``), or
the XLSX workbook exactly as DNP (sheet *Municipios* of the fiscal-performance
results) or the Contaduría publish it: title rows above the header are skipped,
columns are found by their names (DANE/DIVIPOLA code, category, group of initial
capacities, year or *vigencia*), and the year may also come from a title ("vigencia
2024"), from the category column ("Categoría 2024") or from the caller.

All rows or none: every row is validated first; bad rows are reported with their
line number (the spreadsheet's row) and reason and nothing is written. Rows are
upserted on (municipality, year): other years are never touched. Rows with no
category at all (San Andrés in some lists) are skipped and counted. Then the
current category, the stored per-song terms of the affected seasons (E feeds the
points) and the coverage cache follow (app.domain.categories).

DNP's workbook also carries that year's fiscal performance index (column *Nuevo
IDF*, or ``idf`` in a CSV): when present it is imported with the categories, in
the same all-or-none pass, as the indicator ``idf`` of that year (what the need
score reads, app.domain.need). A blank or "N.D." cell leaves that municipality's
IDF as it was; any other value must be a number from 0 to 100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.domain import audit
from app.domain.categories import bulk_update
from app.domain.parsing import ascii_int
from app.domain.text import FileRefused, dane_code
from app.domain.text import fold as accent_fold
from app.extensions import db
from app.i18n import _
from app.models import MunicipalCategory, Municipality
from app.models.territory import CAPACITY_GROUPS, CATEGORIES

MIN_YEAR, MAX_YEAR = 1990, 2100
HEADER_SCAN_ROWS = 40  # an official workbook has a few title rows above its header


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class CategoryImport(ImportReport):
    """What an import did (or would have done): rows written, years, errors by line."""

    changed: int = 0
    skipped: int = 0  # rows without any category (San Andrés, non-municipalised areas)
    years: list[int] = field(default_factory=list)
    recomputed_songs: int = 0
    idf_values: int = 0  # IDF values read from the file's "Nuevo IDF" column (written unless unchanged)
    idf_changed: int = 0


# --------------------------------------------------------------------------- reading


def fold(text: Any) -> str:
    """Lower case, no accents, runs of other characters as one ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", accent_fold("" if text is None else str(text))).strip("_")


_EXACT = {
    "code": ("municipality_code", "codigo_dane", "cod_dane", "codigo_divipola", "divipola", "codigo_municipio"),
    "category": ("category", "categoria"),
    "group": ("capacity_group", "grupo", "grupo_de_capacidades"),
    "year": ("year", "ano", "vigencia", "anio"),
    "source": ("source", "fuente"),
    "idf": ("idf", "nuevo_idf"),
}
# Other categorisations an official workbook carries beside Ley 617's (TerriData's "Categoría
# de ruralidad"), and DNP's indicator columns named "Capacidad de …" (programación de
# ingresos, ejecución de la inversión): never the category, never the capacity group.
_NOT_CATEGORY = ("rural", "ruralidad", "riesgo", "desempeno", "rango")


def _long_name_rank(role: str, name: str) -> int | None:
    """How well a long header of an official workbook names ``role`` (0 best), None: not at all."""
    if role == "code":
        if ("dane" in name or "divipola" in name) and "dep" not in name and "dpto" not in name:
            return 0
        return None
    if role == "category":
        if not name.startswith("categor") or any(word in name.split("_") for word in _NOT_CATEGORY):
            return None
        return 0 if "617" in name else 1
    if role == "group":
        if name.startswith("grupo"):
            return 0
        if ("capacidad" in name or "dotacion" in name) and "inicial" in name:
            return 1
        return None
    if role == "year":
        return 0 if name.startswith(("vigencia", "ano_", "year")) else None
    if role == "idf":
        if name.startswith("nuevo_idf"):
            return 0
        return 1 if "indice_de_desempeno_fiscal" in name else None
    return None


def _column_roles(header: list[Any]) -> dict[str, int]:
    """Which cell of a header row holds each field: an exact name first, then the best
    long name of the official workbooks (leftmost among equals)."""
    names = [fold(cell) for cell in header]
    roles: dict[str, int] = {}
    for role, exact in _EXACT.items():
        found = next((i for i, name in enumerate(names) if name in exact), None)
        if found is not None:
            roles[role] = found
    for role in ("code", "category", "group", "year", "idf"):
        if role in roles:
            continue
        ranked = [
            (rank, i)
            for i, name in enumerate(names)
            if name and i not in roles.values() and (rank := _long_name_rank(role, name)) is not None
        ]
        if ranked:
            roles[role] = min(ranked)[1]
    if "code" not in roles:  # a bare "Código" next to the municipality's name
        for i, name in enumerate(names):
            if name.startswith("cod") and not any(x in name for x in ("dep", "dpto", "cgn", "contaduria", "chip")):
                roles["code"] = i
                break
    return roles


_YEAR_IN_TEXT = re.compile(r"(?<!\d)(19[9]\d|20\d\d)(?!\d)")


def _year_in(text: Any) -> int | None:
    match = _YEAR_IN_TEXT.search("" if text is None else str(text))
    return int(match[1]) if match else None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_ORDINALS = {"primera": "1", "segunda": "2", "tercera": "3", "cuarta": "4", "quinta": "5", "sexta": "6"}


def normalise_category(value: Any) -> str | None:
    """``especial`` or ``1``…``6`` from what official files write (6, 6.0, "Categoría 6", "E", "Sexta")."""
    text = fold(_cell_text(value))
    text = re.sub(r"^(categoria|cat)_?", "", text)
    if text in ("especial", "e", "esp", "ce"):
        return "especial"
    text = _ORDINALS.get(text, text)
    return text if text in CATEGORIES else None


def normalise_group(value: Any) -> str | None | bool:
    """``C`` or ``G1``…``G5``; None when empty; False when unreadable."""
    text = fold(_cell_text(value)).replace("_", "")
    if not text:
        return None
    if text in ("c", "ciudad", "ciudades"):
        return "C"
    text = re.sub(r"^grupo", "g", text)
    return text.upper() if text.upper() in CAPACITY_GROUPS else False


def _find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[str, int], int | None]:
    """Index of the header row, its column roles, and a year read from the titles above it."""
    title_year = None
    for index, (_line, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        roles = _column_roles(cells)
        if "code" in roles and "category" in roles:
            return index, roles, title_year or _year_in(cells[roles["category"]])
        for cell in cells:
            if title_year is None and ("vigencia" in fold(cell) or "categorizacion" in fold(cell)):
                title_year = _year_in(cell)
    return -1, {}, None


def read_file(raw: bytes, filename: str) -> list[tuple[int, list[Any]]]:
    """``[(line, cells)]`` of a CSV or of the XLSX sheet *Municipios* (else the first sheet)."""
    from app.domain.imports import read_rows

    return read_rows(raw, filename, sheet="municipios")


# --------------------------------------------------------------------------- import


def import_categories(
    raw: bytes,
    filename: str = "categorias.csv",
    *,
    year: int | None = None,
    actor_id: int | None = None,
    only_missing: bool = False,
) -> CategoryImport:
    """Validate every row, then upsert all of them or none (module docstring). Flushes, never commits.

    ``only_missing``: add the (municipality, year) rows the database lacks and leave
    the others as they are (``seed reference``: a later official re-import wins).
    """
    report = CategoryImport()
    table = _category_table(raw, filename, year, report)
    if table is None:
        return report
    rows, start, roles, default_year = table
    codes = dict(db.session.execute(select(Municipality.code, Municipality.id)).all())
    parsed: dict[tuple[int, int], tuple[str, str | None, str | None]] = {}
    idf_values: dict[tuple[int, int], tuple[float, str | None]] = {}
    seen_at: dict[tuple[int, int], int] = {}
    row_years = "year" in roles and year is None  # each row says its year
    for line, cells in rows[start + 1 :]:
        checked = _check_category_row(_Cells(cells, roles), codes, default_year, row_years, filename)
        if checked is None:
            continue
        if checked is SKIPPED:
            report.skipped += 1  # no category that year (San Andrés, non-municipalised areas)
        elif isinstance(checked, str):
            report.errors.append(RowError(line, checked))
        elif checked[0] in seen_at:
            message = _("Fila repetida: el mismo municipio y año ya está en la línea %(n)s.", n=seen_at[checked[0]])
            report.errors.append(RowError(line, message))
        else:
            seen_at[checked[0]] = line
            parsed[checked[0]] = checked[1][:3]
            if checked[1][3] is not None:
                idf_values[checked[0]] = (checked[1][3], checked[1][2])
    if not parsed and not report.errors:
        report.errors.append(RowError(rows[start][0], _("El archivo no tiene filas de datos.")))
    if report.errors:
        return report
    _write(parsed, report, only_missing)
    _write_idf(idf_values, report, only_missing)
    if report.changed or report.idf_changed or actor_id is not None:
        audit.record(
            "categories_imported",
            "municipal_category",
            None,
            actor_id=actor_id,
            changes={
                "rows": report.created,
                "changed": report.changed,
                "years": report.years,
                "idf": report.idf_values,
                "idf_changed": report.idf_changed,
                "file": filename[:100],
            },
        )
    return report


def _category_table(
    raw: bytes, filename: str, year: int | None, report: CategoryImport
) -> tuple[list[tuple[int, list[Any]]], int, dict[str, int], int | None] | None:
    """``(rows, header index, column roles, default year)``, or None after reporting why the file is refused."""
    try:
        rows = read_file(raw, filename)
    except FileRefused as exc:
        report.errors.append(RowError(1, str(exc)))
        return None
    start, roles, title_year = _find_header(rows)
    if start < 0:
        report.errors.append(
            RowError(
                1,
                _(
                    "No se encontró el encabezado: hacen falta una columna con el código DANE del municipio "
                    "(municipality_code) y otra con la categoría (category)."
                ),
            )
        )
        return None
    default_year = year or (title_year if "year" not in roles else None)
    if "year" not in roles and default_year is None:
        report.errors.append(
            RowError(
                rows[start][0], _("El archivo no indica el año (vigencia): añada una columna year o indique el año.")
            )
        )
        return None
    return rows, start, roles, default_year


@dataclass
class _Cells:
    """One row of the table, read by column role."""

    cells: list[Any]
    roles: dict[str, int]

    def raw(self, role: str) -> Any:
        i = self.roles.get(role)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def text(self, role: str) -> str:
        return _cell_text(self.raw(role))


SKIPPED = object()  # a municipality with no category that year


def _check_category_row(
    row: _Cells, codes: dict[str, int], default_year: int | None, row_years: bool, filename: str
) -> Any:
    """``((municipality id, year), (category, group, source, idf))``, the reason the row is refused,
    SKIPPED, or None for a row that is not data (blank, a footnote)."""
    code_raw, category_raw = row.text("code"), row.text("category")
    if not code_raw and not category_raw:
        return None  # blank row, or a note under the table
    if not category_raw and dane_code(code_raw) is None:
        return None  # a footnote ("Fuente: …") in the first column
    code = dane_code(code_raw)
    row_year = ascii_int(row.text("year"), minimum=MIN_YEAR, maximum=MAX_YEAR) if row_years else default_year
    group = normalise_group(row.raw("group"))
    if code is None or code not in codes:
        return _("Código DANE de municipio desconocido: %(code)r.", code=code_raw)
    if row_year is None or not MIN_YEAR <= row_year <= MAX_YEAR:
        return _("Año no válido: %(year)r.", year=row.text("year"))
    if not category_raw:
        return SKIPPED
    if normalise_category(category_raw) is None:
        return _("Categoría no válida: %(value)r (especial o 1 a 6).", value=category_raw)
    if group is False:
        return _("Grupo de capacidades no válido: %(value)r (C o G1 a G5).", value=row.text("group"))
    idf = _idf_value(row.raw("idf"))
    if idf is False:
        return _("IDF no válido: %(value)r (un número de 0 a 100).", value=row.text("idf"))
    source = row.text("source")[:200] or filename[:200]
    return (codes[code], row_year), (normalise_category(category_raw), group or None, source, idf)


_NO_VALUE = ("", "nd", "n_d", "na", "n_a", "sd", "s_d", "sin_dato", "sin_datos", "sin_informacion")


def _idf_value(value: Any) -> float | None | bool:
    """The IDF of a cell (0–100); None when the cell says there is none; False when unreadable."""
    from app.domain.impact import _parse_value

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = _cell_text(value)
        if fold(text) in _NO_VALUE or text in ("-", "—", "–"):
            return None
        number = _parse_value(text)
    if number is None or number != number or not 0 <= number <= 100:
        return False
    return number


def _write(
    parsed: dict[tuple[int, int], tuple[str, str | None, str | None]], report: CategoryImport, only_missing: bool
) -> None:
    years = sorted({year for _mid, year in parsed})
    existing = {
        (row.municipality_id, row.year): row
        for row in db.session.execute(
            select(
                MunicipalCategory.id,
                MunicipalCategory.municipality_id,
                MunicipalCategory.year,
                MunicipalCategory.category,
                MunicipalCategory.capacity_group,
                MunicipalCategory.source,
            ).where(MunicipalCategory.year.in_(years))
        )
    }
    inserts, updates, changed = [], [], set()
    for (mid, year), (category, group, source) in parsed.items():
        old = existing.get((mid, year))
        if old is None:
            inserts.append(
                {"municipality_id": mid, "year": year, "category": category, "capacity_group": group, "source": source}
            )
            changed.add((mid, year))
        elif not only_missing and (old.category, old.capacity_group, old.source) != (category, group, source):
            updates.append({"b_id": old.id, "b_category": category, "b_capacity_group": group, "b_source": source})
            if (old.category, old.capacity_group) != (category, group):
                changed.add((mid, year))
    if inserts:
        db.session.execute(MunicipalCategory.__table__.insert(), inserts)
    bulk_update(MunicipalCategory.__table__, updates)
    report.created, report.changed, report.years = len(parsed), len(changed), years
    if changed:
        from app.domain import categories, coverage

        mids = {mid for mid, _year in changed}
        categories.sync_current(mids)
        report.recomputed_songs = categories.recompute_for(mids, min(year for _mid, year in changed))
        coverage.clear_cache()


def _write_idf(
    values: dict[tuple[int, int], tuple[float, str | None]], report: CategoryImport, only_missing: bool
) -> None:
    """Upsert the file's IDF values as the indicator ``idf`` of their year (need score)."""
    from app.domain.impact import write_indicators
    from app.domain.need import IDF

    report.idf_values = len(values)
    if not values:
        return
    inserted, updated = write_indicators(
        {(mid, IDF, year): item for (mid, year), item in values.items()},
        only_missing=only_missing,
        refresh_source=False,
    )
    report.idf_changed = inserted + updated
    if report.idf_changed:
        from app.domain import coverage

        coverage.clear_cache()


def import_categories_path(path: str, *, year: int | None = None, actor_id=None) -> CategoryImport:
    with open(path, "rb") as handle:
        return import_categories(
            handle.read(), path.replace("\\", "/").rsplit("/", 1)[-1], year=year, actor_id=actor_id
        )
