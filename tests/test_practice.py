"""Case management: couples, partners, sessions, and caseload isolation between therapists."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.errors import CaseloadError
from analytics.practice import audit, couples, sessions
from analytics.practice.access import PRACTICE, Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories

START = dt.date(2026, 1, 5)
TODAY = dt.date(2026, 3, 2)


def _counts(db: Database) -> tuple[int, int]:
    return (
        db.query_value("SELECT count(*) FROM couples"),
        db.query_value("SELECT count(*) FROM partners"),
    )


def test_add_couple_defaults_client_codes_and_lowercases_emails(
    db: Database, therapist: Actor
) -> None:
    cid = add_couple(
        db,
        therapist,
        "c-7",
        PartnerInput("Ann Example", "ANN@Example.org"),
        PartnerInput("Bo Example"),
        start_date=START,
    )
    c = couples.get_couple(db, therapist, cid)
    assert (c.case_code, c.start_date, c.status, c.closed_at) == ("C-7", START, "active", None)
    assert c.partner("A").email == "ann@example.org"
    assert c.partner("B").email is None
    assert [p.client_code for p in c.partners] == ["C-7A", "C-7B"]
    assert c.therapist_id == therapist.id


@pytest.mark.parametrize(
    ("code", "a", "b", "message"),
    [
        ("X", PartnerInput("A", "a@example.org"), PartnerInput("B"), "case code"),
        ("C-1", PartnerInput(""), PartnerInput("B"), "Partner A needs a name"),
        ("C-1", PartnerInput("A", "not-an-email"), PartnerInput("B"), "does not look"),
        (
            "C-1",
            PartnerInput("A", "same@example.org"),
            PartnerInput("B", "same@example.org"),
            "different email",
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    db: Database, therapist: Actor, code: str, a: PartnerInput, b: PartnerInput, message: str
) -> None:
    before = _counts(db)
    with pytest.raises(CaseloadError, match=message):
        add_couple(db, therapist, code, a, b, start_date=START)
    assert _counts(db) == before


def test_duplicates_across_cases_are_refused(db: Database, therapist: Actor) -> None:
    factories.couple(db, therapist, "C-1")
    before = _counts(db)
    with pytest.raises(CaseloadError, match="case code is already used"):
        factories.couple(db, therapist, "c-1")
    with pytest.raises(CaseloadError, match="email address is already used"):
        add_couple(
            db,
            therapist,
            "C-2",
            PartnerInput("X", "c1.a@example.org"),
            PartnerInput("Y"),
            start_date=START,
        )
    with pytest.raises(CaseloadError, match="client code is already used"):
        add_couple(
            db,
            therapist,
            "C-3",
            PartnerInput("X", client_code="C-1A"),
            PartnerInput("Y"),
            start_date=START,
        )
    assert _counts(db) == before


def test_edit_keeps_history_and_allows_changing_unique_fields(
    db: Database, therapist: Actor
) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", dt.datetime(2026, 1, 5, 19), 3)
    couples.update_couple(
        db,
        therapist,
        cid,
        case_code="C-1X",
        partner_a=PartnerInput("Renamed", "new.a@example.org"),
        partner_b=PartnerInput("C-1 Beta", "c1.b@example.org"),
        therapist_id=therapist.id,
        start_date=dt.date(2026, 1, 1),
        repair_focus=True,
        hurt_partner="B",
    )
    c = couples.get_couple(db, therapist, cid)
    assert (c.case_code, c.partner("A").name, c.partner("A").email) == (
        "C-1X",
        "Renamed",
        "new.a@example.org",
    )
    assert c.repair_focus and c.hurt_partner == "B"
    assert db.query_value("SELECT count(*) FROM responses") == 1


def test_close_and_reopen(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    couples.set_status(db, therapist, cid, "closed", today=TODAY)
    assert couples.list_couples(db, therapist, include_closed=False).empty
    closed = couples.get_couple(db, therapist, cid)
    # Closed on the day given, not the day the test runs.
    assert (closed.status, closed.closed_at) == ("closed", TODAY)
    couples.set_status(db, therapist, cid, "active", today=TODAY)
    reopened = couples.get_couple(db, therapist, cid)
    assert (reopened.status, reopened.closed_at) == ("active", None)
    assert len(couples.list_couples(db, therapist, include_closed=False)) == 1
    couples.set_status(db, therapist, cid, "active", today=TODAY)  # no change, no audit entry
    actions = audit.entries(db, couple_id=cid)["action"].tolist()
    assert actions == ["status:active", "status:closed", "create"]
    with pytest.raises(CaseloadError, match="status must be one of"):
        couples.set_status(db, therapist, cid, "archived", today=TODAY)


def test_caseload_isolation_between_therapists(db: Database, supervisor: Actor) -> None:
    one = add_therapist(db, "One")
    two = add_therapist(db, "Two")
    mine = factories.couple(db, one, "C-1")
    theirs = factories.couple(db, two, "C-2")
    assert couples.list_couples(db, one)["case_code"].tolist() == ["C-1"]
    assert couples.list_couples(db, two)["case_code"].tolist() == ["C-2"]
    assert couples.list_couples(db, supervisor)["case_code"].tolist() == ["C-1", "C-2"]
    with pytest.raises(CaseloadError, match="not in your caseload"):
        couples.get_couple(db, one, theirs)
    with pytest.raises(CaseloadError):
        sessions.add_session(db, one, theirs, dt.date(2026, 1, 1), "both", today=TODAY)
    with pytest.raises(CaseloadError, match="not in your caseload"):
        couples.set_status(db, one, theirs, "closed", today=TODAY)
    with pytest.raises(CaseloadError, match="Only a supervisor"):
        add_couple(
            db,
            one,
            "C-3",
            PartnerInput("X"),
            PartnerInput("Y"),
            start_date=START,
            therapist_id=two.id,
        )
    assert couples.get_couple(db, supervisor, mine).case_code == "C-1"
    assert couples.get_couple(db, supervisor, theirs).status == "active"
    # The command line acts for the whole practice and may assign to anyone.
    assert couples.list_couples(db, PRACTICE)["case_code"].tolist() == ["C-1", "C-2"]
    assert couples.find_couple_id(db, PRACTICE, "c-2") == theirs
    with pytest.raises(CaseloadError, match="no couple with that case code"):
        couples.find_couple_id(db, one, "C-2")
    added = add_couple(
        db,
        PRACTICE,
        "C-4",
        PartnerInput("X"),
        PartnerInput("Y"),
        start_date=START,
        therapist_id=two.id,
    )
    assert couples.get_couple(db, two, added).therapist == "Two"
    with pytest.raises(CaseloadError, match="Name the therapist"):
        add_couple(db, PRACTICE, "C-5", PartnerInput("X"), PartnerInput("Y"), start_date=START)


def test_sessions_are_numbered_and_validated(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    sessions.add_session(db, therapist, cid, dt.date(2026, 1, 5), "both", "Met both", today=TODAY)
    sessions.add_session(db, therapist, cid, TODAY, "A", today=TODAY)  # today itself is fine
    listed = sessions.list_sessions(db, therapist, cid)
    assert listed["session_number"].tolist() == [2, 1]
    assert listed["notes"].tolist()[1] == "Met both"
    # "The future" is after the `today` given, whatever the clock says.
    with pytest.raises(CaseloadError, match="future"):
        sessions.add_session(db, therapist, cid, TODAY + dt.timedelta(days=1), "both", today=TODAY)
    with pytest.raises(CaseloadError, match="Attendance"):
        sessions.add_session(db, therapist, cid, dt.date(2026, 1, 5), "everyone", today=TODAY)
    with pytest.raises(CaseloadError, match="longer than"):
        sessions.add_session(
            db, therapist, cid, dt.date(2026, 1, 6), "both", "x" * 2001, today=TODAY
        )
    assert len(sessions.list_sessions(db, therapist, cid)) == 2


def test_parse_person() -> None:
    assert couples.parse_person("Ada Example <ada@example.org>") == PartnerInput(
        "Ada Example", "ada@example.org"
    )
    assert couples.parse_person("Ada") == PartnerInput("Ada")
    with pytest.raises(CaseloadError):
        couples.parse_person("Ada <ada@example.org")
