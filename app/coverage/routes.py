"""Coverage, gaps, targets, impact, exports and open data (DESIGN.md §6; issue 7).

Views parse the query, call app.domain.coverage / impact and render. Who may
read is checked by the role decorator and again in the domain
(``coverage.require_reader``), shared with the API.
"""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import permission_required
from app.coverage import bp, tables
from app.coverage.forms import CategoryUploadForm, IndicatorUploadForm, NeedWeightsForm
from app.domain import calendar, coverage, exports, geo, impact, need, permissions, seasons
from app.domain.parsing import ascii_int
from app.extensions import htmx
from app.models import Label
from app.web import fmt_number, fmt_percent

FORMATS = ("csv", "xlsx")


def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    value = ascii_int(raw, minimum=0, maximum=999_999) if len(raw) <= 6 else None
    if value is None:
        abort(400)
    return value


def _season():
    return seasons.resolve(request.args.get("season"))


def _sort_args() -> tuple[str, bool]:
    sort = request.args.get("sort", "code")
    if sort not in coverage.DEPARTMENT_SORTS:
        sort = "code"
    return sort, request.args.get("dir") == "desc"


def _reader():
    coverage.require_reader(current_user)


def _download(table: tables.Table, fmt: str, season):
    """``.xlsx``, or ``.csv`` as RFC 4180 (default) or ``?flavour=excel`` ("Excel (es-CO)")."""
    if fmt not in FORMATS:
        abort(404)
    flavour = request.args.get("flavour", "rfc4180")
    if flavour not in exports.CSV_FLAVOURS:
        abort(400)
    return exports.table_response(
        fmt, table.stem, season.year if season else None, table.headers, table.rows, table.sheet, table.kinds, flavour
    )


@bp.app_template_filter("cov_int")
def _cov_int(value):
    """``|number`` for counts, skipping Babel for small integers (identical in every locale):
    a department table has hundreds of them."""
    if isinstance(value, int) and -1000 < value < 1000:
        return str(value)
    return fmt_number(value)


@bp.before_app_request
def _warm_coverage_cache():
    coverage.warm_in_background(current_app._get_current_object())


def _no_season():
    return render_template("coverage/no_season.html")


@bp.get("/coverage")
@permission_required(permissions.can_read_coverage)
def summary():
    _reader()
    season = _season()
    if season is None:
        return _no_season()
    sort, descending = _sort_args()
    rows = coverage.department_rows(season)
    if htmx and htmx.target == "departments":
        return render_template(
            "coverage/_departments.html",
            season=season,
            rows=coverage.sort_departments(rows, sort, descending),
            albums=coverage.albums_with_songs(season),
            sort=sort,
            descending=descending,
        )
    areas = {
        r.code: geo.MapArea(
            code=r.code,
            name=r.name,
            share=r.coverage,
            text=_(
                "%(name)s: %(share)s (%(a)s de %(m)s municipios)",
                name=r.name,
                share=fmt_percent(r.coverage),
                a=r.assisted,
                m=r.municipalities,
            ),
            href=url_for("coverage.department", code=r.code, season=season.year),
        )
        for r in rows
    }
    return render_template(
        "coverage/summary.html",
        season=season,
        seasons=coverage.seasons(),
        summary=coverage.national_summary(season),
        rows=coverage.sort_departments(rows, sort, descending),
        by_name=coverage.sort_departments(rows, "name"),
        albums=coverage.albums_with_songs(season),
        sort=sort,
        descending=descending,
        map_svg=geo.render_map(areas, _("Cobertura municipal por departamento, temporada %(y)s", y=season.year)),
        legend=geo.legend(),
        no_data_colour=geo.NO_DATA,
    )


@bp.get("/coverage/departments/<code>")
@permission_required(permissions.can_read_coverage)
def department(code: str):
    _reader()
    season = _season()
    if season is None:
        return _no_season()
    dep = coverage.department_by_code(code[:2])
    row = next((r for r in coverage.department_rows(season) if r.code == dep.code), None)
    return render_template(
        "coverage/department.html",
        season=season,
        seasons=coverage.seasons(),
        department=dep,
        row=row,
        municipalities=coverage.department_municipalities(season, dep),
    )


def _gap_filters() -> dict:
    department = (request.args.get("department") or "").strip()[:2] or None
    subregion = _int_arg("subregion")
    if subregion is not None and not 1 <= subregion <= 16:
        abort(400)
    return {
        "ever": request.args.get("scope") == "ever",
        "department_code": department,
        "label_id": _int_arg("label"),
        "subregion": subregion,
    }


@bp.get("/coverage/gaps")
@permission_required(permissions.can_read_coverage)
def gaps():
    _reader()
    season = _season()
    if season is None:
        return _no_season()
    filters = _gap_filters()
    return render_template(
        "coverage/gaps.html",
        season=season,
        seasons=coverage.seasons(),
        gaps=coverage.gaps(season, **filters),
        filters=filters,
        departments=coverage.sort_departments(coverage.department_rows(season), "name"),
        labels=Label.query.order_by(Label.code).all(),
        subregions=coverage.pdet_subregions(),
        weights=need.current_weights(),
    )


