"""Every respondent lands with their own couple (issue 7, point 4).

A practice-wide export imported by one therapist files another therapist's client's rows (safety
answers included) under that client's couple; the importer learns only how many. Identifiers that
disagree are refused in words that reveal nothing; only respondents the practice does not know
wait in the unmatched queue; discarding a queued row needs a reason, audited without the note.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from analytics.clinical import flags
from analytics.errors import CaseloadError
from analytics.importing import service, unmatched
from analytics.instruments import catalog
from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories

NOW = dt.datetime(2026, 11, 20, 12, 0)  # the clock, naive UTC
AS_OF = NOW.date()
CODES = [item.code for item in catalog.builtin("checkin").answer_items]
NEUTRAL = "The email address and client code on this row do not identify one and the same client."


def csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    """A plain wide export: Email, Client code, Completed, every numeric item (3; safety items
    at the given level)."""
    lines = [",".join(["Email", "Client code", "Completed", *CODES])]
    for email, code, when, safety in rows:
        cells = [safety if c.startswith("SAF") else "3" for c in CODES]
        lines.append(",".join([email, code, when, *cells]))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def second(db: Database) -> tuple[Actor, int]:
    """Therapist 2 and their couple T-200 (emails t200.a@ / t200.b@example.org)."""
    other = add_therapist(db, "Second Therapist")
    return other, factories.couple(db, other, "T-200")


def _prepare(db: Database, actor: Actor, data: bytes) -> service.ImportPreview:
    return service.prepare(db, actor, "practice.csv", data, now=NOW)


def test_a_practice_wide_export_files_each_row_under_its_own_couple(
    db: Database, therapist: Actor, couple: int, second: tuple[Actor, int]
) -> None:
    other, theirs = second
    data = csv(
        [
            ("d001.a@example.org", "", "2026-02-02 18:00", "0"),
            ("t200.b@example.org", "", "2026-02-02 19:00", "2"),  # positive safety answers
            ("", "T-200A", "2026-02-02 20:00", "0"),
            ("stranger@example.org", "", "2026-02-02 21:00", "0"),
        ]
    )
    preview = _prepare(db, therapist, data)
    assert (preview.accepted, preview.outside_caseload, preview.unmatched) == (3, 2, 1)
    table = preview.accepted_table()
    assert list(table["case"]) == ["D-001"] and list(table["row"]) == [2]

    result = service.commit_import(db, therapist, preview)
    assert (result.accepted, result.outside_caseload, result.unmatched) == (3, 2, 1)
    assert result.couples == [(couple, "D-001")]  # the "Open" buttons: own couples only
    # The rows are on therapist 2's couple, and its positive safety answers raise their flag.
    stored = db.query_rows(
        "SELECT p.couple_id, p.label FROM responses r JOIN partners p ON p.id = r.partner_id"
        " ORDER BY r.completed_at"
    )
    assert stored == [(couple, "A"), (theirs, "B"), (theirs, "A")]
    raised = flags.couple_flags(db, other, as_of=AS_OF)
    assert list(raised.loc[raised["kind"] == "safety", "couple_id"]) == [theirs]
    assert len(flags.safety_answers(db, other, theirs)) == 4
    # Nothing of therapist 2's couple is in what the importer is shown or left with.
    shown = repr(dataclasses.asdict(result)) + table.to_csv() + repr(preview.rejected)
    assert "T-200" not in shown and theirs not in {c for c, _ in result.couples}
    assert preview.validation is not None
    assert preview.validation.matched["case_code"].dropna().tolist() == ["D-001"]
    # Only the stranger waits in the importer's queue; therapist 2 never had to file anything.
    assert list(unmatched.list_pending(db, therapist)["respondent"]) == ["stranger@example.org"]
    assert unmatched.list_pending(db, other).empty
    detail = json.loads(str(db.query_value("SELECT detail FROM audit_log WHERE action = 'import'")))
    assert detail["outside_caseload"] == 2 and detail["accepted"] == 3


def test_re_importing_it_as_the_other_therapist_adds_nothing(
    db: Database, therapist: Actor, couple: int, second: tuple[Actor, int]
) -> None:
    other, _ = second
    data = csv([("t200.a@example.org", "", "2026-02-02 18:00", "0")])
    service.commit_import(db, therapist, _prepare(db, therapist, data))
    again = _prepare(db, other, data)
    assert (again.accepted, again.duplicates, again.outside_caseload) == (0, 1, 0)


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("d001.a@example.org", "T-200B"),  # two partners, one of them not the importer's
        ("t200.a@example.org", "ZZ-404"),  # a partner the importer may not see + an unknown
        ("nobody@example.org", "T-200A"),  # an unknown + a partner the importer may not see
        ("nobody@example.org", "D-001A"),  # an unknown + the importer's own partner
        ("d001.a@example.org", "D-001B"),  # two of the importer's own partners
    ],
)
def test_identifiers_that_disagree_get_one_neutral_reason(
    db: Database,
    therapist: Actor,
    couple: int,
    second: tuple[Actor, int],
    email: str,
    code: str,
) -> None:
    preview = _prepare(db, therapist, csv([(email, code, "2026-02-02 18:00", "0")]))
    assert [(r.row, r.reason) for r in preview.rejected] == [(2, NEUTRAL)]
    assert (preview.accepted, preview.unmatched) == (0, 0)


def test_the_queue_holds_only_respondents_nobody_knows(
    db: Database, therapist: Actor, couple: int, second: tuple[Actor, int]
) -> None:
    data = csv(
        [
            ("t200.a@example.org", "", "2026-02-02 18:00", "0"),
            ("", "T-200B", "2026-02-02 18:00", "0"),
            ("new.client@example.org", "NEW-1", "2026-02-02 18:00", "0"),
            ("", "", "2026-02-03 18:00", "0"),
        ]
    )
    result = service.commit_import(db, therapist, _prepare(db, therapist, data))
    assert (result.unmatched, result.outside_caseload) == (2, 2)
    assert db.query_rows("SELECT respondent FROM unmatched_responses ORDER BY id") == [
        ("new.client@example.org / NEW-1",),
        (None,),
    ]


def test_filing_a_row_whose_client_appeared_since_is_refused_neutrally(
    db: Database, therapist: Actor, couple: int
) -> None:
    data = csv([("later@example.org", "", "2026-02-02 18:00", "0")])
    service.commit_import(db, therapist, _prepare(db, therapist, data))
    [pending_id] = unmatched.list_pending(db, therapist)["id"]
    # Meanwhile another therapist takes on a client with that address.
    other = add_therapist(db, "Second Therapist")
    add_couple(
        db,
        other,
        "T-300",
        PartnerInput("Lee", "later@example.org"),
        PartnerInput("Kim", "kim@example.org"),
        start_date=factories.START,
    )
    mine = factories.partner_id(db, couple, "A")
    with pytest.raises(CaseloadError) as refused:
        service.assign(db, therapist, int(pending_id), mine)
    assert str(refused.value) == "This response cannot be filed under that partner."
    assert db.query_value("SELECT count(*) FROM responses") == 0


def test_discarding_needs_a_reason_and_is_audited_without_the_note(
    db: Database, therapist: Actor, supervisor: Actor, couple: int
) -> None:
    data = csv(
        [
            ("who@example.org", "", "2026-02-02 18:00", "2"),
            ("what@example.org", "", "2026-02-02 19:00", "0"),
        ]
    )
    service.commit_import(db, therapist, _prepare(db, therapist, data))
    first, second_id = (int(i) for i in unmatched.list_pending(db, therapist)["id"])
    for bad in ("", "because", "TEST"):
        with pytest.raises(CaseloadError, match="Choose why"):
            service.discard(db, therapist, first, reason=bad)
    with pytest.raises(TypeError):
        service.discard(db, therapist, first)  # type: ignore[call-arg]
    with pytest.raises(CaseloadError, match="at most"):
        service.discard(db, therapist, first, reason="other", note="x" * 501)
    assert db.query_value("SELECT count(*) FROM unmatched_responses WHERE status = 'pending'") == 2

    note = "Sent by the practice manager while testing the form"
    service.discard(db, therapist, first, reason="test", note=f"  {note} ")
    # The supervisor sees the therapist's queue too, and may resolve it.
    assert list(unmatched.list_pending(db, supervisor)["id"]) == [second_id]
    service.discard(db, supervisor, second_id, reason="not_a_client")
    assert db.query_rows(
        "SELECT status, discard_reason, discard_note, resolved_by FROM unmatched_responses"
        " ORDER BY id"
    ) == [
        ("discarded", "test", note, therapist.id),
        ("discarded", "not_a_client", None, supervisor.id),
    ]
    entries = db.query_rows(
        "SELECT therapist_id, entity_id, detail FROM audit_log WHERE action = 'discard' ORDER BY id"
    )
    assert [(who, what, json.loads(d)) for who, what, d in entries] == [
        (therapist.id, first, {"reason": "test"}),
        (supervisor.id, second_id, {"reason": "not_a_client"}),
    ]
    assert "practice manager" not in json.dumps(
        db.query_rows("SELECT detail FROM audit_log"), default=str
    )


def test_the_cli_summary_gives_only_the_count(
    db: Database,
    db_path: Path,
    therapist: Actor,
    couple: int,
    second: tuple[Actor, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analytics.cli import main as cli_main
    from tests.cli_users import password_env, user

    path = tmp_path / "practice.csv"
    path.write_bytes(
        csv(
            [
                ("d001.a@example.org", "", "2026-02-02 18:00", "0"),
                ("t200.b@example.org", "", "2026-02-02 19:00", "2"),
            ]
        )
    )
    password_env(monkeypatch)
    common = ["import", str(path), "--db", str(db_path), *user(db_path, therapist.name)]
    code = cli_main.main([*common, "--dry-run"], today=AS_OF, now=NOW)
    out = capsys.readouterr().out
    assert code == 0 and "Outside your caseload: 1 of the accepted" in out and "T-200" not in out
    code = cli_main.main([*common, "--json"], today=AS_OF, now=NOW)
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (summary["accepted"], summary["outside_caseload"]) == (2, 1)
    assert "T-200" not in json.dumps(summary)
