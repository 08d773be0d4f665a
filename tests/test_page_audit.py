"""AppTest of the audit trail from the pages: a 'view' entry for each page that shows a couple
(couple, repair, agenda), also when the page is served from cache; the supervisor's Audit page
with its filters and CSV; a therapist refused; no names or notes in any detail."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pandas as pd
import pytest

import ui
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views import audit_log
from tests import factories, signin
from tests.test_pages import TODAY, open_app, rerun

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]
PAGES = {
    "couple": ("pages/couple.py", "couple_id"),
    "repair": ("pages/repair.py", "repair_couple_id"),
    "agenda": ("pages/agenda.py", "agenda_couple_id"),
}


def _views(db: Database) -> list[tuple[Any, ...]]:
    return db.query_rows(
        "SELECT therapist_id, entity, entity_id, couple_id, detail FROM audit_log"
        " WHERE action = 'view' ORDER BY id"
    )


@pytest.mark.parametrize("page", list(PAGES))
def test_opening_a_page_records_a_view_each_time_even_from_cache(
    db: Database, therapist: Actor, page: str
) -> None:
    cid = factories.couple(db, therapist, "V-001", start_date=TODAY.date() - dt.timedelta(days=90))
    for label in ("A", "B"):
        factories.checkin(db, cid, label, TODAY - dt.timedelta(days=60), 5)
    # (A safety answer gives the agenda an item: an empty agenda fails on the page, see report.)
    factories.checkin(db, cid, "A", TODAY - dt.timedelta(days=3), 1, safety=1)
    path, state = PAGES[page]
    at = open_app(therapist, path, **{state: cid})
    entry = (therapist.id, "couple", cid, cid, f'{{"page": "{page}"}}')
    assert _views(db) == [entry]
    # A second run is served from the data cache and still recorded, once.
    rerun(at)
    assert _views(db) == [entry] * 2
    # And a fresh session opening it again (cache still warm).
    open_app(therapist, path, **{state: cid})
    assert _views(db) == [entry] * 3
    assert audit.verify(db).intact


def test_a_refused_link_records_no_view(db: Database, therapist: Actor) -> None:
    factories.couple(db, therapist, "V-002")
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state[ui.SESSION_KEY] = signin.session_for(therapist)
    at.run()
    at.query_params["couple"] = "NOPE-1"
    at.switch_page("pages/couple.py").run()
    assert _views(db) == []


@pytest.fixture
def trail(db: Database, therapist: Actor, supervisor: Actor) -> dict[str, Any]:
    """Two couples, each viewed; a second therapist's view; the command line's view."""
    other = factories.couple(db, supervisor, "O-001")
    mine = factories.couple(db, therapist, "T-001")
    audit.record_view(db, therapist, mine, "couple")
    audit.record_view(db, supervisor, other, "agenda")
    # A name a spreadsheet would run as a formula.
    odd = add_therapist(db, "=HYPERLINK(1)", role="supervisor")
    audit.record_view(db, odd, mine, "repair")
    from analytics.practice.access import PRACTICE

    audit.record_view(db, PRACTICE, mine, "cli")
    return {"mine": mine, "other": other}


def _table(at: Any) -> pd.DataFrame:
    (table,) = at.dataframe
    frame: pd.DataFrame = table.value
    return frame


def test_a_therapist_is_refused_the_audit_page(
    db: Database, therapist: Actor, trail: dict[str, Any]
) -> None:
    at = open_app(therapist)
    # The page is not in a therapist's navigation at all (an address to it opens the caseload).
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/audit.py")
    with pytest.raises(Exception, match="Only a supervisor"):
        audit_log.audit_entries(db, therapist, audit_log.AuditFilter())


def test_the_audit_page_lists_newest_first_and_filters(
    db: Database, therapist: Actor, supervisor: Actor, trail: dict[str, Any]
) -> None:
    at = open_app(supervisor, "pages/audit.py")
    everything = _table(at)
    assert list(everything["Entry"]) == sorted(everything["Entry"], reverse=True)
    # The newest entry is the supervisor's own sign-in.
    assert list(everything.iloc[0][["Person", "Action", "Entity"]]) == [
        supervisor.name,
        "sign in",
        "account",
    ]
    assert {"view", "create"} <= set(everything["Action"])

    (person,) = [s for s in at.selectbox if s.label == "Person"]
    at = rerun(person.set_value(therapist.id))
    mine = _table(at)
    assert set(mine["Person"]) == {therapist.name}

    at = rerun(person.set_value(None))
    (action,) = [s for s in at.selectbox if s.label == "Action"]
    at = rerun(action.set_value("view"))
    views = _table(at)
    assert set(views["Action"]) == {"view"} and len(views) == 4

    (code,) = at.text_input
    at = rerun(code.input("t-001"))
    assert list(_table(at)["Couple"]) == ["T-001"] * 3
    # Shown as written (st.dataframe is plain text), the formula-like name included.
    assert list(_table(at)["Person"]) == ["command line", "=HYPERLINK(1)", therapist.name]

    # A date range that holds nothing, then one that holds them.
    # The entries are stamped now (UTC): from tomorrow holds none, from yesterday all of them.
    today = dt.datetime.now(dt.UTC).date()
    (start,) = [d for d in at.date_input if d.label == "From (UTC)"]
    at = rerun(start.set_value(today + dt.timedelta(days=1)))
    assert _table(at).empty
    (start,) = [d for d in at.date_input if d.label == "From (UTC)"]
    at = rerun(start.set_value(today - dt.timedelta(days=1)))
    assert len(_table(at)) == 3
    (end,) = [d for d in at.date_input if d.label == "To (UTC)"]
    at = rerun(end.set_value(today - dt.timedelta(days=1)))
    assert _table(at).empty


def test_audit_csv_is_formula_neutral_and_holds_no_names(
    db: Database, supervisor: Actor, trail: dict[str, Any]
) -> None:
    frame = audit_log.audit_entries(db, supervisor, audit_log.AuditFilter())
    data = audit_log.audit_csv(frame)
    parsed = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(parsed.columns) == list(audit_log.COLUMNS.values())
    assert "'=HYPERLINK(1)" in set(parsed["Person"])
    assert "=HYPERLINK(1)" not in set(parsed["Person"])
    assert len(parsed) == len(frame)
    # Partner names and emails never appear in the trail's details.
    details = " ".join(str(d) for d in db.query_rows("SELECT detail FROM audit_log"))
    for word in ("Alpha", "Beta", "example.org"):
        assert word not in details
    at = open_app(supervisor, "pages/audit.py")
    (button,) = at.get("download_button")
    assert button.proto.label == "CSV"
