"""Bulk import of songs from CSV or XLSX (DESIGN.md §8 "Import columns").

All rows or none: the whole file is read and every row validated against lookups
preloaded into dictionaries (one query per table) before anything is written.
Bad rows are reported with their line number (the header is line 1) and a
Spanish reason naming the column. A clean file is inserted with bulk Core
``insert(Song)`` in chunks inside one transaction, with the per-song scoring
terms of DESIGN.md §4 computed in Python, and one audit event for the import.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from bisect import bisect_left
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.domain import audit, calendar, exports, permissions, review_queue, song_rules
from app.domain.categories import InForce
from app.domain.parsing import ascii_int, plausible_date
from app.domain.reference_import import ImportReport, RowError
from app.domain.scoring import DefaultWeights, song_terms
from app.domain.text import FileRefused, dane_code, read_csv, too_many_rows
from app.extensions import db
from app.i18n import _
from app.models import Album, Artist, Department, Label, Municipality, Season, Song, SongState, User
from app.models.base import utcnow

REQUIRED_COLUMNS = (
    "label_code",
    "artist",
    "album_code",
    "municipality_code",
    "scope",
    "planned_start",
    "due_date",
)
OPTIONAL_COLUMNS = ("state", "delivered_on", "product", "beneficiaries")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# song_rules names fields as the API does; the file's column for each.
COLUMN_OF = {"artist_id": "artist", "album_id": "album_code", "municipality_id": "municipality_code"}

# States a file may set: a review, a return comment or a cancel reason need their
# own screens, so files carry only the first three states of DESIGN.md §3.
IMPORTABLE_STATES = {
    "planned": SongState.PLANNED.value,
    "planeada": SongState.PLANNED.value,
    "planificada": SongState.PLANNED.value,
    "in_progress": SongState.IN_PROGRESS.value,
    "en curso": SongState.IN_PROGRESS.value,
    "en_curso": SongState.IN_PROGRESS.value,
    "delivered": SongState.DELIVERED.value,
    "entregada": SongState.DELIVERED.value,
}

MAX_ROWS = 50_000
MAX_XLSX_UNCOMPRESSED = 50 * 1024 * 1024
# One definition of every limit: app.domain.song_rules (the API uses the same).
MAX_SCOPE = song_rules.MAX_TEXT
MAX_PRODUCT = song_rules.MAX_TEXT
MAX_BENEFICIARIES = song_rules.MAX_BENEFICIARIES
CHUNK = 1000
PREVIEW_ROWS = 10

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass
class SongImportReport(ImportReport):
    """Outcome of an import: ``created`` songs, ``errors`` by line, and for a dry run
    the number of data rows read and the first rows as they will be written."""

    rows_read: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[RowError] = field(default_factory=list)
    delivered_rows: int = 0  # imported as delivered: they count once their evidence is attached

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- reading


def _cell_text(value: Any) -> str:
    """A cell as stripped text; integral floats from spreadsheets lose their ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _normalise_header(name: Any) -> str:
    return re.sub(r"[\s\-]+", "_", _cell_text(name).lower()).strip("_")


def read_rows(raw: bytes, filename: str, sheet: str | None = None) -> list[tuple[int, list[Any]]]:
    """``[(line, cells)]`` including the header (line 1); FileRefused if unreadable.

    XLSX: the sheet named ``sheet`` (case-insensitive) when the workbook has one, else the first."""
    name = (filename or "").lower()
    if not raw:
        raise FileRefused(_("El archivo está vacío."))
    if name.endswith(".xls"):
        raise FileRefused(_("El formato .xls (Excel 97-2003) no se admite: guárdelo como .xlsx o como CSV UTF-8."))
    if name.endswith(".xlsx") or raw[:4] == b"PK\x03\x04":
        if not raw.startswith(b"PK\x03\x04"):
            raise FileRefused(_("El archivo no es un libro de Excel .xlsx válido."))
        return _read_xlsx(raw, sheet)
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." in base and not base.endswith((".csv", ".txt")):
        raise FileRefused(_("Tipo de archivo no admitido: use CSV (UTF-8) o XLSX."))
    return read_csv(raw, max_rows=MAX_ROWS)


