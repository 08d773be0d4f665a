"""The repair timeline builder, judged on `fig.to_dict()`: lanes in milestone order, each stretch
in its status's colour with a legend in words, the hurt partner's trust on a second axis with
reliable changes ringed, and every supplied text escaped."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from analytics.charts.progress import BETTER_COLOUR, PARTNER_COLOURS, WORSE_COLOUR
from analytics.charts.repair import LANES, STATUS_STYLES, repair_timeline, segments

START = dt.date(2026, 1, 5)
END = dt.date(2026, 6, 1)
EVENTS = pd.DataFrame(
    {
        "effective_on": [START, dt.date(2026, 2, 2), dt.date(2026, 2, 2), dt.date(2026, 4, 6),
                         dt.date(2026, 4, 20), dt.date(2026, 5, 4)],
        "milestone": [1, 1, 2, 2, 2, 1],
        "status": ["in_progress", "reached", "in_progress", "reached", "reached", "revisited"],
    }
)  # fmt: skip


def _trust(hurt: list[float]) -> pd.DataFrame:
    when = pd.date_range("2026-01-06 19:00", periods=len(hurt), freq="7D")
    return pd.DataFrame(
        {
            "scale_code": ["consistency"] * len(hurt) + ["transparency"] * len(hurt),
            "scale_label": ["Consistency"] * len(hurt) + ["<b>Open</b> & honest"] * len(hurt),
            "completed_at": [*when, *when],
            "score": [*hurt, *hurt],
        }
    )


def _trace(fig: dict[str, Any], meta: str) -> dict[str, Any]:
    (found,) = [t for t in fig["data"] if t.get("meta") == meta]
    return found


def _spans(trace: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(lane, start, end) of each stretch drawn by a status trace."""
    xs, ys = trace["x"], trace["y"]
    return [(ys[i], xs[i], xs[i + 1]) for i in range(0, len(xs), 3)]


def test_segments_follow_the_history() -> None:
    found = [(s.milestone, s.status, s.start, s.end) for s in segments(EVENTS, started_on=START,
                                                                         ends_on=END)]  # fmt: skip
    assert found == [
        (1, "in_progress", START, dt.date(2026, 2, 2)),
        (1, "reached", dt.date(2026, 2, 2), dt.date(2026, 5, 4)),
        (1, "revisited", dt.date(2026, 5, 4), END),
        (2, "not_started", START, dt.date(2026, 2, 2)),
        (2, "in_progress", dt.date(2026, 2, 2), dt.date(2026, 4, 6)),
        # Recorded reached again (a later note): one stretch.
        (2, "reached", dt.date(2026, 4, 6), END),
        (3, "not_started", START, END),
        (4, "not_started", START, END),
    ]
    # Shown as of an earlier day: nothing after it.
    early = segments(EVENTS, started_on=START, ends_on=dt.date(2026, 3, 1))
    assert {s.status for s in early if s.milestone == 1} == {"in_progress", "reached"}
    assert max(s.end for s in early) == dt.date(2026, 3, 1)


def test_lanes_and_a_legend_in_words() -> None:
    fig = repair_timeline(EVENTS, started_on=START, ends_on=END, title="Repair of C-1").to_dict()
    layout = fig["layout"]
    # The first milestone on top: a category axis drawn bottom-up, so listed last first.
    assert list(layout["yaxis"]["categoryarray"]) == list(reversed(LANES))
    names = [t["name"] for t in fig["data"]]
    assert names == ["Not started", "In progress", "Reached", "Revisited (moved back)"]
    colours = [t["line"]["color"] for t in fig["data"]]
    assert len(set(colours)) == 4  # one colour per status, all from the Okabe-Ito palette
    assert colours == [s.colour for s in STATUS_STYLES.values()]
    revisited = _trace(fig, "status_revisited")
    assert _spans(revisited) == [("Acknowledgment", START.replace(month=5, day=4), END)]
    reached = _spans(_trace(fig, "status_reached"))
    assert ("Apology and repair", dt.date(2026, 4, 6), END) in reached
    hover = revisited["hovertext"][0]
    assert hover == "Acknowledgment: revisited (moved back)<br>04 May 2026 – 01 Jun 2026 (28 days)"
    assert "yaxis2" not in layout  # no trust data, no second axis
    assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"


