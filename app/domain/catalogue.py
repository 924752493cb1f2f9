"""Catalogue administration: albums, artists, seasons (scoring weights) and playlists.

DESIGN.md §1 (admin: catalogues, seasons, weights; coordinator: annual targets),
§2 (the catalogue), §4 (every weight is a Season setting). Every change is audited.
A change to a weight that enters the stored per-song terms (T, Q, E, points)
recomputes those terms for the affected songs, so the breakdown pages keep adding
up exactly to the figures (§4 "Every figure on a board is explainable").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import bindparam, func, select, update

from app.domain import audit, song_rules
from app.domain.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from app.domain.parsing import ascii_int
from app.domain.permissions import can_manage_catalogue, can_set_playlists
from app.domain.scoring import DefaultWeights, SongTerms, song_terms
from app.extensions import db
from app.i18n import _, _l
from app.models import Album, Artist, Label, Municipality, Playlist, Review, Role, Season, Song, Survey, User


@dataclass(frozen=True)
class WeightField:
    name: str
    label: Any
    kind: type
    minimum: float
    maximum: float
    group: Any


# Every scoring weight stored on Season, with its allowed range (DESIGN.md §4).
SEASON_WEIGHTS: tuple[WeightField, ...] = (
    WeightField("late_floor_days", _l("Días hábiles hasta T = 0 (20)"), int, 1, 365, _l("Oportunidad (T)")),
    WeightField("quality_review_weight", _l("Peso de la revisión R en Q (0,6)"), float, 0, 1, _l("Calidad (Q)")),
    WeightField("quality_survey_weight", _l("Peso de la encuesta S en Q (0,4)"), float, 0, 1, _l("Calidad (Q)")),
    WeightField("equity_pdet", _l("Bono PDET (0,25)"), float, 0, 1, _l("Equidad (E)")),
    WeightField("equity_category6", _l("Bono categoría 6 (0,15)"), float, 0, 1, _l("Equidad (E)")),
    WeightField("equity_category5", _l("Bono categoría 5 (0,10)"), float, 0, 1, _l("Equidad (E)")),
    WeightField("equity_cap", _l("Tope de E (1,5)"), float, 1, 3, _l("Equidad (E)")),
    WeightField("points_scale", _l("Escala de puntos (100)"), float, 1, 10000, _l("Puntos")),
    WeightField("points_quality_weight", _l("Peso de Q en los puntos (0,6)"), float, 0, 1, _l("Puntos")),
    WeightField("points_timeliness_weight", _l("Peso de T en los puntos (0,4)"), float, 0, 1, _l("Puntos")),
    WeightField("approval_threshold", _l("R mínima para sumar puntos (0,5)"), float, 0, 1, _l("Puntos")),
    WeightField("index_quality_weight", _l("Peso de Q̄ en el índice (0,40)"), float, 0, 1, _l("Índice de disquera")),
    WeightField("index_ontime_weight", _l("Peso de OnTime en el índice (0,35)"), float, 0, 1, _l("Índice de disquera")),
    WeightField(
        "index_progress_weight", _l("Peso del avance en el índice (0,25)"), float, 0, 1, _l("Índice de disquera")
    ),
    WeightField(
        "badge_quality_threshold", _l("Q mínima para discos de oro y platino (0,75)"), float, 0, 1, _l("Logros")
    ),
    WeightField("badge_gold_songs", _l("Canciones para Disco de oro (10)"), int, 1, 10000, _l("Logros")),
    WeightField("badge_platinum_songs", _l("Canciones para Disco de platino (25)"), int, 1, 10000, _l("Logros")),
    WeightField(
        "badge_punctuality_streak", _l("Entregas a tiempo seguidas para Puntualidad (10)"), int, 1, 10000, _l("Logros")
    ),
    WeightField("badge_hit_review_threshold", _l("R mínima para Éxito (0,75)"), float, 0, 1, _l("Logros")),
    # Not weights but season settings of the same form (DESIGN.md §3, §9): copied to the next season too.
    WeightField(
        "declaration_window_days",
        _l("Días hábiles que una entrega puede declararse antes de registrarla (10)"),
        int,
        0,
        60,
        _l("Fechas y plazos"),
    ),
    WeightField("review_sla_days", _l("Plazo de revisión en días hábiles (10)"), int, 1, 60, _l("Fechas y plazos")),
)
SEASON_WEIGHT_FIELDS = tuple(w.name for w in SEASON_WEIGHTS)
SEASON_DATE_SETTINGS = ("declaration_window_days", "review_sla_days")  # in the same form, not weights
# Weights that enter the stored per-song terms; the others only affect the recompute.
TERM_WEIGHTS = tuple(f.name for f in fields(DefaultWeights) if not f.name.startswith("index_"))
WEIGHT_SUMS = (
    (("quality_review_weight", "quality_survey_weight"), _l("Los pesos de R y S en Q deben sumar 1.")),
    (("points_quality_weight", "points_timeliness_weight"), _l("Los pesos de Q y T en los puntos deben sumar 1.")),
    (
        ("index_quality_weight", "index_ontime_weight", "index_progress_weight"),
        _l("Los tres pesos del índice de disquera deben sumar 1."),
    ),
)
MAX_TARGET = 100_000


# --------------------------------------------------------------------------- permissions


def _require_admin(actor: Any) -> None:
    if not can_manage_catalogue(actor):
        raise PermissionDenied(_("Solo la administración de la plataforma puede cambiar los catálogos."))


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None)


# --------------------------------------------------------------------------- stored terms


def recompute_stored_terms(*criteria) -> int:
    """Recompute the stored terms (T, R, S, Q, E, points, on_time, standing) of the songs matching ``criteria``.

    Set up for an admin action: one read of the facts, Python scoring (the same
    ``song_terms`` as at write time) and one executemany update.
    """
    from app.domain.categories import InForce

    seasons = {s.id: _weights(s) for s in db.session.scalars(select(Season))}
    season_year = dict(db.session.execute(select(Season.id, Season.year)).all())
    in_force = InForce()
    stmt = (
        select(
            Song.id,
            Song.season_id,
            Song.municipality_id,
            Song.state,
            Song.due_date,
            Song.delivered_on,
            Song.committed_due,
            Song.cancelled_late,
            Song.late_cancel_reason,
            Song.carried_over,
            Song.awaiting_evidence,
            Municipality.pdet,
            Album.weight,
            Review.pertinence,
            Review.rigour,
            Review.usefulness,
            Review.evidence_quality,
            Survey.q1,
            Survey.q2,
            Survey.q3,
            Survey.q4,
            Survey.q5,
            Survey.held,
            Survey.validated_at,
        )
        .join(Municipality, Municipality.id == Song.municipality_id)
        .join(Album, Album.id == Song.album_id)
        .outerjoin(Review, Review.song_id == Song.id)
        .outerjoin(Survey, Survey.song_id == Song.id)
        .where(*criteria)
    )
    updates = []
    for row in db.session.execute(stmt):
        review = (
            (row.pertinence, row.rigour, row.usefulness, row.evidence_quality) if row.pertinence is not None else None
        )
        counts = row.q1 is not None and (not row.held or row.validated_at is not None)  # Survey.counts
        survey = (row.q1, row.q2, row.q3, row.q4, row.q5) if counts else None
        terms = song_terms(
            state=row.state,
            due_date=row.due_date,
            delivered_on=row.delivered_on,
            pdet=bool(row.pdet),
            category=in_force.category(row.municipality_id, season_year[row.season_id]),
            album_weight=float(row.weight),
            review=review,
            survey=survey,
            w=seasons[row.season_id],
            committed_due=row.committed_due,
            cancelled_late=bool(row.cancelled_late),
            late_cancel_reason=row.late_cancel_reason,
            carried_over=bool(row.carried_over),
            awaiting_evidence=bool(row.awaiting_evidence),
        )
        updates.append({"b_id": row.id} | {f"b_{column}": value for column, value in terms.columns().items()})
    if updates:
        table = Song.__table__
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({f.name: bindparam(f"b_{f.name}") for f in fields(SongTerms)})
        )
        db.session.connection().execute(stmt, updates)
    return len(updates)


def _weights(season: Season) -> DefaultWeights:
    return DefaultWeights(**{f.name: getattr(season, f.name) for f in fields(DefaultWeights)})


# --------------------------------------------------------------------------- seasons


def validate_season_weights(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Parsed weights and errors by field (ranges of SEASON_WEIGHTS, sums of WEIGHT_SUMS)."""
    parsed: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in SEASON_WEIGHTS:
        raw = values.get(spec.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            errors[spec.name] = [_("El valor es obligatorio.")]
            continue
        try:
            text = str(raw).strip().replace(",", ".")
            number = float(text)
            if spec.kind is int:
                if not number.is_integer():
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError):
            errors[spec.name] = [_("Debe ser un número entero.") if spec.kind is int else _("Debe ser un número.")]
            continue
        if number != number or not spec.minimum <= number <= spec.maximum:  # NaN or out of range
            errors[spec.name] = [
                _("Debe estar entre %(low)s y %(high)s.", low=f"{spec.minimum:g}", high=f"{spec.maximum:g}")
            ]
            continue
        parsed[spec.name] = number
    for names, message in WEIGHT_SUMS:
        if all(n in parsed for n in names) and abs(sum(parsed[n] for n in names) - 1) > 1e-6:
            errors.setdefault(names[-1], []).append(message)
    if (
        "badge_gold_songs" in parsed
        and "badge_platinum_songs" in parsed
        and parsed["badge_platinum_songs"] < parsed["badge_gold_songs"]
    ):
        errors.setdefault("badge_platinum_songs", []).append(
            _("El Disco de platino no puede pedir menos canciones que el de oro.")
        )
    return parsed, errors


