"""Boards that feel alive (issue 21): the viewer's label highlighted with "puesto X de N"
and its progress to the next badges; breakdowns without links a territorial user cannot open."""

from __future__ import annotations

import re
from datetime import date

from app.domain import charts, next_badges
from tests.factories import add_playlist, make_song


def _board(world):
    for day in (1, 2, 3):
        make_song(world, state="reviewed", due=date(2024, 4, 10), delivered_on=date(2024, 4, day), review=(5, 5, 5, 5))
    make_song(
        world,
        artist=world.artist_b,
        state="reviewed",
        due=date(2024, 4, 1),
        delivered_on=date(2024, 4, 1),
        review=(3, 3, 3, 3),
    )
    add_playlist(world, world.label_a, 5)
    charts.recompute_charts(world.season, as_of=date(2024, 6, 1))


def test_the_viewers_label_is_highlighted_with_its_rank_of_all(client, auth, world):
    _board(world)
    auth.login(world.territorial_a)
    html = client.get("/charts?season=2024").get_data(as_text=True)
    own = html[html.index('class="card own-standing"') : html.index("</section>", html.index("own-standing"))]
    assert world.label_a.name in own and re.search(r"Puesto 1 de 2", own)
    # The movement reads as words in the sentence, not a bare "=" (no closing yet: new).
    assert "nueva en la lista</span>" in own and 'aria-hidden="true">=' not in own
    rows = re.findall(r'<tr id="label-(\d+)"( class="own-row")?>', html)
    assert (str(world.label_a.id), ' class="own-row"') in rows and (str(world.label_b.id), "") in rows
    # Another label's user sees their own label highlighted: the cached board is per label.
    auth.login(world.territorial_b)
    html = client.get("/charts?season=2024").get_data(as_text=True)
    assert re.search(r"Puesto 2 de 2", html)
    assert f'<tr id="label-{world.label_b.id}" class="own-row">' in html
    assert f'<tr id="label-{world.label_a.id}" class="own-row">' not in html
    # The coordination has no label of its own: no card, no highlight.
    auth.login(world.coordinator)
    html = client.get("/charts?season=2024").get_data(as_text=True)
    assert "own-standing" not in html and "own-row" not in html


def test_progress_to_the_next_badges(app, client, auth, world):
    _board(world)
    world.season.badge_gold_songs = 4
    world.season.badge_punctuality_streak = 5
    with app.test_request_context():
        progress = {p.badge: p for p in next_badges.label_progress(world.season, world.label_a.id)}
        shares = [p.share for p in next_badges.label_progress(world.season, world.label_a.id)]
    assert (progress["gold"].have, progress["gold"].need) == (3, 4)
    assert (progress["punctuality"].have, progress["punctuality"].need) == (3, 5)
    assert "full_tour" not in progress, "held since the recompute: not listed as a next badge"
    assert shares == sorted(shares, reverse=True), "closest first"
    assert (progress["hit"].have, progress["hit"].need) == (0, 1)
    assert (progress["full_playlist"].have, progress["full_playlist"].need) == (3, 5)
    auth.login(world.territorial_a)
    charts.recompute_charts(world.season, as_of=date(2024, 6, 2))
    html = client.get("/charts?season=2024").get_data(as_text=True)
    assert "Próximos logros" in html
    assert re.search(r'<progress max="4" value="3"[^>]*>', html), "gold: 3 of 4"
    assert "3 de 4" in html


def test_breakdowns_link_only_the_songs_the_viewer_may_open(client, auth, world):
    _board(world)
    auth.login(world.territorial_a)
    other = client.get(f"/charts/labels/{world.label_b.id}/breakdown?season=2024").get_data(as_text=True)
    assert "/songs/" not in other, "no links to another label's songs (each would be a 403)"
    assert re.search(r"#\d+", other)
    own = client.get(f"/charts/labels/{world.label_a.id}/breakdown?season=2024").get_data(as_text=True)
    assert re.search(r'href="/songs/\d+"', own)
    album = client.get(f"/charts/albums/{world.album_inn.id}/breakdown?season=2024").get_data(as_text=True)
    linked = set(re.findall(r'href="/songs/(\d+)"', album))
    from app.extensions import db
    from app.models import Song

    assert linked and all(db.session.get(Song, int(i)).label_id == world.label_a.id for i in linked)
    auth.login(world.coordinator)
    other = client.get(f"/charts/labels/{world.label_b.id}/breakdown?season=2024").get_data(as_text=True)
    assert re.search(r'href="/songs/\d+"', other), "the coordination may open every song"


def test_tv_marks_the_viewers_label_and_pages_text(client, auth, world):
    _board(world)
    auth.login(world.territorial_b)
    html = client.get("/charts/tv?season=2024").get_data(as_text=True)
    assert html.count('class="own-row"') >= 1
    assert 'data-page-text="Página %(n)s de %(t)s"' in html
