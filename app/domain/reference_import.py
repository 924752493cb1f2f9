"""Re-import of official reference files: municipal categories (DESIGN.md §2).

All rows or none: every row is validated first; bad rows are reported with their
line number and reason and nothing is written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update

from app.domain.parsing import ascii_int
from app.extensions import db
from app.models import Municipality
from app.models.territory import CATEGORIES


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_csv_text(raw: bytes) -> list[dict[str, str]]:
    """UTF-8 (with or without BOM) CSV separated by ``,`` or ``;``."""
    text = raw.decode("utf-8-sig")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    reader.fieldnames = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    return list(reader)


def import_categories(raw: bytes) -> ImportReport:
    report = ImportReport()
    try:
        rows = read_csv_text(raw)
    except UnicodeDecodeError:
        report.errors.append(RowError(1, "El archivo no está en UTF-8."))
        return report
    codes = dict(db.session.execute(select(Municipality.code, Municipality.id)).all())
    updates = []
    for number, row in enumerate(rows, start=2):
        code = (row.get("municipality_code") or "").strip().zfill(5)
        category = (row.get("category") or "").strip().lower()
        year = (row.get("year") or "").strip()
        if code not in codes:
            report.errors.append(RowError(number, f"Código DANE desconocido: {code!r}."))
        elif category not in CATEGORIES:
            report.errors.append(RowError(number, f"Categoría no válida: {category!r} (especial o 1 a 6)."))
        elif ascii_int(year, minimum=1900, maximum=2999) is None:
            report.errors.append(RowError(number, f"Año no válido: {year!r}."))
        else:
            updates.append({"b_id": codes[code], "b_category": category, "b_source": f"official:{year}"})
    if not rows:
        report.errors.append(RowError(1, "El archivo no tiene filas."))
    if report.errors:
        return report
    stmt = (
        update(Municipality.__table__)
        .where(Municipality.__table__.c.id == bindparam("b_id"))
        .values(category=bindparam("b_category"), category_source=bindparam("b_source"))
    )
    db.session.connection().execute(stmt, updates)
    report.created = len(updates)
    return report


def import_categories_path(path: str) -> ImportReport:
    with open(path, "rb") as handle:
        return import_categories(handle.read())
