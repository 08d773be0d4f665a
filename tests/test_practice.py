"""Case management: couples, partners, sessions, and caseload isolation between therapists."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.errors import CaseloadError
from analytics.practice import audit, couples, sessions
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.therapists import Actor, add_therapist
from analytics.store.db import Database
from tests import factories


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
    )
    c = couples.get_couple(db, therapist, cid)
    assert c.case_code == "C-7"
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
        add_couple(db, therapist, code, a, b)
    assert _counts(db) == before


def test_duplicates_across_cases_are_refused(db: Database, therapist: Actor) -> None:
    factories.couple(db, therapist, "C-1")
    before = _counts(db)
    with pytest.raises(CaseloadError, match="case code is already used"):
        factories.couple(db, therapist, "c-1")
    with pytest.raises(CaseloadError, match="email address is already used"):
        add_couple(db, therapist, "C-2", PartnerInput("X", "c1.a@example.org"), PartnerInput("Y"))
    with pytest.raises(CaseloadError, match="client code is already used"):
        add_couple(db, therapist, "C-3", PartnerInput("X", client_code="C-1A"), PartnerInput("Y"))
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
    couples.set_status(db, therapist, cid, "closed")
    assert couples.list_couples(db, therapist, include_closed=False).empty
    closed = couples.get_couple(db, therapist, cid)
    assert closed.status == "closed" and closed.closed_at is not None
    couples.set_status(db, therapist, cid, "active")
    assert len(couples.list_couples(db, therapist, include_closed=False)) == 1
    actions = audit.entries(db, couple_id=cid)["action"].tolist()
    assert actions[:2] == ["status:active", "status:closed"]


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
        sessions.add_session(db, one, theirs, dt.date(2026, 1, 1), "both")
    with pytest.raises(CaseloadError, match="Only a supervisor"):
        add_couple(db, one, "C-3", PartnerInput("X"), PartnerInput("Y"), therapist_id=two.id)
    assert couples.get_couple(db, supervisor, mine).case_code == "C-1"


def test_sessions_are_numbered_and_validated(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    sessions.add_session(db, therapist, cid, dt.date(2026, 1, 5), "both", "Met both")
    sessions.add_session(db, therapist, cid, dt.date(2026, 1, 12), "A")
    listed = sessions.list_sessions(db, therapist, cid)
    assert listed["session_number"].tolist() == [2, 1]
    with pytest.raises(CaseloadError, match="future"):
        sessions.add_session(db, therapist, cid, dt.date.today() + dt.timedelta(days=1), "both")
    with pytest.raises(CaseloadError, match="Attendance"):
        sessions.add_session(db, therapist, cid, dt.date(2026, 1, 5), "everyone")


def test_parse_person() -> None:
    assert couples.parse_person("Ada Example <ada@example.org>") == PartnerInput(
        "Ada Example", "ada@example.org"
    )
    assert couples.parse_person("Ada") == PartnerInput("Ada")
    with pytest.raises(CaseloadError):
        couples.parse_person("Ada <ada@example.org")
