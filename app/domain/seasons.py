"""A season's life (DESIGN.md §5): planning → open → closing → closed, and the ONE season resolver.

- ``parse_year`` / ``resolve``: every page, API endpoint and CLI command that picks a
  season goes through them (one year parser, one default: the season of today's year
  in Bogotá, else the latest one that has begun).
- ``advance``: the daily job (scheduler, ``flask --app wsgi seasons advance``). It opens the
  next season on ``SEASON_OPENS_ON`` (default 1 October) with the weights and targets of
  the latest season as drafts, and moves every season along its dates; a season whose
  closing date has passed is closed.
- ``close``: the final snapshot with the cut-off at 31 December, frozen. Later changes to
  its songs only through ``correction`` (admin, audited), which recomputes the final
  snapshot and stamps ``corrected_at`` (the board says so).
- End of season: undelivered songs are cancelled or carried over to the next season;
  either way they count late in their own season (app.domain.charts).
- Targets are frozen from the season's target date (default 31 January).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, exists, func, inspect, select
from sqlalchemy.orm import Session

from app import numbers
from app.domain import audit, names, permissions
from app.domain.calendar import is_business_day, today
from app.domain.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.domain.parsing import ascii_int
from app.extensions import db
from app.i18n import _
from app.models import ChartSnapshot, Playlist, Season, Song
from app.models.base import utcnow
from app.models.catalogue import SEASON_STATES
from app.models.songs import OPEN_STATES

YEAR_MIN, YEAR_MAX = 2000, 2100
DEFAULT_OPENS_ON = (10, 1)  # the next season opens by itself on 1 October


STATE_NAMES = names.SEASON_STATE_NAMES


def state_name(state: str) -> str:
    return names.season_state_name(state)


# --------------------------------------------------------------------------- one year parser, one resolver


class BadYear(DomainError):
    status = 400


def parse_year(raw: Any) -> int | None:
    """A season year from a query string, form, JSON or CLI argument: None when blank.

    Four ASCII digits between 2000 and 2100; anything else is a 400 with a clear message.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        year = None
    elif isinstance(raw, int):
        year = raw if YEAR_MIN <= raw <= YEAR_MAX else None
    else:
        text = str(raw).strip()
        year = ascii_int(text, minimum=YEAR_MIN, maximum=YEAR_MAX) if len(text) == 4 else None
    if year is None:
        message = _(
            "Año de temporada no válido: escriba un año entre %(low)s y %(high)s (AAAA).", low=YEAR_MIN, high=YEAR_MAX
        )
        raise BadYear(message, {"season": [message]})
    return year


def by_year(year: int) -> Season | None:
    return db.session.scalar(select(Season).where(Season.year == year))


def all_seasons() -> list[Season]:
    """Every season, newest first (the season pickers)."""
    return list(db.session.scalars(select(Season).order_by(Season.year.desc())))


def resolve(raw: Any = None, *, on: date | None = None, computed: bool = False) -> Season | None:
    """THE season a page, API call or CLI command is about.

    ``raw`` (a year, as typed) picks that season (NotFound if there is none). Without
    it: the season of today's year (Bogotá); with ``computed``, only a season whose
    charts were computed (else the latest such season that has begun). If today's
    year has no season: the latest season that has begun, else the latest of all.
    None only when nothing fits.
    """
    year = parse_year(raw)
    if year is not None:
        season = by_year(year)
        if season is None:
            raise NotFound(_("No existe la temporada (vigencia) %(year)s.", year=year), {"season": year})
        return season
    this_year = (on or today()).year
    stmt = select(Season).where(Season.year <= this_year)
    if computed:
        stmt = stmt.where(exists().where(ChartSnapshot.season_id == Season.id, ChartSnapshot.complete.is_(True)))
    season = db.session.scalar(stmt.order_by(Season.year.desc()).limit(1))
    if season is None and not computed:
        season = db.session.scalar(select(Season).order_by(Season.year.desc()).limit(1))
    return season


# --------------------------------------------------------------------------- dates and states


def default_closing_date(year: int) -> date:
    """The last business day of January after the season's year."""
    day = date(year + 1, 1, 31)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def default_target_date(year: int) -> date:
    return date(year, 1, 31)


def closing_date(season: Season) -> date:
    return season.closing_date or default_closing_date(season.year)


def target_date(season: Season) -> date | None:
    return season.target_date


