"""The identity of a response (issue 7, point 7) and committing at the same moment (point 8).

When an export carries the survey tool's own response id, the id (with the tool) is part of the
natural key: two distinct sheets of one partner less than a second apart are both stored, and
re-importing the export still adds nothing, also for responses stored before the upgrade
(migration 003 rewrites their keys). The unmatched queue follows the same rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analytics.importing import service, unmatched
from analytics.importing.parsed import ParsedFile
from analytics.instruments import lookup
from analytics.practice import responses
from analytics.practice.access import Actor
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from analytics.store import migrate
from analytics.store.db import Database
from analytics.store.ids import next_id
from tests import factories
from tests.test_audit_chain import before_008
from tests.test_import_pipeline import NOW, WHEN, counts, parsed_file

pytestmark = pytest.mark.both_backends

A, B, STRANGER = "d001.a@example.org", "d001.b@example.org", "stranger@example.org"
SOON = WHEN + dt.timedelta(milliseconds=400)  # the same second as WHEN


def qualtrics(rows: list[dict[str, Any]]) -> ParsedFile:
    """A ParsedFile as the Qualtrics reader returns it (ids: ResponseId)."""
    return dataclasses.replace(parsed_file(rows), source="qualtrics")


def run(db: Database, actor: Actor, parsed: ParsedFile) -> service.ImportResult:
    preview = service.review(db, actor, parsed, now=NOW)
    assert not preview.problems
    return service.commit_import(db, actor, preview)


def test_two_sheets_within_a_second_with_their_own_ids_are_both_stored(
    db: Database, therapist: Actor, couple: int
) -> None:
    parsed = qualtrics(
        [
            {"email": A, "when": WHEN, "id": "R_1"},
            {"email": A, "when": SOON, "id": "R_2"},
            {"email": A, "when": SOON, "id": "R_2"},  # the same sheet twice in the file
        ]
    )
    result = run(db, therapist, parsed)
    assert (result.accepted, result.duplicates) == (2, 1)
    partner = factories.partner_id(db, couple, "A")
    assert db.query_rows(
        "SELECT source_response_id, natural_key FROM responses ORDER BY source_response_id"
    ) == [
        ("R_1", f"{partner}:checkin:2026-01-05T18:30:00#qualtrics:R_1"),
        ("R_2", f"{partner}:checkin:2026-01-05T18:30:00#qualtrics:R_2"),
    ]
    before = counts(db)
    again = run(db, therapist, parsed)
    assert (again.accepted, again.duplicates, again.unmatched) == (0, 3, 0)
    assert counts(db)["responses"] == before["responses"]
    assert counts(db)["answers"] == before["answers"]


def test_without_ids_the_second_still_decides(db: Database, therapist: Actor, couple: int) -> None:
    parsed = parsed_file([{"email": A, "when": WHEN}, {"email": A, "when": SOON}])
    assert run(db, therapist, parsed).accepted == 1
    key = db.query_value("SELECT natural_key FROM responses")
    assert key == f"{factories.partner_id(db, couple, 'A')}:checkin:2026-01-05T18:30:00"


def test_the_same_id_from_two_tools_never_clashes(
    db: Database, therapist: Actor, couple: int
) -> None:
    row = {"email": B, "when": WHEN, "id": "7"}
    assert run(db, therapist, qualtrics([row])).accepted == 1
    typeform = dataclasses.replace(parsed_file([row]), source="typeform")
    assert run(db, therapist, typeform).accepted == 1
    assert run(db, therapist, typeform).accepted == 0


def test_natural_key_spells_the_id_part() -> None:
    when = dt.datetime(2026, 3, 2, 19, 0, 5, 300_000)
    assert responses.natural_key(4, "checkin", when) == "4:checkin:2026-03-02T19:00:05"
    assert (
        responses.natural_key(4, "checkin", when, "R_x", "qualtrics")
        == "4:checkin:2026-03-02T19:00:05#qualtrics:R_x"
    )


def test_the_queue_keeps_ids_apart_and_carries_them_when_filed(
    db: Database, therapist: Actor, couple: int
) -> None:
    parsed = qualtrics(
        [
            {"email": STRANGER, "when": WHEN, "id": "R_8"},
            {"email": STRANGER, "when": SOON, "id": "R_9"},
        ]
    )
    assert run(db, therapist, parsed).unmatched == 2
    again = run(db, therapist, parsed)
    assert (again.unmatched, again.duplicates) == (0, 2)
    pending = unmatched.list_pending(db, therapist)
    partner = factories.partner_id(db, couple, "B")
    response_id = service.assign(db, therapist, int(pending["id"].iloc[0]), partner)
    service.assign(db, therapist, int(pending["id"].iloc[1]), partner)  # same second, other id
    assert db.query_value(
        "SELECT source_response_id FROM responses WHERE id = ?", [response_id]
    ) in ("R_8", "R_9")
    assert db.query_value("SELECT count(*) FROM responses") == 2
    last = run(db, therapist, parsed)
    assert (last.accepted, last.unmatched, last.duplicates) == (0, 0, 2)


# --- the upgrade ------------------------------------------------------------------------------


def _release_two(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """A database as the code before migration 003 left it: a Qualtrics import stored with the
    old keys (the second sheet R_2, less than a second after R_1, collapsed into it) and the
    stranger's row queued without its id. Returns (couple id, partner A id)."""
    shipped = migrate.available()
    with monkeypatch.context() as patch:
        patch.setattr(migrate, "available", lambda: [m for m in shipped if m.version <= 2])
        db = open_practice(db_path)
    restore_audit = before_008(monkeypatch)  # today's code writing a release-2 database
    try:
        assert migrate.schema_version(db) == 2
        therapist = add_therapist(db, "Test Therapist")
        couple = factories.couple(db, therapist, "D-001")
        partner = factories.partner_id(db, couple, "A")
        version = lookup.version_id(db, "checkin")
        with db.transaction() as cur:
            batch = next_id(cur, "import_batches")
            cur.execute(
                "INSERT INTO import_batches (id, file_name, checksum, source, imported_by)"
                " VALUES (?, 'old.csv', 'x', 'qualtrics', ?)",
                [batch, therapist.id],
            )
            # What the old importer stored: the old key, the id kept beside it.
            stored = responses.write(
                cur,
                instrument_id=version,
                instrument_code="checkin",
                sheets=pd.DataFrame({"partner_id": [partner], "completed_at": [WHEN]}),
                answers=pd.DataFrame({"SAT1": [3.0], "SAT2": [3.0], "SAT3": [3.0]}),
                batch_id=batch,
            )
            cur.execute(
                "UPDATE responses SET source_response_id = 'R_1' WHERE id = ?",
                [int(stored["response_id"].iloc[0])],
            )
            cur.execute(
                "INSERT INTO unmatched_responses (batch_id, row_number, respondent,"
                " instrument_id, completed_at, answers) VALUES (?, 4, ?, ?, ?, '{}')",
                [batch, STRANGER, version, WHEN],
            )
    finally:
        db.close()
        restore_audit()
    return couple, partner


