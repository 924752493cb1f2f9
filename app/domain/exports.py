"""CSV and XLSX exports of tables (DESIGN.md §6). Reusable by every area.

- Each column has a *kind* (:data:`KINDS`): text, code (digits that are text, e.g. a
  DANE code ``05``), int, dec1/dec2/score (fixed decimals), pct (a 0–1 share), date,
  bool, category (Ley 617: ``1``–``6`` as numbers, ``especial`` as text). A table that
  names no kinds gets them from its values.
- CSV in two flavours (:data:`CSV_FLAVOURS`):
  ``rfc4180`` for systems — separator ``,``, decimals with ``.``, shares as 0–1
  fractions, UTF-8 without BOM (what open-data portals, ``csv`` and pandas expect);
  ``excel`` "Excel (es-CO)" for people — separator ``;``, decimal comma, shares as
  ``66,67%``, UTF-8 **with BOM**, so a Spanish-locale spreadsheet opens it with the
  columns, numbers and accents right. Every number of a column has the same decimals.
- XLSX: openpyxl in write-only mode; numbers are numeric cells with a number format
  (``#,##0``, ``#,##0.0``, ``0.0%``, ``dd/mm/yyyy``; Excel shows them with the reader's
  decimal comma), codes are text cells, the header is bold and frozen, the columns
  have widths from their contents and an autofilter covers the table.
- Every text cell goes through :func:`neutralise`, so a municipality or label
  named ``=HYPERLINK(...)`` can never run as a formula in a spreadsheet.
- File names carry what, the season and the date:
  ``cobertura-departamentos-2024-2026-11-23.xlsx`` (``…-excel.csv`` for the es-CO CSV).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

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


KINDS = ("text", "code", "int", "year", "dec1", "dec2", "score", "pct", "date", "datetime", "bool", "category")
_DIGITS = {"dec1": 1, "dec2": 2, "score": 4, "pct": 4}
XLSX_FORMATS = {
    "code": "@",
    "int": "#,##0",
    "dec1": "#,##0.0",
    "dec2": "#,##0.00",
    "score": "0.00",
    "pct": "0.0%",
    "date": "dd/mm/yyyy",
    "datetime": "dd/mm/yyyy hh:mm",
    "category": "0",
}
CSV_FLAVOURS = ("rfc4180", "excel")


class Cell(NamedTuple):
    """A value with its own kind, for a column that mixes kinds (a summary's counts and rates)."""

    value: Any
    kind: str


def _unwrap(value: Any, kind: str) -> tuple[Any, str]:
    return (value.value, value.kind) if isinstance(value, Cell) else (value, kind)


def infer_kinds(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A kind per column from its first non-empty value (for tables that name none)."""
    kinds = []
    for i in range(len(headers)):
        value = next((_unwrap(r[i], "")[0] for r in rows if i < len(r) and r[i] is not None), None)
        if isinstance(value, bool):
            kinds.append("bool")
        elif isinstance(value, int):
            kinds.append("int")
        elif isinstance(value, float):
            kinds.append("dec2")
        elif isinstance(value, datetime):
            kinds.append("datetime")
        elif isinstance(value, date):
            kinds.append("date")
        else:
            kinds.append("text")
    return kinds


def _category(value: Any) -> Any:
    """Ley 617 categories ``1``–``6`` are numbers; ``especial`` stays a word."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _number_text(value: float, digits: int, comma: bool) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if comma else text


def _cell_csv(value: Any, kind: str, flavour: str = "rfc4180") -> str:
    value, kind = _unwrap(value, kind)
    comma = flavour == "excel"
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind == "category":
        value = _category(value)
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if kind == "pct":
            return _number_text(value * 100, 2, True) + "%" if comma else _number_text(value, 4, False)
        if kind in _DIGITS:
            return _number_text(float(value), _DIGITS[kind], comma)
        if isinstance(value, float):
            return _number_text(value, 2, comma) if kind != "int" else str(round(value))
        return str(value)
    if kind == "code" and comma and isinstance(value, str) and value.isascii() and value.isdigit():
        # Excel would read "05" as the number 5: a constant text formula keeps the zero
        # (digits only, so nothing from the data can run).
        return f'="{value}"'
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M") if comma else value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y") if comma else value.isoformat()
    return str(neutralise(value))


def csv_bytes(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    kinds: Sequence[str] | None = None,
    flavour: str = "rfc4180",
) -> bytes:
    """The table as CSV in one of :data:`CSV_FLAVOURS` (see the module docstring)."""
    if flavour not in CSV_FLAVOURS:
        raise ValueError(f"unknown CSV flavour {flavour!r}")
    rows = list(rows)
    kinds = list(kinds) if kinds else infer_kinds(headers, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if flavour == "excel" else ",", lineterminator="\r\n")
    writer.writerow([str(neutralise(h)) for h in headers])
    for row in rows:
        writer.writerow([_cell_csv(v, kinds[i] if i < len(kinds) else "text", flavour) for i, v in enumerate(row)])
    text = buffer.getvalue()
    return (("\ufeff" + text) if flavour == "excel" else text).encode("utf-8")


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


def csv_response(
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    kinds: Sequence[str] | None = None,
    flavour: str = "rfc4180",
) -> Response:
    """A CSV download (RFC 4180, or "Excel (es-CO)" with ``flavour="excel"``)."""
    return Response(csv_bytes(headers, rows, kinds, flavour), mimetype=CSV_MIME, headers=_attachment(filename))


def _cell_xlsx(value: Any, kind: str) -> Any:
    value, kind = _unwrap(value, kind)
    if kind == "category":
        value = _category(value)
    if isinstance(value, bool):
        return "sí" if value else "no"
    if kind == "code" and isinstance(value, int):
        return str(value)
    return neutralise(value)


def _width(values: Iterable[Any], kind: str) -> float:
    """A column's width in characters: its longest cell among the first rows, within 6–60."""
    longest = 0
    for value in values:
        if value is None:
            continue
        if kind == "pct" and isinstance(value, (int, float)):
            text = "100,0 %"
        elif isinstance(value, float):
            text = f"{value:,.{_DIGITS.get(kind, 2)}f}"
        elif isinstance(value, (date, datetime)):
            text = "00/00/0000 00:00" if isinstance(value, datetime) else "00/00/0000"
        else:
            text = str(value)
        longest = max(longest, len(text))
    return float(min(max(longest + 2, 6), 60))


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def xlsx_bytes(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_title: str = "Datos",
    kinds: Sequence[str] | None = None,
) -> bytes:
    """The table as one XLSX sheet (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    rows = list(rows)
    kinds = list(kinds) if kinds else infer_kinds(headers, rows)
    workbook = Workbook(write_only=True)
    # Sheet titles: at most 31 characters, none of []:*?/\
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", str(sheet_title))[:31] or "Datos")
    sample = rows[:500]
    for i, header in enumerate(headers, start=1):
        kind = kinds[i - 1] if i - 1 < len(kinds) else "text"
        body = _width((_unwrap(r[i - 1], kind)[0] for r in sample if i - 1 < len(r)), kind)
        sheet.column_dimensions[_column_letter(i)].width = max(body, min(len(str(header)) + 2, 40))
    sheet.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="EEF0F6")
    head_cells = []
    for h in headers:
        cell = WriteOnlyCell(sheet, value=neutralise(str(h)))
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(wrap_text=True, vertical="top")
        head_cells.append(cell)
    sheet.append(head_cells)
    for row in rows:
        out = []
        for i, value in enumerate(row):
            kind = kinds[i] if i < len(kinds) else "text"
            value, kind = _unwrap(value, kind)
            cell = WriteOnlyCell(sheet, value=_cell_xlsx(value, kind))
            number_format = XLSX_FORMATS.get(kind)
            if number_format and (kind == "code" or not isinstance(cell.value, str)):
                cell.number_format = number_format
            out.append(cell)
        sheet.append(out)
    if headers:
        sheet.auto_filter.ref = f"A1:{_column_letter(len(headers))}{len(rows) + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_title: str = "Datos",
    kinds: Sequence[str] | None = None,
) -> Response:
    """An XLSX download (openpyxl write-only mode)."""
    return Response(xlsx_bytes(headers, rows, sheet_title, kinds), mimetype=XLSX_MIME, headers=_attachment(filename))


def table_response(
    fmt: str,
    stem: str,
    season_year: int | None,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet: str,
    kinds: Sequence[str] | None = None,
    flavour: str = "rfc4180",
) -> Response:
    """``csv`` (in ``flavour``) or ``xlsx`` download named with the season and today's date."""
    if fmt == "xlsx":
        return xlsx_response(export_filename(stem, season_year, fmt), headers, rows, sheet, kinds)
    if flavour == "excel":
        stem = f"{stem}-excel"
    return csv_response(export_filename(stem, season_year, fmt), headers, rows, kinds, flavour)
