"""The barrier and trust profile and the heatmap: pure builders tested on `fig.to_dict()`, and the
view that feeds them from the clinical SQL on a temporary database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.charts.profile import (
    BETTER_COLOUR,
    CELL_TEXT_COLUMNS,
    WORSE_COLOUR,
    concern_order,
    heatmap_chart,
    profile_chart,
)
from analytics.charts.progress import PARTNER_COLOURS, PARTNER_SYMBOLS
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.profile import couple_profile
from tests import factories

AS_OF = dt.date(2026, 11, 20)

NAMES = {"A": "Ann (A)", "B": "Bo (B)"}
WHEN = dt.datetime(2026, 1, 6, 9)
SCALES = pd.DataFrame(
    {
        "scale_code": ["trust", "hurt", "goals"],
        "scale_label": ["Trust", "Past hurt", "Goals"],
        "position": [1, 2, 3],
        "direction": ["higher_better", "higher_worse", "higher_better"],
        "score_min": [0.0, 0.0, 0.0],
        "score_max": [6.0, 6.0, 6.0],
        "cutoff": [4.0, float("nan"), float("nan")],
    }
)


def _partner(
    scale: str, label: str, latest: float, *, baseline: float | None = None, category: str = ""
) -> dict[str, Any]:
    two = baseline is not None
    return {
        "scale_code": scale,
        "partner": label,
        "n_scores": 2 if two else 1,
        "baseline": baseline if two else latest,
        "baseline_at": pd.Timestamp(WHEN),
        "latest": latest,
        "latest_at": pd.Timestamp(WHEN + dt.timedelta(weeks=1 if two else 0)),
        "change": latest - baseline if baseline is not None else float("nan"),
        "category": category or ("unchanged" if two else "not_enough_data"),
        "latest_band": None,
        "latest_band_meaning": None,
        "latest_distressed": latest < 4.0,
    }


def _gaps(*rows: tuple[str, float, bool]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "scale_code": s,
                "latest_gap": g,
                "latest_week": pd.Timestamp(WHEN),
                "exceeds_noise": e,
            }
            for s, g, e in rows
        ],
        columns=["scale_code", "latest_gap", "latest_week", "exceeds_noise"],
    )


def _trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in fig["data"] if t.get("name") == name]
    assert len(found) == 1, [t.get("name") for t in fig["data"]]
    return found[0]


def _pairs(trace: dict[str, Any]) -> list[str]:
    """The scales a gap trace joins (its y values, one per segment)."""
    ys = [y for y in trace.get("y", []) if y is not None]
    return ys[::2]


@pytest.fixture
def both() -> dict[str, Any]:
    """Trust: A 5 (improved from 2), B 2; past hurt: A 1, B 5 (worse from 2, beyond noise gap);
    goals: A only."""
    partners = pd.DataFrame(
        [
            _partner("trust", "A", 5.0, baseline=2.0, category="improved"),
            _partner("trust", "B", 2.0, baseline=2.5),
            _partner("hurt", "A", 1.0, baseline=1.5),
            _partner("hurt", "B", 5.0, baseline=2.0, category="deteriorated"),
            _partner("goals", "A", 3.0, baseline=3.0),
        ]
    )
    gaps = _gaps(("trust", 3.0, True), ("hurt", -4.0, True))
    return profile_chart(SCALES, partners, gaps, NAMES, title="Profile").to_dict()


def test_both_partners_latest_and_first_in_their_own_colours(both: dict[str, Any]) -> None:
    for label, name in NAMES.items():
        latest = _trace(both, f"{name}, latest")
        assert latest["marker"]["color"] == PARTNER_COLOURS[label]
        assert latest["marker"]["symbol"] == PARTNER_SYMBOLS[label]
        first = _trace(both, f"{name}, first check-in")
        assert first["marker"]["color"] == PARTNER_COLOURS[label]
        assert first["opacity"] < 1
    assert _trace(both, "Ann (A), latest")["y"] == ["Past hurt", "Trust", "Goals"]
    assert len(_trace(both, "Bo (B), latest")["x"]) == 2


def test_scales_ordered_by_concern_direction_aware(both: dict[str, Any]) -> None:
    # Past hurt 5 of 6 where higher is worse is the worst place (1/6 toward better); trust's
    # worst partner is at 2 of 6 (2/6); goals 3 of 6.
    assert both["layout"]["yaxis"]["categoryarray"] == ["Past hurt", "Trust", "Goals"]
    assert both["layout"]["yaxis"]["autorange"] == "reversed"
    # The better end is on the right for every scale: past hurt 1 (low, good) sits far right.
    a = _trace(both, "Ann (A), latest")
    placed = dict(zip(a["y"], a["x"], strict=True))
    assert placed["Past hurt"] == pytest.approx(100 * 5 / 6, abs=0.01)
    assert placed["Trust"] == pytest.approx(100 * 5 / 6, abs=0.01)


def test_concern_order_puts_unscored_scales_last() -> None:
    partners = pd.DataFrame([_partner("goals", "A", 0.5), _partner("hurt", "B", 3.0)])
    assert concern_order(SCALES, partners) == ["goals", "hurt", "trust"]


def test_reliable_changes_ringed_where_the_sql_says(both: dict[str, Any]) -> None:
    better = _trace(both, "Better beyond noise since the first check-in")
    worse = _trace(both, "Worse beyond noise since the first check-in")
    assert (better["y"], better["customdata"]) == (["Trust"], ["A"])
    assert (worse["y"], worse["customdata"]) == (["Past hurt"], ["B"])
    assert better["marker"]["color"] == BETTER_COLOUR
    assert worse["marker"]["color"] == WORSE_COLOUR
    assert better["marker"]["symbol"] != worse["marker"]["symbol"]


def test_gap_lines_only_where_both_partners_scored(both: dict[str, Any]) -> None:
    wide = _trace(both, "Gap beyond measurement noise")
    narrow = _trace(both, "Gap between partners")
    assert sorted(_pairs(wide)) == ["Past hurt", "Trust"]
    assert _pairs(narrow) == []  # goals: partner A only, no line
    assert not narrow["showlegend"]


def test_hover_says_score_band_and_change_in_words() -> None:
    partners = pd.DataFrame([_partner("trust", "A", 3.0, baseline=5.0, category="deteriorated")])
    partners["latest_band"] = "Distressed range"
    partners["latest_band_meaning"] = "Like couples starting therapy."
    fig = profile_chart(SCALES, partners, _gaps(), NAMES, title="P").to_dict()
    hover = _trace(fig, "Ann (A), latest")["hovertext"][0]
    assert "Trust" in hover and "3.0 on 0–6, higher is better" in hover
    assert "Range: Distressed range – Like couples starting therapy." in hover
    assert "distressed side of the cutoff 4.0" in hover
    assert "worse beyond measurement noise" in hover


def test_scale_without_cutoff_or_band_has_no_band_wording() -> None:
    partners = pd.DataFrame([_partner("hurt", "A", 3.0)])
    fig = profile_chart(SCALES, partners, _gaps(), NAMES, title="P").to_dict()
    hover = _trace(fig, "Ann (A), latest")["hovertext"][0]
    assert "Range" not in hover and "cutoff" not in hover and "distressed" not in hover
    assert "change needs a second check-in" in hover
    cutoff = _trace(fig, "Cutoff (distressed range to its left)")
    assert cutoff["x"] == [] and not cutoff["showlegend"]


def test_one_partner_only_shows_the_other_as_no_check_ins_yet() -> None:
    partners = pd.DataFrame([_partner("trust", "A", 3.0), _partner("hurt", "A", 2.0)])
    fig = profile_chart(SCALES, partners, _gaps(), NAMES, title="P").to_dict()
    missing = _trace(fig, "Bo (B): no check-ins yet")
    assert missing["x"] == [] and missing["marker"]["color"] == PARTNER_COLOURS["B"]
    # One check-in: no first-check-in markers, no change rings, no gap lines.
    assert not _trace(fig, "Ann (A), first check-in")["x"]
    assert not _trace(fig, "Better beyond noise since the first check-in")["x"]
    assert not [y for t in fig["data"] if t["name"].startswith("Gap") for y in t["y"]]


@pytest.mark.parametrize("name", ["<b>x</b>", "[a](http://e)", "<a href='http://e'>x</a>"])
def test_names_and_labels_are_shown_literally(name: str) -> None:
    scales = SCALES.assign(scale_label=[name, "Past hurt", "Goals"])
    partners = pd.DataFrame([_partner("trust", "A", 3.0), _partner("trust", "B", 4.0)])
    names = {"A": name, "B": "Bo"}
    scores = pd.DataFrame(
        {
            "partner": ["A"],
            "scale_code": ["trust"],
            "response_id": [1],
            "completed_at": [pd.Timestamp(WHEN)],
            "score": [3.0],
            "band": [name],
        }
    )
    for fig in (
        profile_chart(scales, partners, _gaps(("trust", -1.0, False)), names, title=name),
        heatmap_chart(scales, scores, names, title=name),
    ):
        spec = str(fig.to_dict())
        assert "<b>x</b>" not in spec and "<a href" not in spec
        if "<" in name:
            assert "&lt;" in spec
        assert fig.to_dict()["layout"]["title"]["text"] == name.replace("<", "&lt;").replace(
            ">", "&gt;"
        )


def _scores(rows: list[tuple[str, str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "partner": p,
                "scale_code": s,
                "response_id": r,
                "completed_at": pd.Timestamp(WHEN + dt.timedelta(weeks=w)),
                "score": v,
                "band": None,
            }
            for p, s, r, w, v in rows
        ]
    )


def test_heatmap_one_panel_per_partner_worse_end_same_colour() -> None:
    scores = _scores(
        [
            ("A", "trust", 1, 0, 6.0),
            ("A", "hurt", 1, 0, 6.0),
            ("A", "trust", 2, 1, 3.0),
            ("B", "trust", 3, 0, 0.0),
        ]
    )
    figure = heatmap_chart(SCALES, scores, NAMES, title="H")
    fig = figure.to_dict()
    a, b = fig["data"]
    assert (a["name"], b["name"]) == ("Ann (A)", "Bo (B)")
    assert a["x"] == ["06 Jan 2026", "13 Jan 2026"] and b["x"] == ["06 Jan 2026"]
    assert a["y"] == ["Trust", "Past hurt", "Goals"]
    # The grids are numpy arrays (sent to the browser packed): read them off the trace.
    z, text, hover = (np.asarray(getattr(figure.data[0], k)) for k in ("z", "text", "hovertext"))
    # Trust 6 (higher better) and past hurt 6 (higher worse) sit at opposite colour ends.
    assert z[0, 0] == 1.0 and z[1, 0] == 0.0
    assert np.isnan(z[2]).all() and hover[2, 0] == "Not scored"
    assert list(text[0]) == ["6.0", "3.0"] and a["texttemplate"] == "%{text}"
    assert (a["zmin"], a["zmax"]) == (0, 1) and a["showscale"] and not b["showscale"]
    assert a["colorbar"]["ticktext"][0] == "worse end of the scale"


def test_heatmap_cells_show_scores_only_while_they_fit() -> None:
    """A year of weekly check-ins would print 52 overlapping numbers a row: colour, hover only."""
    many = [("A", "trust", n, n, 3.0) for n in range(CELL_TEXT_COLUMNS + 1)]
    crowded = heatmap_chart(SCALES, _scores(many), NAMES, title="H").to_dict()["data"][0]
    assert "text" not in crowded and "texttemplate" not in crowded
    assert len(crowded["x"]) == CELL_TEXT_COLUMNS + 1
    fitting = heatmap_chart(SCALES, _scores(many[:-1]), NAMES, title="H").to_dict()["data"][0]
    assert fitting["texttemplate"] == "%{text}"


def test_heatmap_partner_without_check_ins_says_so() -> None:
    fig = heatmap_chart(SCALES, _scores([("A", "trust", 1, 0, 4.0)]), NAMES, title="H")
    titles = [a["text"] for a in fig.to_dict()["layout"]["annotations"]]
    assert titles == ["Ann (A)", "Bo (B): no check-ins yet"]
    assert fig.to_dict()["data"][1]["x"] == []


# --- the view, on a temporary database -----------------------------------------------------


def test_view_no_check_ins_no_profile(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "P-0")
    view = couple_profile(db, therapist, couple_id, as_of=AS_OF)
    assert view.profile is None and view.heatmap is None
    assert view.notes == ["No check-ins yet: the profile appears after the first check-in."]


def test_view_one_check_in_one_partner(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "P-1")
    factories.checkin(db, couple_id, "A", WHEN, 3)
    view = couple_profile(db, therapist, couple_id, as_of=AS_OF)
    assert view.profile is not None and view.heatmap is not None
    fig = view.profile.to_dict()
    names = [t["name"] for t in fig["data"]]
    assert "P-1 Beta (B): no check-ins yet" in names
    assert len(_trace(fig, "P-1 Alpha (A), latest")["x"]) == 13  # every check-in scale
    assert view.heatmap.to_dict()["data"][0]["x"] == ["06 Jan 2026"]
    notes = " ".join(view.notes)
    assert "Partner B has no check-ins yet" in notes
    assert "needs a second check-in" in notes


def test_view_follows_the_sql(db: Database, therapist: Actor) -> None:
    """A's barriers fall 5 -> 1 (better beyond noise); B's trust falls 5 -> 1 (worse)."""
    couple_id = factories.couple(db, therapist, "P-2")
    factories.checkin(db, couple_id, "A", WHEN, 3, barriers=5)
    factories.checkin(db, couple_id, "B", WHEN, 5, barriers=3)
    later = WHEN + dt.timedelta(weeks=2)
    factories.checkin(db, couple_id, "A", later, 3, barriers=1)
    factories.checkin(db, couple_id, "B", later, 1, barriers=3)
    view = couple_profile(db, therapist, couple_id, as_of=AS_OF)
    assert view.profile is not None
    fig = view.profile.to_dict()
    sql = db.query_df(
        "SELECT partner, scale_label, category FROM partner_scale_change(TRUE, NULL, ?)",
        [[couple_id]],
    )
    better = _trace(fig, "Better beyond noise since the first check-in")
    worse = _trace(fig, "Worse beyond noise since the first check-in")
    expected_better = sql[sql["category"].isin(["improved", "recovered"])]
    expected_worse = sql[sql["category"] == "deteriorated"]
    assert sorted(zip(better["customdata"], better["y"], strict=True)) == sorted(
        zip(expected_better["partner"], expected_better["scale_label"], strict=True)
    )
    assert sorted(zip(worse["customdata"], worse["y"], strict=True)) == sorted(
        zip(expected_worse["partner"], expected_worse["scale_label"], strict=True)
    )
    assert set(better["customdata"]) == {"A"} and set(worse["customdata"]) == {"B"}
    # Every scale has both partners: a gap line for each of the 13 scales.
    joined = _pairs(_trace(fig, "Gap between partners"))
    joined += _pairs(_trace(fig, "Gap beyond measurement noise"))
    assert len(joined) == 13
    # B's trust at 1 (of 0-6, higher better) is the worst place: trust scales come first.
    order = fig["layout"]["yaxis"]["categoryarray"]
    assert order[0] == "Consistency" and order.index("Consistency") < order.index(
        "Fear of vulnerability"
    )
    heat = view.heatmap
    assert heat is not None
    assert [t["name"] for t in heat.to_dict()["data"]] == ["P-2 Alpha (A)", "P-2 Beta (B)"]
    assert "needs a second check-in" not in " ".join(view.notes)
