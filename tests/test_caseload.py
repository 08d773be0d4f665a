"""The caseload view: one row per couple the actor may see, filters applied in SQL, flagged
couples first (safety first), and a display table that never shows a bare None."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.practice.access import Actor
from analytics.practice.couples import set_status
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views.caseload import caseload_rows, caseload_table
from tests import factories

pytestmark = pytest.mark.both_backends

MON = dt.datetime(2026, 3, 2, 19, 0)
AS_OF = dt.date(2026, 3, 24)


def test_a_row_has_both_partners_headline_change_category_and_trend(
    db: Database, therapist: Actor
) -> None:
    cid = factories.couple(db, therapist, "C-1", start_date=dt.date(2026, 3, 1))
    for week, (a, b) in enumerate([(2, 3), (3, 3), (5, 2)]):
        when = MON + dt.timedelta(weeks=week)
        factories.checkin(db, cid, "A", when, a, barriers=6 - a)
        factories.checkin(db, cid, "B", when + dt.timedelta(hours=1), b, barriers=6 - b)
    row = caseload_rows(db, therapist, as_of=AS_OF).iloc[0]
    assert (row["headline"], row["score_min"], row["score_max"]) == ("Global satisfaction", 0, 6)
    assert (row["a_latest"], row["a_change"], row["a_category"]) == (5, 3, "recovered")
    assert (row["b_latest"], row["b_change"], row["b_category"]) == (2, -1, "unchanged")
    assert list(row["a_trend"]) == [2.0, 3.0, 5.0] and row["b_checkins"] == 3
    assert row["last_checkin"] == MON + dt.timedelta(weeks=2, hours=1)
    assert [f["kind"] for f in row["flags"]] == ["gap"]  # 5 vs 2 in the latest week


def test_flagged_couples_come_first_safety_first(db: Database, therapist: Actor) -> None:
    fine = factories.couple(db, therapist, "C-1")
    late = factories.couple(db, therapist, "C-2")
    unsafe = factories.couple(db, therapist, "C-3")
    blank = factories.couple(db, therapist, "C-0")
    for cid in (fine, unsafe, blank):
        factories.checkin(db, cid, "A", MON + dt.timedelta(weeks=3), 4)
        factories.checkin(db, cid, "B", MON + dt.timedelta(weeks=3), 4)
    factories.checkin(db, late, "A", MON - dt.timedelta(weeks=5), 4)
    factories.checkin(db, unsafe, "B", MON + dt.timedelta(weeks=3, days=1), 4, safety=1)
    # A safety screen left blank comes right after positive answers, before anything else.
    factories.checkin(db, blank, "B", MON + dt.timedelta(weeks=3, days=1), 4, safety=None)
    rows = caseload_rows(db, therapist, as_of=AS_OF)
    assert rows["case_code"].tolist() == ["C-3", "C-0", "C-2", "C-1"]
    assert [[f["kind"] for f in flags] for flags in rows["flags"]] == [
        ["safety"],
        ["safety_unanswered"],
        ["overdue"],
        [],
    ]
    assert rows["top_rank"].tolist() == [1, 2, 6, 99]
    shown = caseload_table(db, therapist, as_of=AS_OF).set_index("case_code")
    assert shown.loc["C-0", "flags"] == "❓ Safety screen not answered"
    assert shown.loc["C-0", "reasons"] == (
        "Partner B left all 4 safety questions unanswered on 24 Mar 2026."
    )


def test_filters_run_in_sql_and_respect_the_caseload(
    db: Database, therapist: Actor, supervisor: Actor
) -> None:
    other = add_therapist(db, "Other")
    factories.couple(db, therapist, "C-1")
    closed = factories.couple(db, therapist, "C-2")
    factories.couple(db, other, "X-9")
    set_status(db, therapist, closed, "closed", today=AS_OF)
    assert caseload_rows(db, therapist, as_of=AS_OF)["case_code"].tolist() == ["C-1"]
    assert caseload_rows(db, therapist, as_of=AS_OF, statuses=("closed",))[
        "case_code"
    ].tolist() == ["C-2"]
    assert caseload_rows(db, supervisor, as_of=AS_OF, search="x-")["case_code"].tolist() == ["X-9"]
    assert caseload_rows(db, supervisor, as_of=AS_OF, search="c-1 alpha")["case_code"].tolist() == [
        "C-1"
    ]
    assert caseload_rows(db, supervisor, as_of=AS_OF, therapist_id=other.id)[
        "case_code"
    ].tolist() == ["X-9"]
    assert caseload_rows(db, therapist, as_of=AS_OF, therapist_id=other.id).empty
    assert caseload_rows(db, therapist, as_of=AS_OF, search="X-9").empty
    assert caseload_rows(db, therapist, as_of=AS_OF, search="nothing").empty


def test_the_display_table_never_shows_none(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1", start_date=dt.date(2026, 3, 20))
    factories.checkin(db, cid, "A", MON + dt.timedelta(weeks=2), 3)
    table = caseload_table(db, therapist, as_of=AS_OF)
    shown = table.drop(
        columns=["couple_id", "a_trend", "b_trend", "flag_kinds", "score_min", "score_max"]
    )
    assert not shown.isna().any().any()
    assert "None" not in shown.astype(str).to_numpy().ravel().tolist()
    row = table.iloc[0]
    assert row["a_now"] == "3.0 · ⏳ Too few check-ins"
    assert row["b_now"] == "No check-ins" and row["b_trend"] == []
    assert (row["flags"], row["last_checkin"]) == ("", "16 Mar 2026")
