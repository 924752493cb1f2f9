"""Load the shipped reference data: departments, municipalities, PDET, labels, albums,
the official municipal categories by year and the fiscal performance index (IDF).

Idempotent: running it twice changes nothing the second time (DESIGN.md §2, issue 3).
The official figures only fill what the database lacks: a year an admin re-imported
(``import categories``, ``import indicators``) is never put back to the shipped value.
Sources: seeds/reference/SOURCES.md.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select, update

from app.domain.calendar import today as calendar_today
from app.extensions import db
from app.models import Album, Department, Label, MunicipalCategory, MunicipalIndicator, Municipality, Season

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def _rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def load_reference(today: date | None = None) -> dict[str, int]:
    """Upsert every reference table; returns counts of rows in each afterwards."""
    today = today or calendar_today()
    # Labels first: departments point at the label that covers them.
    labels = {lab.code: lab for lab in db.session.scalars(select(Label))}
    for row in _rows("labels.csv"):
        label = labels.get(row["label_code"])
        if label is None:
            label = Label(code=row["label_code"], name=row["label_name"], city=row["city"])
            db.session.add(label)
            labels[label.code] = label
        else:
            label.name, label.city = row["label_name"], row["city"]
    db.session.flush()
    department_label = {
        code: labels[row["label_code"]].id for row in _rows("labels.csv") for code in row["department_codes"].split()
    }

    departments = {d.code: d for d in db.session.scalars(select(Department))}
    for row in _rows("departments.csv"):
        code = row["department_code"]
        dep = departments.get(code)
        if dep is None:
            dep = Department(code=code, name=row["department_name"])
            db.session.add(dep)
            departments[code] = dep
        dep.name = row["department_name"]
        dep.label_id = department_label[code]
    db.session.flush()

    pdet = {row["municipality_code"]: row for row in _rows("pdet_municipalities.csv")}
    existing = dict(db.session.execute(select(Municipality.code, Municipality.id)).all())
    new_rows, changed = [], []
    for row in _rows("divipola_municipalities.csv"):
        code = row["municipality_code"]
        p = pdet.get(code)
        values = {
            "code": code,
            "name": row["municipality_name"],
            "department_id": departments[row["department_code"]].id,
            "pdet": p is not None,
            "pdet_subregion_code": int(p["pdet_subregion_code"]) if p else None,
            "pdet_subregion": p["pdet_subregion"] if p else None,
        }
        if code in existing:
            changed.append({"b_id": existing[code], **{f"b_{k}": v for k, v in values.items() if k != "code"}})
        else:
            new_rows.append(values)
    if new_rows:
        db.session.execute(insert(Municipality), new_rows)
    if changed:
        from sqlalchemy import bindparam

        stmt = (
            update(Municipality.__table__)
            .where(Municipality.__table__.c.id == bindparam("b_id"))
            .values(
                name=bindparam("b_name"),
                department_id=bindparam("b_department_id"),
                pdet=bindparam("b_pdet"),
                pdet_subregion_code=bindparam("b_pdet_subregion_code"),
                pdet_subregion=bindparam("b_pdet_subregion"),
            )
        )
        db.session.connection().execute(stmt, changed)

    albums = {a.code: a for a in db.session.scalars(select(Album))}
    for row in _rows("albums.csv"):
        if row["album_code"] not in albums:
            db.session.add(Album(code=row["album_code"], name=row["album_name"], weight=float(row["weight"])))
        else:
            albums[row["album_code"]].name = row["album_name"]  # weights stay as an admin set them

    load_official_figures()
    ensure_season(today.year, on=today)
    db.session.commit()
    return reference_counts()


CATEGORIES_FILE = "municipal_categories_2020_2023.csv"
IDF_FILE = "municipal_indicators_idf_2020_2023.csv"


def load_official_figures() -> None:
    """Categories by year and IDF from the shipped DNP files, through the same imports as the UI."""
    from app.domain import impact, reference_import

    raw = (REFERENCE_DIR / CATEGORIES_FILE).read_bytes()
    report = reference_import.import_categories(raw, CATEGORIES_FILE, only_missing=True)
    if report.errors:  # the shipped file is checked by the tests: this is a broken checkout
        raise RuntimeError(f"{CATEGORIES_FILE}: {report.errors[0].line}: {report.errors[0].message}")

    codes = dict(db.session.execute(select(Municipality.code, Municipality.id)).all())
    have = set(
        db.session.execute(
            select(MunicipalIndicator.municipality_id, MunicipalIndicator.indicator, MunicipalIndicator.year)
        ).all()
    )
    rows = _rows(IDF_FILE)
    missing = [r for r in rows if (codes.get(r["municipality_code"]), r["indicator"], int(r["year"])) not in have]
    if missing:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(missing)
        result = impact.import_indicators(out.getvalue().encode())
        if result.errors:
            raise RuntimeError(f"{IDF_FILE}: {result.errors[0].line}: {result.errors[0].message}")


def ensure_season(year: int, on=None) -> Season:
    """The season for ``year``, created with the default weights of DESIGN.md §4."""
    from app.domain.seasons import new_season

    season = db.session.scalar(select(Season).filter_by(year=year))
    if season is None:
        season = new_season(year, on=on)
    return season


def reference_counts() -> dict[str, int]:
    from sqlalchemy import func

    return {
        "departments": db.session.scalar(select(func.count(Department.id))),
        "municipalities": db.session.scalar(select(func.count(Municipality.id))),
        "pdet": db.session.scalar(select(func.count(Municipality.id)).where(Municipality.pdet.is_(True))),
        "prioritised": db.session.scalar(select(func.count(Municipality.id)).where(Municipality.prioritised)),
        "category_years": db.session.scalar(select(func.count(MunicipalCategory.id))),
        "indicator_values": db.session.scalar(select(func.count(MunicipalIndicator.id))),
        "labels": db.session.scalar(select(func.count(Label.id))),
        "albums": db.session.scalar(select(func.count(Album.id))),
    }