def _as_of() -> date | None:
    raw = request.args.get("as_of")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        abort(400)


@bp.get("/coverage/targets")
@permission_required(permissions.can_read_coverage)
def targets():
    _reader()
    season = _season()
    if season is None:
        return _no_season()
    as_of = _as_of() or calendar.today()
    return render_template(
        "coverage/targets.html",
        season=season,
        seasons=coverage.seasons(),
        rows=coverage.targets(season, as_of),
        as_of=as_of,
    )


def _impact_query(available: dict[str, list[int]]):
    indicator = (request.args.get("indicator") or "").strip().lower()[:40]
    year_from, year_to = _int_arg("year_from"), _int_arg("year_to")
    if indicator and indicator not in available:
        abort(404)  # only imported indicators are compared (and nothing odd reaches SQL)
    if not indicator and available:
        indicator = next(iter(available))
    years = available.get(indicator, [])
    if year_from is None and len(years) >= 2:
        year_from = years[0]
    if year_to is None and len(years) >= 2:
        year_to = years[-1]
    return indicator, year_from, year_to


@bp.get("/coverage/impact")
@permission_required(permissions.can_read_coverage)
def impact_page():
    _reader()
    available = impact.indicator_years()
    indicator, year_from, year_to = _impact_query(available)
    groups, problem = None, None
    if indicator and year_from and year_to:
        if year_from >= year_to:
            problem = _("El primer año debe ser anterior al segundo.")
        else:
            groups = impact.compare(indicator, year_from, year_to)
    return render_template(
        "coverage/impact.html",
        available=available,
        indicator=indicator,
        year_from=year_from,
        year_to=year_to,
        groups=groups,
        problem=problem,
        upload=IndicatorUploadForm() if permissions.can_import_indicators(current_user) else None,
        all_years=sorted({y for ys in available.values() for y in ys}),
    )


@bp.post("/coverage/impact/import")
@permission_required(permissions.can_import_indicators)
def import_indicators():
    form = IndicatorUploadForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(url_for("coverage.impact_page"))
    raw = form.file.data.read()
    report = impact.import_indicators_as(current_user, raw)
    if report.errors:
        available = impact.indicator_years()
        return (
            render_template(
                "coverage/impact.html",
                available=available,
                indicator=None,
                year_from=None,
                year_to=None,
                groups=None,
                problem=None,
                upload=form,
                report=report,
                all_years=sorted({y for ys in available.values() for y in ys}),
            ),
            422,
        )
    flash(_("Indicadores importados: %(n)s filas.", n=report.created), "success")
    return redirect(url_for("coverage.impact_page"))


@bp.get("/coverage/export/<table>.<fmt>")
@permission_required(permissions.can_read_coverage)
def export(table: str, fmt: str):
    """Every table of the coverage pages as CSV or XLSX."""
    _reader()
    if fmt not in FORMATS:
        abort(404)
    if table == "impact":
        indicator, year_from, year_to = _impact_query(impact.indicator_years())
        if not (indicator and year_from and year_to):
            abort(400)
        return _download(tables.impact_table(indicator, year_from, year_to), fmt, None)
    season = _season()
    if season is None:
        abort(404)
    if table == "summary":
        result = tables.summary_table(season)
    elif table == "departments":
        result = tables.departments_table(season, *_sort_args())
    elif table == "municipalities":
        result = tables.municipalities_table(
            season, coverage.department_by_code((request.args.get("department") or "")[:2])
        )
    elif table == "gaps":
        result = tables.gaps_table(season, **_gap_filters())
    elif table == "targets":
        result = tables.targets_table(season, _as_of())
    elif table == "albums":
        result = tables.albums_table(season)
    else:
        abort(404)
    return _download(result, fmt, season)


# --------------------------------------------------------------------------- open data (public)


@bp.get("/open-data")
def open_data():
    """Aggregates only, no login (DESIGN.md §1, §6)."""
    season = _season()
    if season is None:
        return render_template("coverage/open_data.html", season=None, seasons=[], data=None)
    return render_template(
        "coverage/open_data.html",
        season=season,
        seasons=coverage.seasons(),
        data=coverage.open_data(season),
        fields=tables.OPEN_DEPARTMENT_FIELDS,
    )


@bp.get("/open-data/<table>.<fmt>")
def open_data_export(table: str, fmt: str):
    season = _season()
    if season is None or fmt not in FORMATS:
        abort(404)
    if table == "departments":
        result = tables.open_departments_table(season)
    elif table == "albums":
        result = tables.open_albums_table(season)
    else:
        abort(404)
    return _download(result, fmt, season)


# --------------------------------------------------------------------------- official figures, need, map


def _reference_context(**extra):
    from app.domain import categories
    from app.domain.permissions import can_import_reference, can_set_need_weights

    weights = need.current_weights()
    context = {
        "counts": categories.counts_by_year(),
        "totals": coverage.reference_totals(),
        "prioritised": need.prioritised_counts(),
        "weights": weights,
        "upload": CategoryUploadForm() if can_import_reference(current_user) else None,
        "weights_form": NeedWeightsForm(data=weights.__dict__) if can_set_need_weights(current_user) else None,
        "report": None,
    }
    context.update(extra)
    return context


