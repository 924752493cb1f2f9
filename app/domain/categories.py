"""Municipal categories by year (Ley 617 de 2000) and DNP capacity groups (DESIGN.md §2, §6).

One row per municipality and year in ``municipal_categories``. A song's equity
multiplier E uses the category **in force** in its season's year: the latest
year ≤ that year (no row that early: no category bonus). ``Municipality.category``
keeps the latest year's figure (what pages call "current" and what
``Municipality.prioritised`` reads); :func:`sync_current` maintains it. San Andrés
(88001) and the non-municipalised areas of Amazonas, Guainía and Vaupés have no
category: they are never category 6.

The import of official files is app.domain.reference_import.import_categories.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, select, update

from app.extensions import db
from app.models import MunicipalCategory, Municipality, Season, Song


def sync_current(municipality_ids: set[int] | None = None) -> None:
    """``Municipality.category`` = the latest year's category, source ``official:<year>``."""
    latest: dict[int, tuple[int, str]] = {}
    stmt = select(MunicipalCategory.municipality_id, MunicipalCategory.year, MunicipalCategory.category)
    for mid, year, category in db.session.execute(stmt.order_by(MunicipalCategory.year)):
        latest[mid] = (year, category)
    ids = municipality_ids if municipality_ids is not None else set(latest)
    values = [
        {"b_id": mid, "b_category": latest[mid][1], "b_category_source": f"official:{latest[mid][0]}"}
        for mid in ids
        if mid in latest
    ]
    bulk_update(Municipality.__table__, values)


def bulk_update(table, rows: list[dict]) -> None:
    """One executemany UPDATE by id: each row ``{"b_id": id, "b_<column>": value, …}``."""
    if not rows:
        return
    columns = [key[2:] for key in rows[0] if key != "b_id"]
    db.session.connection().execute(
        update(table).where(table.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in columns}),
        rows,
    )


def recompute_for(municipality_ids: set[int], from_year: int) -> int:
    """Stored per-song terms (E feeds the points) of the songs whose category in force may have changed."""
    from app.domain.catalogue import recompute_stored_terms

    season_ids = list(db.session.scalars(select(Season.id).where(Season.year >= from_year)))
    if not season_ids:
        return 0
    criteria = [Song.season_id.in_(season_ids)]
    if len(municipality_ids) <= 900:  # else every song of those seasons (a whole-country file)
        criteria.append(Song.municipality_id.in_(sorted(municipality_ids)))
    return recompute_stored_terms(*criteria)


# --------------------------------------------------------------------------- in force


class InForce:
    """The category in force of any municipality in any year, from one read of the table.

    A municipality without any yearly row keeps ``Municipality.category`` (data
    entered before categories were kept by year, and the tests' small worlds).
    """

    def __init__(self) -> None:
        self._years: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
        stmt = select(
            MunicipalCategory.municipality_id,
            MunicipalCategory.year,
            MunicipalCategory.category,
            MunicipalCategory.capacity_group,
        ).order_by(MunicipalCategory.municipality_id, MunicipalCategory.year)
        for mid, year, category, group in db.session.execute(stmt):
            self._years[mid].append((year, category, group))
        self._plain: dict[int, str | None] | None = None

    def _row(self, municipality_id: int, year: int) -> tuple[int, str, str | None] | None:
        found = None
        for row in self._years.get(municipality_id, ()):
            if row[0] > year:
                break
            found = row
        return found

    def category(self, municipality_id: int, year: int) -> str | None:
        if municipality_id not in self._years:
            if self._plain is None:
                self._plain = dict(db.session.execute(select(Municipality.id, Municipality.category)).all())
            return self._plain.get(municipality_id)
        row = self._row(municipality_id, year)
        return row[1] if row else None

    def capacity_group(self, municipality_id: int, year: int) -> str | None:
        row = self._row(municipality_id, year)
        return row[2] if row else None

    def year(self, municipality_id: int, year: int) -> int | None:
        """The year of the official figure in force (None: none that early)."""
        row = self._row(municipality_id, year)
        return row[0] if row else None


def category_in_force(municipality_id: int, year: int) -> str | None:
    """One municipality's category in force in ``year`` (two small indexed reads)."""
    category = db.session.scalar(
        select(MunicipalCategory.category)
        .where(MunicipalCategory.municipality_id == municipality_id, MunicipalCategory.year <= year)
        .order_by(MunicipalCategory.year.desc())
        .limit(1)
    )
    if category is not None:
        return category
    has_rows = db.session.scalar(
        select(MunicipalCategory.id).where(MunicipalCategory.municipality_id == municipality_id).limit(1)
    )
    if has_rows is not None:
        return None
    return db.session.scalar(select(Municipality.category).where(Municipality.id == municipality_id))


def history(municipality_id: int) -> list[MunicipalCategory]:
    return list(
        db.session.scalars(
            select(MunicipalCategory)
            .where(MunicipalCategory.municipality_id == municipality_id)
            .order_by(MunicipalCategory.year)
        )
    )


def counts_by_year() -> dict[int, dict[str, int]]:
    """Year → category → municipalities (the reference page and the tests)."""
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for year, category in db.session.execute(select(MunicipalCategory.year, MunicipalCategory.category)):
        out[year][category] += 1
    return {year: dict(c) for year, c in sorted(out.items())}
