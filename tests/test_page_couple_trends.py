"""AppTest of the couple page's "More detail": every scale over time (small multiples) and one
scale's item answers, drawn only when asked for, with what thin data cannot show yet."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import TODAY, open_couple, rerun

pytestmark = pytest.mark.usefixtures("app_env")
EVERY_SCALE = "Every scale over time"
ITEM_ANSWERS = "Item answers for one scale"
GRID = "every scale, check-in by check-in"
ITEMS = "each statement, check-in by check-in"


def _charts(at: Any, title_part: str) -> list[dict[str, Any]]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [s for s in specs if title_part in s["layout"]["title"]["text"]]


def _captions(at: Any) -> str:
    return " ".join(c.value for c in at.caption)


def _detail(at: Any) -> Any:
    (control,) = [c for c in at.segmented_control if c.label == "More detail"]
    return control


def _titles(spec: dict[str, Any]) -> list[str]:
    return [a["text"] for a in spec["layout"]["annotations"]]


def _weekly(db: Database, therapist: Actor, code: str) -> int:
    couple_id = factories.couple(db, therapist, code)
    first, later = TODAY - dt.timedelta(weeks=3), TODAY - dt.timedelta(weeks=1)
    factories.checkin(db, couple_id, "A", first, 2, barriers=5)
    factories.checkin(db, couple_id, "B", first, 5, barriers=1)
    factories.checkin(db, couple_id, "A", later, 4, barriers=5)
    factories.checkin(db, couple_id, "B", later, 5, barriers=2)
    return couple_id


def test_detail_is_drawn_only_on_demand(db: Database, therapist: Actor) -> None:
    couple_id = _weekly(db, therapist, "G-1")
    at = open_couple(therapist, couple_id)
    assert _detail(at).value is None
    assert not _charts(at, GRID) and not _charts(at, ITEMS)
    # The page's other over-time chart is still the one the couple page tests find.
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [s for s in specs if s["layout"]["title"]["text"].endswith(" over time")]
    for spec in specs:
        assert GRID not in spec["layout"]["title"]["text"]


def test_every_scale_over_time(db: Database, therapist: Actor) -> None:
    couple_id = _weekly(db, therapist, "G-2")
    at = rerun(_detail(open_couple(therapist, couple_id)).set_value(EVERY_SCALE))
    (grid,) = _charts(at, GRID)
    assert not grid["layout"]["title"]["text"].endswith(" over time")
    assert len(grid["data"]) == 2 * 13
    names = {t["name"] for t in grid["data"]}
    assert names == {"G-2 Alpha (A)", "G-2 Beta (B)"}
    assert [t["name"] for t in grid["data"] if t["showlegend"]] == ["G-2 Alpha (A)", "G-2 Beta (B)"]
    consistency = grid["data"][:2]
    assert [t["y"] for t in consistency] == [[2, 4], [5, 5]]
    assert "Consistency (higher is better)" in _titles(grid)
    assert "Fear of vulnerability (higher is worse)" in _titles(grid)
    assert not _charts(at, ITEMS)


def test_item_answers_for_a_chosen_scale(db: Database, therapist: Actor) -> None:
    couple_id = _weekly(db, therapist, "G-3")
    at = rerun(_detail(open_couple(therapist, couple_id)).set_value(ITEM_ANSWERS))
    (chosen,) = [s for s in at.selectbox if s.label == "Scale"]
    # By default the most concerning scale: partner A's barriers stay at 5 of 6.
    assert chosen.value in {"fear_of_vulnerability", "past_hurt", "communication_gaps", "stressors"}
    at = rerun(chosen.set_value("consistency"))
    (items,) = _charts(at, ITEMS)
    assert items["layout"]["title"]["text"].startswith("Consistency: ")
    titles = _titles(items)
    assert [t.split(":")[0] for t in titles] == ["CON1", "CON2", "CON3"]
    assert "worded the other way" in titles[1]
    assert items["layout"]["yaxis"]["ticktext"] == [
        "Strongly disagree",
        "Disagree",
        "Somewhat disagree",
        "Neither agree nor disagree",
        "Somewhat agree",
        "Agree",
        "Strongly agree",
    ]
    con1 = [t for t in items["data"] if t["xaxis"] == "x"]
    assert [t["name"] for t in con1] == ["G-3 Alpha (A)", "G-3 Beta (B)"]
    assert [c[0] for c in con1[0]["customdata"]] == ["Somewhat disagree", "Somewhat agree"]
    assert "worded the other way" in _captions(at)


def test_thin_data_says_what_cannot_be_shown(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "G-4")
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=2), 3, skip=("CON2",))
    at = rerun(_detail(open_couple(therapist, couple_id)).set_value(EVERY_SCALE))
    (grid,) = _charts(at, GRID)
    assert [len(t["x"]) for t in grid["data"][:2]] == [1, 0]
    captions = _captions(at)
    assert "Partner B has no check-ins yet" in captions
    assert "each mini-chart shows a single point" in captions
    at = rerun(_detail(at).set_value(ITEM_ANSWERS))
    (chosen,) = [s for s in at.selectbox if s.label == "Scale"]
    at = rerun(chosen.set_value("consistency"))
    assert _charts(at, ITEMS)
    captions = _captions(at)
    assert "Not answered at any check-in yet: CON2." in captions
    assert "each row shows a single answer" in captions


def test_no_check_ins_no_detail(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "G-5")
    at = open_couple(therapist, couple_id)
    assert not [c for c in at.segmented_control if c.label == "More detail"]


def test_names_and_labels_are_not_markup(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "G-6")
    db.execute(
        "UPDATE partners SET display_name = ? WHERE couple_id = ? AND label = 'A'",
        ["<b>x</b> [a](http://e)", couple_id],
    )
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=2), 3)
    at = rerun(_detail(open_couple(therapist, couple_id)).set_value(EVERY_SCALE))
    (grid,) = _charts(at, GRID)
    assert grid["data"][0]["name"] == "&lt;b&gt;x&lt;/b&gt; [a](http://e) (A)"
