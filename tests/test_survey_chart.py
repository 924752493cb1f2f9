"""Survey results per question (issue 21): a server-drawn SVG chart with the same figures
in a table, for all labels or one."""

from __future__ import annotations

import re
from datetime import date

from app.charts import svg
from app.domain import survey_stats
from tests.factories import make_song


def _answered(world):
    make_song(world, state="reviewed", delivered_on=date(2024, 4, 1), review=(4, 4, 4, 4), survey=(5, 4, 3, 5, 5))
    make_song(world, state="reviewed", delivered_on=date(2024, 4, 2), review=(4, 4, 4, 4), survey=(5, 2, 3, 4, 1))
    make_song(
        world,
        artist=world.artist_b,
        state="reviewed",
        delivered_on=date(2024, 4, 3),
        review=(4, 4, 4, 4),
        survey=(1, 1, 1, 1, 1),
    )


def test_answers_are_counted_per_question_and_point_of_the_scale(world):
    _answered(world)
    q1, q2, _q3, _q4, q5 = survey_stats.answers_by_question()
    assert q1.counts == {1: 1, 2: 0, 3: 0, 4: 0, 5: 2} and q1.total == 3
    assert q2.counts == {1: 1, 2: 1, 3: 0, 4: 1, 5: 0}
    assert abs(q1.mean - 11 / 3) < 1e-9 and abs(q1.share(5) - 2 / 3) < 1e-9
    own = survey_stats.answers_by_question(world.label_a.id)
    assert own[0].counts == {1: 0, 2: 0, 3: 0, 4: 0, 5: 2}
    assert own[4].counts == {1: 1, 2: 0, 3: 0, 4: 0, 5: 1}
    assert all(q.total == 0 and q.mean is None for q in survey_stats.answers_by_question(999))


def test_stacked_bars_fill_the_row_in_proportion():
    chart = svg.stacked_bars([("P1", [(1, 1), (2, 0), (5, 3)]), ("P2", [(3, 0)])])
    first, empty = chart["rows"]
    assert [s["category"] for s in first["segments"]] == [1, 5], "empty categories draw nothing"
    widths = [s["w"] for s in first["segments"]]
    assert abs(sum(widths) - (svg.BAR_WIDTH - svg.BAR_LEFT - svg.BAR_RIGHT)) < 0.5
    assert abs(widths[1] / widths[0] - 3) < 0.01
    assert empty["segments"] == [] and empty["total"] == 0
    assert svg.stacked_bars([]) is None


def test_the_results_page_shows_the_chart_and_its_table(client, auth, world):
    _answered(world)
    auth.login(world.manager)
    html = client.get("/reviews/surveys").get_data(as_text=True)
    section = html[html.index('class="card survey-chart"') :]
    section = section[: section.index("</section>")]
    assert re.search(r'<svg [^>]*role="img" aria-labelledby="by-question-title by-question-desc"', section)
    assert section.count('class="likert-5"') >= 2 and "<title>P1 · Muy de acuerdo: 2 (67 %)</title>" in section
    assert "<table" in section and "La asistencia respondió a las necesidades" in section
    assert '2 <small class="muted">(67 %)</small>' in section
    assert not re.search(r"\sstyle=", section) and "<script" not in section
    one = client.get(f"/reviews/surveys?label={world.label_b.id}").get_data(as_text=True)
    assert "<title>P1 · Muy en desacuerdo: 1 (100 %)</title>" in one


def test_no_chart_without_answers(client, auth, world):
    auth.login(world.coordinator)
    html = client.get("/reviews/surveys").get_data(as_text=True)
    assert "survey-chart" not in html and "Todavía no hay encuestas respondidas." in html
