"""How far a label is from each badge it does not hold yet (DESIGN.md §4; issue 21).

The board tells a team where it stands ("puesto 5 de 16") and what is within reach:
"Disco de oro: 7 de 10 canciones revisadas con calidad ≥ 0,75". The figures use the
same rules as the recompute (``app.domain.badges.earned_badges``) over the label's
songs of the season, so a bar at 100 % is a badge at the next recompute.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from app.domain import badges as badge_rules
from app.domain import charts
from app.extensions import db
from app.models import Department, LabelChartEntry, Season, Song
from app.models.songs import DELIVERED_STATES


@dataclass(frozen=True)
class BadgeProgress:
    badge: str
    have: int
    need: int
    description: str

    @property
    def share(self) -> float:
        return min(1.0, self.have / self.need) if self.need else 0.0


def label_progress(season: Season, label_id: int, entry: LabelChartEntry | None = None) -> list[BadgeProgress]:
    """The badges ``label_id`` still lacks in ``season``, closest first (the target and the
    delivered songs from ``entry``, else from the latest snapshot)."""
    held = {a.badge for a in badge_rules.season_badges(season.id, label_id).get(label_id, [])}
    eps = badge_rules.EPS
    s = Song.__table__
    mine = and_(s.c.season_id == season.id, s.c.label_id == label_id)
    reviewed = s.c.state == "reviewed"
    high_quality, hits, delivered = db.session.execute(
        select(
            func.count().filter(and_(reviewed, s.c.quality >= season.badge_quality_threshold - eps)),
            func.count().filter(
                and_(
                    reviewed, s.c.satisfaction >= 1.0 - eps, s.c.review_score >= season.badge_hit_review_threshold - eps
                )
            ),
            func.count().filter(s.c.state.in_(DELIVERED_STATES)),
        ).where(mine)
    ).one()
    covered = db.session.scalar(select(func.count()).select_from(Department).where(Department.label_id == label_id))
    reached = db.session.scalar(
        select(func.count(func.distinct(s.c.department_id)))
        .join(Department, Department.id == s.c.department_id)
        .where(mine, s.c.state.in_(DELIVERED_STATES), Department.label_id == label_id)
    )
    streak = badge_rules.punctuality_streaks(season.id).get(label_id, 0)
    if entry is None:
        snapshot = charts.latest_snapshot(season.id)
        entry = charts.label_entry(snapshot, label_id) if snapshot is not None else None
    target = entry.playlist_target if entry is not None else None
    if entry is not None:
        delivered = entry.delivered_songs
    candidates = [
        ("gold", high_quality, season.badge_gold_songs),
        ("platinum", high_quality, season.badge_platinum_songs),
        ("full_tour", reached or 0, covered or 0),
        ("hit", min(hits, 1), 1),
        ("punctuality", streak, season.badge_punctuality_streak),
        ("full_playlist", delivered, target or 0),
    ]
    out = [
        BadgeProgress(badge, min(have, need), need, badge_rules.badge_description(badge, season))
        for badge, have, need in candidates
        if badge not in held and need > 0
    ]
    return sorted(out, key=lambda p: (-p.share, badge_rules.BADGES.index(p.badge)))