def opening_day(year: int) -> date:
    """The day the season ``year`` opens by itself (in planning): SEASON_OPENS_ON of the year before."""
    month, day = DEFAULT_OPENS_ON
    if has_app_context():
        raw = str(current_app.config.get("SEASON_OPENS_ON", "10-01"))
        try:
            month, day = (int(x) for x in raw.split("-"))
            date(2001, month, day)
        except ValueError:
            month, day = DEFAULT_OPENS_ON
    return date(year - 1, month, day)


def state_by_dates(season: Season, on: date) -> str:
    """The state the calendar calls for (``closed`` once past the closing date)."""
    if on < season.starts_on:
        return "planning"
    if on <= season.ends_on:
        return "open"
    if on <= closing_date(season):
        return "closing"
    return "closed"


def is_closed(season: Season | None) -> bool:
    return season is not None and season.state == "closed"


def targets_frozen(season: Season, on: date | None = None) -> bool:
    """Targets are frozen from the target date on (a later change needs a second coordinator).

    Every season gets a target date when created (default 31 January); one without
    (cleared by the admin) never freezes."""
    return season.target_date is not None and (on or today()) >= season.target_date


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "id", None)


# --------------------------------------------------------------------------- creating and opening


def new_season(year: int, *, copy_from: Season | None = None, drafts: bool = False, on: date | None = None) -> Season:
    """A season for a calendar year with its default dates, weights copied from ``copy_from``.

    With ``drafts``, the targets of ``copy_from`` are copied too and both stay drafts
    until a coordinator confirms them. Flushes, does not commit.
    """
    from app.domain.catalogue import SEASON_WEIGHT_FIELDS

    season = Season(
        year=year,
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        closing_date=default_closing_date(year),
        target_date=default_target_date(year),
    )
    season.state = state_by_dates(season, on or today())
    if season.state == "closed":  # a past year created now still needs its final snapshot
        season.state = "closing"
    if copy_from is not None:
        for name in SEASON_WEIGHT_FIELDS:
            setattr(season, name, getattr(copy_from, name))
        if drafts:
            season.drafts_from_year = copy_from.year
    db.session.add(season)
    db.session.flush()
    if copy_from is not None and drafts:
        for playlist in db.session.scalars(select(Playlist).where(Playlist.season_id == copy_from.id)):
            db.session.add(
                Playlist(
                    season_id=season.id, label_id=playlist.label_id, album_id=playlist.album_id, target=playlist.target
                )
            )
        db.session.flush()
    return season


def open_next(on: date | None = None) -> Season | None:
    """On or after the opening day, create next year's season (planning) with drafts. None if not due."""
    on = on or today()
    year = on.year + 1
    if on < opening_day(year) or by_year(year) is not None:
        return None
    latest = db.session.scalar(select(Season).where(Season.year < year).order_by(Season.year.desc()).limit(1))
    season = new_season(year, copy_from=latest, drafts=latest is not None, on=on)
    audit.record(
        "season_opened",
        "season",
        season.id,
        actor_id=None,
        changes={
            "year": [None, year],
            "state": [None, season.state],
            "drafts_from_year": [None, season.drafts_from_year],
        },
    )
    return season


def confirm_drafts(season: Season, actor: Any, ip: str | None = None) -> None:
    """A coordinator confirms the drafted weights and targets of a season."""
    if not permissions.can_manage_seasons(actor):
        raise PermissionDenied(_("Solo la coordinación o la administración confirman los borradores de una temporada."))
    if not season.has_drafts:
        raise Conflict(_("La temporada %(year)s no tiene borradores por confirmar.", year=season.year))
    season.confirmed_at = utcnow()
    season.confirmed_by_id = _actor_id(actor)
    db.session.flush()
    audit.record(
        "season_drafts_confirmed",
        "season",
        season.id,
        actor_id=_actor_id(actor),
        changes={"drafts_from_year": [season.drafts_from_year, season.drafts_from_year]},
        ip=ip,
    )


def missing_season_message(year: int) -> str:
    """What to do when a date falls in a year without a season, and who can do it."""
    return _(
        "Todavía no existe la temporada %(year)s. Se abre sola el %(day)s con los pesos y metas de la anterior; "
        "antes de esa fecha, la administración de la plataforma puede crearla en Administración → Temporadas.",
        year=year,
        day=opening_day(year).strftime("%d/%m/%Y"),
    )


# --------------------------------------------------------------------------- moving along the calendar


