"""The audit trail's hash chain: every entry linked to the one before; `audit verify` passes on
a clean trail and names the first entry edited or deleted outside the app; concurrent writers
never fork the chain; `couples show` audits its read."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.cli_users import password_env, user

pytestmark = pytest.mark.both_backends

TODAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 9, 0)
GENESIS = "0" * 64
# How the code before migration 008 appended (no hash chain): for tests that build an older
# database with today's code (see `before_008`). The id comes first: `record` draws it.
UNCHAINED_APPEND = (
    "INSERT INTO audit_log (id, logged_at, therapist_id, action, entity, entity_id, couple_id,"
    " detail) VALUES (?, coalesce(?, current_timestamp), ?, ?, ?, ?, ?, ?)"
)


def before_008(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make `audit.record` write as before migration 008; returns the call that restores it."""
    chained = audit._APPEND
    monkeypatch.setattr(audit, "_APPEND", UNCHAINED_APPEND)
    return lambda: monkeypatch.setattr(audit, "_APPEND", chained)


def _write(db: Database, n: int, actor: Actor | None = None) -> None:
    for i in range(n):
        with db.transaction() as cur:
            audit.record(
                cur,
                actor_id=None if actor is None else actor.id,
                action="test",
                entity="thing",
                entity_id=i,
                detail={"n": i},
            )


