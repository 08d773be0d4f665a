"""AppTest of every page from app.py, on a temporary database, asserting what is shown."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.practice import couples
from analytics.practice.therapists import Actor
from analytics.store.db import Database
from tests import factories

ROOT = Path(__file__).parents[1]
TODAY = dt.datetime.combine(dt.date.today(), dt.time(9, 0))


pytestmark = pytest.mark.usefixtures("app_env")


def _app(actor: Actor | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    if actor is not None:
        at.session_state["actor_id"] = actor.id
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _couple_page(actor: Actor, couple_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["actor_id"] = actor.id
    at.session_state["couple_id"] = couple_id
    at.run()
    at.switch_page("pages/couple.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _numbers(values: object) -> list[float]:
    """Plotly JSON stores arrays either as lists or as base64 typed arrays."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    assert isinstance(values, list)
    return [float(v) for v in values]


@pytest.fixture
def practice(db: Database, therapist: Actor) -> dict[str, int]:
    calm = factories.couple(db, therapist, "C-1", start_date=dt.date.today() - dt.timedelta(70))
    unsafe = factories.couple(db, therapist, "C-2")
    for week, level in enumerate([2, 3, 4]):
        when = TODAY - dt.timedelta(weeks=3 - week)
        factories.checkin(db, calm, "A", when, level)
        factories.checkin(db, calm, "B", when, 3)
    factories.checkin(db, unsafe, "A", TODAY - dt.timedelta(days=2), 3, safety=1)
    return {"calm": calm, "unsafe": unsafe}


def test_empty_database_explains_how_to_start(db: Database) -> None:
    at = _app()
    assert at.title[0].value.endswith("Welcome")
    assert any("python -m analytics demo" in m.value for m in at.markdown)
    at.text_input[0].input("Dr Example")
    at.button[0].click().run()
    assert db.query_value("SELECT name FROM therapists") == "Dr Example"
    assert at.session_state["actor_id"] is not None


def test_caseload_lists_couples_with_safety_first(
    practice: dict[str, int], therapist: Actor
) -> None:
    at = _app(therapist)
    frame = at.dataframe[0].value
    assert frame["case_code"].tolist() == ["C-2", "C-1"]
    calm = frame[frame["case_code"] == "C-1"].iloc[0]
    assert (calm["a_latest"], calm["a_change"], calm["b_change"]) == (4.0, 2.0, 0.0)
    assert list(calm["a_trend"]) == [2.0, 3.0, 4.0]
    assert calm["weeks_in_therapy"] == 10
    assert "Safety" in frame.iloc[0]["attention"]
    assert at.error and "safety screen" in at.error[0].value
    assert {m.label: m.value for m in at.metric}["⚠️ Safety answers"] == "1"


def test_caseload_filters(practice: dict[str, int], therapist: Actor) -> None:
    at = _app(therapist)
    at.text_input[0].input("c-1").run()
    assert at.dataframe[0].value["case_code"].tolist() == ["C-1"]
    at.text_input[0].input("zzz").run()
    assert not at.dataframe and "No couples match" in at.info[0].value


def test_no_actor_chosen_asks_who_you_are(practice: dict[str, int]) -> None:
    at = _app()
    assert "Choose who you are" in at.info[0].value
    assert not at.dataframe


def test_actor_without_couples_gets_friendly_empty_state(db: Database, therapist: Actor) -> None:
    at = _app(therapist)
    assert "No couples in your caseload yet" in at.info[0].value


def test_open_couple_from_caseload(practice: dict[str, int], therapist: Actor) -> None:
    at = _app(therapist)
    at.selectbox(key="open_couple").select("C-1").run()
    at.button(key="open_button").click().run()
    assert at.title[0].value.endswith("C-1")


