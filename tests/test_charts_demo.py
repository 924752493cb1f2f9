"""Explainability over the demo data (DESIGN.md §4): every figure's breakdown adds up to the board."""

from datetime import date

import pytest

from app.domain import charts
from app.web import fmt_number, fmt_percent
from seeds.demo import seed_demo


@pytest.fixture(params=["fresh", "analyzed"])
def demo(app, request):
    seed_demo(songs=300, seed=7, today=date(2024, 11, 15))
    if request.param == "analyzed":  # with planner statistics the database may pick other indexes
        from sqlalchemy import text

        from app.extensions import db

        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return charts.seasons_with_songs()


def test_every_label_artist_and_album_breakdown_adds_up(app, demo):
    assert demo, "the demo has seasons with songs"
    checked = {"labels": 0, "artists": 0, "albums": 0}
    with app.test_request_context():  # number formatting uses the request locale
        for season in demo:
            snapshot = charts.recompute_charts(season, as_of=date(2024, 11, 15))
            for entry, label in charts.label_board(snapshot):
                bd = charts.label_breakdown(season, snapshot, label.id)
                assert bd["matches"], (season.year, label.code)
                f = bd["figures"]
                # The figures as shown on the board equal the ones recomputed from the listed terms.
                assert fmt_number(f["index_value"], 1) == fmt_number(entry.index_value, 1)
                assert fmt_percent(f["quality_mean"]) == fmt_percent(entry.quality_mean)
                assert fmt_percent(f["on_time"]) == fmt_percent(entry.on_time)
                assert len(bd["delivered"]) == entry.delivered_songs
                assert len(bd["overdue"]) == entry.overdue_songs
                assert sum(s.points or 0 for s in bd["reviewed"]) <= entry.points
                checked["labels"] += 1
            for entry, artist, _label in charts.artist_board(snapshot):
                bd = charts.artist_breakdown(season, snapshot, artist.id)
                assert bd["matches"], (season.year, artist.name)
                assert sum(s.points or 0 for s in bd["songs"]) == entry.points
                checked["artists"] += 1
            for entry, album in charts.album_board(snapshot):
                bd = charts.album_breakdown(season, snapshot, album.id)
                assert bd["matches"], (season.year, album.code)
                assert len(bd["songs"]) == entry.delivered_songs
                checked["albums"] += 1
    assert checked["labels"] >= 16 and checked["artists"] >= 16 and checked["albums"] >= 6