def create_season(year: Any, actor: Any, ip: str | None = None) -> Season:
    """A new season (vigencia) for a calendar year, with the weights and targets of the season
    before it as drafts a coordinator confirms (app.domain.seasons)."""
    from app.domain import seasons as season_life

    _require_admin(actor)
    try:
        year = season_life.parse_year(year)
    except DomainError as exc:
        raise ValidationFailed(exc.message, {"year": exc.details["season"]}) from None
    if year is None:
        raise ValidationFailed(_("El año es obligatorio."), {"year": [_("El valor es obligatorio.")]})
    if db.session.scalar(select(Season.id).where(Season.year == year)) is not None:
        raise Conflict(_("La temporada %(year)s ya existe.", year=year), {"year": [_("Ya existe.")]})
    latest = db.session.scalars(select(Season).where(Season.year < year).order_by(Season.year.desc()).limit(1)).first()
    latest = latest or db.session.scalars(select(Season).order_by(Season.year).limit(1)).first()
    season = season_life.new_season(year, copy_from=latest, drafts=latest is not None)
    audit.record(
        "season_created",
        "season",
        season.id,
        actor_id=_actor_id(actor),
        changes={"year": [None, year], **{n: [None, getattr(season, n)] for n in SEASON_WEIGHT_FIELDS}},
        ip=ip,
    )
    db.session.flush()
    return season


