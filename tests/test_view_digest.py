"""The "what changed since the last session" digest (analytics.views.digest): each line present
and absent, the session-day boundary, no sessions, no check-ins, one partner only, and that
safety and free text are pointed to, never worded or quoted."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.errors import CaseloadError
from analytics.practice import sessions
from analytics.practice.access import Actor
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views.digest import Digest, couple_digest
from tests import factories

START = factories.START  # Monday 5 Jan 2026
SESSION = dt.date(2026, 2, 4)  # a Wednesday
AS_OF = dt.date(2026, 2, 20)
SECRET = "We argued about the move again."


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def session(db: Database, actor: Actor, couple_id: int, day: dt.date = SESSION) -> None:
    sessions.add_session(db, actor, couple_id, day, "both", today=AS_OF)


def digest(db: Database, actor: Actor, couple_id: int) -> Digest:
    return couple_digest(db, actor, couple_id, as_of=AS_OF)


def line(result: Digest, start: str) -> str:
    """The one line that starts with `start`."""
    found = [x for x in result.lines if x.startswith(start)]
    assert len(found) == 1, result.lines
    return found[0]


@pytest.fixture
def new_id(db: Database, therapist: Actor) -> int:
    return factories.couple(db, therapist, "N-1")


def test_no_sessions_and_no_checkins_says_so(db: Database, therapist: Actor, new_id: int) -> None:
    result = digest(db, therapist, new_id)
    assert result.since is None
    assert result.lines == [
        "No session recorded yet, and no check-ins since therapy started on 05 Jan 2026."
    ]


def test_before_the_first_session_everything_so_far_counts(
    db: Database, therapist: Actor, new_id: int
) -> None:
    factories.checkin(db, new_id, "A", at(START), 2, barriers=3)
    factories.checkin(db, new_id, "A", at(START + dt.timedelta(days=14)), 6, barriers=3)
    factories.checkin(db, new_id, "B", at(START + dt.timedelta(days=14)), 3)
    result = digest(db, therapist, new_id)
    assert result.since is None
    assert result.lines[0] == (
        "No session recorded yet. Check-ins since therapy started on 05 Jan 2026:"
        " 2 from partner A, 1 from partner B."
    )
    changed = line(result, "Changed beyond measurement noise since the first check-in: ")
    assert "partner A Intimacy and connection 2.0 → 6.0 (improved)" in changed
    assert 1 <= len(result.lines) <= 6


def test_a_checkin_on_the_session_day_counts_as_before_it(
    db: Database, therapist: Actor, new_id: int
) -> None:
    factories.checkin(db, new_id, "A", at(START), 3)
    session(db, therapist, new_id)
    factories.checkin(db, new_id, "A", at(SESSION, 23), 3, texts={"TXT1": SECRET})
    result = digest(db, therapist, new_id)
    assert result.since == SESSION
    assert result.lines == ["No new check-ins since the last session on 04 Feb 2026."]

    # The next morning it is new, with its free-text answer counted (never quoted).
    factories.checkin(
        db, new_id, "A", at(SESSION + dt.timedelta(days=1), 8), 3, texts={"TXT1": SECRET}
    )
    result = digest(db, therapist, new_id)
    assert result.lines[0] == (
        "Since the last session on 04 Feb 2026: check-ins 1 from partner A, none from partner B."
    )
    assert line(result, "1 free-text") == (
        "1 free-text answer since then (partner A 1): read them under “In their own words”."
    )
    assert not any(SECRET in x for x in result.lines)


def test_the_latest_session_is_the_reference(db: Database, therapist: Actor, new_id: int) -> None:
    factories.checkin(db, new_id, "A", at(START + dt.timedelta(days=10)), 3)
    session(db, therapist, new_id, START + dt.timedelta(days=20))
    session(db, therapist, new_id, START + dt.timedelta(days=3))  # entered late, earlier date
    assert digest(db, therapist, new_id).lines == [
        "No new check-ins since the last session on 25 Jan 2026."
    ]


def test_reliable_change_line_present_and_absent(
    db: Database, therapist: Actor, new_id: int
) -> None:
    # A improved beyond noise before the session; B checks in after it, unchanged.
    factories.checkin(db, new_id, "A", at(START), 2)
    factories.checkin(db, new_id, "A", at(START + dt.timedelta(days=14)), 6)
    factories.checkin(db, new_id, "B", at(START), 3)
    session(db, therapist, new_id)
    factories.checkin(db, new_id, "B", at(SESSION + dt.timedelta(days=2)), 3)
    result = digest(db, therapist, new_id)
    assert "No change beyond measurement noise in the check-ins since then." in result.lines

    # B's next check-in is worse beyond noise: named first (worse before better), from -> to.
    factories.checkin(db, new_id, "B", at(SESSION + dt.timedelta(days=9)), 0)
    changed = line(digest(db, therapist, new_id), "Changed beyond measurement noise")
    assert changed.startswith(
        "Changed beyond measurement noise since the first check-in: partner B"
    )
    assert changed.split(";")[0].endswith("3.0 → 0.0 (worse)")
    assert "partner A" not in changed  # A's change was already there at the session
    assert changed.endswith("(see “Every scale, both partners”).")  # more than three


def test_flag_line_present_and_absent(db: Database, therapist: Actor, new_id: int) -> None:
    # Worse beyond noise before the session: raised, but not by anything new.
    factories.checkin(db, new_id, "A", at(START), 6)
    factories.checkin(db, new_id, "A", at(START + dt.timedelta(days=7)), 1)
    session(db, therapist, new_id)
    factories.checkin(db, new_id, "B", at(SESSION + dt.timedelta(days=1)), 3)
    result = digest(db, therapist, new_id)
    assert "No flag raised or renewed by the check-ins since then." in result.lines

    # A's next check-in after the session renews it.
    factories.checkin(db, new_id, "A", at(SESSION + dt.timedelta(days=2)), 1)
    flags = line(digest(db, therapist, new_id), "Flags raised or renewed since then:")
    assert "📉 Worse beyond noise" in flags
    assert "safety" not in flags


def test_a_gap_measured_after_the_session_is_a_new_flag(
    db: Database, therapist: Actor, new_id: int
) -> None:
    # Both checked in on the session day (before it): a gap, but not a new one.
    factories.checkin(db, new_id, "A", at(SESSION), 6)
    factories.checkin(db, new_id, "B", at(SESSION), 2)
    session(db, therapist, new_id)
    factories.checkin(db, new_id, "A", at(SESSION + dt.timedelta(days=14)), 6)
    result = digest(db, therapist, new_id)
    assert "↔️" not in line(result, "No flag") + line(result, "Widest gap")
    # B answers in the same week as A, after the session: the gap is measured anew.
    factories.checkin(db, new_id, "B", at(SESSION + dt.timedelta(days=15)), 2)
    result = digest(db, therapist, new_id)
    assert "↔️ Partners far apart" in line(result, "Flags raised")
    assert line(result, "Widest gap").startswith(
        "Widest gap between the partners (week of 16 Feb 2026): "
    )
    assert line(result, "Widest gap").endswith("A 6.0, B 2.0, 4.0 apart, beyond measurement noise.")


def test_new_safety_answers_are_only_pointed_to(
    db: Database, therapist: Actor, new_id: int
) -> None:
    factories.checkin(db, new_id, "A", at(START), 3, safety=1)  # before: not new
    session(db, therapist, new_id)
    factories.checkin(db, new_id, "B", at(SESSION + dt.timedelta(days=1)), 3)
    assert (
        "No flag raised or renewed by the check-ins since then."
        in digest(db, therapist, new_id).lines
    )
    factories.checkin(db, new_id, "A", at(SESSION + dt.timedelta(days=3)), 3, safety=2)
    flags = line(digest(db, therapist, new_id), "Flags raised")
    assert flags.startswith(
        "Flags raised or renewed since then: new safety answers: see the safety section at the"
        " top of this page"
    )
    assert "More than once" not in flags and "Physical harm" not in flags


def test_an_unanswered_safety_screen_after_the_session_is_pointed_to(
    db: Database, therapist: Actor, new_id: int
) -> None:
    session(db, therapist, new_id)
    factories.checkin(db, new_id, "A", at(SESSION + dt.timedelta(days=1)), 3, safety=None)
    assert "see the safety section at the top" in line(digest(db, therapist, new_id), "Flags")


def test_gap_line_within_noise_and_with_one_partner_only(
    db: Database, therapist: Actor, new_id: int
) -> None:
    session(db, therapist, new_id, START)
    factories.checkin(db, new_id, "A", at(START + dt.timedelta(days=8)), 4)
    result = digest(db, therapist, new_id)
    assert result.lines[0].endswith("check-ins 1 from partner A, none from partner B.")
    assert (
        "The partners have not yet checked in in the same week: no gap to compare yet."
        in result.lines
    )
    factories.checkin(db, new_id, "B", at(START + dt.timedelta(days=9)), 3)
    gap = line(digest(db, therapist, new_id), "Widest gap")
    assert gap.endswith("A 4.0, B 3.0, 1.0 apart, within measurement noise.")


def test_free_text_line_present_and_absent(db: Database, therapist: Actor, new_id: int) -> None:
    session(db, therapist, new_id, START)
    factories.checkin(db, new_id, "A", at(START + dt.timedelta(days=2)), 3)
    assert "No free-text answers since then." in digest(db, therapist, new_id).lines
    texts = {"TXT1": SECRET, "TXT2": "Less screen time."}
    factories.checkin(db, new_id, "B", at(START + dt.timedelta(days=3)), 3, texts=texts)
    factories.checkin(
        db, new_id, "A", at(START + dt.timedelta(days=4)), 3, texts={"TXT1": "  "}
    )  # blank: not an answer
    result = digest(db, therapist, new_id)
    assert line(result, "2 free-text") == (
        "2 free-text answers since then (partner B 2): read them under “In their own words”."
    )
    assert result.lines[0].endswith("check-ins 2 from partner A, 1 from partner B.")
    assert not any(SECRET in x or "screen time" in x for x in result.lines)
    assert len(result.lines) == 5


def test_no_new_checkins_still_names_the_widest_gap(
    db: Database, therapist: Actor, new_id: int
) -> None:
    factories.checkin(db, new_id, "A", at(START), 5)
    factories.checkin(db, new_id, "B", at(START), 5)
    session(db, therapist, new_id)
    result = digest(db, therapist, new_id)
    assert result.lines[0] == "No new check-ins since the last session on 04 Feb 2026."
    assert result.lines[1].startswith("Widest gap between the partners (week of 05 Jan 2026):")
    assert result.lines[1].endswith("A 5.0, B 5.0, 0.0 apart, within measurement noise.")


def test_refuses_a_couple_outside_the_caseload(db: Database, new_id: int) -> None:
    other = add_therapist(db, "Other Therapist")
    with pytest.raises(CaseloadError):
        digest(db, other, new_id)