def advance(on: date | None = None) -> list[str]:
    """The daily season job: open next year's season when due, move every season on, close past ones.

    Returns one line per change. Flushes; the job or the CLI command commits once
    (``app.transaction``): a failed run leaves every season as it was.
    """
    on = on or today()
    lines: list[str] = []
    if by_year(on.year) is None and db.session.scalar(select(func.count(Season.id))):
        latest = db.session.scalar(select(Season).where(Season.year < on.year).order_by(Season.year.desc()).limit(1))
        created = new_season(on.year, copy_from=latest, drafts=latest is not None, on=on)
        lines.append(_("Temporada %(year)s creada (%(state)s).", year=created.year, state=state_name(created.state)))
    opened = open_next(on)
    if opened is not None:
        lines.append(
            _(
                "Temporada %(year)s abierta en planeación, con borradores de %(source)s.",
                year=opened.year,
                source=opened.drafts_from_year or "—",
            )
        )
    db.session.flush()
    for season in db.session.scalars(select(Season).where(Season.state != "closed").order_by(Season.year)).all():
        wanted = state_by_dates(season, on)
        if wanted == "closed":
            close(season, actor=None, on=on)
            lines.append(
                _("Temporada %(year)s cerrada: listas finales con corte al 31 de diciembre.", year=season.year)
            )
        elif wanted != season.state and SEASON_STATES.index(wanted) > SEASON_STATES.index(season.state):
            before = season.state
            season.state = wanted
            audit.record(
                "season_state_changed", "season", season.id, actor_id=None, changes={"state": [before, wanted]}
            )
            db.session.flush()
            lines.append(_("Temporada %(year)s: %(state)s.", year=season.year, state=state_name(wanted)))
    return lines


def advance_under_lease(on: date | None = None) -> list[str] | None:
    """``advance`` under the database lease (several workers: only one runs it). None when busy."""
    from app.domain import lease

    with lease.held(SEASONS_LEASE) as got:
        if not got:
            return None
        return advance(on)


SEASONS_LEASE = "seasons-advance"


# --------------------------------------------------------------------------- closing


def close(season: Season, actor: Any = None, *, on: date | None = None, ip: str | None = None, at=None):
    """Close a season whose year has ended: final snapshot with the cut-off at 31 December, frozen.

    ``actor`` None is the scheduler; otherwise a coordinator or an admin (the closing
    period may end early once late reviews and surveys are in). ``at``: the moment
    recorded (default now; the demo replays the scheduler's). Flushes; the caller's unit of
    work commits.
    """
    from app.domain import charts

    on = on or today()
    if actor is not None and not permissions.can_manage_seasons(actor):
        raise PermissionDenied(_("Solo la coordinación o la administración cierran una temporada."))
    if season.state == "closed":
        raise Conflict(_("La temporada %(year)s ya está cerrada.", year=season.year))
    if on <= season.ends_on:
        raise Conflict(
            _(
                "La temporada %(year)s sigue abierta: se puede cerrar después del %(day)s.",
                year=season.year,
                day=season.ends_on.strftime("%d/%m/%Y"),
            )
        )
    open_songs = undelivered_count(season)
    snapshot = charts.write_final(season)
    before = season.state
    season.state = "closed"
    season.closed_at = at or utcnow()
    event = audit.record(
        "season_closed",
        "season",
        season.id,
        actor_id=_actor_id(actor),
        changes={"state": [before, "closed"], "final_snapshot": [None, snapshot.id], "open_songs": [None, open_songs]},
        ip=ip,
    )
    event.at = season.closed_at
    db.session.flush()
    return snapshot


def close_from_cli(raw_year: Any) -> list[str]:
    """``flask --app wsgi seasons close YEAR``."""
    season = resolve(raw_year)
    if season is None:
        return [_("No hay temporadas.")]
    snapshot = close(season)
    return [
        _(
            "Temporada %(year)s cerrada: listas finales con corte al %(day)s (%(ms)s ms).",
            year=season.year,
            day=season.ends_on.strftime("%d/%m/%Y"),
            ms=snapshot.duration_ms,
        )
    ]


# Inside ``correction(...)`` a closed season's songs may change (admin, audited).
_correcting: ContextVar[int | None] = ContextVar("season_correction", default=None)


def require_changeable(season: Season | None) -> None:
    """Songs of a closed season change only through an audited admin correction."""
    if is_closed(season) and _correcting.get() != season.id:
        raise Conflict(
            _(
                "La temporada %(year)s está cerrada: sus canciones solo cambian con una corrección auditada de la administración.",
                year=season.year,
            )
        )


def _season_of(obj: Any) -> Season | None:
    song = obj if isinstance(obj, Song) else getattr(obj, "song", None)
    return getattr(song, "season", None) if song is not None else None