@bp.get("/coverage/reference")
@permission_required(permissions.can_read_coverage)
def reference():
    _reader()
    return render_template("coverage/reference.html", **_reference_context())


@bp.post("/coverage/reference/categories")
@permission_required(permissions.can_import_reference)
def import_categories():
    from app.domain import reference_import
    from app.domain.permissions import can_import_reference, require

    require(can_import_reference(current_user), _("Solo coordinación y administración pueden importar categorías."))
    form = CategoryUploadForm()
    if not form.validate_on_submit():
        return render_template("coverage/reference.html", **_reference_context(upload=form)), 422
    report = reference_import.import_categories(
        form.file.data.read(),
        form.file.data.filename or "categorias.csv",
        year=form.year.data,
        actor_id=current_user.id,
    )
    if report.errors:
        return render_template("coverage/reference.html", **_reference_context(upload=form, report=report)), 422
    flash(
        _(
            "Categorías importadas: %(n)s filas de %(years)s (%(c)s cambios); canciones recalculadas: %(s)s.",
            n=fmt_number(report.created),
            years=", ".join(str(y) for y in report.years),
            c=fmt_number(report.changed),
            s=fmt_number(report.recomputed_songs),
        ),
        "success",
    )
    if report.idf_values:
        flash(
            _(
                "IDF importado de la columna «Nuevo IDF»: %(n)s valores (%(c)s cambios).",
                n=fmt_number(report.idf_values),
                c=fmt_number(report.idf_changed),
            ),
            "success",
        )
    return redirect(url_for("coverage.reference"))


@bp.post("/coverage/reference/need-weights")
@permission_required(permissions.can_set_need_weights)
def need_weights():
    from app.domain.errors import ValidationFailed

    form = NeedWeightsForm()
    if form.validate_on_submit():
        try:
            need.set_weights({name: form[name].data for name in need.WEIGHT_FIELDS}, current_user)
        except ValidationFailed as exc:
            for name, messages in (exc.details or {}).items():
                form[name].errors = list(messages)
        else:
            flash(_("Pesos del puntaje de necesidad guardados."), "success")
            return redirect(url_for("coverage.reference", _anchor="need"))
    return render_template("coverage/reference.html", **_reference_context(weights_form=form)), 422


@bp.get("/coverage/municipalities/<code>")
@permission_required(permissions.can_read_coverage)
def municipality(code: str):
    _reader()
    season = _season()
    profile = need.profile(code[:5], season)
    return render_template(
        "coverage/municipality.html",
        season=season,
        seasons=coverage.seasons(),
        p=profile,
        m=profile.municipality,
    )


@bp.get("/coverage/map")
@permission_required(permissions.can_read_coverage)
def municipal_map():
    _reader()
    season = _season()
    if season is None:
        return _no_season()
    show = request.args.get("show", "need")
    if show not in ("need", "songs"):
        abort(400)
    code = (request.args.get("department") or "").strip()[:2] or None
    department = coverage.department_by_code(code) if code else None
    data = need.map_data(season, department)

    def text(row) -> str:
        score = _("sin datos") if row.need is None else fmt_number(row.need.score, 1)
        return _("%(name)s: necesidad %(need)s, %(n)s canciones entregadas", name=row.name, need=score, n=row.songs)

    areas = {
        r.code: geo.MapArea(
            r.code, r.name, None, text(r), url_for("coverage.municipality", code=r.code, season=season.year)
        )
        for r in data.municipalities
    }
    if show == "need":
        colours = {
            r.code: geo.class_colour(r.need.score if r.need else None, geo.NEED_CLASSES) for r in data.municipalities
        }
        legend = geo.need_legend()
    else:
        colours = {r.code: geo.class_colour(r.songs, geo.SONG_CLASSES) for r in data.municipalities}
        legend = geo.songs_legend(_("5 o más"))
    departments = {
        d.code: geo.MapArea(
            d.code,
            d.name,
            None,
            _(
                "%(name)s: %(a)s de %(m)s municipios asistidos, necesidad media %(need)s",
                name=d.name,
                a=d.assisted,
                m=d.municipalities,
                need=_("sin datos") if d.mean_need is None else fmt_number(d.mean_need, 1),
            ),
            url_for("coverage.municipal_map", department=d.code, season=season.year, show=show),
        )
        for d in data.departments
    }
    what = _("necesidad") if show == "need" else _("canciones entregadas")
    title = (
        _("Mapa municipal de %(d)s: %(what)s, temporada %(y)s", d=department.name, what=what, y=season.year)
        if department
        else _("Mapa municipal de Colombia: %(what)s, temporada %(y)s", what=what, y=season.year)
    )
    return render_template(
        "coverage/map.html",
        season=season,
        seasons=coverage.seasons(),
        department=department,
        show=show,
        data=data,
        map_svg=geo.render_municipal_map(areas, colours, title, department.code if department else None, departments),
        legend=legend,
        no_data_colour=geo.NO_DATA,
        title=title,
        departments_all=coverage.sort_departments(coverage.department_rows(season), "name"),
    )
