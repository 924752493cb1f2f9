"""Achievements (badges) of DESIGN.md §4, computed set-based for a whole season.

- Disco de oro / platino: reviewed songs with Q ≥ threshold (10 / 25 by default).
- Gira completa: a credited song in every department the label covers.
- Éxito: a song with S = 1 and R ≥ 0.75.
- Puntualidad: 10 consecutive on-time deliveries of credited songs, ordered by delivery date.
- Playlist completa: Progress = 1 (credited songs).

Every count is a GROUP BY over the stored per-song terms. The punctuality streak
uses window functions ("gaps and islands": the difference of two ROW_NUMBER()s
is constant along a run of equal ``on_time`` values), so it is one SQL statement
for all labels — no Python pass over the songs — on SQLite (≥ 3.25) and
PostgreSQL alike.

Badges follow the songs behind them (DESIGN.md §4): every snapshot re-derives
them, so a badge whose songs were returned or cancelled is withdrawn; one still
earned keeps its ``awarded_at`` (the first recompute that found it). A closed
season is not recomputed any more, so its final snapshot's badges stay for good.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select

from app import numbers
from app.extensions import db
from app.i18n import _l
from app.models import BadgeAward, Department, Season, Song
from app.models.songs import Standing

EPS = 1e-9

BADGES = ("gold", "platinum", "full_tour", "hit", "punctuality", "full_playlist")

BADGE_NAMES = {
    "gold": _l("Disco de oro"),
    "platinum": _l("Disco de platino"),
    "full_tour": _l("Gira completa"),
    "hit": _l("Éxito"),
    "punctuality": _l("Puntualidad"),
    "full_playlist": _l("Playlist completa"),
}

BADGE_ICONS = {
    "gold": "🥇",
    "platinum": "💿",
    "full_tour": "🚌",
    "hit": "⭐",
    "punctuality": "⏱",
    "full_playlist": "✅",
}


def badge_description(badge: str, season: Season) -> str:
    descriptions = {
        "gold": _l(
            "%(n)s canciones revisadas con calidad ≥ %(q)s",
            n=season.badge_gold_songs,
            q=numbers.decimal(season.badge_quality_threshold),
        ),
        "platinum": _l(
            "%(n)s canciones revisadas con calidad ≥ %(q)s",
            n=season.badge_platinum_songs,
            q=numbers.decimal(season.badge_quality_threshold),
        ),
        "full_tour": _l("Una canción acreditada en cada departamento que cubre la disquera"),
        "hit": _l(
            "Una canción con satisfacción 1 y revisión ≥ %(r)s", r=numbers.decimal(season.badge_hit_review_threshold)
        ),
        "punctuality": _l("%(n)s entregas seguidas a tiempo", n=season.badge_punctuality_streak),
        "full_playlist": _l("Meta anual cumplida (avance = 100 %)"),
    }
    return str(descriptions[badge])


def punctuality_streaks(season_id: int, exclude: set[int] | frozenset[int] = frozenset()) -> dict[int, int]:
    """Longest run of consecutive on-time deliveries of credited songs per label (by delivered_on, id).

    Labels in ``exclude`` (those already holding the badge) are skipped: the
    window query then only sorts the deliveries of labels still chasing it.
    """
    s = Song.__table__
    order = (s.c.delivered_on, s.c.id)
    ordered = (
        select(
            s.c.label_id,
            s.c.on_time,
            (
                func.row_number().over(partition_by=s.c.label_id, order_by=order)
                - func.row_number().over(partition_by=(s.c.label_id, s.c.on_time), order_by=order)
            ).label("grp"),
        )
        .where(
            s.c.season_id == season_id,
            s.c.standing == Standing.CREDITED.value,
            s.c.delivered_on.is_not(None),
            s.c.label_id.not_in(list(exclude)),
        )
        .subquery()
    )
    runs = (
        select(ordered.c.label_id, func.count().label("n"))
        .where(ordered.c.on_time.is_(True))
        .group_by(ordered.c.label_id, ordered.c.grp)
        .subquery()
    )
    stmt = select(runs.c.label_id, func.max(runs.c.n)).group_by(runs.c.label_id)
    return {label_id: int(n) for label_id, n in db.session.execute(stmt)}


def tour_coverage(groups: list[dict]) -> tuple[dict[int, int], dict[int, int]]:
    """(departments each label covers, of those, departments with a credited song of the label).

    ``groups`` are the recompute's per (label, artist, album, department) aggregates,
    so this needs no extra pass over the songs.
    """
    d = Department.__table__
    owner = dict(db.session.execute(select(d.c.id, d.c.label_id)).all())
    covered: dict[int, int] = {}
    for label_id in owner.values():
        if label_id is not None:
            covered[label_id] = covered.get(label_id, 0) + 1
    reached_sets: dict[int, set[int]] = {}
    for g in groups:
        if g["credited_songs"] and owner.get(g["department_id"]) == g["label_id"]:
            reached_sets.setdefault(g["label_id"], set()).add(g["department_id"])
    return covered, {label_id: len(deps) for label_id, deps in reached_sets.items()}


def earned_badges(season: Season, row: dict, covered: int, reached: int, streak: int) -> set[str]:
    """The badges a label's aggregate row earns (pure: the rules of DESIGN.md §4)."""
    earned: set[str] = set()
    if row["high_quality"] >= season.badge_gold_songs:
        earned.add("gold")
    if row["high_quality"] >= season.badge_platinum_songs:
        earned.add("platinum")
    if covered and reached >= covered:
        earned.add("full_tour")
    if row["hits"] > 0:
        earned.add("hit")
    if streak >= season.badge_punctuality_streak:
        earned.add("punctuality")
    if row["progress"] >= 1.0 - EPS and row["playlist_target"]:
        earned.add("full_playlist")
    return earned


