"""Scores, reliable change and gaps, computed in SQL: the published worked examples exactly,
proration at its boundary, reverse keys on each item's own range, CSI-4 by hand, every change
category, and partners paired within the same week."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from analytics.clinical import change, gaps, scores
from analytics.instruments import lookup
from analytics.practice.access import Actor
from analytics.practice.opening import sync_instruments
from analytics.store.db import Database
from tests import factories

pytestmark = pytest.mark.both_backends

MON = dt.datetime(2026, 3, 2, 19, 0)  # a Monday
WEEK = dt.timedelta(weeks=1)

# Five items answered 0-10 (the last reverse-keyed on its own 1-5 range would be too clever
# here; see test_reverse_keys_use_each_items_own_range). Scales over the same items:
#   jt: Jacobson & Truax worked example 1 (SD 7.5, reliability .80);
#   pub: a published reliable-change figure (RDAS's 11.58) used instead;
#   distress: worked example 2's norms (clinical 32 / 7, functional 10 / 7), higher is worse.
WORKED = """
code = "worked"
name = "Worked examples"
version = "1.0"
headline = "jt"
source = "Jacobson & Truax 1991; Anderson et al. 2014."

[defaults]
method = "sum"
min_answered = 0.8
prorate = true

[formats.ten]
type = "rating"
min = 0
max = 10

[formats.five]
type = "rating"
min = 1
max = 5

[[items]]
code = "W1"
format = "ten"
[[items]]
code = "W2"
format = "ten"
[[items]]
code = "W3"
format = "ten"
[[items]]
code = "W4"
format = "ten"
[[items]]
code = "W5"
format = "ten"
[[items]]
code = "R1"
format = "five"
[[items]]
code = "R2"
format = "five"
reverse = true

[[scales]]
code = "jt"
label = "Worked example 1"
description = "Sum of five items."
items = ["W1", "W2", "W3", "W4", "W5"]
direction = "higher_better"
reliability = { value = 0.80, type = "cronbach_alpha", sd = 7.5, source = "Worked example 1." }

[[scales]]
code = "pub"
label = "Published figure"
description = "Same items, a published reliable-change value."
items = ["W1", "W2", "W3", "W4", "W5"]
direction = "higher_better"
reliable_change = { value = 11.58, source = "Anderson et al. 2014 (RDAS)." }

[[scales]]
code = "distress"
label = "Worked example 2"
description = "Same items, higher is worse."
items = ["W1", "W2", "W3", "W4", "W5"]
direction = "higher_worse"
[scales.norms]
clinical_mean = 32
clinical_sd = 7
functional_mean = 10
functional_sd = 7
source = "Worked example 2."

