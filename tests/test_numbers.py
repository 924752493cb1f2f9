"""One es-CO number formatter for every page (issue 21): app/numbers.py and its filters."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from app import numbers


@pytest.fixture
def es(app):
    with app.test_request_context(), force_locale("es"):
        yield


def test_numbers_in_colombian_style(es):
    assert numbers.number(1234.5, 1) == "1.234,5"
    assert numbers.number(None) == "—"
    assert numbers.decimal(0.35) == "0,35"
    assert numbers.decimal(0.6) == "0,6"
    assert numbers.decimal(100.0) == "100"
    assert numbers.decimal(1234.5) == "1.234,5"
    assert numbers.input_decimal(0.6) == "0,6"
    assert numbers.input_decimal(1234.5) == "1234,5", "no thousands separator in a text box"
    assert numbers.input_decimal("0.7") == "0.7", "what the user typed is shown back as typed"
    assert numbers.input_decimal(None) == ""
    assert numbers.score(0.8125) == "0,81"
    assert numbers.score(None) == "sin datos"


def test_percent_never_reads_all_or_nothing_when_it_is_not(es):
    assert numbers.percent(0.375) == "38 %"
    assert numbers.percent(1.0) == "100 %"
    assert numbers.percent(0.0) == "0 %"
    assert numbers.percent(0.997) == "99,7 %", "just under the target is not 100 %"
    assert numbers.percent(0.9999) == "99,99 %"
    assert numbers.percent(0.003) == "0,3 %", "a little is not nothing"
    assert numbers.percent(1.25) == "125 %"
    assert numbers.percent(None) == "sin datos"


def test_a_change_that_rounds_to_zero_has_no_sign(es):
    assert numbers.signed(-0.001, 2) == "0,00" and numbers.direction(-0.001, 2) == 0
    assert numbers.signed(-0.4, 2) == "−0,40" and numbers.direction(-0.4, 2) == -1
    assert numbers.signed(1.25, 2) == "+1,25" and numbers.direction(1.25, 2) == 1
    assert numbers.signed(3) == "+3"
    assert numbers.signed(None) == "—"


def test_english_keeps_its_own_style(app):
    with app.test_request_context(), force_locale("en"):
        assert numbers.number(1234.5, 1) == "1,234.5"
        assert numbers.decimal(0.35) == "0.35"


def test_season_weights_and_album_weights_show_decimal_commas(client, auth, world):
    from app.extensions import db

    world.season.declaration_window_days = 10  # the test world's is open wide, beyond the form's range
    db.session.commit()
    auth.login(world.admin)
    page = client.get(f"/admin/seasons/{world.season.id}").get_data(as_text=True)
    values = re.findall(r'inputmode="decimal" required value="([^"]*)"', page)
    assert values and not [v for v in values if "." in v], values
    assert "0,4" in values and "0,35" in values, values
    album = client.get(f"/admin/albums/{world.album_inn.id}").get_data(as_text=True)
    assert re.search(r'id="weight"[^>]*value="\d+(,\d+)?"', album), "album weight without a dot"
    # Saving the form as shown keeps the weights (the parser reads the decimal comma).
    form = dict(re.findall(r'name="(\w+)" inputmode="(?:decimal|numeric)" required value="([^"]*)"', page))
    form["csrf_token"] = ""
    response = client.post(f"/admin/seasons/{world.season.id}", data=form)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:400]
    db.session.refresh(world.season)
    assert world.season.index_quality_weight == pytest.approx(0.4)


DOT_DECIMAL = re.compile(r"(?<![\d.,])\d+\.(?!\d{3}(?!\d))\d+")  # "0.4", "129.7"; not "1.234" (es-CO thousands)


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_formulas_show_the_seasons_own_weights_in_colombian_style(client, auth, world):
    """Issue 21: the formulas on the song page and the breakdowns are the season's (not a copy of
    the defaults), with decimal commas, also for a label without a target ("100 · (0.4 · …")."""
    from datetime import date

    from app.domain import charts
    from app.extensions import db
    from tests.factories import make_song

    season = world.season
    season.points_quality_weight, season.points_timeliness_weight, season.approval_threshold = 0.7, 0.3, 0.6
    db.session.commit()
    song = make_song(world, state="reviewed", due=date(2024, 4, 10), delivered_on=date(2024, 4, 2), review=(3, 3, 3, 4))
    make_song(world, state="reviewed", due=date(2024, 4, 10), delivered_on=date(2024, 4, 3), review=(5, 5, 5, 5))
    charts.recompute_charts(season, as_of=date(2024, 6, 1))
    auth.login(world.coordinator)
    pages = {
        "song": client.get(f"/songs/{song.id}"),
        "label": client.get(f"/charts/labels/{world.label_a.id}/breakdown?season=2024"),  # no target: two terms
        "artist": client.get(f"/charts/artists/{world.artist_a.id}/breakdown?season=2024"),
    }
    text = {name: _visible_text(response.get_data(as_text=True)) for name, response in pages.items()}
    assert all(r.status_code == 200 for r in pages.values())
    assert "100 · (0,7·Q + 0,3·T) · E · peso del álbum, si la rúbrica aprueba (R ≥ 0,6)" in text["song"]
    assert "R = 0,56 · no aprobada" in text["song"], "R 0,5625 is below this season's 0,6"
    assert "round(100 · (0,7·Q + 0,3·T) · E · peso del álbum) si la rúbrica aprueba (R ≥ 0,6)" in text["artist"]
    assert "Índice = 100 · (0,4 · " in text["label"] and "/ (0,4 + 0,35)" in text["label"]
    assert "revisadas con R ≥ 0,6" in text["label"]
    for name, shown in text.items():
        assert not DOT_DECIMAL.findall(shown), (name, DOT_DECIMAL.findall(shown))


def test_counts_in_plural_messages_are_grouped_too(app):
    """Issue 21: "%(num)s canciones" in a template reads "1.017 canciones" (Jinja would put the raw
    count), in English "1,017 songs"; other placeholders of the message still work."""
    template = app.jinja_env.from_string(
        "{{ ngettext('%(num)s canción', '%(num)s canciones', n) }}|{{ ngettext('%(num)s alerta', '%(num)s alertas', 1) }}"
    )
    with app.test_request_context(), force_locale("es"):
        assert template.render(n=1017) == "1.017 canciones|1 alerta"
    with app.test_request_context(), force_locale("en"):
        assert template.render(n=1017) == "1,017 songs|1 alert"
