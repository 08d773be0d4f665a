"""AppTest of the Couple page's case records: correcting and deleting sessions (with
confirmation), a second session on one day, pausing, resuming and closing a case, and blank
values shown as blank or "not set"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from analytics.practice import couples, safety, sessions
from analytics.practice.access import PRACTICE, Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import (
    TODAY,
    assert_no_none,
    choose,
    frame,
    markdown_texts,
    open_couple,
    rerun,
)

pytestmark = pytest.mark.usefixtures("app_env")
DAY = TODAY.date() - dt.timedelta(days=7)
RECORDS = "Sessions, case details and reports"


def _sessions(actor: Actor, couple_id: int) -> Any:
    """The couple page with its sessions shown (drawn only when asked for)."""
    return choose(open_couple(actor, couple_id), RECORDS, "🗓️ Sessions")


def _details(actor: Actor, couple_id: int) -> Any:
    """The couple page with its case details shown (drawn only when asked for)."""
    return choose(open_couple(actor, couple_id), RECORDS, "✏️ Case details")


def _button(at: Any, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _labels(at: Any) -> list[str]:
    return [b.label for b in at.button]


@pytest.fixture
def case(db: Database, therapist: Actor) -> int:
    """One couple with a session a week ago (note "Talked about trust.")."""
    couple_id = factories.couple(db, therapist, "C-1")
    sessions.add_session(
        db, therapist, couple_id, DAY, "both", "Talked about trust.", today=TODAY.date()
    )
    return couple_id


def test_second_session_on_a_day_asks_then_saves_once_confirmed(
    db: Database, case: int, therapist: Actor
) -> None:
    at = _sessions(therapist, case)
    at.date_input(key="add_session_0_d").set_value(DAY)
    at.text_area(key="add_session_0_n").input("Second talk")
    rerun(_button(at, "Save session").click())
    assert db.query_value("SELECT count(*) FROM sessions") == 1
    assert any("already has a session on" in w.value for w in at.warning)
    # The values typed are kept while the confirmation is asked for.
    assert at.text_area(key="add_session_0_n").value == "Second talk"
    # Inside the form, ticking it sends nothing until the form is saved.
    at.checkbox(key="add_session_0_same_day").check()
    rerun(_button(at, "Save session").click())
    assert db.query_value("SELECT count(*) FROM sessions") == 2
    assert at.success[0].value == "Session saved."
    # The form starts empty again, without the confirmation.
    assert at.text_area(key="add_session_1_n").value == ""
    assert not any("already has a session" in w.value for w in at.warning)
    assert frame(at, "session_number")["notes"].tolist() == ["Second talk", "Talked about trust."]


def test_correct_a_session(db: Database, case: int, therapist: Actor) -> None:
    sid = int(db.query_value("SELECT id FROM sessions"))
    at = _sessions(therapist, case)
    form = f"edit_session_{sid}"
    assert at.text_area(key=f"{form}_n").value == "Talked about trust."
    at.selectbox(key=f"{form}_a").select("A")
    at.text_area(key=f"{form}_n").input("Only A came; talked about work.")
    rerun(_button(at, "Save correction").click())
    assert db.query_rows("SELECT attendance, notes FROM sessions") == [
        ("A", "Only A came; talked about work.")
    ]
    assert at.success[0].value == "Session 1 corrected."
    assert frame(at, "session_number")["attendance"].tolist() == ["Partner A only"]
    # The audit says which fields changed, never the note; the note is never Markdown.
    detail = db.query_value("SELECT detail FROM audit_log WHERE action = 'update'")
    assert detail == '{"fields": ["attendance", "notes"]}'
    assert not [t for t in markdown_texts(at) if "talked about" in t.lower()]


def test_delete_needs_the_confirmation(db: Database, case: int, therapist: Actor) -> None:
    sid = int(db.query_value("SELECT id FROM sessions"))
    at = _sessions(therapist, case)
    assert _button(at, "Delete session").disabled  # AppTest, like a browser, cannot click it
    rerun(at.checkbox(key=f"delete_session_{sid}").check())
    assert not _button(at, "Delete session").disabled
    rerun(_button(at, "Delete session").click())
    assert db.query_value("SELECT count(*) FROM sessions") == 0
    assert "Session 1 deleted" in at.success[0].value
    assert any(c.value == "No sessions recorded yet." for c in at.caption)
    assert (
        db.query_value(
            "SELECT count(*) FROM audit_log WHERE entity = 'session' AND action = 'delete'"
        )
        == 1
    )


def test_pause_resume_and_close_with_confirmation(
    db: Database, case: int, therapist: Actor
) -> None:
    at = _details(therapist, case)
    assert "Resume this case" not in _labels(at) and "Reopen this case" not in _labels(at)
    rerun(_button(at, "Pause this case").click())
    assert couples.get_couple(db, therapist, case).status == "paused"
    assert "Paused" in at.text[0].value
    assert "Pause this case" not in _labels(at)
    rerun(_button(at, "Resume this case").click())
    assert couples.get_couple(db, therapist, case).status == "active"
    assert at.success[0].value == "Case resumed."
    # Closing cannot be clicked until confirmed.
    assert _button(at, "Close this case").disabled
    rerun(at.checkbox(key="confirm_close").check())
    rerun(_button(at, "Close this case").click())
    assert couples.get_couple(db, therapist, case).status == "closed"
    assert _labels(at).count("Reopen this case") == 1
    assert "Close this case" not in _labels(at) and "Pause this case" not in _labels(at)
    rerun(_button(at, "Reopen this case").click())
    assert couples.get_couple(db, therapist, case).status == "active"
    actions = db.query_rows(
        "SELECT action FROM audit_log WHERE entity = 'couple' AND action LIKE 'status:%'"
        " ORDER BY id"
    )
    assert [a for (a,) in actions] == [
        "status:paused",
        "status:active",
        "status:closed",
        "status:active",
    ]


def test_missing_values_show_as_blank_or_not_set(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "C-9", repair_focus=True)
    sessions.add_session(db, therapist, couple_id, DAY, "neither", today=TODAY.date())
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=1), 3, safety=1)
    # Recorded from the command line: no therapist to name.
    safety.record_assessment(
        db, PRACTICE, couple_id, note="Checked.", assessed_on=TODAY.date(), today=TODAY.date()
    )
    at = _sessions(therapist, couple_id)
    header = at.text[0].value
    assert "hurt partner: not set" in header and "None" not in header
    assert not [t.value for t in at.text if "None" in t.value or "nan" in t.value]
    assert frame(at, "session_number")["notes"].tolist() == [""]
    assert_no_none(at)


def test_records_open_on_request_with_a_summary(db: Database, case: int, therapist: Actor) -> None:
    """Sessions and case details are drawn when asked for; until then a line sums them up."""
    at = open_couple(therapist, case)
    assert f"1 session(s) recorded, the last on {DAY:%d %b %Y}." in " ".join(
        c.value for c in at.caption
    )
    assert not [b for b in at.button if b.label in ("Save session", "Save changes")]
    assert "Save session" in _labels(choose(at, RECORDS, "🗓️ Sessions"))
    assert "Save changes" in _labels(choose(at, RECORDS, "✏️ Case details"))
