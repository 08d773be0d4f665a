"""AppTest of the Repair page from app.py: the couples in repair with their stalls, safety first,
recording a milestone change that is still there after a fresh app start, validation shown as a
message, opening and closing a case, the link's case code, and text never shown as Markdown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from analytics.practice import repair
from analytics.practice.access import Actor
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories, signin
from tests.test_pages import ROOT, TODAY, assert_no_none, frame, markdown_texts, open_app, rerun

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]
PAGE = "pages/repair.py"
DAY = TODAY.date()


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _open(actor: Actor, couple_id: int | None = None, **state: Any) -> AppTest:
    if couple_id is not None:
        state["repair_couple_id"] = couple_id
    return open_app(actor, PAGE, **state)


@pytest.fixture
def case(db: Database, therapist: Actor) -> tuple[int, int]:
    """C-1 in repair since 80 days ago (hurt partner B), acknowledgment in progress since then:
    stalled (the default limit is 56 days)."""
    couple_id = factories.couple(db, therapist, "C-1", start_date=DAY - dt.timedelta(days=120))
    case_id = repair.open_case(
        db,
        therapist,
        couple_id,
        hurt_partner="B",
        description="Confidential words about the affair.",
        started_on=DAY - dt.timedelta(days=80),
        today=DAY,
    )
    repair.record_change(
        db,
        therapist,
        case_id,
        milestone=1,
        status="in_progress",
        effective_on=DAY - dt.timedelta(days=80),
        today=DAY,
        evidence="Named what happened.",
    )
    return couple_id, case_id


def test_couples_in_repair_with_their_stall(
    db: Database, therapist: Actor, case: tuple[int, int]
) -> None:
    factories.couple(db, therapist, "C-2")  # not in repair: not listed
    at = _open(therapist)
    listed = frame(at, "days_in_status")
    assert listed["case_code"].tolist() == ["C-1"]
    row = listed.iloc[0]
    assert (row["milestone"], row["status"], row["days_in_status"]) == (
        "1. Acknowledgment",
        "In progress",
        80,
    )
    assert row["stalled"].startswith("🧩 Acknowledgment has been in progress for 80 days")
    assert "Acknowledgment has been in progress for 80 days" in at.warning[0].value
    # The couple in repair is the one shown; the description only in its expander, as text.
    assert at.query_params["couple"] == "C-1"
    assert "Confidential words about the affair." in [t.value for t in at.text]
    assert not [t for t in markdown_texts(at) if "affair" in t]
    assert frame(at, "pace_reviewed_on")["status"].tolist() == [
        "In progress",
        "Not started",
        "Not started",
        "Not started",
    ]
    assert_no_none(at)


def test_a_recorded_change_survives_a_fresh_app_start(
    db: Database, therapist: Actor, case: tuple[int, int]
) -> None:
    couple_id, _ = case
    at = _open(therapist, couple_id)
    at.selectbox(key="repair_change_0_m").set_value(1)
    at.selectbox(key="repair_change_0_s").set_value("reached")
    at.date_input(key="repair_change_0_d").set_value(DAY - dt.timedelta(days=3))
    at.text_area(key="repair_change_0_e").input("Took full *responsibility*.")
    rerun(_button(at, "Record change").click())
    assert at.success[0].value == "Acknowledgment: reached recorded."
    assert not at.warning  # no longer stalled
    # A fresh start of the app: new session, caches cleared, the same database file.
    st.cache_data.clear()
    st.cache_resource.clear()
    fresh = _open(therapist, couple_id)
    state = frame(fresh, "pace_reviewed_on")
    assert state["status"].tolist()[0] == "Reached"
    assert state["days"].tolist()[0] == 3
    history = frame(fresh, "entered_by")
    assert history["status"].tolist() == ["Reached", "In progress"]
    assert history["evidence"].tolist()[0] == "Took full *responsibility*."
    assert history["entered_by"].tolist() == ["Test Therapist", "Test Therapist"]
    assert not [t for t in markdown_texts(fresh) if "responsibility" in t]
    detail = db.query_value(
        "SELECT detail FROM audit_log WHERE entity = 'repair_milestone' ORDER BY id DESC LIMIT 1"
    )
    assert "responsibility" not in detail and '"to": "reached"' in detail
    listed = frame(fresh, "days_in_status")
    assert listed.iloc[0]["milestone"] == "2. Apology and repair"


def test_validation_is_shown_and_nothing_is_stored(
    db: Database, therapist: Actor, case: tuple[int, int]
) -> None:
    couple_id, _ = case
    at = _open(therapist, couple_id)
    at.selectbox(key="repair_change_0_m").set_value(2)
    at.selectbox(key="repair_change_0_s").set_value("reached")
    rerun(_button(at, "Record change").click())
    assert "without the amends agreed" in at.error[0].value
    assert db.query_value("SELECT count(*) FROM repair_events") == 1
    at.date_input(key="repair_change_0_d").set_value(None)
    rerun(_button(at, "Record change").click())
    assert "cannot be marked reached without the date" in at.error[0].value
    assert db.query_value("SELECT count(*) FROM repair_events") == 1


def test_safety_comes_first(db: Database, therapist: Actor, case: tuple[int, int]) -> None:
    couple_id, _ = case
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=2), 3, safety=1)
    at = _open(therapist, couple_id)
    assert at.error[0].value.startswith("1 couple(s) in repair have safety answers")
    assert at.error[1].value.startswith("Safety screen: 4 safety answer(s)")
    # Above the couple's title.
    kinds = [getattr(e, "type", "") for e in at.main.children.values()]
    assert kinds.index("error") < [e.type for e in at.main.children.values()].index("subheader")
    listed = frame(at, "days_in_status")
    assert listed.iloc[0]["safety"] == "⚠️ Assess safety first"


def test_open_and_close_a_case(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "C-3", start_date=DAY - dt.timedelta(days=30))
    at = _open(therapist, couple_id)
    assert "no repair case yet" in at.caption[0].value
    rerun(_button(at, "Open repair case").click())
    assert "Choose the hurt partner" in at.error[0].value
    at.radio(key="repair_open_0_h").set_value("A")
    at.text_area(key="repair_open_0_t").input("A hidden debt.")
    at.date_input(key="repair_open_0_d").set_value(DAY - dt.timedelta(days=10))
    rerun(_button(at, "Open repair case").click())
    assert at.success[0].value == "Repair case opened."
    assert db.query_rows(
        "SELECT repair_focus, hurt_partner FROM couples WHERE id = ?", [couple_id]
    ) == [(True, "A")]
    assert frame(at, "days_in_status")["case_code"].tolist() == ["C-3"]
    # Closing asks for a confirmation first.
    rerun(_button(at, "Close repair case").click())
    assert "Tick the box" in at.warning[0].value
    assert db.query_value("SELECT closed_on FROM repair_cases") is None
    at.checkbox(key="repair_close_1_sure").check()
    rerun(_button(at, "Close repair case").click())
    assert at.success[0].value == "Repair case closed."
    assert db.query_rows("SELECT repair_focus FROM couples WHERE id = ?", [couple_id]) == [(False,)]
    assert db.query_value("SELECT closed_on FROM repair_cases") == DAY
    # A new case can be opened later; the closed one stays in the history.
    assert _button(at, "Open repair case")


def test_a_link_to_another_therapists_couple_shows_nothing(
    db: Database, therapist: Actor, case: tuple[int, int]
) -> None:
    other = add_therapist(db, "Other Therapist")
    factories.couple(db, other, "X-9")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state[ui.SESSION_KEY] = signin.session_for(therapist)
    at.query_params["couple"] = "X-9"
    at.run()
    at.switch_page(PAGE).run()
    # switch_page drops the link; open the page with it instead.
    at.query_params["couple"] = "X-9"
    at.run()
    assert not at.exception
    assert "No couple in your caseload has the case code in this link." in at.error[0].value
    assert not [f for f in at.dataframe if "pace_reviewed_on" in f.value.columns]
