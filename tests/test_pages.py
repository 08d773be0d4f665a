"""AppTest of the app shell, the Caseload and the Add-a-couple pages from app.py, on a temporary
database, asserting what is shown. The helpers here are shared by tests/test_page_*.py."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import ui
from analytics.clinical.flags import flag_label
from analytics.practice import couples
from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories, signin

ROOT = Path(__file__).parents[1]
TODAY = dt.datetime.combine(dt.date.today(), dt.time(9, 0))
THERAPIST_COLUMNS = [
    "case_code",
    "flags",
    "partner_a",
    "a_now",
    "a_trend",
    "partner_b",
    "b_now",
    "b_trend",
    "last_checkin",
]
# Elements whose text Streamlit renders as Markdown (their value), and every element's label.
MARKDOWN_TYPES = {
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "error",
    "info",
    "warning",
    "success",
    "exception",
    "toast",
    "latex",
}

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]


# --- helpers shared by the page tests ------------------------------------------------------


def open_app(actor: Actor | None = None, page: str | None = None, **state: Any) -> AppTest:
    """Run app.py (as `actor`), then switch to `page`; fails on any exception."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    if actor is not None:
        at.session_state[ui.SESSION_KEY] = signin.session_for(actor)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_couple(actor: Actor, couple_id: int) -> AppTest:
    """The couple page of one couple."""
    return open_app(actor, "pages/couple.py", couple_id=couple_id)


def choose(at: AppTest, control: str, option: str) -> AppTest:
    """Pick `option` on the segmented control labelled `control`, and run the app again."""
    (found,) = [c for c in at.segmented_control if c.label == control]
    return rerun(found.set_value(option))


