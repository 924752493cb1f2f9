"""API: catalogue resources (DESIGN.md §8): seasons, labels, albums, artists, municipalities.

Readable by every signed-in role (territorial teams need them to create songs).
Artists carry their member count, not members' names (personal data stays in the UI).
"""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import contains_eager

from app.api import bp, schemas
from app.api.core import ApiError, int_arg, paginate
from app.domain.text import DEPARTMENT_DIGITS, dane_code
from app.extensions import db
from app.i18n import _
from app.models import Album, Artist, Department, Label, Municipality, Season
from app.models.catalogue import artist_members
from app.models.territory import PRIORITY_CATEGORIES


@bp.get("/seasons")
def list_seasons():
    seasons = db.session.scalars(select(Season).order_by(Season.year)).all()
    return jsonify(schemas.listing([schemas.season(s) for s in seasons]))


@bp.get("/labels")
def list_labels():
    labels = db.session.scalars(select(Label).order_by(Label.code)).all()
    departments: dict[int, list[str]] = {}
    for label_id, code in db.session.execute(
        select(Department.label_id, Department.code).where(Department.label_id.is_not(None)).order_by(Department.code)
    ):
        departments.setdefault(label_id, []).append(code)
    return jsonify(schemas.listing([schemas.label(la, departments.get(la.id, [])) for la in labels]))


@bp.get("/albums")
def list_albums():
    albums = db.session.scalars(select(Album).order_by(Album.code)).all()
    return jsonify(schemas.listing([schemas.album(a) for a in albums]))


@bp.get("/artists")
def list_artists():
    label_id = int_arg("label", minimum=1, maximum=2**31 - 1)
    if label_id is not None and db.session.get(Label, label_id) is None:
        raise ApiError(404, _("No existe la disquera indicada."), {"label": label_id})
    members = (
        select(artist_members.c.artist_id, func.count().label("n")).group_by(artist_members.c.artist_id).subquery()
    )
    stmt = (
        select(Artist, Label.code, func.coalesce(members.c.n, 0))
        .join(Label, Label.id == Artist.label_id)
        .outerjoin(members, members.c.artist_id == Artist.id)
        .order_by(Label.code, Artist.name)
    )
    if label_id is not None:
        stmt = stmt.where(Artist.label_id == label_id)
    return jsonify(schemas.listing([schemas.artist(a, code, count) for a, code, count in db.session.execute(stmt)]))


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "si", "sí"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ApiError(400, _("El parámetro '%(name)s' debe ser true o false.", name=name), {name: raw[:20]})


@bp.get("/municipalities")
def list_municipalities():
    """Paginated; ``?department=CODE`` (2-digit DANE), ``?prioritised=``, ``?pdet=``, ``?q=`` (name)."""
    stmt = (
        select(Municipality)
        .join(Department, Department.id == Municipality.department_id)
        .options(contains_eager(Municipality.department))
    )
    department = request.args.get("department")
    if department not in (None, ""):
        code = dane_code(department, DEPARTMENT_DIGITS)
        if code is None:
            raise ApiError(
                400,
                _("El parámetro 'department' debe ser un código DANE de 2 dígitos."),
                {"department": department.strip()[:10]},
            )
        department = code
        if db.session.scalar(select(Department.id).where(Department.code == department)) is None:
            raise ApiError(404, _("No existe el departamento indicado."), {"department": department})
        stmt = stmt.where(Department.code == department)
    prioritised = _bool_arg("prioritised")
    if prioritised is not None:
        not_prioritised = and_(
            Municipality.pdet.is_(False),
            or_(Municipality.category.is_(None), Municipality.category.not_in(PRIORITY_CATEGORIES)),
        )
        stmt = stmt.where(Municipality.prioritised if prioritised else not_prioritised)
    pdet = _bool_arg("pdet")
    if pdet is not None:
        stmt = stmt.where(Municipality.pdet.is_(pdet))
    query = (request.args.get("q") or "").strip()
    if len(query) > 100 or "\x00" in query:
        raise ApiError(400, _("El parámetro 'q' es demasiado largo."), {"q": len(query)})
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Municipality.name.ilike(f"%{escaped}%", escape="\\"))
    stmt = stmt.order_by(Municipality.code)
    return jsonify(paginate(stmt, schemas.municipality))
