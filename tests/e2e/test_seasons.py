"""Issue 16 in a real browser: planning into next year, closing a season, its final standings.

A territorial user plans a song due next January (next year's season is in planning);
a coordinator closes a season that has ended from the UI and the final standings page
shows the podium.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = pytest.mark.e2e

TERRITORIAL = "territorial1@sinfonia.demo"
COORDINATOR = "coordinador@sinfonia.demo"


def _next_january_business_day() -> tuple[date, date]:
    from app.domain.calendar import is_business_day, today

    due = date(today().year + 1, 1, 19)
    while not is_business_day(due):
        due += timedelta(days=1)
    return today(), due


def _next_season_and_a_fresh_municipality(live) -> str:
    """Next year's season exists (it opens by itself on 1 October; before that the admin
    creates it), and a municipality of territorial1's label without songs (no duplicate warning)."""
    from app.domain import seasons
    from app.models import Department, Municipality, Song, User

    def prepare(session):
        nxt = seasons.today().year + 1
        seasons.open_next(on=max(seasons.today(), seasons.opening_day(nxt)))
        session.commit()
        user = session.scalar(select(User).where(User.email == TERRITORIAL))
        used = select(Song.municipality_id)
        return session.scalar(
            select(Municipality.name)
            .join(Department)
            .where(Department.label_id == user.label_id, Municipality.id.not_in(used))
            .order_by(Municipality.code)
            .limit(1)
        )

    return live.query(prepare)


def _a_season_in_closing(live) -> int:
    """A season whose year has ended and whose closing period still runs: four years back,
    with a copy of the reviewed songs of the season after it (dates a year earlier)."""
    from app.domain import seasons
    from app.domain.terms import refresh_song_terms
    from app.models import Season, Song

    def prepare(session):
        year = seasons.today().year - 4
        season = seasons.by_year(year) or seasons.new_season(year)
        source = session.scalar(select(Season).where(Season.year == year + 1))
        year_back = timedelta(days=364)  # same weekday a year earlier
        for song in session.scalars(select(Song).where(Song.season_id == source.id, Song.state == "reviewed")):
            if (song.due_date - year_back).year != year:
                continue
            copy = Song(
                season_id=season.id,
                label_id=song.label_id,
                artist_id=song.artist_id,
                album_id=song.album_id,
                municipality_id=song.municipality_id,
                department_id=song.department_id,
                state="delivered",
                scope=song.scope,
                planned_start=song.planned_start - year_back,
                due_date=song.due_date - year_back,
                delivered_on=song.delivered_on - year_back,
                product=song.product,
                beneficiaries=song.beneficiaries,
            )
            session.add(copy)
            session.flush()
            refresh_song_terms(copy)
        session.commit()
        assert season.state == "closing"
        return year

    return live.query(prepare)


def test_plan_next_january_then_close_a_season_and_see_its_podium(pages, live_server):
    municipality = _next_season_and_a_fresh_municipality(live_server)
    start, due = _next_january_business_day()

    # A territorial user plans a song due next January.
    page = pages.login(pages.new(), TERRITORIAL)
    page.goto("/songs/new")
    page.select_option(
        "select#artist_id", page.locator("select#artist_id option:not([value=''])").first.get_attribute("value")
    )
    page.select_option(
        "select#album_id", page.locator("select#album_id option:not([value=''])").first.get_attribute("value")
    )
    page.fill("#municipality", municipality)
    page.fill("#scope", "Acompañamiento al plan de desarrollo del próximo año (prueba e2e)")
    page.fill("#planned_start", start.isoformat())
    page.fill("#due_date", due.isoformat())
    page.get_by_role("button", name="Planear canción").click()
    expect(page).to_have_url(re.compile(r"/songs/\d+$"))
    expect(page.locator("h1")).to_contain_text(municipality)
    expect(page.locator("main")).to_contain_text(str(due.year))
    pages.shot(page, "1-planned-next-year")

    # The coordinator closes a season from the UI; the final standings show the podium.
    year = _a_season_in_closing(live_server)
    coordinator = pages.login(pages.new(), COORDINATOR)
    coordinator.goto("/seasons")
    coordinator.get_by_role("link", name=f"Cerrar temporada {year}").click()
    expect(coordinator).to_have_url(re.compile(rf"/seasons/{year}/close$"))
    coordinator.get_by_role("button", name=f"Sí, cerrar la temporada {year}").click()
    expect(coordinator).to_have_url(re.compile(rf"/seasons/{year}/final$"))
    expect(coordinator.get_by_role("heading", name="Podio")).to_be_visible()
    expect(coordinator.locator("ol.podium > li")).to_have_count(3)
    expect(coordinator.locator("ol.podium > li").first).to_contain_text("1.º")
    pages.shot(coordinator, "2-final-standings")
    coordinator.goto("/seasons")
    expect(coordinator.locator("tr", has_text=str(year)).first).to_contain_text("Cerrada")
