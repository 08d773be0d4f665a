"""Repair after betrayal (issue 9): cases and milestone history (append-only, moving back), every
validation rule, access and audit (never the text), the stall rules each way, the couple flag,
the Repair views, and the upgrade of 001's repair_milestones rows through migration 005."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.clinical.flags import KINDS, couple_flags, flag_label
from analytics.errors import CaseloadError
from analytics.practice import repair, settings
from analytics.practice.access import PRACTICE, Actor
from analytics.practice.couples import get_couple
from analytics.practice.opening import sync_instruments
from analytics.practice.repair import (
    MILESTONES,
    MilestoneDateError,
    MilestoneFieldError,
    RepairCaseError,
)
from analytics.practice.therapists import add_therapist
from analytics.store import migrate
from analytics.store.db import Database
from analytics.views import repair as repair_view
from tests import factories
from tests.slow_reference import reference_caseload
from tests.test_audit_chain import before_008

pytestmark = pytest.mark.both_backends

TODAY = dt.date(2026, 6, 1)
START = dt.date(2026, 1, 5)
SECRET = "Secret words: the affair with a colleague."


def _days(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def cid(db: Database, therapist: Actor) -> int:
    return factories.couple(db, therapist, "R-1", start_date=START)


@pytest.fixture
def case(db: Database, therapist: Actor, cid: int) -> int:
    return repair.open_case(
        db,
        therapist,
        cid,
        hurt_partner="B",
        description=SECRET,
        started_on=dt.date(2026, 2, 2),
        today=TODAY,
    )


def _change(db: Database, actor: Actor, case: int, milestone: int, status: str, day: dt.date,
            **text: str) -> int:  # fmt: skip
    return repair.record_change(
        db, actor, case, milestone=milestone, status=status, effective_on=day, today=TODAY, **text
    )


def _stalls(db: Database, as_of: dt.date = TODAY) -> list[tuple[str, int]]:
    rows = db.query_rows(
        "SELECT rule, milestone FROM repair_stalls(TRUE, NULL, NULL, ?) ORDER BY ALL", [as_of]
    )
    return [(str(r), int(m)) for r, m in rows]


def _state(db: Database, case: int, as_of: dt.date = TODAY) -> list[str]:
    return [
        str(s)
        for (s,) in db.query_rows(
            "SELECT status FROM repair_milestone_state(TRUE, NULL, NULL, ?) WHERE case_id = ?"
            " ORDER BY milestone",
            [as_of, case],
        )
    ]


# --- cases --------------------------------------------------------------------------------------


def test_opening_a_case_marks_the_couple_and_closing_clears_it(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    couple = get_couple(db, therapist, cid)
    assert (couple.repair_focus, couple.hurt_partner) == (True, "B")
    opened = repair.open_case_of(db, therapist, cid)
    assert opened is not None and opened.id == case
    assert (opened.hurt_partner, opened.involved_partner) == ("B", "A")
    assert opened.description == SECRET and opened.created_by == "Test Therapist"
    with pytest.raises(RepairCaseError, match="already has an open repair case"):
        repair.open_case(
            db, therapist, cid, hurt_partner="A", description="", started_on=TODAY, today=TODAY
        )
    _change(db, therapist, case, 1, "in_progress", dt.date(2026, 3, 1))
    with pytest.raises(MilestoneDateError, match="cannot close before 1 Mar 2026"):
        repair.close_case(db, therapist, case, closed_on=dt.date(2026, 2, 20), today=TODAY)
    with pytest.raises(MilestoneDateError, match="future"):
        repair.close_case(db, therapist, case, closed_on=TODAY + dt.timedelta(1), today=TODAY)
    repair.close_case(db, therapist, case, closed_on=dt.date(2026, 4, 1), today=TODAY)
    assert get_couple(db, therapist, cid).repair_focus is False
    with pytest.raises(RepairCaseError, match="already closed"):
        repair.close_case(db, therapist, case, closed_on=TODAY, today=TODAY)
    with pytest.raises(RepairCaseError, match="closed: its milestones cannot change"):
        _change(db, therapist, case, 1, "reached", TODAY)
    # A later case: not before the earlier one closed; both kept, the open one first.
    with pytest.raises(MilestoneDateError, match="before the previous one closed"):
        repair.open_case(
            db,
            therapist,
            cid,
            hurt_partner="A",
            description="",
            started_on=dt.date(2026, 3, 1),
            today=TODAY,
        )
    later = repair.open_case(
        db, therapist, cid, hurt_partner="A", description="", started_on=TODAY, today=TODAY
    )
    assert [c.id for c in repair.cases(db, therapist, cid)] == [later, case]
    assert get_couple(db, therapist, cid).hurt_partner == "A"


def test_case_validation(db: Database, therapist: Actor, cid: int) -> None:
    with pytest.raises(RepairCaseError, match="hurt partner"):
        repair.open_case(
            db, therapist, cid, hurt_partner="C", description="", started_on=TODAY, today=TODAY
        )
    with pytest.raises(MilestoneDateError, match="future"):
        repair.open_case(
            db,
            therapist,
            cid,
            hurt_partner="A",
            description="",
            started_on=TODAY + dt.timedelta(1),
            today=TODAY,
        )
    with pytest.raises(MilestoneDateError, match="needs the date"):
        repair.open_case(
            db, therapist, cid, hurt_partner="A", description="", started_on=None, today=TODAY
        )
    with pytest.raises(MilestoneFieldError, match="longer than 500"):
        repair.open_case(
            db, therapist, cid, hurt_partner="A", description="x" * 501, started_on=TODAY,
            today=TODAY,
        )  # fmt: skip
    assert db.query_value("SELECT count(*) FROM repair_cases") == 0


# --- milestones ---------------------------------------------------------------------------------


def test_history_is_appended_and_a_milestone_can_move_back(
    db: Database, therapist: Actor, case: int
) -> None:
    assert _state(db, case) == ["not_started"] * 4
    _change(db, therapist, case, 1, "in_progress", dt.date(2026, 2, 2), evidence="Named it.")
    _change(db, therapist, case, 1, "reached", dt.date(2026, 3, 2))
    _change(db, therapist, case, 2, "in_progress", dt.date(2026, 3, 2))
    _change(db, therapist, case, 2, "reached", dt.date(2026, 4, 6), amends="Budget together.")
    _change(db, therapist, case, 3, "in_progress", dt.date(2026, 4, 6), pace="Weekly talk.")
    # Trust is lost faster than it is built: acknowledgment revisited, then reached again.
    _change(db, therapist, case, 1, "revisited", dt.date(2026, 5, 4))
    assert _state(db, case) == ["revisited", "reached", "in_progress", "not_started"]
    _change(db, therapist, case, 1, "reached", dt.date(2026, 5, 18))
    _change(db, therapist, case, 2, "in_progress", dt.date(2026, 5, 18))  # moved back directly
    assert _state(db, case) == ["reached", "in_progress", "in_progress", "not_started"]
    # As of an earlier day, the state then.
    assert _state(db, case, dt.date(2026, 3, 10)) == [
        "reached", "in_progress", "not_started", "not_started",
    ]  # fmt: skip
    history = repair.history(db, therapist, case)
    assert len(history) == 8  # nothing overwritten
    assert history["entered_by"].unique().tolist() == ["Test Therapist"]
    assert history.iloc[0][["milestone", "status"]].tolist() == [2, "in_progress"]
    state = repair.milestone_state(db, therapist, case, as_of=TODAY).set_index("milestone")
    assert state.loc[2, "amends"] == "Budget together."
    assert state.loc[3, "pace"] == "Weekly talk."
    assert pd.Timestamp(state.loc[3, "pace_reviewed_on"]).date() == dt.date(2026, 4, 6)
    assert int(state.loc[1, "days_in_status"]) == (TODAY - dt.date(2026, 5, 18)).days
    changes = repair.milestone_changes(db, therapist, get_couple(db, therapist, case).id)
    assert list(changes.columns) == ["effective_on", "milestone", "milestone_label", "status"]
    assert changes["milestone_label"].tolist()[:2] == ["Acknowledgment", "Acknowledgment"]
    assert changes["status"].tolist()[-2:] == ["reached", "in_progress"]


def test_ties_on_a_day_go_to_the_change_entered_last(
    db: Database, therapist: Actor, case: int
) -> None:
    day = dt.date(2026, 3, 2)
    _change(db, therapist, case, 1, "in_progress", day)
    _change(db, therapist, case, 1, "reached", day)
    assert _state(db, case)[0] == "reached"


def test_recording_the_same_status_again_does_not_restart_the_days(
    db: Database, therapist: Actor, case: int
) -> None:
    _change(db, therapist, case, 3, "in_progress", dt.date(2026, 3, 2), pace="Slowly.")
    _change(db, therapist, case, 3, "in_progress", dt.date(2026, 5, 4), pace="A bit more.")
    state = repair.milestone_state(db, therapist, case, as_of=TODAY).set_index("milestone")
    assert int(state.loc[3, "days_in_status"]) == (TODAY - dt.date(2026, 3, 2)).days
    assert state.loc[3, "pace"] == "A bit more."


@pytest.mark.parametrize(
    ("milestone", "status", "day", "text", "error", "words"),
    [
        (1, "reached", None, {}, MilestoneDateError, "reached without the date"),
        (1, "in_progress", None, {}, MilestoneDateError, "needs the date it took effect"),
        (1, "in_progress", TODAY + dt.timedelta(1), {}, MilestoneDateError, "in the future"),
        (1, "in_progress", dt.date(2026, 2, 1), {}, MilestoneDateError, "before the case started"),
        (2, "reached", TODAY, {}, MilestoneFieldError, "without the amends agreed"),
        (2, "reached", TODAY, {"amends": "   "}, MilestoneFieldError, "without the amends"),
        (3, "in_progress", TODAY, {}, MilestoneFieldError, "needs the pace"),
        (3, "revisited", TODAY, {"pace": "x"}, MilestoneFieldError, "reached before"),
        (1, "in_progress", TODAY, {"amends": "x"}, MilestoneFieldError, "Amends are recorded"),
        (1, "in_progress", TODAY, {"pace": "x"}, MilestoneFieldError, "pace is recorded"),
        (5, "in_progress", TODAY, {}, MilestoneFieldError, "1 to 4"),
        (1, "done", TODAY, {}, MilestoneFieldError, "A status is"),
        (1, "in_progress", TODAY, {"evidence": "x" * 2001}, MilestoneFieldError, "longer"),
    ],
)
def test_every_validation_rule(
    db: Database,
    therapist: Actor,
    case: int,
    milestone: int,
    status: str,
    day: dt.date | None,
    text: dict[str, str],
    error: type[CaseloadError],
    words: str,
) -> None:
    with pytest.raises(error, match=words):
        repair.record_change(
            db,
            therapist,
            case,
            milestone=milestone,
            status=status,
            effective_on=day,
            today=TODAY,
            **text,
        )
    assert db.query_value("SELECT count(*) FROM repair_events") == 0
    assert db.query_value("SELECT count(*) FROM audit_log WHERE entity = 'repair_milestone'") == 0


def test_dates_stay_in_order_per_milestone(db: Database, therapist: Actor, case: int) -> None:
    _change(db, therapist, case, 1, "in_progress", dt.date(2026, 4, 1))
    with pytest.raises(MilestoneDateError, match="last changed on 1 Apr 2026"):
        _change(db, therapist, case, 1, "reached", dt.date(2026, 3, 31))
    # Another milestone has its own order; the same day is fine.
    _change(db, therapist, case, 2, "in_progress", dt.date(2026, 3, 1))
    _change(db, therapist, case, 1, "reached", dt.date(2026, 4, 1))
    assert _state(db, case)[:2] == ["reached", "in_progress"]


# --- access and audit ---------------------------------------------------------------------------


def test_a_therapist_cannot_touch_another_therapists_couple(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    other = add_therapist(db, "Other Therapist")
    refused = "not in your caseload"
    with pytest.raises(CaseloadError, match=refused):
        _change(db, other, case, 1, "in_progress", TODAY)
    with pytest.raises(CaseloadError, match=refused):
        repair.close_case(db, other, case, closed_on=TODAY, today=TODAY)
    with pytest.raises(CaseloadError, match=refused):
        repair.open_case(
            db, other, cid, hurt_partner="A", description="", started_on=TODAY, today=TODAY
        )
    with pytest.raises(CaseloadError, match=refused):
        repair.set_hurt_partner(db, other, case, "A")
    for read in (repair.history, repair.get_case):
        with pytest.raises(CaseloadError, match=refused):
            read(db, other, case)
    with pytest.raises(CaseloadError, match=refused):
        repair.milestone_changes(db, other, cid)
    with pytest.raises(CaseloadError, match=refused):
        repair_view.repair_detail(db, other, cid, as_of=TODAY)
    assert repair_view.repair_caseload(db, other, as_of=TODAY).empty
    # An unknown case is refused in the same words.
    with pytest.raises(CaseloadError, match=refused):
        _change(db, therapist, 999, 1, "in_progress", TODAY)
    assert db.query_value("SELECT count(*) FROM repair_events") == 0
    supervisor = add_therapist(db, "Super Visor", role="supervisor")
    _change(db, supervisor, case, 1, "in_progress", TODAY)
    assert repair.history(db, therapist, case)["entered_by"].tolist() == ["Super Visor"]


def test_the_audit_names_fields_never_the_text(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    _change(db, therapist, case, 2, "in_progress", dt.date(2026, 3, 2), evidence=SECRET)
    _change(db, therapist, case, 2, "reached", dt.date(2026, 4, 6), amends=SECRET)
    _change(db, therapist, case, 3, "in_progress", dt.date(2026, 4, 6), pace=SECRET)
    repair.close_case(db, therapist, case, closed_on=TODAY, today=TODAY)
    rows = db.query_rows(
        "SELECT therapist_id, action, entity, couple_id, detail FROM audit_log"
        " WHERE entity LIKE 'repair%' ORDER BY id"
    )
    assert [(t, a, e, c) for t, a, e, c, _ in rows] == [
        (therapist.id, "create", "repair_case", cid),
        (therapist.id, "update", "repair_milestone", cid),
        (therapist.id, "update", "repair_milestone", cid),
        (therapist.id, "update", "repair_milestone", cid),
        (therapist.id, "close", "repair_case", cid),
    ]
    details = [json.loads(d) for *_, d in rows]
    assert details[2] == {
        "case_id": case,
        "milestone": 2,
        "from": "in_progress",
        "to": "reached",
        "fields": ["status", "effective_on", "amends"],
    }
    assert details[1]["from"] == "not_started" and details[3]["fields"][-1] == "pace"
    everything = " ".join(str(d) for *_, d in rows)
    assert "Secret" not in everything and "affair" not in everything


# --- stalls -------------------------------------------------------------------------------------


def test_a_milestone_in_progress_too_long_stalls(db: Database, therapist: Actor, case: int) -> None:
    _change(db, therapist, case, 1, "in_progress", _days(56))
    assert _stalls(db) == []  # 56 days: not longer than the setting
    assert _stalls(db, TODAY + dt.timedelta(1)) == [("slow", 1)]
    reason = db.query_value(
        "SELECT reason FROM repair_stalls(TRUE, NULL, NULL, ?)", [TODAY + dt.timedelta(1)]
    )
    assert reason == (
        "Acknowledgment has been in progress for 57 days (since 6 Apr 2026): longer than the 56"
        " days set for a milestone."
    )
    settings.update(db, PRACTICE, "repair_stall_days", 30)
    assert _stalls(db) == [("slow", 1)]
    # Reached: no longer in progress, no longer stalled; revisited counts again.
    _change(db, therapist, case, 1, "reached", _days(40))
    assert _stalls(db) == []
    _change(db, therapist, case, 1, "revisited", _days(31))
    assert _stalls(db) == [("slow", 1)]


def test_no_stall_for_a_closed_case_or_a_paused_couple(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    from analytics.practice.couples import set_status

    _change(db, therapist, case, 1, "in_progress", _days(100))
    assert _stalls(db) == [("slow", 1)]
    set_status(db, therapist, cid, "paused", today=TODAY)
    assert _stalls(db) == []
    set_status(db, therapist, cid, "active", today=TODAY)
    repair.close_case(db, therapist, case, closed_on=_days(1), today=TODAY)
    assert _stalls(db) == []
    assert _stalls(db, _days(2)) == [("slow", 1)]  # it was open then


def test_a_pace_not_reviewed_stalls(db: Database, therapist: Actor, case: int) -> None:
    _change(db, therapist, case, 3, "in_progress", _days(29), pace="Weekly talk.")
    assert _stalls(db) == [("pace", 3)]
    reason = db.query_value("SELECT reason FROM repair_stalls(TRUE, NULL, NULL, ?)", [TODAY])
    assert reason.startswith("The pace the hurt partner set for rebuilding time was last reviewed")
    assert "29 days ago: longer than the 28 days set for a review." in reason
    _change(db, therapist, case, 3, "in_progress", _days(28), pace="Twice a week.")
    assert _stalls(db) == []  # reviewed 28 days ago: not longer than the setting
    # Reached still needs its pace reviewed; a review with the same status counts.
    _change(db, therapist, case, 3, "reached", _days(20))
    assert _stalls(db) == []
    assert _stalls(db, TODAY + dt.timedelta(1)) == [("pace", 3)]
    _change(db, therapist, case, 3, "reached", TODAY, pace="Whenever either asks.")
    assert _stalls(db, TODAY + dt.timedelta(20)) == []


def test_a_pace_never_recorded_counts_from_the_start_of_rebuilding(
    db: Database, therapist: Actor, case: int
) -> None:
    # As a case carried over from 001 may have: rebuilding time reached without any pace.
    db.execute(
        "INSERT INTO repair_events (case_id, milestone, status, effective_on)"
        " VALUES (?, 3, 'reached', ?)",
        [case, _days(29)],
    )
    assert _stalls(db) == [("pace", 3)]
    reason = db.query_value("SELECT reason FROM repair_stalls(TRUE, NULL, NULL, ?)", [TODAY])
    assert reason.startswith("No pace for rebuilding time has been reviewed with the hurt partner")


def _trust_checkins(db: Database, cid: int, partner: str, levels: list[int]) -> None:
    for week, level in enumerate(levels):
        when = dt.datetime.combine(START, dt.time(19)) + dt.timedelta(weeks=week)
        factories.checkin(db, cid, partner, when, level)


def test_reliability_reached_while_trust_falls_reliably_stalls(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    _trust_checkins(db, cid, "B", [5, 5, 1])  # the hurt partner's trust falls beyond noise
    _trust_checkins(db, cid, "A", [1, 3, 5])
    _change(db, therapist, case, 4, "in_progress", _days(10))
    assert _stalls(db) == []  # in progress: trust still being rebuilt
    _change(db, therapist, case, 4, "reached", _days(1))
    assert _stalls(db) == [("trust", 4)]
    reason = db.query_value("SELECT reason FROM repair_stalls(TRUE, NULL, NULL, ?)", [TODAY])
    assert reason.startswith(
        "Consistent reliability is marked reached, yet the hurt partner (B) rates trust lower"
        " beyond measurement noise: Consistency from 5.0 to 1.0"
    )
    assert "Transparency from 5.0 to 1.0" in reason
    raised = couple_flags(db, therapist, as_of=TODAY, couple_ids=[cid])
    stall = raised[raised["kind"] == "repair_stall"].iloc[0]
    assert (stall["severity"], stall["rank"], stall["reason"]) == ("medium", 7, reason)
    assert json.loads(stall["details"])[0]["rule"] == "trust"


def test_reliability_reached_with_trust_holding_does_not_stall(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    _trust_checkins(db, cid, "B", [2, 3, 5])  # the hurt partner's trust grows
    _trust_checkins(db, cid, "A", [5, 5, 1])  # the involved partner's falls: not this rule
    _change(db, therapist, case, 4, "reached", _days(1))
    assert _stalls(db) == []


def test_the_flag_matches_the_slow_reference(db: Database, therapist: Actor, cid: int) -> None:
    """Each rule, compared with tests/slow_reference.py (written independently)."""
    cases = {}
    for code, hurt in (("S-1", "A"), ("S-2", "B"), ("S-3", "B"), ("S-4", "A")):
        couple = factories.couple(db, therapist, code, start_date=START)
        cases[code] = repair.open_case(
            db, therapist, couple, hurt_partner=hurt, description="", started_on=START,
            today=TODAY,
        )  # fmt: skip
    _change(db, therapist, cases["S-1"], 2, "in_progress", _days(70))
    _change(db, therapist, cases["S-2"], 3, "in_progress", _days(40), pace="Slow.")
    s3 = int(db.query_value("SELECT id FROM couples WHERE case_code = 'S-3'"))
    _trust_checkins(db, s3, "B", [5, 5, 1])
    _change(db, therapist, cases["S-3"], 4, "reached", _days(3))
    _change(db, therapist, cases["S-4"], 1, "in_progress", _days(3))
    from analytics.instruments.catalog import builtin
    from analytics.views.caseload import caseload_rows

    ref = reference_caseload(db, builtin("checkin"), as_of=TODAY, sees_all=True, therapist=None)
    expected = {str(c): set(k) for c, k in zip(ref["case_code"], ref["flag_kinds"], strict=True)}
    rows = caseload_rows(db, PRACTICE, as_of=TODAY, statuses=("active", "paused"))
    found = {
        str(c): {str(f["kind"]) for f in fl}
        for c, fl in zip(rows["case_code"], rows["flags"], strict=True)
    }
    assert {c: k & {"repair_stall"} for c, k in found.items()} == {
        c: k & {"repair_stall"} for c, k in expected.items()
    }
    assert {c for c, k in found.items() if "repair_stall" in k} == {"S-1", "S-2", "S-3"}


def test_the_flag_kind_is_known() -> None:
    assert flag_label("repair_stall") == "🧩 Repair stalled"
    assert list(KINDS)[-1] == "repair_stall"


def test_labels_agree_with_the_sql(db: Database) -> None:
    labels = [db.query_value("SELECT repair_milestone_label(?)", [m]) for m in (1, 2, 3, 4)]
    assert labels == list(MILESTONES)


def test_the_settings_page_lists_the_repair_thresholds(db: Database) -> None:
    listing = settings.listing(db).set_index("key")
    assert listing.loc["repair_stall_days", "value"] == 56
    assert listing.loc["pace_review_days", "value"] == 28
    with pytest.raises(CaseloadError, match="from 7 to 365"):
        settings.update(db, PRACTICE, "repair_stall_days", 3)


# --- views --------------------------------------------------------------------------------------


def test_the_detail_says_what_thin_data_cannot_show(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    detail = repair_view.repair_detail(db, therapist, cid, as_of=TODAY)
    assert detail.case is not None and detail.case.id == case
    assert detail.hurt_name == f"{get_couple(db, therapist, cid).partner('B').name} (B)"
    assert any("has no check-ins with trust ratings yet" in n for n in detail.notes)
    assert any("all four are not started" in n for n in detail.notes)
    assert detail.figure is not None and detail.evidence.empty
    _trust_checkins(db, cid, "B", [3])
    detail = repair_view.repair_detail(db, therapist, cid, as_of=TODAY)
    assert any("One check-in with trust ratings so far" in n for n in detail.notes)
    assert detail.evidence["scale"].tolist() == ["Consistency", "Transparency"]
    figure = detail.figure.to_dict()
    assert [t["meta"] for t in figure["data"]][-2:] == ["trust_consistency", "trust_transparency"]


def test_the_caseload_lists_open_cases_safety_first(
    db: Database, therapist: Actor, cid: int, case: int
) -> None:
    other = factories.couple(db, therapist, "R-2", start_date=START)
    repair.open_case(
        db, therapist, other, hurt_partner="A", description="", started_on=_days(5), today=TODAY
    )
    factories.checkin(db, other, "A", dt.datetime(2026, 5, 30, 19), 3, safety=None)
    _change(db, therapist, case, 1, "in_progress", _days(60))
    table = repair_view.repair_caseload(db, therapist, as_of=TODAY)
    assert table["case_code"].tolist() == ["R-2", "R-1"]  # safety first, then stalled
    assert table["safety"].tolist() == [repair_view.SAFETY_WORDS, ""]
    assert table["stalled"].tolist()[1].startswith("🧩 Acknowledgment has been in progress")
    assert table["reached"].tolist() == ["0 of 4", "0 of 4"]
    assert table.loc[1, "days_in_status"] == 60


# --- migration 005 ------------------------------------------------------------------------------


def test_an_older_database_keeps_its_milestones_through_005(
    db_path: Path, instruments_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = migrate.available()
    monkeypatch.setattr(migrate, "available", lambda: [m for m in shipped if m.version <= 4])
    restore_audit = before_008(monkeypatch)  # today's code writing a release-4 database
    db = factories.database(db_path)
    try:
        migrate.apply_migrations(db)
        sync_instruments(db, instruments_dir)
        therapist = add_therapist(db, "Before 005")
        known = factories.couple(db, therapist, "M-1", repair_focus=True, hurt_partner="B")
        unknown = factories.couple(db, therapist, "M-2", repair_focus=True)
        ended = factories.couple(db, therapist, "M-3", hurt_partner="A")
        factories.couple(db, therapist, "M-4")  # never in repair: no case
        rows = [
            (known, 1, "in_progress", "2026-02-02 17:30:00", "Said it aloud."),
            (known, 1, "reached", "2026-03-02 17:30:00", None),
            (known, 2, "in_progress", "2026-03-02 17:31:00", "Working on amends."),
            (ended, 1, "in_progress", "2026-01-19 17:30:00", None),
        ]
        for couple, milestone, status, when, note in rows:
            db.execute(
                "INSERT INTO repair_milestones (couple_id, milestone, status, changed_at,"
                " changed_by, note) VALUES (?, ?, ?, ?, ?, ?)",
                [couple, milestone, status, when, therapist.id, note],
            )
        monkeypatch.setattr(migrate, "available", lambda: shipped)
        restore_audit()
        assert 5 in migrate.apply_migrations(db)
        tables = {r[0] for r in db.query_rows("SELECT table_name FROM information_schema.tables")}
        assert "repair_milestones" not in tables
        cases = db.query_rows(
            "SELECT couple_id, hurt_partner, started_on, closed_on, created_by FROM repair_cases"
            " ORDER BY couple_id"
        )
        assert cases == [
            (known, "B", dt.date(2026, 2, 2), None, therapist.id),
            # In repair, no rows, no hurt partner: an open case asking for it.
            (unknown, None, START, None, None),
            # Rows but no longer in repair: closed on its last change.
            (ended, "A", dt.date(2026, 1, 19), dt.date(2026, 1, 19), therapist.id),
        ]
        events = db.query_rows(
            "SELECT e.milestone, e.status, e.effective_on, e.evidence FROM repair_events e"
            " JOIN repair_cases k ON k.id = e.case_id WHERE k.couple_id = ? ORDER BY e.id",
            [known],
        )
        assert events == [
            (1, "in_progress", dt.date(2026, 2, 2), "Said it aloud."),
            (1, "reached", dt.date(2026, 3, 2), None),
            (2, "in_progress", dt.date(2026, 3, 2), "Working on amends."),
        ]
        # New rows get new ids after the carried-over ones; the unknown hurt partner is asked.
        case_m2 = int(db.query_value("SELECT id FROM repair_cases WHERE couple_id = ?", [unknown]))
        detail = repair_view.repair_detail(db, therapist, unknown, as_of=TODAY)
        assert any("hurt partner of this case is not recorded" in n for n in detail.notes)
        repair.set_hurt_partner(db, therapist, case_m2, "A")
        assert get_couple(db, therapist, unknown).hurt_partner == "A"
        known_case = int(db.query_value("SELECT id FROM repair_cases WHERE couple_id = ?", [known]))
        new = _change(db, therapist, known_case, 2, "reached", TODAY, amends="Budget.")
        assert new > max(
            r[0] for r in db.query_rows("SELECT id FROM repair_events WHERE id <> ?", [new])
        )
        settings_now = dict(db.query_rows("SELECT key, value FROM practice_settings"))
        assert (settings_now["repair_stall_days"], settings_now["pace_review_days"]) == (56, 28)
    finally:
        db.close()
