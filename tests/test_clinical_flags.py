"""Caseload flags, each raised and not raised, with their reasons and numbers; the safety flag's
life cycle (raised, assessed, raised again), and the same for a safety screen left unanswered;
thresholds from practice settings."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.clinical.flags import KINDS, couple_flags, safety_answers, safety_unanswered
from analytics.errors import CaseloadError
from analytics.importing import service
from analytics.instruments import catalog
from analytics.practice import settings
from analytics.practice.access import Actor
from analytics.practice.couples import set_status
from analytics.practice.safety import assessments, record_assessment
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories

pytestmark = pytest.mark.both_backends

MON = dt.datetime(2026, 3, 2, 19, 0)
WEEK = dt.timedelta(weeks=1)
START = dt.date(2026, 3, 1)


def kinds(db: Database, actor: Actor, couple_id: int, as_of: dt.date) -> dict[str, str]:
    """kind -> reason of the flags raised for one couple."""
    raised = couple_flags(db, actor, as_of=as_of, couple_ids=[couple_id])
    return dict(zip(raised["kind"], raised["reason"], strict=True))


def weekly(db: Database, couple_id: int, a: list[int], b: list[int] | None = None) -> dt.date:
    """Weekly check-ins at these levels (barriers mirrored: 6 - level, as when things go well or
    badly together); returns the day after the last one."""
    for week, level in enumerate(a):
        factories.checkin(db, couple_id, "A", MON + week * WEEK, level, barriers=6 - level)
    for week, level in enumerate(b if b is not None else a):
        when = MON + week * WEEK + dt.timedelta(hours=1)
        factories.checkin(db, couple_id, "B", when, level, barriers=6 - level)
    return (MON + (len(a) - 1) * WEEK).date() + dt.timedelta(days=1)


@pytest.fixture
def cid(db: Database, therapist: Actor) -> int:
    return factories.couple(db, therapist, "C-1", start_date=START)


def test_a_calm_couple_raises_nothing(db: Database, therapist: Actor, cid: int) -> None:
    as_of = weekly(db, cid, [2, 3, 4, 5])
    assert kinds(db, therapist, cid, as_of) == {}


# --- safety --------------------------------------------------------------------------------------


def test_a_positive_safety_answer_raises_the_flag_with_item_and_answer(
    db: Database, therapist: Actor, cid: int
) -> None:
    factories.checkin(db, cid, "A", MON, 4)
    response = factories.answers(
        db, cid, "B", MON + dt.timedelta(days=1), {"SAT1": 4, "SAT2": 4, "SAF2": 1}
    )
    raised = couple_flags(db, therapist, as_of=START + dt.timedelta(days=3), couple_ids=[cid])
    first = raised.iloc[0]
    assert (first["kind"], first["severity"], first["rank"]) == ("safety", "urgent", 1)
    assert first["reason"] == "Partner B answered “Once” to “Fear of the partner” on 3 Mar 2026."
    (detail,) = json.loads(first["details"])
    assert (detail["item"], detail["answer"], detail["value"], detail["partner"]) == (
        "SAF2",
        "Once",
        1.0,
        "B",
    )
    found = safety_answers(db, therapist, cid)
    assert found["response_id"].tolist() == [response] and not found["acknowledged"].any()


def test_never_is_not_a_positive_answer_and_blank_is_never_read_as_never(
    db: Database, therapist: Actor, cid: int
) -> None:
    factories.checkin(db, cid, "A", MON, 4, safety=0)
    factories.checkin(db, cid, "B", MON, 4, skip=("SAF1", "SAF2", "SAF3", "SAF4"))
    assert "safety" not in kinds(db, therapist, cid, START + dt.timedelta(days=2))
    stored = db.query_rows(
        "SELECT partner, count(*), count(value), bool_or(positive) FROM response_safety"
        " GROUP BY partner ORDER BY partner"
    )
    assert stored == [("A", 4, 4, False), ("B", 4, 0, None)]  # unanswered stays unknown
    # ... and is a flag of its own: a blank screen is not a negative one.
    assert kinds(db, therapist, cid, START + dt.timedelta(days=2))["safety_unanswered"] == (
        "Partner B left all 4 safety questions unanswered on 2 Mar 2026."
    )


def test_several_positive_answers_are_counted_never_averaged(
    db: Database, therapist: Actor, cid: int
) -> None:
    factories.checkin(db, cid, "A", MON, 5, safety=2)  # all four items "More than once"
    reason = kinds(db, therapist, cid, START + dt.timedelta(days=2))["safety"]
    assert reason.startswith(
        "4 positive safety answers since safety was last assessed. The latest:"
    )
    assert "The latest: partner A answered “More than once” to “Physical harm or threats”" in reason


def test_safety_stays_raised_until_assessed_and_rises_again(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = START + dt.timedelta(days=30)
    factories.checkin(db, cid, "A", MON, 4, safety=1)
    assert "safety" in kinds(db, therapist, cid, as_of)
    assert "safety" in kinds(db, therapist, cid, as_of + dt.timedelta(days=60))  # never times out

    record_assessment(
        db,
        therapist,
        cid,
        note="Seen separately; no current risk.",
        assessed_on=START + dt.timedelta(days=3),
        today=as_of,
    )
    assert "safety" not in kinds(db, therapist, cid, as_of)
    assert safety_answers(db, therapist, cid)["acknowledged"].all()
    review = db.query_rows(
        "SELECT action, entity, couple_id, detail FROM audit_log WHERE action = 'safety_assessed'"
    )
    assert review == [("safety_assessed", "safety_review", cid, "{}")]  # no note in the audit
    listed = assessments(db, therapist, cid)
    assert listed[["assessed_by", "note"]].values.tolist() == [
        ["Test Therapist", "Seen separately; no current risk."]
    ]

    # A later "Never" changes nothing; a later positive answer raises it again, alone.
    factories.checkin(db, cid, "A", MON + WEEK, 4, safety=0)
    assert "safety" not in kinds(db, therapist, cid, as_of)
    factories.checkin(db, cid, "B", MON + 2 * WEEK, 4, skip=("SAF1",), safety=1)
    reason = kinds(db, therapist, cid, as_of)["safety"]
    assert reason.startswith("3 positive safety answers") and "The latest: partner B" in reason


def test_an_assessment_needs_a_note_an_answer_waiting_and_the_couple_in_the_caseload(
    db: Database, therapist: Actor, cid: int
) -> None:
    today = START + dt.timedelta(days=10)
    with pytest.raises(CaseloadError, match="no safety answer waiting"):
        record_assessment(db, therapist, cid, note="Checked.", assessed_on=today, today=today)
    factories.checkin(db, cid, "A", MON, 4, safety=1)
    with pytest.raises(CaseloadError, match="short note"):
        record_assessment(db, therapist, cid, note="   ", assessed_on=today, today=today)
    with pytest.raises(CaseloadError, match="future"):
        record_assessment(
            db,
            therapist,
            cid,
            note="Checked.",
            assessed_on=today + dt.timedelta(days=1),
            today=today,
        )
    other = add_therapist(db, "Other Therapist")
    with pytest.raises(CaseloadError, match="not in your caseload"):
        record_assessment(db, other, cid, note="Checked.", assessed_on=today, today=today)
    assert db.query_value("SELECT count(*) FROM safety_reviews") == 0


# --- safety screen not answered ------------------------------------------------------------------

SAFETY_CODES = ("SAF1", "SAF2", "SAF3", "SAF4")


def test_a_blank_safety_screen_raises_its_own_flag_below_positive_answers(
    db: Database, therapist: Actor, cid: int
) -> None:
    factories.checkin(db, cid, "A", MON, 4)  # every safety question answered "Never"
    assert kinds(db, therapist, cid, START + dt.timedelta(days=3)) == {}
    factories.checkin(db, cid, "B", MON + dt.timedelta(days=1), 4, skip=("SAF1", "SAF3"))
    raised = couple_flags(db, therapist, as_of=START + dt.timedelta(days=3), couple_ids=[cid])
    (flag,) = raised.to_dict("records")
    assert (flag["kind"], flag["severity"], flag["rank"]) == ("safety_unanswered", "high", 2)
    assert flag["reason"] == "Partner B left 2 of the 4 safety questions unanswered on 3 Mar 2026."
    (detail,) = json.loads(flag["details"])
    assert detail == {
        "partner": "B",
        "instrument": "checkin",
        "completed_at": "2026-03-03 19:00:00",
        "unanswered": 2,
        "items": 4,
        "unanswered_items": ["SAF1", "SAF3"],
    }
    assert KINDS["safety_unanswered"] == ("❓", "Safety screen not answered")
    assert list(KINDS)[:3] == ["safety", "safety_unanswered", "deterioration"]
    # The check-in is stored as given: the answered items count, the blank ones stay unknown.
    (screen,) = safety_unanswered(db, therapist, cid).to_dict("records")
    assert (screen["partner"], screen["n_items"], screen["n_unanswered"]) == ("B", 4, 2)
    assert list(screen["item_names"]) == ["Physical harm or threats", "Pressure or control"]
    assert not screen["acknowledged"] and safety_answers(db, therapist, cid).empty


def test_safety_answers_missing_from_the_sheet_count_as_unanswered(
    db: Database, therapist: Actor, cid: int
) -> None:
    # safety=None: the safety cells are there but empty (NaN), as in an export's blank cells.
    factories.checkin(db, cid, "A", MON, 4, safety=None)
    factories.checkin(db, cid, "B", MON + dt.timedelta(hours=1), 4, skip=("SAF4",))
    reason = kinds(db, therapist, cid, START + dt.timedelta(days=3))["safety_unanswered"]
    assert reason == (
        "2 check-ins left safety questions unanswered since safety was last assessed. "
        "The latest: partner B left 1 of the 4 safety questions unanswered on 2 Mar 2026."
    )
    # Only B's three answered safety questions are stored as answers; nothing stands in for a blank.
    safety_rows = "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
    assert db.query_value(safety_rows + " WHERE i.kind = 'safety'") == 3


def test_blank_safety_cells_in_an_imported_file_raise_the_flag(
    db: Database, therapist: Actor, cid: int
) -> None:
    codes = [item.code for item in catalog.builtin("checkin").answer_items]

    def row(email: str, when: str, blank: tuple[str, ...]) -> str:
        cells = ["" if c in blank else "0" if c in SAFETY_CODES else "4" for c in codes]
        return ",".join([email, when, *cells])

    data = "\n".join(
        [
            ",".join(["email", "completed_at", *codes]),
            row("c1.a@example.org", "2026-03-02 19:00:00", ()),
            row("c1.b@example.org", "2026-03-02 20:00:00", SAFETY_CODES),
        ]
    ).encode()
    now = dt.datetime(2026, 3, 4, 12, 0)
    preview = service.prepare(db, therapist, "export.csv", data, now=now)
    assert preview.problems == [] and preview.rejected == []
    assert service.commit_import(db, therapist, preview).accepted == 2  # stored, not dropped
    raised = couple_flags(db, therapist, as_of=now.date(), couple_ids=[cid])
    assert raised[["kind", "reason"]].values.tolist() == [
        ["safety_unanswered", "Partner B left all 4 safety questions unanswered on 2 Mar 2026."]
    ]
    # A file without the safety questions at all is refused, not read as four "Never"s.
    without = "\n".join(
        [
            ",".join(["email", "completed_at", *(c for c in codes if c not in SAFETY_CODES)]),
            ",".join(["c1.a@example.org", "2026-03-03 19:00:00"] + ["4"] * (len(codes) - 4)),
        ]
    ).encode()
    assert service.prepare(db, therapist, "short.csv", without, now=now).problems


def test_an_assessment_acknowledges_an_unanswered_screen_until_the_next_one(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = START + dt.timedelta(days=30)
    factories.checkin(db, cid, "A", MON, 4, skip=("SAF2",))
    assert "safety_unanswered" in kinds(db, therapist, cid, as_of)
    assert "safety_unanswered" in kinds(db, therapist, cid, as_of + dt.timedelta(days=90))

    # Nothing positive is waiting, but the blank screen is: the assessment is accepted.
    record_assessment(
        db,
        therapist,
        cid,
        note="Asked in session; no current risk.",
        assessed_on=as_of,
        today=as_of,
    )
    assert "safety_unanswered" not in kinds(db, therapist, cid, as_of)
    assert safety_unanswered(db, therapist, cid)["acknowledged"].all()

    # A later full screen answered "Never" changes nothing; a later blank one raises it again.
    factories.checkin(db, cid, "A", MON + WEEK, 4, safety=0)
    assert "safety_unanswered" not in kinds(db, therapist, cid, as_of)
    factories.checkin(db, cid, "B", MON + 2 * WEEK, 4, safety=None)
    assert kinds(db, therapist, cid, as_of)["safety_unanswered"] == (
        "Partner B left all 4 safety questions unanswered on 16 Mar 2026."
    )
    # With nothing waiting at all, an assessment is still refused.
    record_assessment(db, therapist, cid, note="Asked again.", assessed_on=as_of, today=as_of)
    with pytest.raises(CaseloadError, match="no safety question left unanswered"):
        record_assessment(db, therapist, cid, note="Again.", assessed_on=as_of, today=as_of)


def test_a_positive_answer_and_a_blank_screen_raise_both_safety_flags_in_order(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = weekly(db, cid, [5, 4, 2], [5, 5, 5])
    factories.checkin(db, cid, "B", MON + 3 * WEEK, 5, safety=1, skip=("SAF4",))
    raised = couple_flags(db, therapist, as_of=as_of + dt.timedelta(days=30), couple_ids=[cid])
    assert raised["kind"].tolist() == [
        "safety",
        "safety_unanswered",
        "deterioration",
        "gap",
        "overdue",
    ]
    assert raised["rank"].tolist() == [1, 2, 3, 4, 6]
    assert raised["severity"].tolist() == ["urgent", "high", "high", "medium", "low"]
    # One assessment covers both.
    record_assessment(db, therapist, cid, note="Seen alone.", assessed_on=as_of, today=as_of)
    left = couple_flags(db, therapist, as_of=as_of + dt.timedelta(days=30), couple_ids=[cid])
    assert left["kind"].tolist() == ["deterioration", "gap", "overdue"]


def test_instruments_without_safety_questions_never_raise_it(
    db: Database, therapist: Actor, cid: int
) -> None:
    full = {"CSI4_1": 4, "CSI4_2": 3, "CSI4_3": 3, "CSI4_4": 2}
    factories.answers(db, cid, "A", MON, full, instrument="csi4")
    factories.answers(db, cid, "B", MON + dt.timedelta(hours=1), full, instrument="csi4")
    factories.answers(db, cid, "A", MON + WEEK, {"CSI4_1": 4}, instrument="csi4")  # mostly blank
    assert kinds(db, therapist, cid, START + dt.timedelta(days=10)) == {}
    assert safety_unanswered(db, therapist, cid).empty


def test_an_unanswered_screen_is_only_seen_by_those_who_see_the_couple(
    db: Database, therapist: Actor, supervisor: Actor, cid: int
) -> None:
    other = add_therapist(db, "Other Therapist")
    factories.checkin(db, cid, "A", MON, 4, safety=None)
    as_of = START + dt.timedelta(days=3)
    assert couple_flags(db, other, as_of=as_of).empty
    assert safety_unanswered(db, other, cid).empty
    assert couple_flags(db, supervisor, as_of=as_of)["kind"].tolist() == ["safety_unanswered"]


# --- reliable deterioration ----------------------------------------------------------------------


def test_reliable_deterioration_is_flagged_with_numbers(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = weekly(db, cid, [5, 4, 2], [4, 4, 4])
    reason = kinds(db, therapist, cid, as_of)["deterioration"]
    assert reason.startswith("Partner A: Global satisfaction fell from 5.0 to 2.0, by 3.00 points:")
    assert "more than the 1.25 that measurement noise explains." in reason
    raised = couple_flags(db, therapist, as_of=as_of, couple_ids=[cid]).set_index("kind")
    details = json.loads(raised.loc["deterioration", "details"])
    assert {d["partner"] for d in details} == {"A"} and len(details) == 13  # every scale fell


def test_a_drop_within_noise_is_not_flagged(db: Database, therapist: Actor, cid: int) -> None:
    as_of = weekly(db, cid, [5, 5, 4])  # global 5 -> 4: 1.00 < 1.25; other scales smaller still
    assert "deterioration" not in kinds(db, therapist, cid, as_of)


def test_a_rising_barrier_counts_as_deterioration(db: Database, therapist: Actor, cid: int) -> None:
    factories.checkin(db, cid, "A", MON, 3)
    factories.answers(
        db, cid, "A", MON + WEEK, {"SAT1": 3, "SAT2": 3, "SAT3": 3, "BPH1": 6, "BPH2": 6}
    )
    factories.answers(
        db, cid, "A", MON - WEEK, {"SAT1": 3, "SAT2": 3, "SAT3": 3, "BPH1": 1, "BPH2": 1}
    )
    reason = kinds(db, therapist, cid, (MON + WEEK).date())["deterioration"]
    assert reason.startswith("Partner A: Unresolved past hurt rose from 1.0 to 6.0")


# --- partner gap ---------------------------------------------------------------------------------


def test_a_gap_wider_than_noise_in_the_latest_week_is_flagged(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = weekly(db, cid, [3, 4, 5], [3, 3, 2])
    reason = kinds(db, therapist, cid, as_of)["gap"]
    assert reason.startswith("Partners see ")  # the widest gap relative to its noise first
    assert "in the week of 16 Mar 2026, 3.00 points apart: more than the" in reason
    assert reason.endswith("12 more scales also differ beyond noise.")


def test_an_old_gap_that_closed_is_not_flagged(db: Database, therapist: Actor, cid: int) -> None:
    as_of = weekly(db, cid, [5, 4, 4], [2, 3, 4])
    assert "gap" not in kinds(db, therapist, cid, as_of)


# --- no reliable improvement ---------------------------------------------------------------------


def test_no_reliable_improvement_after_six_checkins(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = weekly(db, cid, [3, 3, 3, 3, 3, 3], [2, 3, 4, 5, 5, 5])
    reason = kinds(db, therapist, cid, as_of)["no_improvement"]
    assert reason == (
        "Partner A: no reliable improvement in Global satisfaction after 6 check-ins "
        "(3.0 at the start, 3.0 now)."
    )


def test_five_checkins_or_the_non_distressed_range_are_not_flagged(
    db: Database, therapist: Actor, cid: int
) -> None:
    as_of = weekly(db, cid, [3, 3, 3, 3, 3])
    assert "no_improvement" not in kinds(db, therapist, cid, as_of)
    other = factories.couple(db, therapist, "C-2", start_date=START)
    as_of = weekly(db, other, [5, 5, 5, 5, 5, 5, 5])  # steady, above the cutoff of 4.0
    assert "no_improvement" not in kinds(db, therapist, other, as_of)


def test_the_checkin_count_is_a_practice_setting(
    db: Database, therapist: Actor, supervisor: Actor, cid: int
) -> None:
    as_of = weekly(db, cid, [3, 3, 3, 3])
    assert "no_improvement" not in kinds(db, therapist, cid, as_of)
    settings.update(db, supervisor, "no_improvement_checkins", 4)
    assert "no_improvement" in kinds(db, therapist, cid, as_of)


# --- check-in overdue ----------------------------------------------------------------------------


def test_overdue_after_fourteen_days(db: Database, therapist: Actor, cid: int) -> None:
    weekly(db, cid, [4, 4])  # the last on 9 March
    last = dt.date(2026, 3, 9)
    assert "overdue" not in kinds(db, therapist, cid, last + dt.timedelta(days=14))
    reason = kinds(db, therapist, cid, last + dt.timedelta(days=15))["overdue"]
    assert reason == "No check-in from either partner for 15 days (the last on 9 Mar 2026)."


def test_one_partner_overdue(db: Database, therapist: Actor, cid: int) -> None:
    factories.checkin(db, cid, "A", MON, 4)
    factories.checkin(db, cid, "B", MON + 3 * WEEK, 4)
    reason = kinds(db, therapist, cid, (MON + 3 * WEEK).date() + dt.timedelta(days=1))["overdue"]
    assert reason == "No check-in from partner A for 22 days (the last on 2 Mar 2026)."


def test_a_new_couple_has_until_the_threshold_after_its_start(
    db: Database, therapist: Actor, cid: int
) -> None:
    assert "overdue" not in kinds(db, therapist, cid, START + dt.timedelta(days=14))
    reason = kinds(db, therapist, cid, START + dt.timedelta(days=20))["overdue"]
    assert reason == "No check-ins yet, 20 days after the start on 1 Mar 2026."


def test_paused_couples_and_a_longer_setting_are_not_overdue(
    db: Database, therapist: Actor, supervisor: Actor, cid: int
) -> None:
    as_of = START + dt.timedelta(days=20)
    settings.update(db, supervisor, "overdue_days", 21)
    assert "overdue" not in kinds(db, therapist, cid, as_of)
    settings.update(db, supervisor, "overdue_days", 14)
    set_status(db, therapist, cid, "paused", today=as_of)
    assert "overdue" not in kinds(db, therapist, cid, as_of)


# --- order, scope and settings -------------------------------------------------------------------


def test_safety_comes_first_then_by_severity(db: Database, therapist: Actor, cid: int) -> None:
    as_of = weekly(db, cid, [5, 4, 2], [5, 5, 5])
    factories.checkin(db, cid, "B", MON + 3 * WEEK, 5, safety=1)
    raised = couple_flags(db, therapist, as_of=as_of + dt.timedelta(days=30), couple_ids=[cid])
    assert raised["kind"].tolist() == ["safety", "deterioration", "gap", "overdue"]
    assert raised["severity"].tolist() == ["urgent", "high", "medium", "low"]


def test_flags_are_only_computed_for_couples_the_actor_may_see(
    db: Database, therapist: Actor, supervisor: Actor, cid: int
) -> None:
    other = add_therapist(db, "Other Therapist")
    factories.checkin(db, cid, "A", MON, 4, safety=1)
    as_of = START + dt.timedelta(days=3)
    assert couple_flags(db, other, as_of=as_of).empty
    assert couple_flags(db, other, as_of=as_of, couple_ids=[cid]).empty
    assert couple_flags(db, supervisor, as_of=as_of)["couple_id"].tolist() == [cid]


def test_only_a_supervisor_changes_settings_within_bounds(
    db: Database, therapist: Actor, supervisor: Actor
) -> None:
    with pytest.raises(CaseloadError, match="Only a supervisor"):
        settings.update(db, therapist, "overdue_days", 21)
    with pytest.raises(CaseloadError, match="whole number from 1 to 120"):
        settings.update(db, supervisor, "overdue_days", 0)
    with pytest.raises(CaseloadError, match="no such setting"):
        settings.update(db, supervisor, "overdue_weeks", 2)
    settings.update(db, supervisor, "overdue_days", 21)
    assert settings.current(db) == {
        "overdue_days": 21,
        "no_improvement_checkins": 6,
        "start_grace_days": 30,  # migration 003: the grace before a couple's start
        "repair_stall_days": 56,  # migration 005: repair after betrayal
        "pace_review_days": 28,
        "idle_logoff_minutes": 15,
    }
    detail = db.query_value("SELECT detail FROM audit_log WHERE entity = 'setting'")
    assert json.loads(detail) == {"key": "overdue_days", "from": 14, "to": 21}
