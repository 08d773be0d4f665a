"""The progress chart (analytics.charts.progress.score_chart and views.couple.progress_chart),
tested on fig.to_dict(): both partners, the distressed range, reliable-change rings at the
check-in where the clinical SQL says the change happened, sessions with their (escaped) notes
and safety answers on the time axis."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from analytics.charts.progress import PARTNER_COLOURS, WORSE_COLOUR, TimeMark, score_chart
from analytics.practice import sessions
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.couple import couple_overview, progress_chart
from tests import factories

DAY = dt.datetime(2026, 2, 2, 9, 0)
NAMES = {"A": "Ann (A)", "B": "Bo (B)"}


def _scores(a: list[float], b: list[float]) -> pd.DataFrame:
    rows = [
        {"partner": p, "completed_at": DAY + dt.timedelta(weeks=i), "score": s, "band": "Low"}
        for p, values in (("A", a), ("B", b))
        for i, s in enumerate(values)
    ]
    return pd.DataFrame(rows)


def _partners(fig: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in fig["data"] if "meta" not in t]


def _chart(**kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("scores", _scores([2, 3], [5, 5]))
    return score_chart(
        kwargs.pop("scores"),
        NAMES,
        scale_label="Trust",
        score_range=(0.0, 6.0),
        title="Trust over time",
        **kwargs,
    ).to_dict()


def test_both_partners_in_their_colours_and_the_hover_says_what_a_score_means() -> None:
    fig = _chart(cutoff=4.0)
    a, b = _partners(fig)
    assert [a["name"], b["name"]] == ["Ann (A)", "Bo (B)"]
    assert [a["line"]["color"], b["line"]["color"]] == [PARTNER_COLOURS["A"], PARTNER_COLOURS["B"]]
    assert a["line"]["dash"] == "solid" and b["line"]["dash"] == "dash"
    assert "02 Feb 2026: 2.0 on Trust" in a["hovertext"][0]
    assert "Range: Low" in a["hovertext"][0]
    assert "In the distressed range (below the cutoff 4)" in a["hovertext"][0]
    assert "Outside the distressed range (at or above the cutoff 4)" in b["hovertext"][0]
    assert fig["layout"]["paper_bgcolor"] == fig["layout"]["plot_bgcolor"] == "rgba(0,0,0,0)"


@pytest.mark.parametrize(
    ("direction", "y0", "y1", "words"),
    [
        ("higher_better", -0.24, 2.5, "distressed range (below 2.5)"),
        ("higher_worse", 2.5, 6.24, "distressed range (above 2.5)"),
    ],
)
def test_the_distressed_range_is_shaded_on_the_worse_side_and_named(
    direction: str, y0: float, y1: float, words: str
) -> None:
    fig = _chart(cutoff=2.5, direction=direction)
    (band,) = [s for s in fig["layout"]["shapes"] if s.get("name") == "distressed_range"]
    assert band["y0"] == pytest.approx(y0) and band["y1"] == pytest.approx(y1)
    assert [a["text"] for a in fig["layout"]["annotations"]] == [words]


def test_no_cutoff_no_shading() -> None:
    fig = _chart(cutoff=None)
    assert not fig["layout"].get("shapes") and not fig["layout"].get("annotations")
    assert "No published cutoff for this scale" in _partners(fig)[0]["hovertext"][0]


def _steps(partner: str, values: list[float], categories: list[str]) -> pd.DataFrame:
    """checkin_change rows for one partner: baseline the first value, previous the lag."""
    return pd.DataFrame(
        {
            "partner": partner,
            "completed_at": [DAY + dt.timedelta(weeks=i) for i in range(len(values))],
            "baseline": values[0],
            "score": values,
            "category": categories,
            "previous_category": [None, *categories[:-1]],
        }
    )


def test_reliable_change_rings_the_check_in_from_which_it_held() -> None:
    """A: better beyond noise at week 1, within noise at week 2, better again from week 3 (ringed
    and labelled once, at week 3: from there it held). B: worse at week 1, back within noise at
    week 2 (no ring: it no longer holds)."""
    steps = pd.concat(
        [
            _steps(
                "A",
                [2, 4, 3, 5, 5],
                ["not_enough_data", "improved", "unchanged"] + ["improved"] * 2,
            ),
            _steps("B", [5, 3, 4], ["not_enough_data", "deteriorated", "unchanged"]),
        ]
    )
    fig = _chart(scores=_scores([2, 4, 3, 5, 5], [5, 3, 4]), steps=steps)
    a, b = _partners(fig)
    assert list(a["marker"]["line"]["width"]) == [0, 0, 0, 3, 0]
    assert set(b["marker"]["line"]["width"]) == {0}
    assert "better beyond measurement noise, and so at every check-in since" in a["hovertext"][3]
    (note,) = fig["layout"]["annotations"]
    assert note["text"] == "A: better beyond noise from here" and note["y"] == 5.0


def test_a_reliable_worsening_is_ringed_in_its_own_colour() -> None:
    steps = _steps("B", [5, 3], ["not_enough_data", "deteriorated"])
    _, b = _partners(_chart(steps=steps, scores=_scores([2, 3], [5, 3])))
    assert list(b["marker"]["line"]["width"]) == [0, 3]
    assert b["marker"]["line"]["color"][1] == WORSE_COLOUR


def test_no_reliable_change_no_ring() -> None:
    steps = _steps("A", [2, 3], ["not_enough_data", "unchanged"])
    a, _ = _partners(_chart(steps=steps))
    assert set(a["marker"]["line"]["width"]) == {0}


def test_sessions_and_safety_answers_on_the_time_axis_with_escaped_hovers() -> None:
    marks = [
        TimeMark("session", pd.Timestamp(DAY), "Session 1<br>Note: &lt;b&gt;x&lt;/b&gt;"),
        TimeMark("safety", pd.Timestamp(DAY + dt.timedelta(days=3)), "safety answer: “Once”"),
    ]
    fig = _chart(marks=marks)
    by_meta = {t["meta"]: t for t in fig["data"] if "meta" in t}
    assert set(by_meta) == {"session", "session_lines", "safety", "safety_lines"}
    assert by_meta["session"]["hovertext"] == ["Session 1<br>Note: &lt;b&gt;x&lt;/b&gt;"]
    assert by_meta["session_lines"]["line"]["dash"] == "dot"
    assert by_meta["safety"]["name"] == "Safety answer"
    # One vertical line per event: from the bottom of the range to the top.
    assert by_meta["safety_lines"]["y"][:2] == [pytest.approx(-0.24), pytest.approx(6.24)]


def test_a_partner_without_check_ins_is_named_in_the_legend() -> None:
    fig = _chart(scores=_scores([2], []))
    assert [t["name"] for t in _partners(fig)] == ["Ann (A)", "Bo (B): no check-ins yet"]


# --- From the database: the view reads every number from the clinical SQL --------------------


def test_view_marks_the_reliable_change_the_sql_reports(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "P-1")
    for week, level in enumerate([2, 3, 5]):
        when = DAY + dt.timedelta(weeks=week)
        factories.checkin(db, couple_id, "A", when, level)
        factories.checkin(db, couple_id, "B", when, 3)
    sessions.add_session(
        db, therapist, couple_id, DAY.date(), "both", "<b>money</b> & more", today=DAY.date()
    )
    factories.checkin(db, couple_id, "B", DAY + dt.timedelta(weeks=3), 3, safety=1)
    view = couple_overview(db, therapist, couple_id, as_of=DAY.date())
    assert view.headline_code == "global" and "consistency" in view.chart_scales
    category = db.query_value(
        "SELECT category FROM partner_scale_change(TRUE, NULL, [?])"
        " WHERE scale_code = 'global' AND partner = 'A'",
        [couple_id],
    )
    assert category in ("improved", "recovered")
    chart = progress_chart(db, therapist, couple_id, "checkin", "global", as_of=DAY.date())
    assert chart.figure is not None
    fig = chart.figure.to_dict()
    a, b = _partners(fig)
    assert list(a["marker"]["line"]["width"]) == [0, 0, 3]
    assert set(b["marker"]["line"]["width"]) == {0}
    by_meta = {t["meta"]: t for t in fig["data"] if "meta" in t}
    (session,) = by_meta["session"]["hovertext"]
    assert "&lt;b&gt;money&lt;/b&gt; &amp; more" in session and "<b>money" not in session
    (safety,) = by_meta["safety"]["hovertext"]
    assert safety.startswith("Partner B") and "safety answer: “Once”" in safety
    assert any(a["text"] == "distressed range (below 4)" for a in fig["layout"]["annotations"])
    assert chart.notes == []
    # The ring sits where the SQL's check-in-by-check-in change last turned reliable.
    steps = db.query_df(
        "SELECT category FROM checkin_change(TRUE, NULL, [?])"
        " WHERE scale_code = 'global' AND partner = 'A' ORDER BY completed_at",
        [couple_id],
    )
    held = steps["category"].tolist()
    start = max(i for i, c in enumerate(held) if c != held[-1]) + 1
    assert [3 if i == start else 0 for i in range(3)] == list(a["marker"]["line"]["width"])


def test_checkin_change_ends_where_scale_change_does(db: Database, therapist: Actor) -> None:
    """The last check-in's row of checkin_change is scale_change's row: one rule for both."""
    couple_id = factories.couple(db, therapist, "P-3")
    for week, (a, b) in enumerate([(1, 5), (3, 4), (5, 2), (4, 1)]):
        when = DAY + dt.timedelta(weeks=week)
        factories.checkin(db, couple_id, "A", when, a, barriers=b)
        factories.checkin(db, couple_id, "B", when, b, barriers=a)
    rows = db.query_rows(
        "WITH last AS (SELECT * FROM checkin_change(TRUE, NULL, [?]) QUALIFY row_number() OVER"
        " (PARTITION BY partner_id, instrument_code, scale_code ORDER BY completed_at DESC) = 1)"
        " SELECT l.category, x.category, l.score, x.latest, l.baseline, x.baseline FROM last l"
        " JOIN scale_change(TRUE, NULL, [?]) x USING (partner_id, instrument_code, scale_code)",
        [couple_id, couple_id],
    )
    assert len(rows) == 26
    assert all(r[0] == r[1] and r[2] == r[3] and r[4] == r[5] for r in rows)
    assert {r[0] for r in rows} >= {"improved", "deteriorated"}


def test_view_thin_data_notes(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "P-2")
    factories.checkin(db, couple_id, "A", DAY, 3)
    chart = progress_chart(db, therapist, couple_id, "checkin", "consistency", as_of=DAY.date())
    assert chart.figure is not None
    assert chart.notes == [
        "Partner B has no check-ins on this scale yet: only partner A is shown.",
        "One check-in so far: change since the first check-in, and whether it is beyond"
        " measurement noise, needs a second check-in.",
        "This scale has no published cutoff (nor the norms to work one out): no distressed"
        " range is shaded.",
    ]
    assert not chart.figure.to_dict()["layout"].get("shapes")
    empty = progress_chart(db, therapist, couple_id, "checkin", "no_such_scale", as_of=DAY.date())
    assert empty.figure is None and empty.notes


def test_view_marks_repair_milestones_on_the_time_axis(db: Database, therapist: Actor) -> None:
    """Each day a milestone changed is marked (names escaped); opening rows mark nothing."""
    from analytics.practice import repair

    couple_id = factories.couple(db, therapist, "P-4")
    factories.checkin(db, couple_id, "A", DAY, 3)
    factories.checkin(db, couple_id, "B", DAY, 3)
    today = (DAY + dt.timedelta(weeks=4)).date()
    case = repair.open_case(
        db,
        therapist,
        couple_id,
        hurt_partner="B",
        description="x",
        started_on=DAY.date(),
        today=today,
    )
    for status, week in (("in_progress", 1), ("reached", 2)):
        repair.record_change(
            db,
            therapist,
            case,
            milestone=1,
            status=status,
            effective_on=(DAY + dt.timedelta(weeks=week)).date(),
            today=today,
        )
    chart = progress_chart(db, therapist, couple_id, "checkin", "global", as_of=today)
    assert chart.figure is not None
    by_meta = {t["meta"]: t for t in chart.figure.to_dict()["data"] if "meta" in t}
    marks = by_meta["repair"]
    assert marks["name"] == "Repair milestone" and len(marks["x"]) == 2
    assert marks["hovertext"][0].endswith("Acknowledgment: in progress")
    assert marks["hovertext"][1].endswith("Acknowledgment: reached")
