"""Scoring and the caseload table."""

from __future__ import annotations

import datetime as dt

from analytics.clinical import scores as scoring
from analytics.practice.therapists import Actor, add_therapist
from analytics.store.db import Database
from analytics.views import caseload
from tests import factories

MON = dt.datetime(2026, 3, 2, 19, 0)


def test_reverse_items_are_flipped_before_averaging(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", MON, 5)
    scores = scoring.construct_scores(db, couple_ids=[cid])
    # Every construct (including those with reverse-keyed items) recovers the latent level.
    assert set(scores["score"].round(6)) == {5.0}
    assert "safety" not in set(scores["construct"])


def test_construct_needs_its_minimum_items(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", MON, 4, skip=("SAT1", "SAT2"))
    scores = scoring.construct_scores(db, couple_ids=[cid])
    assert "global" not in set(scores["construct"])  # 1 of 3 answered, minimum is 2
    assert "consistency" in set(scores["construct"])


def test_positive_safety_answer_is_reported_alone(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", MON, 6, safety=1)
    found = scoring.safety_answers(db, couple_ids=[cid])
    assert len(found) == 4 and set(found["label"]) == {"A"}


def test_caseload_row_has_latest_change_trend_and_weeks(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1", start_date=dt.date(2026, 3, 1))
    for week, (a, b) in enumerate([(2, 3), (3, 3), (5, 2)]):
        when = MON + dt.timedelta(weeks=week)
        factories.checkin(db, cid, "A", when, a)
        factories.checkin(db, cid, "B", when + dt.timedelta(hours=1), b)
    table = caseload.caseload_table(db, therapist, as_of=dt.date(2026, 3, 22))
    row = table.iloc[0]
    assert (row["a_latest"], row["a_change"], row["b_latest"], row["b_change"]) == (5, 3, 2, -1)
    assert row["a_trend"] == [2.0, 3.0, 5.0]
    assert row["weeks_in_therapy"] == 3
    assert row["last_checkin"] == MON + dt.timedelta(weeks=2, hours=1)
    assert not row["overdue"] and not row["safety"] and row["attention"] == ""


def test_safety_then_overdue_sort_first(db: Database, therapist: Actor) -> None:
    fine = factories.couple(db, therapist, "C-1")
    late = factories.couple(db, therapist, "C-2")
    unsafe = factories.couple(db, therapist, "C-3")
    factories.checkin(db, fine, "A", MON, 4)
    factories.checkin(db, late, "A", MON - dt.timedelta(weeks=5), 4)
    factories.checkin(db, unsafe, "B", MON, 4, safety=2)
    table = caseload.caseload_table(db, therapist, as_of=MON.date())
    assert table["case_code"].tolist() == ["C-3", "C-2", "C-1"]
    assert table.iloc[0]["attention"].startswith("⚠️ Safety")
    assert "No check-in for 5 weeks" in table.iloc[1]["attention"]


def test_filters_and_isolation(db: Database, therapist: Actor, supervisor: Actor) -> None:
    other = add_therapist(db, "Other")
    factories.couple(db, therapist, "C-1")
    closed = factories.couple(db, therapist, "C-2")
    factories.couple(db, other, "X-9")
    from analytics.practice.couples import set_status

    set_status(db, therapist, closed, "closed")
    assert caseload.caseload_table(db, therapist)["case_code"].tolist() == ["C-1"]
    assert caseload.caseload_table(db, therapist, statuses=("closed",))["case_code"].tolist() == [
        "C-2"
    ]
    assert caseload.caseload_table(db, supervisor, search="x-")["case_code"].tolist() == ["X-9"]
    assert caseload.caseload_table(db, therapist, search="nothing").empty
