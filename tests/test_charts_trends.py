"""Small multiples (every scale over time) and the item drill-down: pure builders tested on
`fig.to_dict()`, and the views that feed them from the database, on a temporary database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from analytics.charts.progress import PARTNER_COLOURS, PARTNER_DASH, PARTNER_SYMBOLS
from analytics.charts.trends import item_chart, response_labels, small_multiples
from analytics.errors import CaseloadError
from analytics.instruments import lookup
from analytics.practice.access import Actor
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views.trends import NO_CHECKINS, item_trends, scale_trends
from tests import factories

NAMES = {"A": "Ann (A)", "B": "Bo (B)"}
WHEN = dt.datetime(2026, 1, 6, 9)
AGREE = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
SCALES = pd.DataFrame(
    {
        "scale_code": ["trust", "hurt", "goals"],
        "scale_label": ["Trust", "Past hurt", "Goals"],
        "direction": ["higher_better", "higher_worse", "higher_better"],
        "score_min": [0.0, 0.0, 0.0],
        "score_max": [6.0, 6.0, 6.0],
        "cutoff": [4.0, float("nan"), float("nan")],
    }
)


def _scores(*rows: tuple[str, str, int, float]) -> pd.DataFrame:
    """(scale, partner, week, score) -> score rows."""
    return pd.DataFrame(
        [
            {
                "scale_code": s,
                "partner": p,
                "completed_at": pd.Timestamp(WHEN + dt.timedelta(weeks=w)),
                "score": v,
                "band": "Mixed",
            }
            for s, p, w, v in rows
        ]
    )


def _traces(fig: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [t for t in fig["data"] if t.get("name") == name]


def _shared(layout: dict[str, Any], prefix: str) -> bool:
    """Whether every axis named `prefix`* is one axis (all but one match the same other)."""
    axes = {k: v for k, v in layout.items() if k.startswith(prefix)}
    free = [k for k, v in axes.items() if "matches" not in v]
    targets = {v["matches"] for v in axes.values() if "matches" in v}
    return len(axes) > 1 and len(free) == 1 and targets == {free[0].replace("axis", "")}


def _titles(fig: dict[str, Any]) -> list[str]:
    return [a["text"] for a in fig["layout"].get("annotations", [])]


@pytest.fixture
def grid() -> dict[str, Any]:
    scores = _scores(
        ("trust", "A", 0, 2.0),
        ("trust", "A", 1, 4.5),
        ("trust", "B", 0, 3.0),
        ("trust", "B", 1, 3.0),
        ("hurt", "A", 0, 5.0),
        ("goals", "B", 1, 1.0),
    )
    return small_multiples(SCALES, scores, NAMES, title="Check-in: every scale").to_dict()


def test_one_mini_chart_per_scale_both_partners_in_each(grid: dict[str, Any]) -> None:
    assert len(grid["data"]) == 6  # three scales x two partners
    for label, name in NAMES.items():
        traces = _traces(grid, name)
        assert len(traces) == 3
        for trace in traces:
            assert trace["line"]["color"] == PARTNER_COLOURS[label]
            assert trace["line"]["dash"] == PARTNER_DASH[label]
            assert trace["marker"]["symbol"] == PARTNER_SYMBOLS[label]
            assert trace["legendgroup"] == label
        # One legend entry per partner, not one per mini-chart.
        assert [t["showlegend"] for t in traces] == [True, False, False]
    ann, bo = _traces(grid, "Ann (A)"), _traces(grid, "Bo (B)")
    assert ann[0]["y"] == [2.0, 4.5] and bo[0]["y"] == [3.0, 3.0]
    assert (len(ann[2]["x"]), len(bo[2]["x"])) == (0, 1)  # goals: B only
    # Each partner's traces land in the scale's own mini-chart.
    assert [t["yaxis"] for t in ann] == ["y", "y2", "y3"]
    assert _titles(grid) == [
        "Trust (higher is better)",
        "Past hurt (higher is worse)",
        "Goals (higher is better)",
    ]


def test_axes_shared_when_ranges_match(grid: dict[str, Any]) -> None:
    layout = grid["layout"]
    assert _shared(layout, "xaxis") and _shared(layout, "yaxis")
    assert layout["yaxis"]["range"][0] < 0 < 6 < layout["yaxis"]["range"][1]
    assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    # The cutoff is drawn only where the scale has one (trust, in the first mini-chart).
    assert [(s["y0"], s["yref"]) for s in layout["shapes"]] == [(4.0, "y")]
    assert not layout["title"]["text"].endswith(" over time")


def test_scales_of_different_ranges_keep_their_own() -> None:
    scales = SCALES.assign(score_max=[6.0, 30.0, 6.0])
    scores = _scores(("trust", "A", 0, 2.0), ("hurt", "A", 0, 25.0))
    fig = small_multiples(scales, scores, NAMES, title="Mixed").to_dict()
    layout = fig["layout"]
    assert "matches" not in layout["yaxis2"]
    assert layout["yaxis2"]["range"][1] > 30 > layout["yaxis"]["range"][1]
    assert layout["yaxis2"]["title"]["text"] == "0–30"
    assert _shared(layout, "xaxis") and not _shared(layout, "yaxis")


def test_names_and_labels_are_shown_literally() -> None:
    scales = SCALES.assign(scale_label=["<b>x</b>", "[a](http://e)", "Goals"])
    names = {"A": "<a href='http://e'>Ann</a>", "B": "[a](http://e)"}
    fig = small_multiples(scales, _scores(("trust", "A", 0, 2.0)), names, title="<i>t</i>")
    spec = fig.to_dict()
    assert _titles(spec)[0] == "&lt;b&gt;x&lt;/b&gt; (higher is better)"
    assert _titles(spec)[1] == "[a](http://e) (higher is worse)"
    assert spec["data"][0]["name"] == "&lt;a href='http://e'&gt;Ann&lt;/a&gt;"
    assert spec["data"][1]["name"] == "[a](http://e)"
    assert spec["layout"]["title"]["text"] == "&lt;i&gt;t&lt;/i&gt;"
    assert "<b>" not in str(spec) and "<a " not in str(spec)


ITEMS = pd.DataFrame(
    {
        "item_code": ["T1", "T2"],
        "item_name": ["I trust my partner.", "<b>My partner hides things.</b>"],
        "reverse": [False, True],
        "min_value": [0.0, 0.0],
        "max_value": [4.0, 4.0],
        "labels": [AGREE, AGREE],
    }
)


def _answers(*rows: tuple[str, str, int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "item_code": i,
                "partner": p,
                "completed_at": pd.Timestamp(WHEN + dt.timedelta(weeks=w)),
                "value": v,
            }
            for i, p, w, v in rows
        ]
    )


def test_item_rows_labelled_with_the_response_labels() -> None:
    answers = _answers(
        ("T1", "A", 0, 1.0),
        ("T1", "A", 1, 3.0),
        ("T1", "B", 0, 2.0),
        ("T2", "A", 0, 4.0),
        ("T2", "A", 1, float("nan")),  # left blank
    )
    spec = item_chart(ITEMS, answers, NAMES, title="Trust: each statement").to_dict()
    layout = spec["layout"]
    for axis in ("yaxis", "yaxis2"):
        assert layout[axis]["tickvals"] == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert layout[axis]["ticktext"] == AGREE
    assert _shared(layout, "xaxis") and not _shared(layout, "yaxis")
    ann, bo = _traces(spec, "Ann (A)"), _traces(spec, "Bo (B)")
    assert [t["line"]["color"] for t in ann + bo] == [PARTNER_COLOURS["A"]] * 2 + [
        PARTNER_COLOURS["B"]
    ] * 2
    assert ann[0]["y"] == [1.0, 3.0]
    assert [c[0] for c in ann[0]["customdata"]] == ["Disagree", "Agree"]
    assert "%{customdata[0]}" in ann[0]["hovertemplate"] and "%d %b %Y" in ann[0]["hovertemplate"]
    # A blank is a gap in the line, never drawn as an answer.
    assert ann[1]["y"] == [4.0, None]
    assert [c[0] for c in ann[1]["customdata"]] == ["Strongly agree", "left blank"]
    assert len(bo[1]["x"]) == 0
    titles = _titles(spec)
    assert titles[0] == "T1: I trust my partner."
    assert titles[1].startswith("T2: &lt;b&gt;My partner hides things.&lt;/b&gt;")
    assert "worded the other way" in titles[1] and "worded the other way" not in titles[0]
    assert not layout["title"]["text"].endswith(" over time")


def test_response_labels_fall_back_to_numbers() -> None:
    assert response_labels(0, 2, ["Never", "Once", "More than once"]) == (
        [0.0, 1.0, 2.0],
        ["Never", "Once", "More than once"],
    )
    assert response_labels(1, 3, None) == ([1.0, 2.0, 3.0], ["1", "2", "3"])
    assert response_labels(0, 1, ["<b>No</b>", "Yes"])[1] == ["&lt;b&gt;No&lt;/b&gt;", "Yes"]


def test_an_item_with_only_its_code_is_named_by_its_code() -> None:
    items = ITEMS.assign(item_name=["", "T2"], labels=[None, None])
    spec = item_chart(items, _answers(("T1", "A", 0, 2.0)), NAMES, title="t").to_dict()
    assert _titles(spec)[0] == "T1"
    assert _titles(spec)[1].startswith("T2 (worded the other way")
    assert spec["layout"]["yaxis"]["ticktext"] == ["0", "1", "2", "3", "4"]


# --- the views, on a temporary database ------------------------------------------------------


def _two_weeks(db: Database, therapist: Actor, code: str) -> int:
    couple_id = factories.couple(db, therapist, code)
    factories.checkin(db, couple_id, "A", WHEN, 2, barriers=5)
    factories.checkin(db, couple_id, "B", WHEN, 4, barriers=1)
    factories.checkin(db, couple_id, "A", WHEN + dt.timedelta(weeks=1), 4, barriers=5)
    factories.checkin(db, couple_id, "B", WHEN + dt.timedelta(weeks=1), 4, barriers=1)
    return couple_id


def test_scale_trends_view_draws_every_scale(db: Database, therapist: Actor) -> None:
    couple_id = _two_weeks(db, therapist, "T-1")
    trends = scale_trends(db, therapist, couple_id)
    assert trends.instrument == "Relationship check-in"
    assert trends.figure is not None
    spec = trends.figure.to_dict()
    assert len(spec["data"]) == 2 * 13
    consistency = [t for t in spec["data"] if t["xaxis"] == "x"]
    assert [t["name"] for t in consistency] == ["T-1 Alpha (A)", "T-1 Beta (B)"]
    assert [t["y"] for t in consistency] == [[2.0, 4.0], [4.0, 4.0]]
    assert _titles(spec)[0] == "Consistency (higher is better)"
    assert "Fear of vulnerability (higher is worse)" in _titles(spec)
    assert _shared(spec["layout"], "yaxis") and _shared(spec["layout"], "xaxis")
    # 13 scales in rows of three: the two cells after the last are left out.
    assert "xaxis14" not in spec["layout"]
    assert not [n for n in trends.notes if "One check-in" in n or "no check-ins" in n]


def test_item_trends_view_shows_answers_in_their_labels(db: Database, therapist: Actor) -> None:
    couple_id = _two_weeks(db, therapist, "T-2")
    trends = item_trends(db, therapist, couple_id, "consistency")
    assert trends.scale_code == "consistency"
    assert list(trends.scales)[:2] == ["consistency", "transparency"]
    assert trends.figure is not None
    spec = trends.figure.to_dict()
    titles = _titles(spec)
    assert [t.split(":")[0] for t in titles] == ["CON1", "CON2", "CON3"]
    assert "worded the other way" in titles[1]
    assert spec["layout"]["yaxis"]["ticktext"][0] == "Strongly disagree"
    assert spec["layout"]["yaxis"]["ticktext"][-1] == "Strongly agree"
    a_con2 = [t for t in spec["data"] if t["name"] == "T-2 Alpha (A)"][1]
    # CON2 is reverse-keyed: a score of 2 then 4 was answered 6 - 2 = 4, then 2 (as given).
    assert a_con2["y"] == [4.0, 2.0]
    assert [c[0] for c in a_con2["customdata"]] == ["Somewhat agree", "Somewhat disagree"]
    assert any("worded the other way" in n for n in trends.notes)


def test_item_trends_defaults_to_the_most_concerning_scale(db: Database, therapist: Actor) -> None:
    couple_id = _two_weeks(db, therapist, "T-3")  # A's barriers at 5 of 6: the worst place
    trends = item_trends(db, therapist, couple_id, "no-such-scale")
    assert trends.scale_code is not None
    assert trends.scales[trends.scale_code] in {
        "Fear of vulnerability",
        "Unresolved past hurt",
        "Communication gaps",
        "Individual stressors",
    }


def test_thin_data_is_named_not_drawn_wrongly(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "T-4")
    assert scale_trends(db, therapist, couple_id).notes == [NO_CHECKINS]
    empty = item_trends(db, therapist, couple_id)
    assert (empty.figure, empty.scales, empty.notes) == (None, {}, [NO_CHECKINS])
    # One check-in, partner A only, with one trust item and a whole scale left blank.
    factories.checkin(db, couple_id, "A", WHEN, 3, skip=("CON2", "GOL1", "GOL2"))
    trends = scale_trends(db, therapist, couple_id)
    notes = " ".join(trends.notes)
    assert "Partner B has no check-ins yet" in notes
    assert "One check-in so far" in notes
    assert "Not scored yet (too many of their questions left blank), so not drawn: Mutual" in notes
    assert "cutoff" in notes
    assert trends.figure is not None
    assert "Mutual goals (higher is better)" not in _titles(trends.figure.to_dict())
    items = item_trends(db, therapist, couple_id, "consistency")
    notes = " ".join(items.notes)
    assert "Partner B has no check-ins yet" in notes and "One check-in so far" in notes
    assert "Not answered at any check-in yet: CON2." in notes
    assert items.figure is not None
    con2 = [t for t in items.figure.to_dict()["data"] if t["name"] == "T-4 Alpha (A)"][1]
    assert con2["y"] == [None]
    goals = item_trends(db, therapist, couple_id, "goals")
    assert "Not answered at any check-in yet: GOL1, GOL2." in " ".join(goals.notes)


def test_an_item_left_blank_once_is_counted(db: Database, therapist: Actor) -> None:
    couple_id = _two_weeks(db, therapist, "T-5")
    factories.checkin(db, couple_id, "B", WHEN + dt.timedelta(weeks=2), 3, skip=("CON3",))
    notes = " ".join(item_trends(db, therapist, couple_id, "consistency").notes)
    assert "Left blank at some check-ins (a gap in the line): CON3 by partner B (1 time)." in notes


def test_views_refuse_a_couple_outside_the_caseload(db: Database, therapist: Actor) -> None:
    couple_id = _two_weeks(db, therapist, "T-6")
    other = add_therapist(db, "Other Therapist")
    with pytest.raises(CaseloadError):
        scale_trends(db, other, couple_id)
    with pytest.raises(CaseloadError):
        item_trends(db, other, couple_id, "consistency")


def test_items_without_response_labels_show_their_numbers(db: Database, therapist: Actor) -> None:
    """A licensed instrument's items have no labels stored (NULL): numbers, never a crash."""
    couple_id = factories.couple(db, therapist, "T-7")
    ins = lookup.get(db, "csi16")
    values = {i.code: i.min for i in ins.answer_items}
    factories.answers(db, couple_id, "A", WHEN, values, instrument="csi16")
    trends = item_trends(db, therapist, couple_id)
    assert trends.scale_code == "total" and trends.figure is not None
    layout = trends.figure.to_dict()["layout"]
    assert layout["yaxis"]["ticktext"] == ["0", "1", "2", "3", "4", "5", "6"]
    assert layout["yaxis2"]["ticktext"] == ["0", "1", "2", "3", "4", "5"]