def _verify(
    capsys: pytest.CaptureFixture[str], cli_db: list[str], *flags: str
) -> tuple[int, str, str]:
    code = main(["audit", "verify", *cli_db, *flags], today=TODAY, now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def _chain(db: Database) -> list[tuple[Any, ...]]:
    return db.query_rows("SELECT id, prev_hash, hash FROM audit_log ORDER BY id")


def test_each_entry_links_to_the_one_before(db: Database, therapist: Actor) -> None:
    _write(db, 5, therapist)
    rows = _chain(db)
    assert len(rows) >= 6  # the therapist's creation and the five writes
    assert rows[0][1] == GENESIS
    for (_, _, before), (_, link, _) in itertools.pairwise(rows):
        assert link == before
    assert len({h for _, _, h in rows}) == len(rows)
    assert audit.verify(db).intact


def test_the_hash_covers_the_content(db: Database) -> None:
    _write(db, 1)
    ((entry_id, logged_at, detail, stored),) = db.query_rows(
        "SELECT id, logged_at, detail, hash FROM audit_log"
    )
    canonical = json.dumps(
        [
            entry_id,
            logged_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            None,
            "test",
            "thing",
            0,
            None,
            json.loads(detail),
            GENESIS,
        ],
        separators=(",", ":"),
    )

    assert stored == hashlib.sha256(canonical.encode()).hexdigest()


def test_verify_passes_on_a_clean_trail(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    cli_db: list[str],
    reopen: Callable[[], Database],
    therapist: Actor,
) -> None:
    _write(db, 4, therapist)
    n = len(_chain(db))
    db.close()
    assert _verify(capsys, cli_db) == (0, f"{n} entries, chain intact\n", "")
    code, out, _ = _verify(capsys, cli_db, "--json")
    assert code == 0
    assert json.loads(out) == {"entries": n, "intact": True, "broken_entry": None, "reason": None}


def _tamper(reopen: Callable[[], Database], sql: str, params: list[Any]) -> None:
    # Another program with the key (or the PostgreSQL password), editing outside the app.
    other = reopen()
    with other.cursor() as cur:
        cur.execute(sql, params)
    other.close()


def test_verify_names_an_edited_entry(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    cli_db: list[str],
    reopen: Callable[[], Database],
) -> None:
    _write(db, 5)
    target = _chain(db)[2][0]
    db.close()
    _tamper(reopen, "UPDATE audit_log SET action = 'nothing to see' WHERE id = ?", [target])
    code, _, err = _verify(capsys, cli_db)
    assert code == 1
    assert f"broken at entry {target}:" in err and "edited" in err
    code, out, _ = _verify(capsys, cli_db, "--json")
    report = json.loads(out)
    assert (code, report["intact"], report["broken_entry"]) == (1, False, target)


def test_verify_names_the_entry_after_a_deleted_one(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    cli_db: list[str],
    reopen: Callable[[], Database],
) -> None:
    _write(db, 5)
    ids = [r[0] for r in _chain(db)]
    db.close()
    _tamper(reopen, "DELETE FROM audit_log WHERE id = ?", [ids[2]])
    code, _, err = _verify(capsys, cli_db)
    assert code == 1
    assert f"broken at entry {ids[3]}:" in err and "deleted" in err


def test_verify_finds_the_first_entry_deleted(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    cli_db: list[str],
    reopen: Callable[[], Database],
) -> None:
    _write(db, 3)
    ids = [r[0] for r in _chain(db)]
    db.close()
    _tamper(reopen, "DELETE FROM audit_log WHERE id = ?", [ids[0]])
    code, _, err = _verify(capsys, cli_db)
    assert code == 1 and f"entry {ids[1]}:" in err and "start of the log" in err


def test_an_edit_rehashed_outside_the_app_breaks_the_next_link(db: Database) -> None:
    _write(db, 4)
    ids = [r[0] for r in _chain(db)]
    with db.cursor() as cur:
        cur.execute(
            "UPDATE audit_log SET action = 'x', hash = audit_entry_hash(id, logged_at,"
            " therapist_id, 'x', entity, entity_id, couple_id, detail, prev_hash) WHERE id = ?",
            [ids[1]],
        )
    check = audit.verify(db)
    assert (check.intact, check.broken_id) == (False, ids[2])


# On PostgreSQL the second append waits at its INSERT for the first to commit (so this one
# process would wait for itself); tests/test_postgres.py races two server processes instead.
@pytest.mark.duckdb_only
def test_a_second_writer_after_the_same_entry_fails_and_atomic_retries(db: Database) -> None:
    first, second = db.root_cursor(), db.root_cursor()
    for cur in (first, second):
        cur.execute("BEGIN TRANSACTION")
        audit.record(cur, actor_id=None, action="test", entity="thing")
    first.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException):
        second.execute("COMMIT")
    # Through db.transaction the same conflict reads as the project's error, nothing stored.
    assert "at the same moment" in CaseloadErrorText.of(
        duckdb.TransactionException("Failed to commit: PRIMARY KEY or UNIQUE constraint")
    )
    # Writers racing through db.atomic all land, on one unforked chain.
    threads = [threading.Thread(target=_write_atomic, args=(db,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.query_value("SELECT count(*) FROM audit_log WHERE action = 'race'") == 4
    assert audit.verify(db).intact


class CaseloadErrorText:
    """The readable message a DuckDB error becomes."""

    @staticmethod
    def of(exc: duckdb.Error) -> str:
        from analytics.store.db import translate_error

        err = translate_error(exc)
        assert isinstance(err, CaseloadError)
        return err.message


def _write_atomic(db: Database) -> None:
    def work(cur: duckdb.DuckDBPyConnection) -> None:
        audit.record(cur, actor_id=None, action="race", entity="thing")

    db.atomic(work, attempts=20)


def test_the_app_only_inserts(db: Database) -> None:
    import inspect

    source = inspect.getsource(audit)
    assert "UPDATE audit_log" not in source and "DELETE FROM audit_log" not in source


def test_couples_show_records_a_view_without_health_data(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    practice_path: Path | None,
    cli_db: list[str],
    reopen: Callable[[], Database],
    therapist: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = factories.couple(db, therapist, "S-001")
    db.close()
    password_env(monkeypatch)
    own = user(practice_path, therapist.name)
    for _ in range(2):
        code = main(["couples", "show", "S-001", *cli_db, *own], today=TODAY, now=NOW)
        assert code == 0
    capsys.readouterr()
    again = reopen()
    rows = again.query_rows(
        "SELECT therapist_id, entity, entity_id, couple_id, detail FROM audit_log"
        " WHERE action = 'view' ORDER BY id"
    )
    # The signed-in therapist read it: their id, never the command line's none.
    assert rows == [(therapist.id, "couple", cid, cid, '{"page": "cli"}')] * 2
    assert audit.verify(again).intact
    again.close()