def _read_xlsx(raw: bytes, sheet_name: str | None = None) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
            # A zip bomb expands a small upload into gigabytes: refuse before parsing.
            if len(infos) > 10_000 or sum(i.file_size for i in infos) > MAX_XLSX_UNCOMPRESSED:
                raise FileRefused(_("El libro de Excel es demasiado grande una vez descomprimido."))
    except zipfile.BadZipFile:
        raise FileRefused(_("El archivo no es un libro de Excel .xlsx válido.")) from None
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(_("No se pudo leer el libro de Excel: ¿está dañado o protegido con contraseña?")) from None
    try:
        named = [ws for ws in workbook.worksheets if sheet_name and ws.title.strip().casefold() == sheet_name]
        sheet = (named or workbook.worksheets)[0]
        rows = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                raise FileRefused(too_many_rows(MAX_ROWS))
            rows.append((number, list(cells)))
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(_("No se pudo leer la primera hoja del libro de Excel.")) from None
    finally:
        workbook.close()
    return rows


def parse_date(value: Any) -> date | None:
    """ISO ``YYYY-MM-DD`` or ``DD/MM/YYYY`` text, or a spreadsheet date; None if invalid."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    match = _ISO.match(text)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        match = _DMY.match(text)
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


# --------------------------------------------------------------------------- validating


@dataclass
class _Lookups:
    labels: dict[str, int]
    label_codes: dict[int, str]
    artists: dict[tuple[int, str], tuple[int, bool]]
    albums: dict[str, tuple[int, float, bool, int]]
    municipalities: dict[str, tuple[int, int, bool, str | None]]
    department_label: dict[int, int | None]
    seasons: list[tuple[date, date, int, DefaultWeights, int]]
    categories: Any = None  # app.domain.categories.InForce: the category in force by year


def _weights(season: Season) -> DefaultWeights:
    return DefaultWeights(**{f.name: getattr(season, f.name) for f in fields(DefaultWeights)})


def _load_lookups() -> _Lookups:
    session = db.session
    labels = {code.upper(): id_ for id_, code in session.execute(select(Label.id, Label.code))}
    return _Lookups(
        labels=labels,
        label_codes={v: k for k, v in labels.items()},
        artists={
            (label_id, _key(name)): (id_, bool(active))
            for id_, label_id, name, active in session.execute(
                select(Artist.id, Artist.label_id, Artist.name, Artist.active)
            )
        },
        albums={
            code.upper(): (id_, float(weight), bool(active), max_days)
            for id_, code, weight, active, max_days in session.execute(
                select(Album.id, Album.code, Album.weight, Album.active, Album.max_duration_days)
            )
        },
        municipalities={
            code: (id_, dep, bool(pdet), category)
            for id_, code, dep, pdet, category in session.execute(
                select(
                    Municipality.id,
                    Municipality.code,
                    Municipality.department_id,
                    Municipality.pdet,
                    Municipality.category,
                )
            )
        },
        department_label=dict(session.execute(select(Department.id, Department.label_id)).all()),
        seasons=[
            (s.starts_on, s.ends_on, s.id, _weights(s), s.declaration_window_days)
            for s in session.scalars(select(Season))
        ],
        categories=InForce(),
    )


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _validate_header(header: list[Any]) -> tuple[dict[str, int], list[str]]:
    names = [_normalise_header(h) for h in header]
    problems = []
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name not in COLUMNS:
            problems.append(
                _("Columna desconocida «%(name)s». Columnas válidas: %(valid)s.", name=name, valid=", ".join(COLUMNS))
            )
        elif name in positions:
            problems.append(_("La columna «%(name)s» está repetida.", name=name))
        else:
            positions[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        problems.append(_("Faltan columnas obligatorias: %(names)s.", names=", ".join(missing)))
    return positions, problems


@dataclass
class _Row:
    """One data row being checked: its cells as text and where its problems go."""

    line: int
    raw: dict[str, Any]
    errors: list[RowError]
    text: dict[str, str] = field(default_factory=dict)

    def bad(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, f"{column}: {message}"))

    def rules(self, problems: list[song_rules.Problem]) -> None:
        for problem in problems:
            self.bad(COLUMN_OF.get(problem.field, problem.field), problem.message)

    def date(self, column: str) -> date | None:
        """The date in ``column``, or None (empty, or unreadable or implausible: a problem)."""
        if not self.text[column]:
            return None
        value = parse_date(self.raw.get(column))
        if value is None:
            self.bad(
                column,
                _("la fecha «%(value)s» no es válida (use AAAA-MM-DD o DD/MM/AAAA).", value=self.text[column][:20]),
            )
        elif not plausible_date(value):
            self.bad(
                column,
                _("la fecha «%(value)s» está fuera del rango admitido (2000 a 2099).", value=self.text[column][:20]),
            )
        else:
            return value
        return None


def _check_row(
    line: int, row: dict[str, Any], lk: _Lookups, actor: User | None, today: date, errors: list[RowError]
) -> dict[str, Any] | None:
    """The song values for one row, or None after appending its problems to ``errors``."""
    before = len(errors)
    r = _Row(line, row, errors)
    _read_cells(r)
    label_id = _row_label(r, lk, actor)
    artist_id = _row_artist(r, lk, label_id)
    album = _row_album(r, lk)
    municipality = _row_municipality(r, lk, actor, label_id)
    if r.text["scope"]:
        r.rules(song_rules.check_text("scope", r.text["scope"], required=True))
    coordinator = actor is None or permissions.is_coordinator(actor)
    planned_start, due = r.date("planned_start"), r.date("due_date")
    if album is not None:
        r.rules(song_rules.check_due_date(planned_start, due, max_duration_days=album[3], coordinator=coordinator))
    season = _row_season(r, lk, due)
    state = _row_state(r)
    delivered_on, beneficiaries = _row_delivery(r, state, season, today, coordinator)
    if len(errors) > before:
        return None
    if delivered_on is not None and delivered_on < planned_start:
        planned_start = delivered_on  # as through the API: the work started earlier than planned
    return _song_values(
        r,
        lk,
        state,
        (label_id, artist_id, album, municipality, season),
        planned_start,
        due,
        delivered_on,
        beneficiaries,
    )


def _read_cells(r: _Row) -> None:
    r.text = {c: _cell_text(r.raw.get(c)) for c in COLUMNS}
    for column in REQUIRED_COLUMNS:
        if not r.text[column]:
            r.bad(column, _("el valor es obligatorio y está vacío."))
    for column, value in r.text.items():
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            r.bad(column, _("contiene caracteres de control no permitidos."))
            r.text[column] = value.replace("\x00", "")


def _row_label(r: _Row, lk: _Lookups, actor: User | None) -> int | None:
    code = r.text["label_code"]
    if not code:
        return None
    label_id = lk.labels.get(code.upper())
    if label_id is None:
        r.bad("label_code", _("la disquera «%(code)s» no existe.", code=code[:20]))
    elif actor is not None and permissions.is_territorial(actor) and actor.label_id != label_id:
        r.bad("label_code", _("solo puede importar canciones de su propia disquera, no de «%(code)s».", code=code))
    return label_id


def _row_artist(r: _Row, lk: _Lookups, label_id: int | None) -> int | None:
    name = r.text["artist"]
    if label_id is None or not name:
        return None
    artist = lk.artists.get((label_id, _key(name)))
    if artist is None:
        r.bad(
            "artist",
            _(
                "el artista (equipo) «%(artist)s» no existe en la disquera %(label)s.",
                artist=name[:60],
                label=r.text["label_code"],
            ),
        )
    elif not artist[1]:
        r.bad("artist", _("el artista (equipo) «%(artist)s» está inactivo.", artist=name[:60]))
    else:
        return artist[0]
    return None


def _row_album(r: _Row, lk: _Lookups) -> tuple | None:
    code = r.text["album_code"]
    if not code:
        return None
    album = lk.albums.get(code.upper())
    if album is None:
        r.bad("album_code", _("el álbum (línea temática) «%(code)s» no existe.", code=code[:20]))
    elif not album[2]:
        r.bad("album_code", _("el álbum «%(code)s» está inactivo.", code=code))
        return None
    return album


def _row_municipality(r: _Row, lk: _Lookups, actor: User | None, label_id: int | None) -> tuple | None:
    code = r.text["municipality_code"]
    if not code:
        return None
    code = dane_code(code) or code  # spreadsheets drop the leading zero of 05001
    municipality = lk.municipalities.get(code)
    if municipality is None:
        r.bad("municipality_code", _("el código DANE «%(code)s» no corresponde a ningún municipio.", code=code[:10]))
        return None
    if label_id is None:
        return municipality
    territory = song_rules.check_territory(
        actor_role=getattr(actor, "role", None),
        actor_label_id=getattr(actor, "label_id", None),
        artist_label_id=label_id,
        municipality_label_id=lk.department_label.get(municipality[1]),
    )
    # (the label itself is checked above, on label_code)
    territory = [p for p in territory if p.field == "municipality_id"]
    if territory:
        r.rules(territory)
        return None
    return municipality


def _row_season(r: _Row, lk: _Lookups, due: date | None) -> tuple | None:
    if due is None:
        return None
    season = next((s for s in lk.seasons if s[0] <= due <= s[1]), None)
    if season is None:
        r.bad("due_date", _("no hay temporada (vigencia) para la fecha %(day)s.", day=f"{due:%d/%m/%Y}"))
    return season


def _row_state(r: _Row) -> str | None:
    if not r.text["state"]:
        return SongState.PLANNED.value
    state = IMPORTABLE_STATES.get(r.text["state"].lower())
    if state is None:
        r.bad(
            "state",
            _("el estado «%(value)s» no es válido (planned, in_progress o delivered).", value=r.text["state"][:20]),
        )
    return state


def _row_delivery(
    r: _Row, state: str | None, season: tuple | None, today: date, coordinator: bool
) -> tuple[date | None, int | None]:
    """The delivery date and beneficiaries; only a ``delivered`` row has (and needs) them."""
    delivered_on = r.date("delivered_on")
    if delivered_on is not None:
        window = season[4] if season is not None else song_rules.DEFAULT_DECLARATION_WINDOW
        r.rules(song_rules.check_delivery_date(delivered_on, today=today, window_days=window, coordinator=coordinator))
    beneficiaries = None
    if r.text["beneficiaries"]:
        raw = r.text["beneficiaries"]
        beneficiaries = ascii_int(raw, maximum=10**12) if raw[:1] != "-" else -1
        if beneficiaries is None:
            r.bad("beneficiaries", _("«%(value)s» no es un número entero.", value=raw[:20]))
        else:
            r.rules(song_rules.check_beneficiaries(beneficiaries, required=False))
    if r.text["product"]:
        r.rules(song_rules.check_text("product", r.text["product"], required=True))
    if state == SongState.DELIVERED.value:
        if not r.text["delivered_on"]:
            r.bad("delivered_on", _("una canción entregada necesita la fecha de entrega."))
        if not r.text["product"]:
            r.bad("product", _("una canción entregada necesita el producto entregado."))
    elif state is not None:
        for column in ("delivered_on", "product", "beneficiaries"):
            if r.text[column]:
                r.bad(column, _("solo aplica a canciones en estado delivered (entregada)."))
    return delivered_on, beneficiaries


def _song_values(
    r: _Row,
    lk: _Lookups,
    state: str,
    refs: tuple,
    planned_start: date,
    due: date,
    delivered_on: date | None,
    beneficiaries: int | None,
) -> dict[str, Any]:
    """The columns of the song a valid row creates, its stored terms included."""
    label_id, artist_id, album, municipality, season = refs
    awaiting_evidence = state == SongState.DELIVERED.value  # counts once its evidence is attached
    terms = song_terms(
        state=state,
        due_date=due,
        delivered_on=delivered_on,
        pdet=municipality[2],
        category=lk.categories.category(municipality[0], season[0].year),
        album_weight=album[1],
        review=None,
        survey=None,
        w=season[3],
        awaiting_evidence=awaiting_evidence,
    )
    return {
        "season_id": season[2],
        "label_id": label_id,
        "artist_id": artist_id,
        "album_id": album[0],
        "municipality_id": municipality[0],
        "department_id": municipality[1],
        "state": state,
        "scope": r.text["scope"],
        "planned_start": planned_start,
        "due_date": due,
        "delivered_on": delivered_on,
        "product": r.text["product"] or None,
        "beneficiaries": beneficiaries,
        **terms.columns(),  # no review nor survey yet: R, S, Q and points are None
        "committed_due": due if state != SongState.PLANNED.value else None,
        "awaiting_evidence": awaiting_evidence,
    }


# --------------------------------------------------------------------------- importing


def import_songs(raw: bytes, filename: str, actor: User | None, *, dry_run: bool = False) -> SongImportReport:
    """Validate every row, then (unless ``dry_run`` or any row is bad) insert all songs.

    DESIGN.md §8: all rows or none; each bad row is reported with its line and a
    reason naming the column. ``actor`` None records a system import (CLI).
    A territorial actor may import only for their own label (DESIGN.md §1).
    """
    report = SongImportReport(dry_run=dry_run)
    if actor is not None and not permissions.can_import_songs(actor):
        report.errors.append(RowError(1, _("Su rol no permite registrar canciones (solo territorial y coordinación).")))
        return report
    read = _song_rows(raw, filename, report)
    if read is None:
        return report
    values, lines = _check_rows(*read, actor, report)
    if not report.errors:
        report.warnings = duplicate_warnings(lines, values)
    if report.rows_read == 0 and not report.errors:
        report.errors.append(RowError(1, _("El archivo no tiene filas de datos después del encabezado.")))
    if report.errors or dry_run:
        return report
    if _insert_songs(values, actor, filename):
        report.created = len(values)
    else:
        report.errors.append(
            RowError(1, _("Los datos cambiaron mientras se importaba; no se importó nada. Intente de nuevo."))
        )
    return report


def _song_rows(
    raw: bytes, filename: str, report: SongImportReport
) -> tuple[list[tuple[int, list[Any]]], dict[str, int]] | None:
    """The data rows and the column of each name, or None after reporting why the file is refused."""
    try:
        rows = read_rows(raw, filename)
    except FileRefused as exc:
        report.errors.append(RowError(1, str(exc)))
        return None
    if not rows:
        report.errors.append(RowError(1, _("El archivo está vacío.")))
        return None
    positions, problems = _validate_header(rows[0][1])
    if problems:
        report.errors.extend(RowError(1, p) for p in problems)
        return None
    return rows[1:], positions


def _check_rows(
    rows: list[tuple[int, list[Any]]], positions: dict[str, int], actor: User | None, report: SongImportReport
) -> tuple[list[dict[str, Any]], list[int]]:
    """The values of the valid rows and their lines; the problems and the preview go to ``report``."""
    lookups = _load_lookups()
    today = calendar.today()  # the Bogotá date, never the server's
    values: list[dict[str, Any]] = []
    lines: list[int] = []
    for line, cells in rows:
        if all(_cell_text(c) == "" for c in cells):
            continue  # blank lines (trailing ;;;;; from spreadsheets)
        row = {name: (cells[i] if i < len(cells) else None) for name, i in positions.items()}
        report.rows_read += 1
        song = _check_row(line, row, lookups, actor, today, report.errors)
        if song is None:
            continue
        report.delivered_rows += song["awaiting_evidence"]
        values.append(song)
        lines.append(line)
        if len(report.preview) < PREVIEW_ROWS:
            report.preview.append(
                {
                    "line": line,
                    **{c: _cell_text(row.get(c)) for c in COLUMNS},
                    "state": song["state"],
                    "timeliness": song["timeliness"],
                    "equity": song["equity"],
                }
            )
    return values, lines


def _insert_songs(values: list[dict[str, Any]], actor: User | None, filename: str) -> bool:
    """Insert the songs with their history, reviewer turns and audit; False if the catalogue changed meanwhile."""
    now = utcnow()
    actor_id = actor.id if actor is not None else None
    for song in values:
        song.update(created_by_id=actor_id, created_at=now, updated_at=now, version=1)
        if song["state"] == SongState.DELIVERED.value:
            # Same semantics as surveys.issue_survey_nonce: the delivered song gets its survey link.
            song.update(survey_nonce=secrets.token_hex(16), survey_issued_at=now)
        else:
            song.update(survey_nonce=None, survey_issued_at=None)
    review_queue.assign_imported(values, actor_id, now)  # in turn, like any other delivery (§9)
    try:
        _bulk_insert_songs(values)
        _history(values, actor_id, now, filename)
        audit.record(
            "songs_imported",
            "song",
            None,
            actor_id=actor_id,
            changes={
                "count": [None, len(values)],
                "file": [None, (filename or "")[:200]],
                "actor": [None, actor.email if actor is not None else "sistema"],
            },
        )
        db.session.flush()
    except IntegrityError:
        # A catalogue row changed between validation and insert (e.g. a concurrent edit):
        # nothing was written; say so instead of failing with a server error.
        db.session.rollback()
        return False
    except Exception:
        db.session.rollback()
        raise
    return True


def record_failure(report: SongImportReport, filename: str, actor: User | None) -> None:
    """Audit a refused import (nothing was written) so the admin home lists it (issue 18); flushes."""
    audit.record(
        "songs_import_failed",
        "song",
        None,
        actor_id=actor.id if actor is not None else None,
        changes={
            "file": [None, (filename or "")[:200]],
            "errors": [None, len(report.errors)],
            "first_error": [None, report.errors[0].message[:200] if report.errors else None],
        },
    )
    db.session.flush()


DUPLICATE_DAYS = 30


def duplicate_warnings(lines: list[int], values: list[dict[str, Any]]) -> list[RowError]:
    """Warn (never refuse) when a row repeats municipality + album within 30 days of another
    song, already stored (not cancelled) or earlier in the file (DESIGN.md §3 duplicate warning)."""
    if not values:
        return []
    municipality_ids = {v["municipality_id"] for v in values}
    starts: dict[tuple[int, int], list[date]] = {}
    stored = select(Song.municipality_id, Song.album_id, Song.planned_start).where(
        Song.municipality_id.in_(municipality_ids), Song.state != SongState.CANCELLED.value
    )
    for municipality_id, album_id, planned_start in db.session.execute(stored):
        starts.setdefault((municipality_id, album_id), []).append(planned_start)
    for dates in starts.values():
        dates.sort()
    window = timedelta(days=DUPLICATE_DAYS)
    warnings = []
    for line, song in zip(lines, values, strict=True):
        dates = starts.setdefault((song["municipality_id"], song["album_id"]), [])
        start = song["planned_start"]
        index = bisect_left(dates, start - window)
        if index < len(dates) and dates[index] <= start + window:
            warnings.append(
                RowError(
                    line,
                    _(
                        "municipality_code: ya hay otra canción del mismo álbum en este municipio a menos de "
                        "%(days)s días (%(day)s). Revise que no esté duplicada.",
                        days=DUPLICATE_DAYS,
                        day=f"{dates[index]:%d/%m/%Y}",
                    ),
                )
            )
        dates.insert(bisect_left(dates, start), start)
    return warnings


HISTORY_FIELDS = (
    "state",
    "planned_start",
    "due_date",
    "delivered_on",
    "awaiting_evidence",
    "standing",
    "assigned_reviewer_id",
)


def _history(values: list[dict[str, Any]], actor_id: int | None, now: datetime, filename: str) -> None:
    """One ``song_imported`` event per song (its own history entry), inserted in bulk.

    The songs were just inserted with ``created_at = now`` by this actor in this
    transaction: their ids are read back in insertion order (ids only grow).
    """
    from app.models import AuditEvent

    ids = list(
        db.session.scalars(
            select(Song.id)
            .where(
                Song.created_at == now,
                Song.created_by_id.is_(None) if actor_id is None else Song.created_by_id == actor_id,
            )
            .order_by(Song.id.desc())
            .limit(len(values))
        )
    )[::-1]
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:120]
    rows = [
        {
            "at": now,
            "actor_id": actor_id,
            "action": "song_imported",
            "entity_type": "song",
            "entity_id": song_id,
            "changes": {"file": [None, name]}
            | {f: [None, audit._plain(v[f])] for f in HISTORY_FIELDS if v.get(f) is not None},
            "ip": None,
        }
        for song_id, v in zip(ids, values, strict=True)
    ]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(AuditEvent.__table__), rows[start : start + CHUNK])


def _bulk_insert_songs(values: list[dict[str, Any]]) -> None:
    """Insert the rows in the session's transaction: COPY on PostgreSQL (one stream,
    rather than psycopg's one statement per row), Core executemany in chunks elsewhere."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and values:
        columns = list(values[0])
        table = Song.__table__
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with connection.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for song in values:
                copy.write_row([song[c] for c in columns])
        return
    for start in range(0, len(values), CHUNK):
        connection.execute(insert(Song.__table__), values[start : start + CHUNK])


