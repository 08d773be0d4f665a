"""AppTest of the couple page's progress chart: the scale chooser and thin-data captions."""

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


def _chart(at: Any) -> dict[str, Any]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    (spec,) = [s for s in specs if s["layout"]["title"]["text"].endswith(" over time")]
    return spec


def test_choosing_a_scale_redraws_the_chart(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "S-1")
    for week, level in enumerate([2, 5]):
        when = TODAY - dt.timedelta(weeks=2 - week)
        factories.checkin(db, couple_id, "A", when, level)
        factories.checkin(db, couple_id, "B", when, 3)
    at = open_couple(therapist, couple_id)
    chooser = next(s for s in at.selectbox if s.label == "Scale shown over time")
    assert chooser.value == "global"
    before = _chart(at)
    assert any(a["text"] == "distressed range (below 4)" for a in before["layout"]["annotations"])
    at = rerun(chooser.select("consistency"))
    after = _chart(at)
    assert after["layout"]["title"]["text"] == "Consistency over time"
    assert not after["layout"].get("shapes")
    assert any("no published cutoff" in c.value for c in at.caption)


def test_one_partner_one_check_in_says_what_it_cannot_show(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "S-2")
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=1), 3)
    at = open_couple(therapist, couple_id)
    names = [t["name"] for t in _chart(at)["data"]]
    assert names == ["S-2 Alpha (A)", "S-2 Beta (B): no check-ins yet"]
    captions = [c.value for c in at.caption]
    assert "Partner B has no check-ins on this scale yet: only partner A is shown." in captions
    assert any(c.startswith("One check-in so far: change") for c in captions)