@event.listens_for(Session, "before_flush")
def _closed_seasons_are_frozen(session: Session, _context, _instances) -> None:
    """ONE guard for every write path (UI, API, import, CLI): the songs of a closed season,
    and their reviews, surveys and evidence, change only inside ``correction(...)``."""
    from app.models import Evidence, Review, Survey

    watched = (Song, Review, Survey, Evidence)
    touched = [o for o in session.new if isinstance(o, watched)]
    touched += [o for o in session.dirty if isinstance(o, watched) and session.is_modified(o)]
    touched += [o for o in session.deleted if isinstance(o, watched)]
    if not touched:
        return
    with session.no_autoflush:
        for obj in touched:
            require_changeable(_season_of(obj))
            if isinstance(obj, Song):
                old = inspect(obj).attrs.season_id.history.deleted
                if old and old[0] is not None:
                    require_changeable(session.get(Season, old[0]))


def require_plannable(season: Season) -> None:
    """New songs (or new due dates) never go into a closed or closing season."""
    if season.state in ("closing", "closed") and _correcting.get() != season.id:
        raise ValidationFailed(
            _(
                "La temporada %(year)s está %(state)s: no admite canciones nuevas ni fechas nuevas.",
                year=season.year,
                state=state_name(season.state).lower(),
            ),
            {
                "due_date": [
                    _("Temporada %(year)s %(state)s.", year=season.year, state=state_name(season.state).lower())
                ]
            },
        )


@contextmanager
def correction(season: Season, actor: Any, reason: str, ip: str | None = None):
    """``with correction(season, admin, "motivo"):`` change songs of a closed season, then the
    final snapshot is recomputed, ``corrected_at`` stamped and the correction audited. Flushes;
    an exception inside the block propagates and the unit of work rolls everything back."""
    from app.domain import charts

    if not permissions.can_correct_closed_season(actor):
        raise PermissionDenied(_("Solo la administración corrige una temporada cerrada."))
    if not is_closed(season):
        raise Conflict(_("La temporada %(year)s no está cerrada: no necesita corrección.", year=season.year))
    reason = " ".join(str(reason or "").split())
    if len(reason) < 10:
        raise ValidationFailed(
            _("Explique el motivo de la corrección (al menos 10 caracteres)."),
            {"reason": [_("Al menos 10 caracteres.")]},
        )
    token = _correcting.set(season.id)
    try:
        yield
        db.session.flush()
        snapshot = charts.write_final(season)
        season.corrected_at = utcnow()
        audit.record(
            "season_corrected",
            "season",
            season.id,
            actor_id=_actor_id(actor),
            changes={"reason": [None, reason], "final_snapshot": [None, snapshot.id]},
            ip=ip,
        )
        db.session.flush()
    finally:
        _correcting.reset(token)


CORRECTABLE = ("delivered_on", "due_date", "cancel")


def correct_song(
    season: Season, actor: Any, song_id: Any, what: str, value: Any, reason: str, ip: str | None = None
) -> Song:
    """An audited admin correction of one song of a closed season: a delivery date, a due date,
    or a cancellation. The final snapshot is recomputed and the board says so. Flushes."""
    from app.domain import terms
    from app.domain.lifecycle import parse_date

    if not permissions.can_correct_closed_season(actor):
        raise PermissionDenied(_("Solo la administración corrige una temporada cerrada."))
    song = db.session.get(Song, ascii_int(song_id, minimum=1) or 0)
    if song is None or song.season_id != season.id:
        raise NotFound(
            _("La canción no es de la temporada %(year)s.", year=season.year), {"song_id": [_("No encontrada.")]}
        )
    if what not in CORRECTABLE:
        raise ValidationFailed(_("Elija qué corregir."), {"what": [_("Elija una opción.")]})
    errors: dict[str, list[str]] = {}
    new_date = parse_date(value, "value", errors) if what != "cancel" else None
    if errors:
        raise ValidationFailed(_("Revise la fecha."), errors)
    if what == "delivered_on" and song.state not in ("delivered", "reviewed"):
        raise ValidationFailed(_("La canción no está entregada."), {"what": [_("Sin entrega.")]})
    if what == "due_date" and new_date.year != season.year:
        raise ValidationFailed(_("La fecha debe caer en %(year)s.", year=season.year), {"value": [str(season.year)]})
    fields = {"delivered_on": ("delivered_on",), "due_date": ("due_date",), "cancel": ("state", "cancel_reason")}[what]
    before = audit.snapshot(song, list(fields))
    with correction(season, actor, reason, ip):
        if what == "cancel":
            if song.state == "cancelled":
                raise Conflict(_("La canción ya está cancelada."))
            song.state, song.cancel_reason = "cancelled", " ".join(str(reason).split())
        else:
            setattr(song, what, new_date)
        terms.refresh_song_terms(song)
        audit.record(
            "song_corrected",
            "song",
            song.id,
            actor_id=_actor_id(actor),
            changes=audit.changes_between(before, audit.snapshot(song, list(fields))),
            ip=ip,
        )
    return song