def import_songs_path(path: str, actor_email: str | None = None) -> SongImportReport:
    """CLI entry point (``flask --app wsgi import songs FILE [--as EMAIL]``)."""
    actor = None
    if actor_email:
        actor = db.session.scalar(select(User).where(User.email == actor_email.strip().lower()))
        if actor is None or not actor.active:
            report = SongImportReport()
            report.errors.append(
                RowError(1, _("No existe un usuario activo con el correo %(email)s.", email=actor_email))
            )
            return report
    with open(path, "rb") as handle:
        raw = handle.read(MAX_XLSX_UNCOMPRESSED + 1)
    if len(raw) > MAX_XLSX_UNCOMPRESSED:
        report = SongImportReport()
        report.errors.append(RowError(1, _("El archivo supera el tamaño máximo de 50 MB.")))
        return report
    return import_songs(raw, path, actor)


# --------------------------------------------------------------------------- templates


def template_rows(actor: User | None) -> list[list[str]]:
    """Header and one example row built from real codes when the catalogue has them."""
    session = db.session
    label_stmt = select(Label).order_by(Label.code)
    if actor is not None and actor.label_id:
        label_stmt = label_stmt.where(Label.id == actor.label_id)
    label = session.scalars(label_stmt.limit(1)).first()
    artist = municipality = None
    if label is not None:
        artist = session.scalars(
            select(Artist).where(Artist.label_id == label.id, Artist.active.is_(True)).order_by(Artist.name).limit(1)
        ).first()
        municipality = session.scalars(
            select(Municipality)
            .join(Department, Department.id == Municipality.department_id)
            .where(Department.label_id == label.id)
            .order_by(Municipality.code)
            .limit(1)
        ).first()
    album = session.scalars(select(Album).where(Album.active.is_(True)).order_by(Album.code).limit(1)).first()
    year = calendar.today().year
    example = [
        label.code if label else "DT01",
        artist.name if artist else "Equipo Andino",
        album.code if album else "INN",
        municipality.code if municipality else "05001",
        "Acompañamiento en la formulación del plan de desarrollo",
        f"{year}-02-01",
        f"15/03/{year}",
        "planned",
        "",
        "",
        "",
    ]
    return [list(COLUMNS), example]


