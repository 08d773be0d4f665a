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

pytestmark = pytest.mark.both_backends

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
    )
    c = couples.get_couple(db, therapist, cid)
    assert (c.case_code, c.partner("A").name, c.partner("A").email) == (
        "C-1X",
        "Renamed",
        "new.a@example.org",
    )
    assert not c.repair_focus and c.hurt_partner is None  # kept by repair cases only
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


def _session_audit(db: Database, cid: int) -> list[tuple[str, str]]:
    """(action, detail) of a couple's session audit entries, newest first."""
    found = audit.entries(db, couple_id=cid)
    found = found[found["entity"] == "session"]
    return list(zip(found["action"], found["detail"], strict=True))


def test_edit_session_audits_changed_fields_never_the_note(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    sid = sessions.add_session(db, therapist, cid, dt.date(2026, 2, 2), "both", "Old", today=TODAY)
    changed = sessions.update_session(
        db,
        therapist,
        sid,
        session_date=dt.date(2026, 2, 3),
        attendance="both",
        notes="  Secret grief talk ",
        today=TODAY,
    )
    assert changed == ["session_date", "notes"]
    listed = sessions.list_sessions(db, therapist, cid)
    assert listed[["session_number", "attendance", "notes"]].values.tolist() == [
        [1, "both", "Secret grief talk"]
    ]
    assert listed["session_date"].dt.date.tolist() == [dt.date(2026, 2, 3)]
    entries = _session_audit(db, cid)
    assert entries[0] == ("update", '{"fields": ["session_date", "notes"]}')
    assert not any("Secret" in d or "Old" in d for _, d in entries)
    # Nothing changed: nothing written, nothing audited.
    same = sessions.update_session(
        db,
        therapist,
        sid,
        session_date=dt.date(2026, 2, 3),
        attendance="both",
        notes="Secret grief talk",
        today=TODAY,
    )
    assert same == [] and len(_session_audit(db, cid)) == 2
    # The same checks as a new session: not in the future, known attendance.
    with pytest.raises(CaseloadError, match="future"):
        sessions.update_session(
            db,
            therapist,
            sid,
            session_date=TODAY + dt.timedelta(days=1),
            attendance="both",
            notes="",
            today=TODAY,
        )
    with pytest.raises(CaseloadError, match="Attendance"):
        sessions.update_session(
            db, therapist, sid, session_date=TODAY, attendance="all", notes="", today=TODAY
        )
    # An emptied note is stored as missing, as on a new session.
    sessions.update_session(
        db, therapist, sid, session_date=TODAY, attendance="A", notes="  ", today=TODAY
    )
    assert db.query_value("SELECT notes FROM sessions WHERE id = ?", [sid]) is None


def test_delete_session_renumbers_later_ones_and_is_audited(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    other = factories.couple(db, therapist, "C-2")
    ids = [
        sessions.add_session(db, therapist, cid, dt.date(2026, 2, d), "both", "n", today=TODAY)
        for d in (2, 9, 16)
    ]
    kept = sessions.add_session(db, therapist, other, dt.date(2026, 2, 2), "A", today=TODAY)
    sessions.delete_session(db, therapist, ids[0])
    listed = sessions.list_sessions(db, therapist, cid)
    assert listed["id"].tolist() == [ids[2], ids[1]]
    assert listed["session_number"].tolist() == [2, 1]
    # Another couple's numbering is untouched.
    assert sessions.list_sessions(db, therapist, other)["id"].tolist() == [kept]
    assert _session_audit(db, cid)[0] == ("delete", '{"session_number": 1}')
    # The next session follows on without a gap.
    sessions.add_session(db, therapist, cid, dt.date(2026, 2, 23), "both", today=TODAY)
    assert sessions.list_sessions(db, therapist, cid)["session_number"].tolist() == [3, 2, 1]
    with pytest.raises(CaseloadError, match="not in your caseload"):
        sessions.delete_session(db, therapist, ids[0])  # already gone


def test_second_session_on_the_same_day_needs_confirmation(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    other = factories.couple(db, therapist, "C-2")
    day = dt.date(2026, 2, 2)
    first = sessions.add_session(db, therapist, cid, day, "both", today=TODAY)
    with pytest.raises(sessions.SameDaySession, match="already has a session on 02 Feb 2026"):
        sessions.add_session(db, therapist, cid, day, "A", today=TODAY)
    assert len(sessions.list_sessions(db, therapist, cid)) == 1
    # Another couple on that day is not a second session; a confirmed one is recorded.
    sessions.add_session(db, therapist, other, day, "both", today=TODAY)
    second = sessions.add_session(db, therapist, cid, day, "A", today=TODAY, allow_same_day=True)
    # Moving a session onto a day that has one needs the same confirmation; keeping its own
    # day (editing only the note) does not.
    third = sessions.add_session(db, therapist, cid, dt.date(2026, 2, 9), "both", today=TODAY)
    with pytest.raises(sessions.SameDaySession):
        sessions.update_session(
            db, therapist, third, session_date=day, attendance="both", notes="", today=TODAY
        )
    sessions.update_session(
        db, therapist, first, session_date=day, attendance="both", notes="x", today=TODAY
    )
    sessions.update_session(
        db,
        therapist,
        third,
        session_date=day,
        attendance="both",
        notes="",
        today=TODAY,
        allow_same_day=True,
    )
    dates = sessions.list_sessions(db, therapist, cid)["session_date"].dt.date.tolist()
    assert dates == [day, day, day] and second


def test_therapist_cannot_change_another_therapists_sessions(
    db: Database, supervisor: Actor
) -> None:
    one = add_therapist(db, "One")
    two = add_therapist(db, "Two")
    theirs = factories.couple(db, two, "C-2")
    sid = sessions.add_session(db, two, theirs, dt.date(2026, 2, 2), "both", "n", today=TODAY)
    with pytest.raises(CaseloadError, match="not in your caseload"):
        sessions.update_session(
            db, one, sid, session_date=TODAY, attendance="A", notes="", today=TODAY
        )
    with pytest.raises(CaseloadError, match="not in your caseload"):
        sessions.delete_session(db, one, sid)
    rows = db.query_rows("SELECT attendance, notes FROM sessions WHERE id = ?", [sid])
    assert rows == [("both", "n")]
    assert [a for a, _ in _session_audit(db, theirs)] == ["create"]
    # A supervisor sees every couple and may correct it.
    sessions.update_session(
        db, supervisor, sid, session_date=TODAY, attendance="A", notes="n", today=TODAY
    )
    sessions.delete_session(db, supervisor, sid)
    assert sessions.list_sessions(db, two, theirs).empty


def test_pause_and_resume_are_audited_and_keep_the_couple_listed(
    db: Database, therapist: Actor
) -> None:
    cid = factories.couple(db, therapist, "C-1")
    couples.set_status(db, therapist, cid, "paused", today=TODAY)
    paused = couples.get_couple(db, therapist, cid)
    assert (paused.status, paused.closed_at) == ("paused", None)
    # A paused case stays in the caseload (only closing takes a couple out of it).
    assert couples.list_couples(db, therapist, include_closed=False)["status"].tolist() == [
        "paused"
    ]
    couples.set_status(db, therapist, cid, "active", today=TODAY)
    assert couples.get_couple(db, therapist, cid).status == "active"
    actions = audit.entries(db, couple_id=cid)["action"].tolist()
    assert actions == ["status:active", "status:paused", "create"]