# --------------------------------------------------------------------------- end of season for open songs


def undelivered_stmt(season: Season):
    return (
        select(Song)
        .where(Song.season_id == season.id, Song.state.in_(OPEN_STATES))
        .order_by(Song.label_id, Song.due_date, Song.id)
    )


def undelivered_count(season: Season) -> int:
    return (
        db.session.scalar(select(func.count(Song.id)).where(Song.season_id == season.id, Song.state.in_(OPEN_STATES)))
        or 0
    )


def ending_seasons(on: date | None = None) -> list[Season]:
    """Seasons whose open songs must be settled: closing ones, and the open one from 1 December."""
    on = on or today()
    stmt = select(Season).where(Season.state.in_(("open", "closing"))).order_by(Season.year)
    return [s for s in db.session.scalars(stmt) if s.state == "closing" or on >= s.ends_on.replace(day=1, month=12)]


@dataclass
class EndOfSeason:
    season: Season
    songs: list[Song] = field(default_factory=list)
    total: int = 0
    next_season: Season | None = None


def end_of_season(season: Season, page: int = 1, per_page: int = 50) -> EndOfSeason:
    total = undelivered_count(season)
    songs = list(db.session.scalars(undelivered_stmt(season).limit(per_page).offset((page - 1) * per_page)))
    return EndOfSeason(season, songs, total, by_year(season.year + 1))


def _require_coordinator(actor: Any) -> None:
    if not permissions.can_manage_seasons(actor):
        raise PermissionDenied(
            _("Solo la coordinación decide qué pasa con las canciones abiertas al final de la temporada.")
        )


def _require_ending(song: Song) -> None:
    if song.state not in OPEN_STATES:
        raise Conflict(_("La canción %(id)s ya no está abierta.", id=song.id))
    if song.season.state == "closed":
        require_changeable(song.season)


def carry_over(song: Song, actor: Any, new_due: date, ip: str | None = None) -> Song:
    """Carry an undelivered song over to the next season with a new committed due date.

    The song stays in its own season as cancelled-and-carried-over (it counts late
    there, §4); a new song with the same plan opens in the next season. Flushes.
    """
    from app.domain import terms

    _require_coordinator(actor)
    _require_ending(song)
    errors: dict[str, list[str]] = {}
    if not isinstance(new_due, date):
        errors["due_date"] = [_("Escriba la nueva fecha de compromiso (AAAA-MM-DD).")]
    elif new_due.year != song.season.year + 1:
        errors["due_date"] = [_("La nueva fecha debe caer en la temporada %(year)s.", year=song.season.year + 1)]
    elif not is_business_day(new_due):
        errors["due_date"] = [_("La fecha de compromiso debe ser un día hábil.")]
    if errors:
        raise ValidationFailed(_("Revise la nueva fecha de compromiso."), errors)
    target = terms.season_for(new_due)
    require_plannable(target)
    start = max(song.planned_start, target.starts_on)
    copy = Song(
        season=target,
        label_id=song.label_id,
        artist_id=song.artist_id,
        album_id=song.album_id,
        municipality_id=song.municipality_id,
        department_id=song.department_id,
        state=song.state if song.state != "returned" else "in_progress",
        scope=song.scope,
        planned_start=min(start, new_due),
        due_date=new_due,
        diagnosis=song.diagnosis,
        action_plan=song.action_plan,
        created_by_id=_actor_id(actor),
    )
    db.session.add(copy)
    db.session.flush()
    terms.refresh_song_terms(copy)
    before = {"state": song.state, "carried_over_to_id": None}
    song.state = "cancelled"
    song.cancel_reason = _("Trasladada a la temporada %(year)s (canción %(id)s).", year=target.year, id=copy.id)
    song.carried_over_to_id = copy.id
    song.carried_over = True  # standing "carried_over": late in its own season (DESIGN.md §5)
    terms.refresh_song_terms(song)
    db.session.flush()
    audit.record(
        "song_carried_over",
        "song",
        song.id,
        actor_id=_actor_id(actor),
        changes={
            "state": [before["state"], "cancelled"],
            "carried_over_to_id": [None, copy.id],
            "due_date": [song.due_date, new_due],
        },
        ip=ip,
    )
    audit.record(
        "song_created",
        "song",
        copy.id,
        actor_id=_actor_id(actor),
        changes={"carried_over_from": [None, song.id], "due_date": [None, new_due]},
        ip=ip,
    )
    return copy