def test_trust_on_a_second_axis_with_a_reliable_fall_marked() -> None:
    trust = _trust([5.0, 4.0, 1.5])
    changes = pd.DataFrame(
        {
            "scale_code": ["consistency", "transparency"],
            "category": ["deteriorated", "unchanged"],
            "latest_at": [trust["completed_at"].iloc[2]] * 2,
            "latest": [1.5, 1.5],
            "baseline": [5.0, 5.0],
        }
    )
    fig = repair_timeline(
        EVENTS,
        started_on=START,
        ends_on=END,
        title="<script>x</script>",
        trust=trust,
        trust_changes=changes,
        partner="B",
        partner_name="Bo <a href='x'>",
        score_range=(0, 6),
    ).to_dict()
    layout = fig["layout"]
    assert layout["yaxis2"]["overlaying"] == "y" and layout["yaxis2"]["side"] == "right"
    assert [round(v, 6) for v in layout["yaxis2"]["range"]] == [-0.3, 6.3]
    consistency = _trace(fig, "trust_consistency")
    assert consistency["yaxis"] == "y2"
    assert consistency["line"]["color"] == PARTNER_COLOURS["B"]  # the hurt partner's colour
    assert list(consistency["y"]) == [5.0, 4.0, 1.5]
    assert list(consistency["marker"]["line"]["width"]) == [0, 0, 3]
    assert consistency["marker"]["line"]["color"][2] == WORSE_COLOUR
    assert "worse beyond measurement noise" in consistency["hovertext"][2]
    (note,) = layout["annotations"]
    assert (note["text"], note["yref"]) == ("Consistency: worse beyond noise", "y2")
    transparency = _trace(fig, "trust_transparency")
    assert list(transparency["marker"]["line"]["width"]) == [0, 0, 0]  # within noise: no ring
    # Supplied text is escaped: names, scale labels and the title show literally.
    assert transparency["name"] == "&lt;b&gt;Open&lt;/b&gt; &amp; honest (Bo &lt;a href='x'&gt;)"
    assert layout["title"]["text"] == "&lt;script&gt;x&lt;/script&gt;"
    everything = str(fig)
    assert "<b>Open" not in everything and "<a href" not in everything


def test_a_reliable_rise_is_ringed_in_the_better_colour() -> None:
    trust = _trust([1.0, 3.0, 5.0])
    changes = pd.DataFrame(
        {
            "scale_code": ["transparency"],
            "category": ["improved"],
            "latest_at": [trust["completed_at"].iloc[2]],
            "latest": [5.0],
            "baseline": [1.0],
        }
    )
    fig = repair_timeline(
        EVENTS, started_on=START, ends_on=END, title="t", trust=trust, trust_changes=changes
    ).to_dict()
    transparency = _trace(fig, "trust_transparency")
    assert transparency["marker"]["line"]["color"][2] == BETTER_COLOUR
    assert fig["layout"]["annotations"][0]["text"].endswith("better beyond noise")
    assert _trace(fig, "trust_consistency")["line"]["color"] == PARTNER_COLOURS["A"]


def test_no_changes_yet_draws_four_lanes_not_started() -> None:
    empty = pd.DataFrame({"effective_on": [], "milestone": [], "status": []})
    fig = repair_timeline(empty, started_on=START, ends_on=END, title="t").to_dict()
    lanes = [lane for lane, _, _ in _spans(_trace(fig, "status_not_started"))]
    assert lanes == list(LANES)
    assert list(_trace(fig, "status_reached")["x"]) == []
