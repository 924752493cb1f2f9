"""The song rules of DESIGN.md §3, once, over plain values (issue 14).

``lifecycle`` (the UI and the JSON API) calls these with values it looked up
through the ORM; the importer calls them with its preloaded dictionaries, row by
row, so a file and the API accept and refuse exactly the same songs. Every limit
and every message lives here. The functions are pure: no database, no clock
(``today`` is an argument: the Bogotá date, ``calendar.today``-style).

Each check returns a list of ``Problem(field, message)``; the callers turn them
into ``ValidationFailed`` details (API/UI) or ``RowError``s naming the column
(import). Field names are the API's; the importer maps them to its columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.domain.calendar import BOGOTA, business_days_between, is_business_day
from app.i18n import _

MAX_TEXT = 5000  # scope, product, diagnosis, action plan, reasons
MAX_BENEFICIARIES = 1_000_000  # public servants reached by one assistance
DEFAULT_MAX_DURATION_DAYS = 180  # album setting (Album.max_duration_days)
DEFAULT_DECLARATION_WINDOW = 10  # season setting, business days (Season.declaration_window_days)
DUPLICATE_WINDOW_DAYS = 90  # same municipality, any album, cancelled included
MAX_SYNC_DELAY_DAYS = 5  # business days an offline delivery may wait for a connection (issue 22)
DEVICE_CLOCK_TOLERANCE = timedelta(minutes=10)  # a device clock this far ahead is "in the future"

# Why a late cancellation is not the team's doing (DESIGN.md §3): a coordinator picks one.
LATE_CANCEL_REASONS = ("municipality_withdrew", "public_order", "force_majeure", "electoral_restriction")


def late_cancel_reason_names() -> dict[str, str]:
    return {
        "municipality_withdrew": _("La alcaldía retiró la solicitud"),
        "public_order": _("Situación de orden público"),
        "force_majeure": _("Fuerza mayor o caso fortuito"),
        "electoral_restriction": _("Restricción por ley de garantías electorales"),
    }


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def _fmt(day: date) -> str:
    return f"{day:%d/%m/%Y}"


# --------------------------------------------------------------------------- values


def check_text(field: str, value: str | None, *, required: bool) -> list[Problem]:
    if not value:
        return [Problem(field, _("Este campo es obligatorio."))] if required else []
    if len(value) > MAX_TEXT:
        return [Problem(field, _("Máximo %(n)s caracteres (tiene %(has)s).", n=MAX_TEXT, has=len(value)))]
    return []


def check_beneficiaries(value: int | None, *, required: bool) -> list[Problem]:
    if value is None:
        return [Problem("beneficiaries", _("Este campo es obligatorio."))] if required else []
    if value < 0:
        return [Problem("beneficiaries", _("Debe ser mayor o igual que 0."))]
    if value > MAX_BENEFICIARIES:
        return [
            Problem(
                "beneficiaries", _("Máximo %(n)s servidores públicos.", n=f"{MAX_BENEFICIARIES:,}".replace(",", "."))
            )
        ]
    return []


# --------------------------------------------------------------------------- territory


def check_territory(
    *,
    actor_role: str | None,
    actor_label_id: int | None,
    artist_label_id: int,
    municipality_label_id: int | None,
) -> list[Problem]:
    """Who may plan which song where (DESIGN.md §1; issue 19 item 15).

    Territorial users plan only for artists of their own label. For everyone,
    coordinators included, the municipality must lie in a department the
    artist's label covers: a label's songs are its own territory's, whoever
    records them (a coordinator who needs another territory moves the song to
    an artist of the label that covers it).
    """
    problems = []
    if actor_role == "territorial" and actor_label_id != artist_label_id:
        problems.append(
            Problem("artist_id", _("Solo puede registrar canciones de los artistas (equipos) de su propia disquera."))
        )
    if municipality_label_id != artist_label_id:
        problems.append(
            Problem(
                "municipality_id", _("El municipio no está en un departamento que atienda la disquera del artista.")
            )
        )
    return problems


# --------------------------------------------------------------------------- dates


def check_due_date(
    planned_start: date | None,
    due: date | None,
    *,
    max_duration_days: int = DEFAULT_MAX_DURATION_DAYS,
    coordinator: bool = False,
) -> list[Problem]:
    """A due date is a business day, not before the planned start, and at most the album's
    maximum duration after it (a coordinator may set a later one: that is the approval)."""
    if planned_start is None or due is None:
        return []
    if due < planned_start:
        return [Problem("due_date", _("La fecha de compromiso no puede ser anterior al inicio planeado."))]
    problems = []
    if not is_business_day(due):
        problems.append(
            Problem(
                "due_date",
                _("La fecha de compromiso %(d)s no es un día hábil (sábado, domingo o festivo).", d=_fmt(due)),
            )
        )
    latest = planned_start + timedelta(days=max_duration_days)
    if due > latest and not coordinator:
        problems.append(
            Problem(
                "due_date",
                _(
                    "La fecha de compromiso supera la duración máxima del álbum (%(n)s días después del inicio, "
                    "hasta el %(d)s); una fecha posterior la fija la coordinación.",
                    n=max_duration_days,
                    d=_fmt(latest),
                ),
            )
        )
    return problems


def earliest_declarable(today: date, window_days: int) -> date:
    """The earliest delivery date that may be declared today without a coordinator."""
    day, left = today, window_days
    while left > 0:
        day -= timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def check_delivery_date(
    delivered_on: date | None,
    *,
    today: date,
    window_days: int = DEFAULT_DECLARATION_WINDOW,
    coordinator: bool = False,
    returned_on: date | None = None,
) -> list[Problem]:
    """The declared delivery date (DESIGN.md §3): not in the future; at most the season's
    declaration window (business days) before today unless a coordinator records it; a
    re-delivery after a return is dated on or after the return.

    A delivery before the planned start is allowed (the work may start earlier than
    planned): ``lifecycle`` then moves the planned start back to it, audited.
    """
    if delivered_on is None:
        return []
    if delivered_on > today:
        return [Problem("delivered_on", _("La fecha de entrega no puede estar en el futuro."))]
    if returned_on is not None and delivered_on < returned_on:
        return [
            Problem(
                "delivered_on",
                _(
                    "Una canción devuelta se mide en su nueva entrega: la fecha no puede ser anterior a la "
                    "devolución (%(d)s).",
                    d=_fmt(returned_on),
                ),
            )
        ]
    earliest = earliest_declarable(today, window_days)
    if delivered_on < earliest and not coordinator:
        return [
            Problem(
                "delivered_on",
                _(
                    "La fecha de entrega puede ser como máximo %(n)s días hábiles anterior al registro "
                    "(desde el %(d)s); una fecha anterior la registra la coordinación.",
                    n=window_days,
                    d=_fmt(earliest),
                ),
            )
        ]
    return []


def recording_day(
    recorded_at: datetime | None,
    *,
    today: date,
    now: datetime,
    max_delay_days: int = MAX_SYNC_DELAY_DAYS,
) -> tuple[date, list[Problem]]:
    """The day a delivery counts as recorded, from which its declaration window is measured
    (DESIGN.md §3, §9; issue 22), and the problems with the device's clock.

    Online (``recorded_at`` None) it is ``today``, the server's Bogotá date. A delivery recorded
    offline counts from the device's recorded time (in Bogotá), so waiting for a signal costs the
    team nothing, but only within a bounded sync delay: at most ``max_delay_days`` business days
    before the server received it. A device time older than that (offline longer, or a clock set
    back) counts as that bound, so back-dating a device clock gains at most the bound and never
    lets a date through that the window plus the bound refuses. A device clock ahead of the
    server's ``now`` (beyond ``DEVICE_CLOCK_TOLERANCE``) is refused: nothing is recorded in the
    future. A time without a UTC offset is refused too (a device always knows its offset).
    """
    if recorded_at is None:
        return today, []
    if recorded_at.tzinfo is None:
        return today, [Problem("recorded_at", _("La hora de registro del dispositivo debe indicar su zona horaria."))]
    if recorded_at > now + DEVICE_CLOCK_TOLERANCE:
        local = recorded_at.astimezone(BOGOTA)
        return today, [
            Problem(
                "recorded_at",
                _(
                    "El reloj del dispositivo está adelantado: dice que la entrega se registró el %(d)s a las %(t)s, "
                    "después de la hora del servidor. Ponga en hora el dispositivo y vuelva a sincronizar.",
                    d=_fmt(local.date()),
                    t=f"{local:%H:%M}",
                ),
            )
        ]
    device_day = recorded_at.astimezone(BOGOTA).date()
    return max(min(device_day, today), earliest_declarable(today, max_delay_days)), []


def cancelled_late(committed_due: date, today: date) -> bool:
    """A cancellation after the committed due date counts as late (DESIGN.md §3)."""
    return business_days_between(committed_due, today) > 0


def check_late_cancel_reason(reason: str | None) -> list[Problem]:
    if reason not in LATE_CANCEL_REASONS:
        names = late_cancel_reason_names()
        return [Problem("reason", _("Elija uno de los motivos: %(list)s.", list="; ".join(map(str, names.values()))))]
    return []


def duplicate_window(planned_start: date) -> tuple[date, date]:
    window = timedelta(days=DUPLICATE_WINDOW_DAYS)
    return planned_start - window, planned_start + window