def cancel_at_end(song: Song, actor: Any, reason: str, ip: str | None = None) -> Song:
    """Cancel an undelivered song at the end of its season (it counts late there). Flushes."""
    from app.domain import terms

    _require_coordinator(actor)
    _require_ending(song)
    reason = " ".join(str(reason or "").split())
    if len(reason) < 5:
        raise ValidationFailed(
            _("Escriba el motivo de la cancelación."), {"reason": [_("Obligatorio (5 caracteres o más).")]}
        )
    before = song.state
    song.state = "cancelled"
    song.cancel_reason = reason
    terms.refresh_song_terms(song)
    db.session.flush()
    audit.record(
        "song_cancelled_at_season_end",
        "song",
        song.id,
        actor_id=_actor_id(actor),
        changes={"state": [before, "cancelled"], "cancel_reason": [None, reason]},
        ip=ip,
    )
    return song


# --------------------------------------------------------------------------- final standings


@dataclass
class FinalStandings:
    season: Season
    snapshot: ChartSnapshot
    labels: list  # (LabelChartEntry, Label)
    artists: list  # (ArtistChartEntry, Artist, Label)
    badges: dict
    previous_index: dict[int, float]
    most_improved: tuple | None  # (LabelChartEntry, Label, gain)

    @property
    def podium(self) -> list:
        return self.labels[:3]


def final_snapshot(season: Season) -> ChartSnapshot | None:
    from app.domain import charts

    return charts.latest_snapshot(season.id, "final")


def final_standings(season: Season) -> FinalStandings:
    """Podium, final index and rank of every label, badges kept, most improved label, artist board."""
    from app.domain import badges as badge_rules
    from app.domain import charts

    if season.state != "closed":
        raise NotFound(
            _("La temporada %(year)s todavía no está cerrada: aún no tiene posiciones finales.", year=season.year)
        )
    snapshot = final_snapshot(season)
    if snapshot is None:
        raise NotFound(_("La temporada %(year)s no tiene listas finales.", year=season.year))
    labels = charts.label_board(snapshot)
    previous = by_year(season.year - 1)
    previous_index: dict[int, float] = {}
    if previous is not None:
        prev_snapshot = final_snapshot(previous) or charts.latest_snapshot(previous.id)
        if prev_snapshot is not None:
            previous_index = {e.label_id: e.index_value for e, _label in charts.label_board(prev_snapshot)}
    improved = None
    for entry, label in labels:
        if entry.label_id in previous_index:
            gain = entry.index_value - previous_index[entry.label_id]
            # Only a gain that shows (one decimal) improves: "mejoró −2,0 puntos" cannot be said.
            if numbers.direction(gain, 1) > 0 and (improved is None or gain > improved[2] + 1e-9):
                improved = (entry, label, gain)
    return FinalStandings(
        season=season,
        snapshot=snapshot,
        labels=labels,
        artists=charts.artist_board(snapshot),
        badges=badge_rules.season_badges(season.id),
        previous_index=previous_index,
        most_improved=improved,
    )


def rank_across_seasons(label_id: int) -> list[dict[str, Any]]:
    """The label's final rank in every closed season (oldest first), for its page."""
    from app.models import LabelChartEntry

    stmt = (
        select(Season.year, LabelChartEntry.rank, LabelChartEntry.index_value, ChartSnapshot.id)
        .join(ChartSnapshot, ChartSnapshot.season_id == Season.id)
        .join(LabelChartEntry, LabelChartEntry.snapshot_id == ChartSnapshot.id)
        .where(
            Season.state == "closed",
            ChartSnapshot.kind == "final",
            ChartSnapshot.complete.is_(True),
            LabelChartEntry.label_id == label_id,
        )
        .order_by(Season.year, ChartSnapshot.id.desc())
    )
    rows: dict[int, dict[str, Any]] = {}
    for year, rank, index_value, _sid in db.session.execute(stmt):
        rows.setdefault(year, {"year": year, "rank": rank, "index": index_value})
    return list(rows.values())