def holders(season_id: int, badge: str) -> set[int]:
    """Labels that already hold ``badge`` in the season."""
    stmt = select(BadgeAward.label_id).where(BadgeAward.season_id == season_id, BadgeAward.badge == badge)
    return set(db.session.scalars(stmt))


def award(season: Season, earned: dict[int, set[str]], snapshot_id: int, now: datetime) -> int:
    """Re-derive the season's badges: insert the newly earned ones, withdraw those no longer
    earned (their songs were returned, cancelled or re-reviewed). Returns how many are new."""
    held = set(
        db.session.execute(select(BadgeAward.label_id, BadgeAward.badge).where(BadgeAward.season_id == season.id)).all()
    )
    now_earned = {(label_id, badge) for label_id, badges in earned.items() for badge in badges}
    for label_id, badge in sorted(held - now_earned):
        db.session.execute(
            delete(BadgeAward).where(
                BadgeAward.season_id == season.id, BadgeAward.label_id == label_id, BadgeAward.badge == badge
            )
        )
    rows = [
        {"season_id": season.id, "label_id": label_id, "badge": badge, "awarded_at": now, "snapshot_id": snapshot_id}
        for label_id, badge in sorted(now_earned - held)
    ]
    if rows:
        db.session.execute(insert(BadgeAward), rows)
    return len(rows)


def season_badges(season_id: int, label_id: int | None = None) -> dict[int, list[BadgeAward]]:
    """Badges of a season by label, in the order of BADGES."""
    stmt = select(BadgeAward).where(BadgeAward.season_id == season_id)
    if label_id is not None:
        stmt = stmt.where(BadgeAward.label_id == label_id)
    result: dict[int, list[BadgeAward]] = {}
    for award_row in db.session.scalars(stmt):
        result.setdefault(award_row.label_id, []).append(award_row)
    for awards in result.values():
        awards.sort(key=lambda a: BADGES.index(a.badge))
    return result