def test_an_export_imported_before_the_upgrade_adds_nothing_again(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, partner = _release_two(db_path, monkeypatch)
    db = open_practice(db_path)
    try:
        assert 3 in [m.version for m in migrate.available()]
        assert migrate.schema_version(db) >= 3
        assert db.query_value("SELECT natural_key FROM responses") == (
            f"{partner}:checkin:2026-01-05T18:30:00#qualtrics:R_1"
        )
        therapist = Actor(1, "Test Therapist", "therapist")
        export = qualtrics(
            [
                {"email": A, "when": WHEN, "id": "R_1"},
                {"email": A, "when": SOON, "id": "R_2"},  # lost to the old key
                {"email": STRANGER, "when": WHEN, "id": "R_3"},
            ]
        )
        first = run(db, therapist, export)
        assert (first.accepted, first.unmatched, first.duplicates) == (1, 0, 2)
        again = run(db, therapist, export)
        assert (again.accepted, again.unmatched, again.duplicates) == (0, 0, 3)
        assert db.query_value("SELECT count(*) FROM unmatched_responses") == 1
    finally:
        db.close()


# --- committing at the same moment ------------------------------------------------------------


def test_two_sessions_committing_the_same_file_at_once(
    db: Database, therapist: Actor, couple: int
) -> None:
    rows = [{"email": A, "when": WHEN + dt.timedelta(hours=h), "id": f"R_{h}"} for h in range(20)]
    rows.append({"email": STRANGER, "when": WHEN, "id": "R_s"})
    parsed = qualtrics(rows)
    previews = [service.review(db, therapist, parsed, now=NOW) for _ in range(2)]
    start = threading.Barrier(len(previews))
    results: list[service.ImportResult] = []
    errors: list[BaseException] = []

    def commit(preview: service.ImportPreview) -> None:
        start.wait()
        try:
            results.append(service.commit_import(db, therapist, preview))
        except BaseException as exc:  # collected: the test reports them
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(p,)) for p in previews]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.accepted for r in results) == 20
    assert sum(r.unmatched for r in results) == 1
    assert sum(r.accepted + r.unmatched + r.duplicates for r in results) == 2 * 21
    assert db.query_value("SELECT count(*) FROM responses") == 20
    assert db.query_value("SELECT count(*) FROM unmatched_responses") == 1