[[scales]]
code = "mixed"
label = "Mixed ranges"
description = "Two 1-5 items, one reverse-keyed; mean."
items = ["R1", "R2"]
method = "mean"
direction = "higher_better"
"""


@pytest.fixture
def worked(db: Database, instruments_dir: Path) -> Database:
    (instruments_dir / "worked.toml").write_text(WORKED, "utf-8")
    sync_instruments(db)
    return db


def _sheet(level: int, *, drop: int = 0, r: tuple[int, int] = (3, 3)) -> dict[str, float]:
    values: dict[str, float] = {f"W{k}": level for k in range(1, 6 - drop)}
    values.update(R1=r[0], R2=r[1])
    return values


def test_worked_example_1_reproduces_the_published_numbers(
    worked: Database, therapist: Actor
) -> None:
    """SD 7.5, rxx .80 -> SE 3.354, Sdiff 4.743; a 10-point change gives RC 2.108 (reliable);
    the smallest reliable change is 9.30."""
    k = lookup.scales_of(worked, "worked").set_index("code").loc["jt"]
    assert round(k["se"], 3) == 3.354
    assert round(k["sdiff"], 3) == 4.743
    assert round(k["rc_points"], 2) == 9.30
    assert k["rc_method"] == "jacobson_truax" and k["rc_source"] == "Worked example 1."

    cid = factories.couple(worked, therapist, "C-1")
    factories.answers(worked, cid, "A", MON, _sheet(4), instrument="worked")  # 20
    factories.answers(worked, cid, "A", MON + WEEK, _sheet(6), instrument="worked")  # 30
    row = change.partner_change(worked, therapist, [cid]).set_index("scale_code").loc["jt"]
    assert (row["baseline"], row["latest"], row["change"]) == (20.0, 30.0, 10.0)
    assert round(row["rci"], 3) == 2.108
    assert bool(row["reliable"]) and row["category"] == "improved"


def test_worked_example_2_cutoffs(worked: Database) -> None:
    """Clinical M 32 SD 7, functional M 10 SD 7 (higher is worse) -> c = 21, a = 18, b = 24."""
    k = lookup.scales_of(worked, "worked").set_index("code").loc["distress"]
    assert (k["cutoff_c"], k["cutoff_a"], k["cutoff_b"]) == (21.0, 18.0, 24.0)
    assert (k["cutoff_used"], k["cutoff_method"], k["cutoff_from"]) == (
        21.0,
        "jacobson_truax_c",
        "Worked example 2.",
    )


def test_a_published_reliable_change_figure_is_used_instead(
    worked: Database, therapist: Actor
) -> None:
    k = lookup.scales_of(worked, "worked").set_index("code").loc["pub"]
    assert (k["rc_points"], k["rc_method"]) == (11.58, "published")
    assert k["rc_source"] == "Anderson et al. 2014 (RDAS)."
    cid = factories.couple(worked, therapist, "C-1")
    for week, level in enumerate([4, 6, 4]):
        factories.answers(worked, cid, "A", MON + week * WEEK, _sheet(level), instrument="worked")
    factories.answers(worked, cid, "B", MON, _sheet(2), instrument="worked")  # 10
    factories.answers(worked, cid, "B", MON + WEEK, _sheet(5), instrument="worked")  # 25
    rows = change.partner_change(worked, therapist, [cid])
    pub = rows[rows["scale_code"] == "pub"].set_index("partner")
    assert pub.loc["A", "category"] == "unchanged"  # 20 -> 20
    assert pub.loc["B", "change"] == 15 and pub.loc["B", "category"] == "improved"  # 15 > 11.58


def test_direction_aware_categories_on_a_higher_is_worse_scale(
    worked: Database, therapist: Actor
) -> None:
    cid = factories.couple(worked, therapist, "C-1")
    # Partner A: 40 -> 15 on "distress": better, and crossed c = 21 from above: recovered.
    factories.answers(worked, cid, "A", MON, _sheet(8), instrument="worked")
    factories.answers(worked, cid, "A", MON + WEEK, _sheet(3), instrument="worked")
    # Partner B: 15 -> 40: worse beyond noise (no reliable-change figure on "distress", so the
    # category there says so); on "jt" (higher is better) the same rise is an improvement.
    factories.answers(worked, cid, "B", MON, _sheet(3), instrument="worked")
    factories.answers(worked, cid, "B", MON + WEEK, _sheet(8), instrument="worked")
    rows = change.partner_change(worked, therapist, [cid]).set_index(["partner", "scale_code"])
    assert rows.loc[("A", "distress"), "category"] == "no_reliable_change_figure"
    assert bool(rows.loc[("A", "distress"), "baseline_distressed"])
    assert not bool(rows.loc[("A", "distress"), "latest_distressed"])
    assert (
        rows.loc[("A", "jt"), "category"] == "deteriorated"
    )  # 40 -> 15 on a better-is-higher scale
    assert rows.loc[("B", "jt"), "category"] == "improved"


def test_proration_at_the_boundary(worked: Database, therapist: Actor) -> None:
    """Sum scales with min_answered 0.8 of 5 items: 4 answered -> prorated (x 5/4); 3 -> none."""
    cid = factories.couple(worked, therapist, "C-1")
    four = factories.answers(worked, cid, "A", MON, _sheet(4, drop=1), instrument="worked")
    three = factories.answers(worked, cid, "A", MON + WEEK, _sheet(4, drop=2), instrument="worked")
    got = scores.scale_scores(worked, therapist, [cid])
    jt = got[got["scale_code"] == "jt"].set_index("response_id")
    assert list(jt.index) == [four]
    assert (jt.loc[four, "score"], jt.loc[four, "n_answered"], jt.loc[four, "n_items"]) == (
        20,
        4,
        5,
    )
    assert bool(jt.loc[four, "prorated"])
    assert three not in set(got["response_id"][got["scale_code"] == "jt"])
    assert three in set(got["response_id"])  # the other scale of that sheet is still scored


def test_checkin_mean_scales_prorate_two_of_three(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    one_missing = factories.checkin(db, cid, "A", MON, 4, skip=("SAT1",))
    two_missing = factories.checkin(db, cid, "A", MON + WEEK, 4, skip=("SAT1", "SAT2"))
    pair_missing = factories.checkin(db, cid, "B", MON, 4, skip=("TRA1",))
    got = scores.scale_scores(db, therapist, [cid]).set_index(["response_id", "scale_code"])
    assert got.loc[(one_missing, "global"), "score"] == 4.0
    assert bool(got.loc[(one_missing, "global"), "prorated"])
    assert (two_missing, "global") not in got.index  # 1 of 3: below two of three
    assert (pair_missing, "transparency") not in got.index  # 1 of 2: below 80%
    assert not bool(got.loc[(one_missing, "consistency"), "prorated"])


def test_reverse_keys_use_each_items_own_range(worked: Database, therapist: Actor) -> None:
    cid = factories.couple(worked, therapist, "C-1")
    sheet = factories.answers(worked, cid, "A", MON, _sheet(4, r=(5, 1)), instrument="worked")
    got = scores.scale_scores(worked, therapist, [cid]).set_index("scale_code")
    assert got.loc["mixed", "response_id"] == sheet
    assert got.loc["mixed", "score"] == 5.0  # R2 reversed on 1-5: 1 + 5 - 1 = 5


def test_checkin_reverse_keys_recover_the_level(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", MON, 5)
    got = scores.scale_scores(db, therapist, [cid])
    assert len(got) == 13 and set(got["score"].round(9)) == {5.0}
    factories.answers(db, cid, "B", MON, {"CON1": 6, "CON2": 6, "CON3": 6, "SAT1": 6, "SAT2": 6})
    b = scores.scale_scores(db, therapist, [cid])
    b = b[b["partner"] == "B"].set_index("scale_code")
    assert b.loc["consistency", "score"] == 4.0  # (6 + (0 + 6 - 6) + 6) / 3


def test_csi4_hand_computed(db: Database, therapist: Actor) -> None:
    """CSI-4: item 1 on 0-6, items 2-4 on 0-5, summed (0-21); below 13.5 is the distressed
    range. 4 + 3 + 4 + 2 = 13 (distressed), 5 + 4 + 4 + 3 = 16 (not); all items needed."""
    cid = factories.couple(db, therapist, "C-1")
    sheets = {"CSI4_1": 4, "CSI4_2": 3, "CSI4_3": 4, "CSI4_4": 2}
    low = factories.answers(db, cid, "A", MON, sheets, instrument="csi4")
    high = factories.answers(
        db,
        cid,
        "A",
        MON + WEEK,
        {"CSI4_1": 5, "CSI4_2": 4, "CSI4_3": 4, "CSI4_4": 3},
        instrument="csi4",
    )
    short = factories.answers(
        db, cid, "A", MON + 2 * WEEK, {"CSI4_1": 6, "CSI4_2": 5, "CSI4_3": 5}, instrument="csi4"
    )
    got = scores.scale_scores(db, therapist, [cid]).set_index("response_id")
    assert (got.loc[low, "score"], got.loc[low, "band"]) == (13.0, "Distressed range")
    assert (got.loc[high, "score"], got.loc[high, "band"]) == (16.0, "Non-distressed range")
    assert short not in got.index  # no proration on the CSI
    row = change.partner_change(db, therapist, [cid]).iloc[0]
    assert (row["instrument_code"], row["change"]) == ("csi4", 3.0)
    # The file gives no SD, so no reliable-change figure: the dashboard says it cannot tell.
    assert row["category"] == "no_reliable_change_figure" and math.isnan(row["rc_points"])
    assert (row["cutoff_used"], row["cutoff_method"]) == (13.5, "declared")


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([2, 5], "recovered"),  # reliable (3 > 1.25) and crossed the cutoff (4.0)
        ([1, 3], "improved"),  # reliable, still below the cutoff
        ([5, 6], "unchanged"),  # within noise (though already above the cutoff)
        ([3, 4, 3], "unchanged"),
        ([5, 2], "deteriorated"),
        ([4], "not_enough_data"),
    ],
)
def test_headline_categories(
    db: Database, therapist: Actor, levels: list[int], expected: str
) -> None:
    cid = factories.couple(db, therapist, "C-1")
    for week, level in enumerate(levels):
        factories.checkin(db, cid, "A", MON + week * WEEK, level)
    rows = change.partner_change(db, therapist, [cid]).set_index("scale_code")
    assert rows.loc["global", "category"] == expected
    assert rows.loc["global", "n_scores"] == len(levels)
    assert round(rows.loc["global", "rc_points"], 4) == round(
        1.96 * math.sqrt(2) * 1.3 * math.sqrt(0.12), 4
    )


def test_barrier_scales_are_direction_aware(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", MON, 1)
    factories.checkin(db, cid, "A", MON + WEEK, 5)
    rows = change.partner_change(db, therapist, [cid]).set_index("scale_code")
    assert rows.loc["past_hurt", "category"] == "deteriorated"  # a barrier rose
    assert rows.loc["consistency", "category"] == "improved"  # trust rose
    assert rows.loc["past_hurt", "latest_band"] == "Large"


def test_partners_are_paired_within_the_same_week(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    sunday = MON + dt.timedelta(days=6)
    factories.checkin(db, cid, "A", MON, 5)  # week 1, Monday
    factories.checkin(db, cid, "B", sunday, 2)  # week 1, Sunday: paired with A's Monday
    factories.checkin(db, cid, "A", MON + 2 * WEEK, 4)  # week 3: B answers only in week 4
    factories.checkin(db, cid, "B", MON + 3 * WEEK, 4)
    factories.checkin(db, cid, "A", MON + 4 * WEEK, 3)  # week 5: two answers from B,
    factories.checkin(db, cid, "B", MON + 4 * WEEK + dt.timedelta(hours=1), 6)  # the last counts
    factories.checkin(db, cid, "B", MON + 4 * WEEK + dt.timedelta(days=2), 4)
    weekly = gaps.weekly_gaps(db, therapist, cid)
    weekly = weekly[weekly["scale_code"] == "global"]
    assert [d.isoformat() for d in pd.to_datetime(weekly["week"]).dt.date] == [
        "2026-03-02",
        "2026-03-30",
    ]
    assert weekly["gap"].tolist() == [3.0, -1.0]
    summary = gaps.scale_gaps(db, therapist, [cid]).set_index("scale_code").loc["global"]
    assert (summary["paired_weeks"], summary["first_gap"], summary["latest_gap"]) == (2, 3.0, -1.0)
    assert summary["latest_gap_size"] == 1.0 and not bool(summary["exceeds_noise"])
    assert summary["gap_trend_per_week"] == pytest.approx(-0.5)  # 3 -> 1 over four weeks


def test_numbers_are_scoped_to_the_actors_couples(db: Database, therapist: Actor) -> None:
    from analytics.practice.therapists import add_therapist

    other = add_therapist(db, "Other Therapist")
    mine = factories.couple(db, therapist, "C-1")
    theirs = factories.couple(db, other, "C-2")
    factories.checkin(db, mine, "A", MON, 3)
    factories.checkin(db, theirs, "A", MON, 3)
    assert set(scores.scale_scores(db, therapist)["couple_id"]) == {mine}
    assert scores.scale_scores(db, therapist, [theirs]).empty
    assert change.partner_change(db, therapist, [theirs]).empty
