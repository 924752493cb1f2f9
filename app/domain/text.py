"""Text that comes from people and spreadsheets: accents, DANE codes, CSV files.

One definition of each (issue 20): the song import, the reference import, the
impact import, the municipality search and the API all read codes, names and CSV
files through these functions.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

from app.i18n import _


class FileRefused(Exception):
    """The file as a whole cannot be read (type, encoding, size, header)."""


# --------------------------------------------------------------------------- names


def fold(text: Any) -> str:
    """Case- and accent-insensitive form of ``text``: "Córdoba" → "cordoba", "²" → "2".

    The key for sorting Spanish names (Córdoba before Cundinamarca) and for matching
    what someone typed against a name."""
    decomposed = unicodedata.normalize("NFKD", "" if text is None else str(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --------------------------------------------------------------------------- DANE codes

MUNICIPALITY_DIGITS = 5
DEPARTMENT_DIGITS = 2


def dane_code(value: Any, digits: int = MUNICIPALITY_DIGITS) -> str | None:
    """The DANE code written in ``value`` with its leading zeros, or None.

    Spreadsheets store 05001 (Medellín) as the number 5001 and 05 (Antioquia) as 5:
    up to ``digits`` ASCII digits are padded back. Integral floats (5001.0) count;
    "²", "٥" and other digits ``str.isdigit`` accepts do not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value).strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > digits:
        return None
    return text.zfill(digits)


# --------------------------------------------------------------------------- CSV


def read_csv(raw: bytes, *, max_rows: int | None = None) -> list[tuple[int, list[str]]]:
    """``[(line, cells)]`` of a UTF-8 CSV (BOM or not), header included; FileRefused if unreadable.

    The header line decides the separator: ``;`` when it has more of them than
    ``,`` (what Excel writes in a Spanish locale), else ``,``. ``max_rows`` counts
    data rows, the header aside."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(
            _(
                "El archivo no está codificado en UTF-8. En Excel use «Guardar como» → «CSV UTF-8 (delimitado por comas)»."
            )
        ) from None
    if "\x00" in text:  # UTF-16 fails above; this is not text at all
        raise FileRefused(_("El archivo no parece un CSV de texto (contiene datos binarios)."))
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if max_rows is not None and number > max_rows + 1:
                raise FileRefused(too_many_rows(max_rows))
            rows.append((number, cells))
    except csv.Error as exc:
        raise FileRefused(
            _("El CSV está mal formado (línea %(line)s): %(error)s.", line=len(rows) + 1, error=exc)
        ) from None
    return rows


def too_many_rows(max_rows: int) -> str:
    return _(
        "El archivo tiene más de %(n)s filas de datos; divídalo en varios archivos.",
        n=f"{max_rows:,}".replace(",", "."),
    )


def csv_records(raw: bytes) -> list[dict[str | None, Any]]:
    """The rows after the header as dicts keyed by the header's names (stripped, lower case).

    As :class:`csv.DictReader`: blank lines are skipped, missing cells are None and
    extra cells are listed under the key None."""
    rows = [cells for _line, cells in read_csv(raw) if cells]
    if not rows:
        return []
    header = [name.strip().lower() for name in rows[0]]
    records: list[dict[str | None, Any]] = []
    for cells in rows[1:]:
        record: dict[str | None, Any] = dict(zip(header, cells, strict=False))
        for name in header[len(cells) :]:
            record.setdefault(name, None)
        if len(cells) > len(header):
            record[None] = cells[len(header) :]
        records.append(record)
    return records
