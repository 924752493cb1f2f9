"""The map of Colombia's departments, drawn on the server as SVG (DESIGN.md §6).

The outlines come from ``seeds/reference/colombia_departments.geojson`` (DANE MGN
2018, simplified; see seeds/reference/SOURCES.md). Longitude/latitude are
projected linearly (equirectangular, longitude scaled by cos of the mean
latitude). San Andrés y Providencia is moved east into a framed inset so the
mainland keeps a useful size, and drawn 12× larger. Colours are ``fill`` attributes (a strict CSP
forbids style attributes); each department is a focusable link with a
``<title>`` tooltip. The same figures are always shown beside it as a table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

GEOJSON = Path(__file__).resolve().parents[2] / "seeds" / "reference" / "colombia_departments.geojson"
WIDTH = 520
PADDING = 8
INSET_CODE = "88"  # San Andrés, Providencia y Santa Catalina
INSET_ZOOM = 12.0  # the islands are tiny: drawn 12× larger in the inset
INSET_CENTRE = (-78.2, 12.0)  # open sea north-west of the Caribbean coast

# Five sequential classes of coverage (ColorBrewer "Purples", colour-blind safe),
# plus grey for departments without data.
CLASSES = (
    (0.0, 0.2, "#f2f0f7"),
    (0.2, 0.4, "#cbc9e2"),
    (0.4, 0.6, "#9e9ac8"),
    (0.6, 0.8, "#756bb1"),
    (0.8, 1.0001, "#54278f"),
)
NO_DATA = "#d9d9d9"


def colour_for(share: float | None) -> str:
    if share is None:
        return NO_DATA
    for low, high, colour in CLASSES:
        if low <= share < high:
            return colour
    return CLASSES[-1][2]


def legend() -> list[tuple[str, str]]:
    """(colour, text) for each class, e.g. ("#f2f0f7", "0 % – 20 %")."""
    out = []
    for i, (low, high, colour) in enumerate(CLASSES):
        top = 100 if i == len(CLASSES) - 1 else round(high * 100)
        out.append((colour, f"{round(low * 100)} % – {top} %"))
    return out


@dataclass(frozen=True)
class Shape:
    code: str
    path: str


@lru_cache(maxsize=1)
def shapes() -> tuple[tuple[Shape, ...], int, tuple[float, float, float, float] | None]:
    """Projected department paths (cached: the file is read once per process)."""
    data = json.loads(GEOJSON.read_text(encoding="utf-8"))
    rings: list[tuple[str, list[list[tuple[float, float]]]]] = []
    for feature in data["features"]:
        code = feature["properties"]["department_code"]
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        code_rings = [ring for poly in polygons for ring in poly]
        if code == INSET_CODE:
            points = [pt for ring in code_rings for pt in ring]
            c_lon = (min(p[0] for p in points) + max(p[0] for p in points)) / 2
            c_lat = (min(p[1] for p in points) + max(p[1] for p in points)) / 2
            code_rings = [
                [
                    (INSET_CENTRE[0] + (lon - c_lon) * INSET_ZOOM, INSET_CENTRE[1] + (lat - c_lat) * INSET_ZOOM)
                    for lon, lat in ring
                ]
                for ring in code_rings
            ]
        rings.append((code, code_rings))
    lats = [lat for _, rs in rings for ring in rs for _, lat in ring]
    lons = [lon for _, rs in rings for ring in rs for lon, _ in ring]
    kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
    min_x, max_x = min(lons) * kx, max(lons) * kx
    min_lat, max_lat = min(lats), max(lats)
    scale = (WIDTH - 2 * PADDING) / (max_x - min_x)
    height = round((max_lat - min_lat) * scale + 2 * PADDING)

    def point(lon: float, lat: float) -> tuple[float, float]:
        return (PADDING + (lon * kx - min_x) * scale, PADDING + (max_lat - lat) * scale)

    out = []
    inset_box = None
    for code, code_rings in rings:
        parts = []
        for ring in code_rings:
            pts = [point(lon, lat) for lon, lat in ring]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
            if code == INSET_CODE:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                box = (min(xs), min(ys), max(xs), max(ys))
                inset_box = (
                    box
                    if inset_box is None
                    else (
                        min(inset_box[0], box[0]),
                        min(inset_box[1], box[1]),
                        max(inset_box[2], box[2]),
                        max(inset_box[3], box[3]),
                    )
                )
        out.append(Shape(code=code, path="".join(parts)))
    return tuple(out), height, inset_box


@dataclass
class MapArea:
    code: str
    name: str
    share: float | None
    text: str  # the tooltip / accessible name, e.g. "Antioquia: 35 % (44 de 125 municipios)"
    href: str


def render_map(areas: dict[str, MapArea], title: str) -> Markup:
    """An SVG map; ``areas`` maps DANE department code → what to show."""
    drawn, height, inset = shapes()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="group" aria-labelledby="coverage-map-title" class="coverage-map">',
        f'<title id="coverage-map-title">{escape(title)}</title>',
    ]
    if inset:
        x0, y0, x1, y1 = inset
        m = 10
        parts.append(
            f'<rect x="{x0 - m:.1f}" y="{y0 - m:.1f}" width="{x1 - x0 + 2 * m:.1f}" height="{y1 - y0 + 2 * m:.1f}" '
            f'fill="none" stroke="#767b91" stroke-dasharray="3 2"/>'
        )
    for shape in drawn:
        area = areas.get(shape.code)
        colour = colour_for(area.share if area else None)
        path = f'<path d="{shape.path}" fill="{colour}" stroke="#ffffff" stroke-width="0.8">'
        if area is None:
            parts.append(f"{path}<title>{escape(shape.code)}</title></path>")
            continue
        parts.append(
            f'<a href="{escape(area.href)}" aria-label="{escape(area.text)}">'
            f"{path}<title>{escape(area.text)}</title></path></a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- municipal map

MUNICIPALITIES_GEOJSON = GEOJSON.with_name("colombia_municipalities.geojson")
# Need score classes (0–100, higher = needier; ColorBrewer "Oranges", colour-blind safe).
NEED_CLASSES = (
    (0, 20, "#feedde"),
    (20, 40, "#fdbe85"),
    (40, 60, "#fd8d3c"),
    (60, 80, "#e6550d"),
    (80, 100.01, "#a63603"),
)
# Delivered songs in the season: 0, 1, 2–4, 5 or more (the Purples of the department map).
SONG_CLASSES = ((0, 1, "#f2f0f7"), (1, 2, "#cbc9e2"), (2, 5, "#9e9ac8"), (5, 10**9, "#54278f"))


def class_colour(value: float | None, classes) -> str:
    if value is None:
        return NO_DATA
    for low, high, colour in classes:
        if low <= value < high:
            return colour
    return classes[-1][2]


def need_legend() -> list[tuple[str, str]]:
    return [(c, f"{lo} – {min(hi, 100):.0f}") for lo, hi, c in NEED_CLASSES]


def songs_legend(more: str) -> list[tuple[str, str]]:
    return [("#f2f0f7", "0"), ("#cbc9e2", "1"), ("#9e9ac8", "2–4"), ("#54278f", more)]


@lru_cache(maxsize=1)
def _municipal_rings() -> dict[str, list[list[tuple[float, float]]]]:
    data = json.loads(MUNICIPALITIES_GEOJSON.read_text(encoding="utf-8"))
    out: dict[str, list[list[tuple[float, float]]]] = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        out[feature["properties"]["municipality_code"]] = [
            [(p[0], p[1]) for p in ring] for poly in polygons for ring in poly
        ]
    return out


@lru_cache(maxsize=1)
def _department_rings() -> dict[str, list[list[tuple[float, float]]]]:
    data = json.loads(GEOJSON.read_text(encoding="utf-8"))
    out = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        out[feature["properties"]["department_code"]] = [
            [(p[0], p[1]) for p in ring] for poly in polygons for ring in poly
        ]
    return out


def _inset(rings_by_code: dict[str, list], is_island) -> dict[str, list]:
    """San Andrés and Providencia moved into the framed inset (country zoom only)."""
    island = [pt for code, rings in rings_by_code.items() if is_island(code) for ring in rings for pt in ring]
    if not island:
        return rings_by_code
    c_lon = (min(p[0] for p in island) + max(p[0] for p in island)) / 2
    c_lat = (min(p[1] for p in island) + max(p[1] for p in island)) / 2
    moved = {}
    for code, rings in rings_by_code.items():
        if is_island(code):
            rings = [
                [
                    (INSET_CENTRE[0] + (lon - c_lon) * INSET_ZOOM, INSET_CENTRE[1] + (lat - c_lat) * INSET_ZOOM)
                    for lon, lat in r
                ]
                for r in rings
            ]
        moved[code] = rings
    return moved


@dataclass(frozen=True)
class _Projection:
    kx: float
    min_x: float
    max_lat: float
    scale: float
    height: int

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        return (PADDING + (lon * self.kx - self.min_x) * self.scale, PADDING + (self.max_lat - lat) * self.scale)


def _projection(rings: list[list[tuple[float, float]]]) -> _Projection:
    lons = [p[0] for r in rings for p in r]
    lats = [p[1] for r in rings for p in r]
    kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
    min_x, max_x = min(lons) * kx, max(lons) * kx
    scale = (WIDTH - 2 * PADDING) / max(max_x - min_x, 1e-6)
    height = max(120, round((max(lats) - min(lats)) * scale + 2 * PADDING))
    return _Projection(kx, min_x, max(lats), scale, height)


def _path(rings: list[list[tuple[float, float]]], proj: _Projection, min_step: float, decimals: int) -> str:
    """Compact SVG path data: points rounded to ``decimals``, relative moves ("l dx,dy …"),
    and points closer than ``min_step`` px to the last kept one dropped."""
    factor = 10**decimals
    parts = []
    for ring in rings:
        kept: list[tuple[int, int]] = []  # in units of 1/factor px
        for lon, lat in ring:
            x, y = proj.point(lon, lat)
            q = (round(x * factor), round(y * factor))
            if kept and abs(q[0] - kept[-1][0]) < min_step * factor and abs(q[1] - kept[-1][1]) < min_step * factor:
                continue
            kept.append(q)
        if len(kept) < 3:
            continue

        def num(v: int) -> str:
            return str(v) if decimals == 0 else f"{v / factor:.{decimals}f}".rstrip("0").rstrip(".")

        steps = " ".join(f"{num(b[0] - a[0])},{num(b[1] - a[1])}" for a, b in zip(kept, kept[1:], strict=False))
        parts.append(f"M{num(kept[0][0])},{num(kept[0][1])}l{steps}z")
    return "".join(parts)


def render_municipal_map(
    areas: dict[str, MapArea],
    colours: dict[str, str],
    title: str,
    department_code: str | None = None,
    departments: dict[str, MapArea] | None = None,
) -> Markup:
    """Municipalities coloured by ``colours`` (DANE code → fill), drawn on the server.

    Country zoom (no ``department_code``): every municipality is painted (tooltips
    only), and each department is ONE link (to its zoom) drawn over them, so a
    keyboard user tabs through 33 links, not 1,121. Department zoom: only that
    department, every municipality a link to its page.
    """
    rings_by_code = _municipal_rings()
    if department_code:
        rings_by_code = {c: r for c, r in rings_by_code.items() if c[:2] == department_code and c in areas}
        if not rings_by_code:
            return Markup("")
        dep_rings: dict[str, list] = {}
        min_step, decimals = 0.3, 1
    else:
        rings_by_code = _inset({c: r for c, r in rings_by_code.items() if c in areas}, lambda c: c[:2] == INSET_CODE)
        dep_rings = _inset(_department_rings(), lambda c: c == INSET_CODE)
        min_step, decimals = 1.0, 0
    proj = _projection([r for rings in rings_by_code.values() for r in rings])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {proj.height}" width="{WIDTH}" '
        f'height="{proj.height}" role="group" aria-labelledby="municipal-map-title" class="coverage-map municipal-map">',
        f'<title id="municipal-map-title">{escape(title)}</title>',
        '<g stroke="#ffffff" stroke-width="0.4">',
    ]
    for code, rings in sorted(rings_by_code.items()):
        area = areas[code]
        path = f'<path d="{_path(rings, proj, min_step, decimals)}" fill="{colours.get(code, NO_DATA)}">'
        if department_code:
            parts.append(
                f'<a href="{escape(area.href)}" aria-label="{escape(area.text)}">{path}<title>{escape(area.text)}</title></path></a>'
            )
        else:  # the department links drawn over them carry the names and the figures
            parts.append(f"{path}</path>")
    parts.append('</g><g fill="#000000" fill-opacity="0" stroke="#3d4151" stroke-width="0.9">')
    for code, rings in sorted(dep_rings.items()):
        dep = (departments or {}).get(code)
        if dep is None:
            continue
        outline = f'<path d="{_path(rings, proj, min_step, decimals)}"><title>{escape(dep.text)}</title></path>'
        parts.append(f'<a href="{escape(dep.href)}" aria-label="{escape(dep.text)}">{outline}</a>')
    parts.append("</g></svg>")
    return Markup("".join(parts))