def update_season_weights(season: Season, values: dict[str, Any], actor: Any, ip: str | None = None) -> dict:
    """Validate and store every weight; recompute stored song terms when a term weight changed.

    Returns the changes ``{field: [before, after]}`` (empty when nothing changed).
    """
    _require_admin(actor)
    parsed, errors = validate_season_weights(values)
    if errors:
        raise ValidationFailed(_("Revise los pesos marcados."), errors)
    before = audit.snapshot(season, list(SEASON_WEIGHT_FIELDS))
    for name, value in parsed.items():
        setattr(season, name, value)
    changes = audit.changes_between(before, audit.snapshot(season, list(SEASON_WEIGHT_FIELDS)))
    if not changes:
        return {}
    db.session.flush()
    recomputed = 0
    if any(name in TERM_WEIGHTS for name in changes):
        recomputed = recompute_stored_terms(Song.season_id == season.id)
    audit.record("season_weights_changed", "season", season.id, actor_id=_actor_id(actor), changes=changes, ip=ip)
    if recomputed:
        audit.record(
            "song_terms_recomputed",
            "season",
            season.id,
            actor_id=_actor_id(actor),
            changes={"songs": [None, recomputed]},
            ip=ip,
        )
    db.session.flush()
    return changes


# --------------------------------------------------------------------------- albums