def template_csv(actor: User | None) -> bytes:
    """The CSV template, written like every export (formula-like cells neutralised: issue 19)."""
    header, *rows = template_rows(actor)
    # With a BOM so that a spreadsheet opens the accents right; the importer reads it either way.
    return "\ufeff".encode() + exports.csv_bytes(header, rows)


def template_xlsx(actor: User | None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "canciones"
    for row in template_rows(actor):
        sheet.append([exports.neutralise(cell) for cell in row])  # never a live formula (issue 19)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(14, len(column) + 4)
    help_sheet = workbook.create_sheet("instrucciones")
    for line in COLUMN_HELP:
        help_sheet.append(list(line))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


COLUMN_HELP = (
    ("columna", "obligatoria", "contenido"),
    ("label_code", "sí", "Código de la disquera · Dirección Territorial (p. ej. DT01)"),
    ("artist", "sí", "Nombre del artista · equipo dentro de la disquera"),
    ("album_code", "sí", "Código del álbum · línea temática (p. ej. INN)"),
    ("municipality_code", "sí", "Código DANE DIVIPOLA de 5 dígitos, en un departamento de la disquera"),
    ("scope", "sí", f"Alcance concertado (máximo {MAX_SCOPE} caracteres)"),
    ("planned_start", "sí", "Inicio planeado: AAAA-MM-DD o DD/MM/AAAA"),
    ("due_date", "sí", "Fecha de compromiso: AAAA-MM-DD o DD/MM/AAAA, día hábil, no anterior al inicio"),
    ("state", "no", "planned (por defecto), in_progress o delivered"),
    (
        "delivered_on",
        "si entregada",
        "Fecha de entrega (no futura, dentro de la ventana de declaración); "
        "la canción cuenta cuando se adjunte su evidencia",
    ),
    ("product", "si entregada", f"Producto entregado (máximo {MAX_PRODUCT} caracteres)"),
    ("beneficiaries", "no", "Servidores públicos alcanzados (entero ≥ 0)"),
)