def rerun(target: Any) -> AppTest:
    """Run the app again (`target` is the AppTest or a widget just used); fails on any
    exception."""
    at: AppTest = target.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest, column: str) -> pd.DataFrame:
    """The one dataframe on the page that has `column`."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, f"{len(found)} dataframes have a {column!r} column"
    return found[0]


def has_frame(at: AppTest, column: str) -> bool:
    return any(column in d.value.columns for d in at.dataframe)


def _nodes(node: Any) -> Iterator[Any]:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield child
            yield from _nodes(child)


def elements(at: AppTest) -> list[Any]:
    """Every element on the page (main area and sidebar), in the order drawn."""
    return list(_nodes(at._tree))


def main_types(at: AppTest) -> list[str]:
    """The element types of the main area, top level, in the order drawn."""
    return [str(getattr(e, "type", "")) for e in at.main.children.values()]


def markdown_texts(at: AppTest) -> list[str]:
    """Everything Streamlit renders as Markdown: Markdown-type values, labels and help texts."""
    texts = []
    for element in elements(at):
        if getattr(element, "type", None) in MARKDOWN_TYPES:
            texts.append(str(element.value))
        for attribute in ("label", "help"):
            value = getattr(element, attribute, None)
            if isinstance(value, str):
                texts.append(value)
    return texts


def _blank(cell: object) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return cell is pd.NaT or (isinstance(cell, str) and cell.strip() == "None")


def assert_no_none(at: AppTest) -> None:
    """No dataframe cell on the page is missing (drawn as "None") or the word "None"."""
    assert at.dataframe, "no dataframe on the page"
    for shown in at.dataframe:
        table = shown.value
        for column in table.columns:
            bad = [i for i, cell in enumerate(table[column]) if _blank(cell)]
            assert not bad, f"column {column!r} shows None in rows {bad}"


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def practice(db: Database, therapist: Actor) -> dict[str, int]:
    """C-1 checks in weekly (A improves 2 -> 4, B stays at 3); C-2's partner A gave a positive
    safety answer two days ago; C-3 has not checked in yet."""
    calm = factories.couple(db, therapist, "C-1", start_date=dt.date.today() - dt.timedelta(70))
    unsafe = factories.couple(db, therapist, "C-2")
    new = factories.couple(db, therapist, "C-3", start_date=dt.date.today() - dt.timedelta(3))
    for week, level in enumerate([2, 3, 4]):
        when = TODAY - dt.timedelta(weeks=3 - week)
        factories.checkin(db, calm, "A", when, level)
        factories.checkin(db, calm, "B", when, 3)
    factories.checkin(db, unsafe, "A", TODAY - dt.timedelta(days=2), 3, safety=1)
    return {"calm": calm, "unsafe": unsafe, "new": new}


# --- the app shell -------------------------------------------------------------------------


def test_empty_practice_asks_for_the_first_administrator(db: Database) -> None:
    at = open_app()
    assert at.title[0].value.endswith("Welcome")
    assert not at.dataframe
    at.text_input[0].input("Dr.Example")
    at.text_input[1].input("Dr Example")
    at.text_input[2].input("a quiet lantern by the sea")
    at.text_input[3].input("a quiet lantern by the sea")
    rerun(next(b for b in at.button if b.label == "Create the administrator").click())
    assert db.query_rows("SELECT username, is_admin FROM accounts") == [("dr.example", True)]
    assert db.query_rows("SELECT name, role FROM therapists") == [("Dr Example", "supervisor")]
    # Signed in straight away, as a supervisor who is also the administrator.
    assert at.session_state[ui.SESSION_KEY] is not None
    assert any("Signed in as Dr Example (supervisor, administrator)" in c.value for c in at.caption)


def test_first_administrator_refused_a_short_password(db: Database) -> None:
    at = open_app()
    at.text_input[0].input("admin")
    at.text_input[2].input("short")
    at.text_input[3].input("short")
    rerun(next(b for b in at.button if b.label == "Create the administrator").click())
    assert "at least 12 characters" in at.error[0].value
    assert db.query_value("SELECT count(*) FROM accounts") == 0


def test_not_signed_in_shows_only_the_sign_in_page(
    practice: dict[str, int], therapist: Actor
) -> None:
    signin.session_for(therapist)  # the practice has accounts
    at = open_app()
    assert at.title[0].value.endswith("Sign in")
    assert not at.dataframe
    at = open_app(page="pages/couple.py")
    assert at.title[0].value.endswith("Sign in")
    assert not at.dataframe and not at.get("plotly_chart")


def test_actor_without_couples_gets_friendly_empty_state(db: Database, therapist: Actor) -> None:
    at = open_app(therapist)
    assert "No couples in your caseload yet" in at.info[0].value


# --- caseload ------------------------------------------------------------------------------


def test_caseload_lists_safety_first_with_flags_in_words(
    practice: dict[str, int], therapist: Actor
) -> None:
    at = open_app(therapist)
    table = frame(at, "a_now")
    assert list(table.columns) == THERAPIST_COLUMNS  # a therapist has no therapist column
    assert table["case_code"].tolist() == ["C-2", "C-1", "C-3"]
    # Flags as icon plus words, safety first; C-2's partner B never checked in (overdue).
    assert table["flags"].tolist() == [
        f"{flag_label('safety')} · {flag_label('overdue')}",
        "",
        "",
    ]
    assert table["flags"][0].startswith("⚠️ Safety answer")
    calm = table.set_index("case_code").loc["C-1"]
    assert (calm["partner_a"], calm["partner_b"]) == ("C-1 Alpha", "C-1 Beta")
    assert calm["a_now"] == "4.0 (+2.0) · 🌟 Recovered"
    assert calm["b_now"] == "3.0 (+0.0) · ⚪ No reliable change"
    assert list(calm["a_trend"]) == [2.0, 3.0, 4.0]
    assert list(calm["b_trend"]) == [3.0, 3.0, 3.0]
    new = table.set_index("case_code").loc["C-3"]
    assert (new["a_now"], new["b_now"], new["last_checkin"]) == (
        "No check-ins",
        "No check-ins",
        "Never",
    )
    assert list(new["a_trend"]) == []
    assert at.error and "positive answer on the safety screen" in at.error[0].value
    assert metrics(at) == {
        "Couples shown": "3",
        "⚠️ Safety answers to assess": "1",
        "🚩 Couples with a flag": "1",
    }
    assert [t.value for t in at.text] == ["Headline scale: Global satisfaction"]
    # The reasons sit in their own table, in the caseload's order.
    reasons = frame(at, "reasons")
    assert reasons["case_code"].tolist() == ["C-2"]
    assert reasons["reasons"][0].startswith("4 positive safety answers since safety was last")
    assert "partner A answered “Once” to “" in reasons["reasons"][0]
    assert "has not checked in yet" in reasons["reasons"][0]
    assert any(s.value == "Why these couples are flagged" for s in at.subheader)
    assert_no_none(at)


def test_caseload_filters_by_status_and_search(
    db: Database, practice: dict[str, int], therapist: Actor
) -> None:
    couples.set_status(db, therapist, practice["calm"], "closed", today=dt.date.today())
    at = open_app(therapist)
    assert frame(at, "a_now")["case_code"].tolist() == ["C-2", "C-3"]
    at.multiselect[0].set_value(["closed"]).run()
    assert frame(at, "a_now")["case_code"].tolist() == ["C-1"]
    at.multiselect[0].set_value(["active", "closed"]).run()
    shown = frame(at, "a_now")
    assert shown["case_code"].tolist() == ["C-2", "C-1", "C-3"]
    # Mixed statuses: the status column appears, in words.
    assert shown["status"].tolist() == ["Active", "Closed", "Active"]
    assert_no_none(at)

    at.multiselect[0].set_value(["active", "paused"]).run()
    at.text_input[0].input("c-3").run()  # the case code, any case
    assert frame(at, "a_now")["case_code"].tolist() == ["C-3"]
    at.text_input[0].input("C-2 beta").run()  # partner B's name
    assert frame(at, "a_now")["case_code"].tolist() == ["C-2"]
    at.text_input[0].input("alpha").run()  # partner A's name, in both active couples
    assert frame(at, "a_now")["case_code"].tolist() == ["C-2", "C-3"]
    at.text_input[0].input("zzz").run()
    assert not at.dataframe and "No couples match" in at.info[0].value


def test_a_therapist_sees_only_their_couples(
    db: Database, practice: dict[str, int], therapist: Actor
) -> None:
    colleague = add_therapist(db, "Other Therapist")
    factories.couple(db, colleague, "O-1")
    at = open_app(therapist)
    assert frame(at, "a_now")["case_code"].tolist() == ["C-2", "C-1", "C-3"]
    assert not [s for s in at.selectbox if s.label == "Therapist"]
    at.text_input[0].input("o-1").run()
    assert not at.dataframe and "No couples match" in at.info[0].value

    mine = open_app(colleague)
    assert frame(mine, "a_now")["case_code"].tolist() == ["O-1"]


def test_a_supervisor_filters_by_therapist(
    db: Database, practice: dict[str, int], therapist: Actor, supervisor: Actor
) -> None:
    colleague = add_therapist(db, "Other Therapist")
    factories.couple(db, colleague, "O-1")
    at = open_app(supervisor)
    table = frame(at, "a_now")
    assert list(table.columns) == [*THERAPIST_COLUMNS, "therapist"]
    assert table["case_code"].tolist() == ["C-2", "O-1", "C-1", "C-3"]
    assert set(table["therapist"]) == {"Test Therapist", "Other Therapist"}
    picker = next(s for s in at.selectbox if s.label == "Therapist")
    assert picker.value is None  # every therapist
    picker.set_value(colleague.id).run()
    assert frame(at, "a_now")["case_code"].tolist() == ["O-1"]
    next(s for s in at.selectbox if s.label == "Therapist").set_value(therapist.id).run()
    assert frame(at, "a_now")["case_code"].tolist() == ["C-2", "C-1", "C-3"]


def test_caseload_shows_names_as_data_never_as_markdown(db: Database, therapist: Actor) -> None:
    link = "[help](https://evil.example/login)"
    anchor = '<a href="https://evil.example">x</a>'
    couples.add_couple(
        db,
        therapist,
        "X-1",
        PartnerInput(link),
        PartnerInput(anchor),
        start_date=dt.date.today() - dt.timedelta(3),
    )
    at = open_app(therapist)
    assert frame(at, "a_now")[["partner_a", "partner_b"]].values.tolist() == [[link, anchor]]
    assert not [t for t in markdown_texts(at) if "evil.example" in t]
    at.text_input[0].input("(https://evil").run()  # searching by such a name still works
    assert frame(at, "a_now")["case_code"].tolist() == ["X-1"]


def test_open_couple_from_caseload(practice: dict[str, int], therapist: Actor) -> None:
    at = open_app(therapist)
    at.selectbox(key="open_couple").select("C-1").run()
    at.button(key="open_button").click().run()
    assert at.title[0].value == "👫 C-1"


def test_caseload_on_the_demo_practice(db: Database) -> None:
    from analytics.demo.build import build_demo
    from analytics.practice.therapists import get_actor

    build_demo(db, as_of=dt.date.today())
    at = open_app(get_actor(db, "Morgan Demo"))
    table = frame(at, "a_now")
    assert list(table.columns) == [*THERAPIST_COLUMNS, "therapist"]
    assert len(table) == 12  # the 13th demo couple is closed
    flagged = table[table["flags"] != ""]
    # Exactly these couples are flagged, safety first; each with its own flag first.
    assert flagged["case_code"].tolist() == ["D-010", "D-005", "D-004", "D-003", "D-011", "D-007"]
    first_flags = [flags.split(" · ")[0] for flags in flagged["flags"]]
    assert first_flags == [
        flag_label("safety"),
        flag_label("deterioration"),
        flag_label("gap"),
        flag_label("no_improvement"),
        flag_label("overdue"),
        flag_label("repair_stall"),
    ]
    assert table.iloc[6:]["case_code"].tolist() == [
        "D-001",
        "D-002",
        "D-006",
        "D-008",
        "D-009",
        "D-012",
    ]
    assert metrics(at)["🚩 Couples with a flag"] == "6"
    assert metrics(at)["⚠️ Safety answers to assess"] == "1"
    assert "1 couple(s) gave a positive answer" in at.error[0].value
    reasons = frame(at, "reasons")
    assert reasons["case_code"].tolist() == flagged["case_code"].tolist()
    assert reasons["reasons"][0].startswith("Partner B answered “Once” to “Fear of the partner”")
    assert "fell from" in reasons["reasons"][1]
    assert reasons["reasons"][2].startswith("Partners see Global satisfaction differently")
    assert "no reliable improvement" in reasons["reasons"][3]
    assert reasons["reasons"][4].startswith("No check-in from either partner for 33 days")
    assert reasons["reasons"][5].startswith("Apology and repair has been in progress for")
    improving = table.set_index("case_code").loc["D-001"]
    declining = table.set_index("case_code").loc["D-005"]
    assert improving["a_now"].endswith("🌟 Recovered") and len(improving["a_trend"]) > 10
    assert declining["a_now"].endswith("🔴 Worse") and declining["b_now"].endswith("🔴 Worse")
    assert_no_none(at)
    at.multiselect[0].set_value(["closed"]).run()
    assert frame(at, "a_now")["case_code"].tolist() == ["D-013"]
    assert_no_none(at)


# --- add a couple --------------------------------------------------------------------------


def test_add_couple_form(db: Database, therapist: Actor) -> None:
    at = open_app(therapist, "pages/new_couple.py")
    at.text_input[0].input("n-1")
    at.text_input(key="new_name_A").input("Nora Example")
    at.text_input(key="new_email_A").input("nora@example.org")
    at.text_input(key="new_name_B").input("Ned Example")
    next(b for b in at.button if b.label == "Add couple").click().run()
    assert not at.exception
    assert at.success[0].value == "Added N-1."
    listed = couples.list_couples(db, therapist)
    assert listed[["case_code", "partner_a", "email_a", "client_code_b"]].values.tolist() == [
        ["N-1", "Nora Example", "nora@example.org", "N-1B"]
    ]


def test_add_couple_form_refuses_missing_partner(db: Database, therapist: Actor) -> None:
    at = open_app(therapist, "pages/new_couple.py")
    at.text_input[0].input("n-1")
    at.text_input(key="new_name_A").input("Nora Example")
    next(b for b in at.button if b.label == "Add couple").click().run()
    assert at.error[0].value == "Partner B needs a name."
    assert db.query_value("SELECT count(*) FROM couples") == 0
