"""Admin and coordinator screens for catalogues: albums, artists, seasons (weights), playlists.

Routes on the ``admin`` blueprint (url prefix /admin): /admin/albums, /admin/artists,
/admin/seasons (admin only) and /admin/playlists (coordinators and admins).
Views parse the form and call app.domain.catalogue, which checks permissions,
validates, writes and audits.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.admin import bp
from app.auth.decorators import permission_required
from app.domain import catalogue, permissions
from app.domain import seasons as season_life
from app.domain.errors import DomainError
from app.extensions import db
from app.models import Album, Artist, Label, Season, Song
from app.models.catalogue import artist_members


def _actor():
    return current_user._get_current_object()


def _failed(exc: DomainError) -> dict:
    flash(exc.message, "error")
    return exc.details if isinstance(exc.details, dict) else {}


def _int(value) -> int | None:
    """A positive database id / year from a form or query string, else None (never a 500)."""
    try:
        number = int(str(value).strip()) if value is not None and str(value).strip().isascii() else None
    except ValueError:
        return None
    return number if number is not None and 0 < number < 2**31 else None


# --------------------------------------------------------------------------- albums


@bp.route("/albums", methods=["GET", "POST"])
@permission_required(permissions.can_manage_catalogue)
def albums():
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form
        try:
            album = catalogue.create_album(
                values.get("code"),
                values.get("name"),
                values.get("weight"),
                _actor(),
                request.remote_addr,
                max_duration_days=values.get("max_duration_days"),
            )
        except DomainError as exc:
            errors = _failed(exc)
        else:
            flash(_("Álbum %(code)s creado.", code=album.code), "success")
            return redirect(url_for("admin.albums"))
    counts = dict(db.session.execute(select(Song.album_id, func.count(Song.id)).group_by(Song.album_id)).all())
    rows = db.session.scalars(select(Album).order_by(Album.code)).all()
    status = 422 if errors else 200
    return render_template(
        "admin/catalogue/albums.html", albums=rows, counts=counts, errors=errors, values=values
    ), status


@bp.route("/albums/<int:album_id>", methods=["GET", "POST"])
@permission_required(permissions.can_manage_catalogue)
def edit_album(album_id: int):
    album = db.session.get(Album, album_id) or abort(404)
    errors, values = {}, {"name": album.name, "weight": album.weight, "max_duration_days": album.max_duration_days}
    if request.method == "POST":
        values = request.form
        try:
            changes = catalogue.update_album(
                album,
                values.get("name"),
                values.get("weight"),
                album.active,
                _actor(),
                request.remote_addr,
                max_duration_days=values.get("max_duration_days", ""),
            )
        except DomainError as exc:
            errors = _failed(exc)
        else:
            flash(_("Álbum guardado.") if changes else _("No hubo cambios."), "success")
            return redirect(url_for("admin.albums"))
    return render_template("admin/catalogue/album_edit.html", album=album, errors=errors, values=values), (
        422 if errors else 200
    )


@bp.post("/albums/<int:album_id>/active")
@permission_required(permissions.can_manage_catalogue)
def toggle_album(album_id: int):
    album = db.session.get(Album, album_id) or abort(404)
    try:
        catalogue.update_album(album, album.name, album.weight, not album.active, _actor(), request.remote_addr)
    except DomainError as exc:
        _failed(exc)
    else:
        flash(_("Álbum activado.") if album.active else _("Álbum desactivado."), "success")
    return redirect(url_for("admin.albums"))


# --------------------------------------------------------------------------- artists


@bp.route("/artists", methods=["GET", "POST"])
@permission_required(permissions.can_manage_catalogue)
def artists():
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form
        try:
            artist = catalogue.create_artist(
                _int(values.get("label_id")), values.get("name"), _actor(), request.remote_addr
            )
        except DomainError as exc:
            errors = _failed(exc)
        else:
            flash(_("Artista «%(name)s» creado. Ahora elija sus miembros.", name=artist.name), "success")
            return redirect(url_for("admin.edit_artist", artist_id=artist.id))
    labels = db.session.scalars(select(Label).order_by(Label.code)).all()
    label_filter = _int(request.args.get("label"))
    stmt = select(Artist).join(Label, Label.id == Artist.label_id).order_by(Label.code, Artist.name)
    if label_filter:
        stmt = stmt.where(Artist.label_id == label_filter)
    members = dict(
        db.session.execute(select(artist_members.c.artist_id, func.count()).group_by(artist_members.c.artist_id)).all()
    )
    return render_template(
        "admin/catalogue/artists.html",
        artists=db.session.scalars(stmt).all(),
        labels=labels,
        label_filter=label_filter,
        members=members,
        errors=errors,
        values=values,
    ), (422 if errors else 200)


@bp.route("/artists/<int:artist_id>", methods=["GET", "POST"])
@permission_required(permissions.can_manage_catalogue)
def edit_artist(artist_id: int):
    artist = db.session.get(Artist, artist_id) or abort(404)
    errors = {}
    name = artist.name
    selected = {u.id for u in artist.members}
    if request.method == "POST":
        name = request.form.get("name")
        selected = {i for i in (_int(v) for v in request.form.getlist("members")) if i is not None}
        try:
            changes = catalogue.update_artist(
                artist, name, artist.active, sorted(selected), _actor(), request.remote_addr
            )
        except DomainError as exc:
            errors = _failed(exc)
        else:
            flash(_("Artista guardado.") if changes else _("No hubo cambios."), "success")
            return redirect(url_for("admin.artists", label=artist.label_id))
    return render_template(
        "admin/catalogue/artist_edit.html",
        artist=artist,
        name=name,
        selected=selected,
        candidates=catalogue.eligible_members(artist),
        errors=errors,
    ), (422 if errors else 200)


@bp.post("/artists/<int:artist_id>/active")
@permission_required(permissions.can_manage_catalogue)
def toggle_artist(artist_id: int):
    artist = db.session.get(Artist, artist_id) or abort(404)
    try:
        catalogue.update_artist(
            artist, artist.name, not artist.active, [u.id for u in artist.members], _actor(), request.remote_addr
        )
    except DomainError as exc:
        _failed(exc)
    else:
        flash(_("Artista activado.") if artist.active else _("Artista desactivado."), "success")
    return redirect(url_for("admin.artists", label=artist.label_id))


# --------------------------------------------------------------------------- seasons


@bp.route("/seasons", methods=["GET", "POST"])
@permission_required(permissions.can_manage_catalogue)
def seasons():
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form
        try:
            season = catalogue.create_season(values.get("year"), _actor(), request.remote_addr)
        except DomainError as exc:
            errors = _failed(exc)
        else:
            flash(_("Temporada %(year)s creada con los pesos de la temporada anterior.", year=season.year), "success")
            return redirect(url_for("admin.edit_season", season_id=season.id))
    rows = season_life.all_seasons()
    return render_template("admin/catalogue/seasons.html", seasons=rows, errors=errors, values=values), (
        422 if errors else 200
    )


@bp.route("/seasons/<int:season_id>", methods=["GET", "POST"])
@permission_required(permissions.can_manage_catalogue)
def edit_season(season_id: int):
    season = db.session.get(Season, season_id) or abort(404)
    errors = {}
    values = {name: getattr(season, name) for name in catalogue.SEASON_WEIGHT_FIELDS}
    if request.method == "POST":
        values = request.form
        try:
            changes = catalogue.update_season_weights(season, values, _actor(), request.remote_addr)
        except DomainError as exc:
            errors = _failed(exc)
        else:
            flash(
                _("Pesos de la temporada %(year)s guardados (%(n)s cambio(s)).", year=season.year, n=len(changes))
                if changes
                else _("No hubo cambios."),
                "success",
            )
            return redirect(url_for("admin.edit_season", season_id=season.id))
    groups: dict[str, list] = {}
    for spec in catalogue.SEASON_WEIGHTS:
        groups.setdefault(spec.group, []).append(spec)
    return render_template(
        "admin/catalogue/season_edit.html", season=season, groups=groups, values=values, errors=errors
    ), (422 if errors else 200)


# --------------------------------------------------------------------------- playlists


@bp.route("/playlists", methods=["GET", "POST"])
@permission_required(permissions.can_set_playlists)
def playlists():
    seasons_ = season_life.all_seasons()
    season = season_life.resolve(request.values.get("season"))
    labels = db.session.scalars(select(Label).order_by(Label.code)).all()
    albums_ = db.session.scalars(select(Album).where(Album.active.is_(True)).order_by(Album.code)).all()
    errors: dict = {}
    values: dict[str, str] = {}
    if season is not None:
        grid = catalogue.playlist_grid(season)
        for label in labels:
            for album_id in [None] + [a.id for a in albums_]:
                target = grid.get((label.id, album_id))
                values[f"t_{label.id}_{album_id or 0}"] = "" if target is None else str(target)
    if request.method == "POST" and season is not None:
        targets = {}
        for label in labels:
            for album_id in [None] + [a.id for a in albums_]:
                key = f"t_{label.id}_{album_id or 0}"
                if key in request.form:
                    targets[(label.id, album_id)] = request.form.get(key, "")
                    values[key] = request.form.get(key, "")
        try:
            saved = catalogue.set_playlists(season, targets, _actor(), request.remote_addr)
        except DomainError as exc:
            errors = _failed(exc)
        else:
            if saved.pending:
                flash(
                    _(
                        "Metas congeladas: %(n)s cambio(s) quedan pendientes hasta que una segunda persona de la "
                        "coordinación los confirme.",
                        n=len(saved.pending),
                    ),
                    "success",
                )
            else:
                flash(
                    _("Metas de la temporada %(year)s guardadas (%(n)s cambio(s)).", year=season.year, n=saved.changed),
                    "success",
                )
            return redirect(url_for("admin.playlists", season=season.year))
    return render_template(
        "admin/catalogue/playlists.html",
        seasons=seasons_,
        season=season,
        labels=labels,
        albums=albums_,
        values=values,
        errors=errors,
        frozen=season is not None and season_life.targets_frozen(season),
        pending=catalogue.pending_targets(season) if season is not None else {},
    ), (422 if errors else 200)
