"""Tables of the coverage pages as (headers, rows), for CSV/XLSX exports.

The rows carry the same domain figures the pages show (shares as 0–1 numbers,
scores 0–1, empty cells for "sin datos").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.domain import coverage, exports, impact
from app.models import Season


@dataclass
class Table:
    stem: str  # file name stem, e.g. "cobertura-departamentos"
    sheet: str
    headers: list[str]
    rows: list[list[Any]]
    kinds: list[str] | None = None  # one of exports.KINDS per column (number formats, decimals)


def summary_table(season: Season) -> Table:
    summary = coverage.national_summary(season)
    prev = summary.previous_season.year if summary.previous_season else ""
    headers = [
        _("Indicador"),
        _("Valor %(y)s", y=season.year),
        _("Total"),
        _("Proporción"),
        _("Valor %(y)s", y=prev) if prev else _("Temporada anterior"),
        _("Proporción anterior"),
        _("Cambio"),
    ]
    kind_of = {"count": "int", "reach": "int", "score": "score", "rate": "pct"}
    rows = [
        [
            str(f.label),
            exports.Cell(f.value, kind_of.get(f.kind, "dec2")),
            f.total,
            f.share,
            exports.Cell(f.previous, kind_of.get(f.kind, "dec2")),
            f.previous_share,
            exports.Cell(f.delta, kind_of.get(f.kind, "dec2")),
        ]
        for f in summary.figures
    ]
    kinds = ["text", "int", "int", "pct", "int", "pct", "int"]
    return Table("cobertura-resumen", _("Resumen"), headers, rows, kinds)


def departments_table(season: Season, sort: str | None = None, descending: bool = False) -> Table:
    rows = coverage.sort_departments(coverage.department_rows(season), sort, descending)
    albums = coverage.albums_with_songs(season)
    headers = [
        _("Código DANE"),
        _("Departamento"),
        _("Disquera · Dirección Territorial"),
        _("Municipios"),
        _("Municipios priorizados"),
        _("Municipios asistidos"),
        _("Cobertura"),
        _("Priorizados asistidos"),
        _("Cobertura priorizados"),
        _("Canciones entregadas"),
    ] + [f"{a.code} · {a.name}" for a in albums]
    out = [
        [
            r.code,
            r.name,
            r.label_name,
            r.municipalities,
            r.prioritised,
            r.assisted,
            r.coverage,
            r.prioritised_assisted,
            r.prioritised_coverage,
            r.delivered,
        ]
        + [r.by_album.get(a.id, 0) for a in albums]
        for r in rows
    ]
    kinds = ["code", "text", "text", "int", "int", "int", "pct", "int", "pct", "int"] + ["int"] * len(albums)
    return Table("cobertura-departamentos", _("Departamentos"), headers, out, kinds)


def municipalities_table(season: Season, department) -> Table:
    rows = coverage.department_municipalities(season, department)
    headers = [
        _("Código DANE"),
        _("Municipio"),
        _("Categoría"),
        _("PDET"),
        _("Subregión PDET"),
        _("Priorizado"),
        _("Canciones entregadas"),
        _("Última entrega"),
        _("Fuente de la categoría"),
        _("Puntaje de necesidad (0–100)"),
        _("IDF en vigor"),
        _("Año del IDF"),
        _("Grupo de capacidades DNP"),
        _("Datos completos"),
    ]
    out = [
        [
            r.code,
            r.name,
            r.category,
            r.pdet,
            r.pdet_subregion,
            r.prioritised,
            r.songs,
            r.last_delivered,
            r.category_source,
            *_need_cells(r.need),
        ]
        for r in rows
    ]
    kinds = ["code", "text", "category", "bool", "text", "bool", "int", "date", "text", *NEED_KINDS]
    return Table(f"cobertura-{department.code}-municipios", department.name, headers, out, kinds)


NEED_KINDS = ["dec1", "dec2", "year", "text", "bool"]  # the columns of _need_cells


def _need_cells(score) -> list:
    """Score, IDF, IDF year, capacity group, complete: the need columns of a row."""
    if score is None:
        return [None, None, None, None, None]
    return [score.score, score.idf, score.idf_year, score.capacity_group, score.complete]


def gaps_table(season: Season, **filters) -> Table:
    rows = coverage.gaps(season, **filters)
    headers = [
        _("Código departamento"),
        _("Departamento"),
        _("Disquera · Dirección Territorial"),
        _("Código DANE"),
        _("Municipio"),
        _("Categoría"),
        _("PDET"),
        _("Subregión PDET"),
        _("Última entrega (cualquier temporada)"),
        _("Fuente de la categoría"),
        _("Orden (plan de trabajo)"),
        _("Puntaje de necesidad (0–100)"),
        _("IDF en vigor"),
        _("Año del IDF"),
        _("Grupo de capacidades DNP"),
        _("Datos completos"),
    ]
    out = [
        [
            r.department_code,
            r.department_name,
            r.label_name,
            r.code,
            r.name,
            r.category,
            r.pdet,
            r.pdet_subregion,
            r.last_delivered_ever,
            r.category_source,
            rank,
            *_need_cells(r.need),
        ]
        for rank, r in enumerate(rows, start=1)
    ]
    stem = "brechas-nunca" if filters.get("ever") else "brechas-temporada"
    kinds = ["code", "text", "text", "code", "text", "category", "bool", "text", "date", "text", "int", *NEED_KINDS]
    return Table(stem, _("Brechas"), headers, out, kinds)


def targets_table(season: Season, as_of=None) -> Table:
    rows = coverage.targets(season, as_of)
    headers = [
        _("Código disquera"),
        _("Disquera · Dirección Territorial"),
        _("Álbum · Línea temática"),
        _("Meta"),
        _("Entregadas"),
        _("Avance"),
        _("Proyección al cierre"),
        _("Avance proyectado"),
    ]
    out = [
        [
            r.label_code,
            r.label_name,
            f"{r.album_code} · {r.album_name}" if r.album_code else _("Todas"),
            r.target,
            r.delivered,
            r.progress,
            round(r.projection, 1) if r.projection is not None else None,
            r.projected_progress,
        ]
        for r in rows
    ]
    kinds = ["code", "text", "text", "int", "int", "pct", "dec1", "pct"]
    return Table("metas", _("Metas"), headers, out, kinds)


def impact_table(indicator: str, year_from: int, year_to: int) -> Table:
    groups = impact.compare(indicator, year_from, year_to)
    headers = [
        _("Asistencias acumuladas"),
        _("Municipios con ambos valores"),
        _("Media %(y)s", y=year_from),
        _("Media %(y)s", y=year_to),
        _("Cambio medio"),
        _("Mediana %(y)s", y=year_from),
        _("Mediana %(y)s", y=year_to),
        _("Mediana del cambio"),
    ]
    out = [
        [
            str(g.label),
            g.municipalities,
            g.mean_from,
            g.mean_to,
            g.mean_change,
            g.median_from,
            g.median_to,
            g.median_change,
        ]
        for g in groups
    ]
    kinds = ["text", "int", "dec2", "dec2", "dec2", "dec2", "dec2", "dec2"]
    return Table(f"impacto-{indicator}-{year_from}-{year_to}", _("Impacto"), headers, out, kinds)


ALBUM_KINDS = ["code", "text", "int", "int", "score", "score", "pct"]


def _album_headers() -> list[str]:
    return [
        _("Código álbum"),
        _("Álbum · Línea temática"),
        _("Canciones entregadas"),
        _("Canciones revisadas"),
        _("Calidad media Q"),
        _("Satisfacción media S"),
        _("Entregas a tiempo"),
    ]


def albums_table(season: Season) -> Table:
    """Per album, exact (the coverage export for managers, coordinators and admins)."""
    rows = coverage.album_rows(season)
    out = [[a.code, a.name, a.delivered, a.reviewed, a.mean_quality, a.mean_satisfaction, a.on_time_rate] for a in rows]
    return Table("datos-abiertos-albumes", _("Álbumes"), _album_headers(), out, ALBUM_KINDS)


OPEN_DEPARTMENT_FIELDS = [key for key, _attribute in coverage.DEPARTMENT_FIGURES]
OPEN_ALBUM_FIELDS = [
    "album_code",
    "album",
    "delivered_songs",
    "reviewed_songs",
    "mean_quality",
    "mean_satisfaction",
    "on_time_rate",
]  # the columns of albums_table, as open data publishes them


def suppressed_mark(k: int) -> str:
    """What a suppressed cell reads in the open-data files: fewer than k values behind it."""
    return f"<{k}"


def open_albums_table(season: Season) -> Table:
    """The albums of open data: the means over fewer than OPEN_DATA_MIN_CELL values read "<5"."""
    data = coverage.open_data(season)
    mark = suppressed_mark(data["min_cell_size"])
    rows = [[mark if f in a["suppressed"] else a[f] for f in OPEN_ALBUM_FIELDS] for a in data["albums"]]
    return Table("datos-abiertos-albumes", _("Álbumes"), _album_headers(), rows, ALBUM_KINDS)


def open_departments_table(season: Season) -> Table:
    data = coverage.open_data(season)
    rows = [[d[f] for f in OPEN_DEPARTMENT_FIELDS] for d in data["departments"]]
    kinds = ["code", "text", "int", "int", "int", "pct", "int", "pct", "int"]
    return Table("datos-abiertos-departamentos", _("Departamentos"), list(OPEN_DEPARTMENT_FIELDS), rows, kinds)
