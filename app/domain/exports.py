"""CSV and XLSX exports of tables (DESIGN.md §6). Reusable by every area.

- CSV: UTF-8 **with BOM** (Excel in Spanish opens it with the accents right),
  separator ``,`` (RFC 4180; what open-data portals and ``csv``/pandas expect;
  Excel's "Datos > Desde texto" handles it), decimals with ``.``.
- XLSX: openpyxl in write-only mode (constant memory for big tables).
- Every text cell goes through :func:`neutralise`, so a municipality or label
  named ``=HYPERLINK(...)`` can never run as a formula in a spreadsheet.
- File names carry what, the season and the date:
  ``cobertura-departamentos-2024-2026-11-23.xlsx``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from flask import Response

from app.domain import calendar

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_MIME = "text/csv; charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


_PLAIN = (str, int, float, bool, date, datetime, type(None))


def neutralise(value: Any) -> Any:
    """Strings that a spreadsheet would read as a formula get a leading apostrophe.

    Numbers, dates and None pass through unchanged (a negative number is data,
    not a formula); anything else (e.g. a lazily translated label) becomes text.
    """
    if not isinstance(value, _PLAIN):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_filename(stem: str, season_year: int | None, extension: str, today: date | None = None) -> str:
    """``<stem>-<season>-<YYYY-MM-DD>.<ext>`` with a safe ASCII stem."""
    today = today or calendar.today()
    safe = re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-") or "export"
    parts = [safe] + ([str(season_year)] if season_year else []) + [today.isoformat()]
    return "-".join(parts) + "." + extension


def _cell_csv(value: Any) -> str:
    value = neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", lineterminator="\r\n")
    writer.writerow([_cell_csv(h) for h in headers])
    for row in rows:
        writer.writerow([_cell_csv(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download (UTF-8 with BOM, ``,`` separated)."""
    return Response(csv_bytes(headers, rows), mimetype=CSV_MIME, headers=_attachment(filename))


def _cell_xlsx(value: Any) -> Any:
    value = neutralise(value)
    if isinstance(value, bool):
        return "sí" if value else "no"
    return value


def xlsx_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet_title: str = "Datos") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    # Sheet titles: at most 31 characters, none of []:*?/\
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", sheet_title)[:31] or "Datos")
    sheet.append([_cell_xlsx(h) for h in headers])
    for row in rows:
        sheet.append([_cell_xlsx(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet_title: str = "Datos"
) -> Response:
    """An XLSX download (openpyxl write-only mode)."""
    return Response(xlsx_bytes(headers, rows, sheet_title), mimetype=XLSX_MIME, headers=_attachment(filename))


def table_response(
    fmt: str, stem: str, season_year: int | None, headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str
) -> Response:
    """``csv`` or ``xlsx`` download named with the season and today's date."""
    filename = export_filename(stem, season_year, fmt)
    if fmt == "xlsx":
        return xlsx_response(filename, headers, rows, sheet)
    return csv_response(filename, headers, rows)