def _clean_text(value: Any, field: str, label: str, max_length: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ValidationFailed(_("%(label)s: el valor es obligatorio.", label=label), {field: [_("Obligatorio.")]})
    if len(text) > max_length:
        raise ValidationFailed(
            _("%(label)s: máximo %(n)s caracteres.", label=label, n=max_length),
            {field: [_("Máximo %(n)s caracteres.", n=max_length)]},
        )
    return text


def _album_weight(value: Any) -> float:
    try:
        weight = float(str(value).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise ValidationFailed(_("El peso debe ser un número."), {"weight": [_("Debe ser un número.")]}) from None
    if weight != weight or not 0.1 <= weight <= 5:
        raise ValidationFailed(_("El peso debe estar entre 0,1 y 5."), {"weight": [_("Entre 0,1 y 5.")]})
    return weight


MAX_DURATION_RANGE = (1, 730)  # calendar days from the planned start to the latest due date


def _album_max_duration(value: Any) -> int:
    """The album's maximum duration (DESIGN.md §3): whole calendar days, 1 to 730; blank → 180."""
    low, high = MAX_DURATION_RANGE
    if value is None or (isinstance(value, str) and not value.strip()):
        return song_rules.DEFAULT_MAX_DURATION_DAYS
    days = ascii_int(str(value).strip(), minimum=low, maximum=high)
    if days is None:
        message = _(
            "La duración máxima debe ser un número entero de días entre %(low)s y %(high)s.", low=low, high=high
        )
        raise ValidationFailed(message, {"max_duration_days": [message]})
    return days


def create_album(
    code: Any, name: Any, weight: Any, actor: Any, ip: str | None = None, *, max_duration_days: Any = None
) -> Album:
    """A new album (línea temática) with its complexity weight and maximum duration (§3)."""
    _require_admin(actor)
    code = _clean_text(code, "code", _("Código"), 10).upper()
    if not (code.isascii() and code.replace("_", "").isalnum()):
        raise ValidationFailed(_("Código: solo letras, números y _."), {"code": [_("Solo letras, números y _.")]})
    name = _clean_text(name, "name", _("Nombre"), 160)
    weight = _album_weight(weight)
    max_duration = _album_max_duration(max_duration_days)
    if db.session.scalar(select(Album.id).where(func.upper(Album.code) == code)) is not None:
        raise Conflict(_("Ya existe un álbum con el código %(code)s.", code=code), {"code": [_("Ya existe.")]})
    if db.session.scalar(select(Album.id).where(func.lower(Album.name) == name.lower())) is not None:
        raise Conflict(_("Ya existe un álbum con ese nombre."), {"name": [_("Ya existe.")]})
    album = Album(code=code, name=name, weight=weight, active=True, max_duration_days=max_duration)
    db.session.add(album)
    db.session.flush()
    audit.record(
        "album_created",
        "album",
        album.id,
        actor_id=_actor_id(actor),
        changes={
            "code": [None, code],
            "name": [None, name],
            "weight": [None, weight],
            "max_duration_days": [None, max_duration],
        },
        ip=ip,
    )
    db.session.flush()
    return album


def update_album(
    album: Album,
    name: Any,
    weight: Any,
    active: bool,
    actor: Any,
    ip: str | None = None,
    *,
    max_duration_days: Any = None,
) -> dict:
    """Rename, reweight, set the maximum duration of, or (de)activate an album; a new weight
    recomputes its songs' points. A new maximum duration applies to due dates set from now on
    (``max_duration_days`` None keeps it)."""
    _require_admin(actor)
    name = _clean_text(name, "name", _("Nombre"), 160)
    weight = _album_weight(weight)
    max_duration = album.max_duration_days if max_duration_days is None else _album_max_duration(max_duration_days)
    clash = db.session.scalar(select(Album.id).where(func.lower(Album.name) == name.lower(), Album.id != album.id))
    if clash is not None:
        raise Conflict(_("Ya existe un álbum con ese nombre."), {"name": [_("Ya existe.")]})
    fields_ = ["name", "weight", "active", "max_duration_days"]
    before = audit.snapshot(album, fields_)
    album.name, album.weight, album.active = name, weight, bool(active)
    album.max_duration_days = max_duration
    changes = audit.changes_between(before, audit.snapshot(album, fields_))
    if not changes:
        return {}
    db.session.flush()
    audit.record("album_updated", "album", album.id, actor_id=_actor_id(actor), changes=changes, ip=ip)
    if "weight" in changes:
        count = recompute_stored_terms(Song.album_id == album.id)
        if count:
            audit.record(
                "song_terms_recomputed",
                "album",
                album.id,
                actor_id=_actor_id(actor),
                changes={"songs": [None, count]},
                ip=ip,
            )
    db.session.flush()
    return changes


# --------------------------------------------------------------------------- artists


def create_artist(label_id: Any, name: Any, actor: Any, ip: str | None = None) -> Artist:
    """A new artist (equipo) inside a label; names are unique within the label."""
    _require_admin(actor)
    label = db.session.get(Label, label_id) if isinstance(label_id, int) else None
    if label is None:
        raise ValidationFailed(_("Elija una disquera."), {"label_id": [_("Elija una disquera.")]})
    name = _clean_text(name, "name", _("Nombre"), 120)
    _check_artist_name(label.id, name, None)
    artist = Artist(label_id=label.id, name=name, active=True)
    db.session.add(artist)
    db.session.flush()
    audit.record(
        "artist_created",
        "artist",
        artist.id,
        actor_id=_actor_id(actor),
        changes={"label": [None, label.code], "name": [None, name]},
        ip=ip,
    )
    db.session.flush()
    return artist


def _check_artist_name(label_id: int, name: str, artist_id: int | None) -> None:
    stmt = select(Artist.id).where(Artist.label_id == label_id, func.lower(Artist.name) == name.lower())
    if artist_id is not None:
        stmt = stmt.where(Artist.id != artist_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(
            _("Ya existe un artista con ese nombre en la disquera."), {"name": [_("Ya existe en la disquera.")]}
        )


def eligible_members(artist: Artist) -> list[User]:
    """Territorial users of the artist's label (the only possible members)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.TERRITORIAL.value, User.label_id == artist.label_id)
            .order_by(User.name)
        )
    )


def update_artist(
    artist: Artist, name: Any, active: bool, member_ids: list[int], actor: Any, ip: str | None = None
) -> dict:
    """Rename, (de)activate and set the members (territorial users of the same label)."""
    _require_admin(actor)
    name = _clean_text(name, "name", _("Nombre"), 120)
    _check_artist_name(artist.label_id, name, artist.id)
    allowed = {u.id: u for u in eligible_members(artist)}
    wanted = set(member_ids)
    strangers = wanted - set(allowed)
    if strangers:
        raise ValidationFailed(
            _("Solo pueden ser miembros los usuarios territoriales de la misma disquera."),
            {"members": [_("Usuario no permitido.")]},
        )
    before = {"name": artist.name, "active": artist.active, "members": sorted(u.email for u in artist.members)}
    artist.name, artist.active = name, bool(active)
    artist.members = [allowed[i] for i in sorted(wanted)]
    after = {"name": artist.name, "active": artist.active, "members": sorted(u.email for u in artist.members)}
    changes = audit.changes_between(before, after)
    if not changes:
        return {}
    db.session.flush()
    audit.record("artist_updated", "artist", artist.id, actor_id=_actor_id(actor), changes=changes, ip=ip)
    db.session.flush()
    return changes


# --------------------------------------------------------------------------- playlists


def playlist_grid(season: Season) -> dict[tuple[int, int | None], int]:
    """``{(label_id, album_id or None): target}`` for a season."""
    rows = db.session.execute(
        select(Playlist.label_id, Playlist.album_id, Playlist.target).where(Playlist.season_id == season.id)
    )
    return {(label_id, album_id): target for label_id, album_id, target in rows}


def parse_target(raw: Any) -> int | None:
    """Blank → no target; else a whole number 0…MAX_TARGET (ValueError otherwise)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    value = ascii_int(text, minimum=0, maximum=MAX_TARGET) if text[:1] != "-" else None
    if value is None:
        raise ValueError(text)
    return value


@dataclass
class TargetsSaved:
    """What ``set_playlists`` did: targets changed now, and changes waiting for a second coordinator."""

    changed: int = 0
    pending: list = field(default_factory=list)


def _validate_targets(
    season: Season, targets: dict[tuple[int, int | None], Any]
) -> tuple[dict[tuple[int, int | None], int | None], dict[tuple[int, int | None], int]]:
    """Parse ``targets`` and check them against the season's grid: ``(parsed, current)``.

    Whole numbers from 0 to 100,000; per-album targets of a label may not add up to more than
    the label's total target (ValidationFailed with the cells named otherwise)."""
    label_ids = set(db.session.scalars(select(Label.id)))
    album_ids = set(db.session.scalars(select(Album.id)))
    parsed: dict[tuple[int, int | None], int | None] = {}
    errors: dict[str, list[str]] = {}
    for (label_id, album_id), raw in targets.items():
        key = f"t_{label_id}_{album_id or 0}"
        if label_id not in label_ids or (album_id is not None and album_id not in album_ids):
            errors[key] = [_("Disquera o álbum desconocido.")]
            continue
        try:
            parsed[(label_id, album_id)] = parse_target(raw)
        except ValueError:
            errors[key] = [_("Debe ser un número entero entre 0 y %(n)s.", n=f"{MAX_TARGET:,}".replace(",", "."))]
    current = playlist_grid(season)
    merged = {**current, **parsed}
    for label_id in label_ids:
        total = merged.get((label_id, None))
        by_album = sum(v for (lab, alb), v in merged.items() if lab == label_id and alb is not None and v)
        if total is not None and by_album > total:
            errors.setdefault(f"t_{label_id}_0", []).append(
                _(
                    "La suma de las metas por álbum (%(by_album)s) supera la meta total (%(total)s).",
                    by_album=by_album,
                    total=total,
                )
            )
    if errors:
        raise ValidationFailed(_("Revise las metas marcadas."), errors)
    return parsed, current


def set_playlists(
    season: Season, targets: dict[tuple[int, int | None], Any], actor: Any, ip: str | None = None
) -> TargetsSaved:
    """Set the annual targets (metas) of a season; blank removes a target (DESIGN.md §5).

    Before the season's target date the changes apply at once. From the target date on, each
    changed target waits for a second coordinator (four eyes, §9): a pending ``target_change``
    per label and album, confirmed through ``four_eyes.decide``; nothing changes until then.
    """
    from app.domain import four_eyes
    from app.domain import seasons as season_life

    if not can_set_playlists(actor):
        raise PermissionDenied(_("Solo coordinación y administración fijan las metas."))
    parsed, current = _validate_targets(season, targets)
    changes = {key: target for key, target in parsed.items() if current.get(key) != target}
    saved = TargetsSaved()
    if changes and season_life.targets_frozen(season):
        waiting = pending_targets(season)
        busy = [key for key in changes if key in waiting]
        if busy:
            message = _("Ya hay un cambio de esta meta pendiente de confirmación.")
            raise Conflict(message, {f"t_{label_id}_{album_id or 0}": [message] for label_id, album_id in busy})
        for (label_id, album_id), target in changes.items():
            payload = {"season_id": season.id, "album_id": album_id, "target": target}
            payload["before"] = current.get((label_id, album_id))
            saved.pending.append(four_eyes.request("target_change", actor, label_id=label_id, payload=payload, ip=ip))
        return saved
    for key, target in changes.items():
        _write_target(season, key, target, actor, ip)
        saved.changed += 1
    db.session.flush()
    return saved


def pending_targets(season: Season) -> dict[tuple[int, int | None], Any]:
    """The season's target changes waiting for a second coordinator, by (label, album)."""
    from app.models import PendingChange

    rows = db.session.scalars(
        select(PendingChange).where(PendingChange.kind == "target_change", PendingChange.status == "pending")
    )
    return {
        (c.label_id, (c.payload or {}).get("album_id")): c
        for c in rows
        if (c.payload or {}).get("season_id") == season.id
    }


def late_target_changes(season: Season) -> dict[int, list[dict[str, Any]]]:
    """Targets changed after the season's target date and confirmed by a second coordinator, by
    label: the board shows them (DESIGN.md §5). ``[{"album_id", "before", "target", "confirmed_at"}]``."""
    from app.models import PendingChange

    rows = db.session.scalars(
        select(PendingChange)
        .where(PendingChange.kind == "target_change", PendingChange.status == "confirmed")
        .order_by(PendingChange.decided_at, PendingChange.id)
    )
    changes: dict[int, list[dict[str, Any]]] = {}
    for change in rows:
        payload = change.payload or {}
        if payload.get("season_id") != season.id:
            continue
        changes.setdefault(change.label_id, []).append(
            {
                "album_id": payload.get("album_id"),
                "before": payload.get("before"),
                "target": payload.get("target"),
                "confirmed_at": change.decided_at.isoformat() if change.decided_at else None,
            }
        )
    return changes


def _write_target(
    season: Season, key: tuple[int, int | None], target: int | None, actor: Any, ip: str | None, **extra: Any
) -> None:
    playlist = db.session.scalar(
        select(Playlist).where(
            Playlist.season_id == season.id,
            Playlist.label_id == key[0],
            Playlist.album_id.is_(None) if key[1] is None else Playlist.album_id == key[1],
        )
    )
    before = playlist.target if playlist else None
    if before == target:
        return
    if target is None:
        db.session.delete(playlist)
        entity_id = playlist.id
    elif playlist is None:
        playlist = Playlist(season_id=season.id, label_id=key[0], album_id=key[1], target=target)
        db.session.add(playlist)
        db.session.flush()
        entity_id = playlist.id
    else:
        playlist.target = target
        entity_id = playlist.id
    changes = {
        "season": [season.year, season.year],
        "label_id": [key[0], key[0]],
        "album_id": [key[1], key[1]],
        "target": [before, target],
    }
    changes.update({name: [None, value] for name, value in extra.items()})
    audit.record("playlist_target_set", "playlist", entity_id, actor_id=_actor_id(actor), changes=changes, ip=ip)


def _apply_target_change(confirmer: Any, change) -> None:
    """Four eyes confirmed: the target change asked by ``change.requested_by`` applies now,
    checked again against the grid as it is today."""
    payload = change.payload or {}
    season = db.session.get(Season, payload.get("season_id") or 0)
    if season is None:
        raise Conflict(_("La temporada de este cambio de meta ya no existe."))
    key = (change.label_id, payload.get("album_id"))
    try:
        _validate_targets(season, {key: payload.get("target")})
    except ValidationFailed as exc:
        why = "; ".join(m for messages in (exc.details or {}).values() for m in messages)
        raise Conflict(_("El cambio de meta ya no se puede aplicar: %(why)s", why=why), exc.details) from None
    _write_target(
        season,
        key,
        payload.get("target"),
        change.requested_by,
        None,
        confirmed_by=confirmer.id,
        pending_change=change.id,
    )
    db.session.flush()


def _register_four_eyes() -> None:
    from app.domain import four_eyes

    four_eyes.APPLY["target_change"] = _apply_target_change


_register_four_eyes()