def test_couple_page_chart_has_both_partners(practice: dict[str, int], therapist: Actor) -> None:
    at = _couple_page(therapist, practice["calm"])
    assert not at.exception
    assert at.title[0].value.endswith("C-1")
    assert not at.error  # no safety banner for this couple
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = spec["data"]
    assert [t["name"] for t in traces] == ["C-1 Alpha (A)", "C-1 Beta (B)"]
    assert _numbers(traces[0]["y"]) == [2.0, 3.0, 4.0]
    assert _numbers(traces[1]["y"]) == [3.0, 3.0, 3.0]
    assert [t["line"]["color"] for t in traces] == ["#0072B2", "#E69F00"]
    assert "+2.0" in at.metric[0].delta


def test_couple_page_shows_safety_first(practice: dict[str, int], therapist: Actor) -> None:
    at = _couple_page(therapist, practice["unsafe"])
    assert "Safety screen" in at.error[0].value
    assert "partner A" in at.error[0].value


def test_record_session_and_close_case(
    db: Database, practice: dict[str, int], therapist: Actor
) -> None:
    at = _couple_page(therapist, practice["calm"])
    at.text_area[0].input("Talked about weekly rituals.")
    next(b for b in at.button if b.label == "Save session").click().run()
    assert not at.exception
    assert db.query_value("SELECT notes FROM sessions") == "Talked about weekly rituals."
    assert at.dataframe[0].value["session_number"].tolist() == [1]
    next(b for b in at.button if b.label == "Close this case").click().run()
    assert couples.get_couple(db, therapist, practice["calm"]).status == "closed"
    assert any(b.label == "Reopen this case" for b in at.button)


def test_edit_refuses_bad_email_with_message(
    db: Database, practice: dict[str, int], therapist: Actor
) -> None:
    at = _couple_page(therapist, practice["calm"])
    at.text_input(key="email_A").input("nonsense")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert any("does not look like an address" in e.value for e in at.error)
    assert (
        couples.get_couple(db, therapist, practice["calm"]).partner("A").email == "c1.a@example.org"
    )


def test_add_couple_form(db: Database, therapist: Actor) -> None:
    at = _app(therapist, "pages/new_couple.py")
    at.text_input[0].input("n-1")
    at.text_input(key="new_name_A").input("Nora Example")
    at.text_input(key="new_email_A").input("nora@example.org")
    at.text_input(key="new_name_B").input("Ned Example")
    next(b for b in at.button if b.label == "Add couple").click().run()
    assert not at.exception
    assert "Added N-1" in at.success[0].value
    listed = couples.list_couples(db, therapist)
    assert listed[["case_code", "partner_a", "email_a", "client_code_b"]].values.tolist() == [
        ["N-1", "Nora Example", "nora@example.org", "N-1B"]
    ]


def test_add_couple_form_refuses_missing_partner(db: Database, therapist: Actor) -> None:
    at = _app(therapist, "pages/new_couple.py")
    at.text_input[0].input("n-1")
    at.text_input(key="new_name_A").input("Nora Example")
    next(b for b in at.button if b.label == "Add couple").click().run()
    assert "Partner B needs a name" in at.error[0].value
    assert db.query_value("SELECT count(*) FROM couples") == 0


def test_caseload_on_the_demo_practice(db: Database) -> None:
    from analytics.demo.build import build_demo
    from analytics.practice.therapists import get_actor

    build_demo(db, as_of=dt.date.today())
    supervisor = get_actor(db, "Morgan Demo")
    at = _app(supervisor)
    frame = at.dataframe[0].value
    assert len(frame) == 12  # the 13th demo couple is closed
    assert frame.iloc[0]["case_code"] == "D-010"  # the positive safety answer comes first
    assert frame.iloc[1]["case_code"] == "D-011"  # then the overdue couple
    improving = frame[frame["case_code"] == "D-001"].iloc[0]
    declining = frame[frame["case_code"] == "D-005"].iloc[0]
    assert improving["a_change"] > 1 and improving["b_change"] > 1
    assert declining["a_change"] < -1 and declining["b_change"] < -1
    at.multiselect[0].set_value(["closed"]).run()
    assert at.dataframe[0].value["case_code"].tolist() == ["D-013"]
