"""AppTest of the couple page's barrier and trust profile and heatmap: both partners on the
charts, the reliable-change rings, and what thin data cannot show yet."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import TODAY, choose, open_couple

pytestmark = pytest.mark.usefixtures("app_env")
PROFILE = "latest check-in, most concerning first"
HEATMAP = "every check-in, scale by scale"


def _charts(at: Any, title_part: str) -> list[dict[str, Any]]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [s for s in specs if title_part in s["layout"]["title"]["text"]]


def _names(spec: dict[str, Any]) -> list[str]:
    return [str(t.get("name")) for t in spec["data"]]


def _captions(at: Any) -> str:
    return " ".join(c.value for c in at.caption)


def test_profile_and_heatmap_show_both_partners(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "F-1")
    first, later = TODAY - dt.timedelta(weeks=3), TODAY - dt.timedelta(weeks=1)
    factories.checkin(db, couple_id, "A", first, 3, barriers=5)
    factories.checkin(db, couple_id, "B", first, 5, barriers=3)
    factories.checkin(db, couple_id, "A", later, 3, barriers=1)
    factories.checkin(db, couple_id, "B", later, 1, barriers=3)
    at = open_couple(therapist, couple_id)
    assert any(s.value == "Barriers and trust, both partners" for s in at.subheader)
    (profile,) = _charts(at, PROFILE)
    names = _names(profile)
    for partner in ("F-1 Alpha (A)", "F-1 Beta (B)"):
        assert f"{partner}, latest" in names and f"{partner}, first check-in" in names
    rings = {t["name"]: t for t in profile["data"]}
    assert set(rings["Better beyond noise since the first check-in"]["customdata"]) == {"A"}
    assert set(rings["Worse beyond noise since the first check-in"]["customdata"]) == {"B"}
    assert len(profile["layout"]["yaxis"]["categoryarray"]) == 13
    # The heatmap is drawn when asked for, under "More detail".
    assert not _charts(at, HEATMAP)
    (heatmap,) = _charts(choose(at, "More detail", "Each check-in, scale by scale"), HEATMAP)
    assert _names(heatmap) == ["F-1 Alpha (A)", "F-1 Beta (B)"]
    assert [len(t["x"]) for t in heatmap["data"]] == [2, 2]
    assert "needs a second check-in" not in _captions(at)


def test_one_check_in_from_one_partner_says_what_cannot_be_shown(
    db: Database, therapist: Actor
) -> None:
    couple_id = factories.couple(db, therapist, "F-2")
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=2), 3)
    at = open_couple(therapist, couple_id)
    (profile,) = _charts(at, PROFILE)
    assert "F-2 Beta (B): no check-ins yet" in _names(profile)
    assert not [t for t in profile["data"] if t["name"].startswith("Gap") and t.get("x")]
    (heatmap,) = _charts(choose(at, "More detail", "Each check-in, scale by scale"), HEATMAP)
    assert [len(t["x"]) for t in heatmap["data"]] == [1, 0]
    captions = _captions(at)
    assert "Partner B has no check-ins yet" in captions
    assert "needs a second check-in" in captions


def test_no_check_ins_no_profile(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "F-3")
    at = open_couple(therapist, couple_id)
    assert not _charts(at, PROFILE) and not _charts(at, HEATMAP)
    assert not [c for c in at.segmented_control if c.label == "More detail"]
    assert "the profile appears after the first check-in" in _captions(at)


def test_a_scale_nobody_could_score_is_named(db: Database, therapist: Actor) -> None:
    """Missing items: the scale is left out of the profile and named in a note."""
    couple_id = factories.couple(db, therapist, "F-4")
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=2), 3, skip=("GOL1", "GOL2"))
    at = open_couple(therapist, couple_id)
    assert "Not scored yet (too many of their questions left blank): Mutual goals." in (
        _captions(at)
    )
    (profile,) = _charts(at, PROFILE)
    assert "Mutual goals" not in profile["layout"]["yaxis"]["categoryarray"]
