"""Several sessions of one dashboard writing at the same moment (issue 7, point 8).

Each session is a thread of the one server process with its own cursor from the one Database.
Committing overlapping files at once must never end in a raw database error: rows another
session stored meanwhile count as duplicates, and a real conflict is retried.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pytest

from analytics.errors import CaseloadError
from analytics.importing import service
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).parents[1]
NOW = dt.datetime(2026, 11, 20, 12, 0)
T = TypeVar("T")


def together(n: int, job: Callable[[int], T]) -> list[T | BaseException]:
    """Run `job(0..n-1)` in n threads released at the same instant; results or exceptions."""
    start = threading.Barrier(n)
    results: list[T | BaseException] = [RuntimeError("did not finish")] * n

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = job(i)
        except BaseException as exc:  # collected and checked in the main thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture
def keyed(db: Database) -> Database:
    db.execute("CREATE TABLE race (k INTEGER PRIMARY KEY, who INTEGER)")
    return db


def _insert_then_wait(
    both_inserted: threading.Barrier, attempts: dict[int, int]
) -> Callable[[int], Callable[[duckdb.DuckDBPyConnection], int]]:
    """A unit of work that stores key 1 unless present; on its first attempt it waits until
    the other thread has inserted too, so both transactions overlap for certain."""

    def work_for(who: int) -> Callable[[duckdb.DuckDBPyConnection], int]:
        def work(cur: duckdb.DuckDBPyConnection) -> int:
            attempts[who] = attempts.get(who, 0) + 1
            cur.execute(
                "INSERT INTO race SELECT 1, ? WHERE NOT EXISTS (SELECT 1 FROM race WHERE k = 1)",
                [who],
            )
            if attempts[who] == 1:
                both_inserted.wait(timeout=10)
            row = cur.execute("SELECT count(*) FROM race").fetchone()
            return int(row[0]) if row else 0

        return work

    return work_for


# Both writers insert the same key before either commits, which only DuckDB allows (it finds the
# conflict at COMMIT). PostgreSQL makes the second INSERT wait for the first transaction, so the
# two would wait for each other here; its races are run by separate server processes in
# tests/test_postgres.py (imports, the audit chain).
@pytest.fixture
def second(keyed: Database, reopen: Callable[[], Database]) -> Iterator[Database]:
    """Another handle on the same practice, as a second server would hold: writers through one
    handle take turns (see the test below), so a race needs two."""
    other = reopen()
    yield other
    other.close()


def test_writers_through_one_handle_take_turns(keyed: Database) -> None:
    """Every write appends to the hash-chained audit trail, so one process writes one
    transaction at a time: the second starts after the first has committed."""
    seen: list[tuple[str, int]] = []

    def work_for(who: int) -> Callable[[duckdb.DuckDBPyConnection], None]:
        def work(cur: duckdb.DuckDBPyConnection) -> None:
            seen.append(("begin", who))
            cur.execute("INSERT INTO race VALUES (?, ?)", [10 + who, who])
            time.sleep(0.05)
            seen.append(("end", who))

        return work

    assert together(2, lambda who: keyed.atomic(work_for(who))) == [None, None]
    assert [step for step, _ in seen] == ["begin", "end", "begin", "end"]
    assert seen[0][1] == seen[1][1]


@pytest.mark.duckdb_only  # PostgreSQL makes the second insert wait (see above)
def test_atomic_retries_a_racing_insert_of_the_same_key(keyed: Database, second: Database) -> None:
    attempts: dict[int, int] = {}
    work_for = _insert_then_wait(threading.Barrier(2), attempts)
    handles = (keyed, second)
    results = together(2, lambda who: handles[who].atomic(work_for(who)))
    # Both return; the loser ran again, saw the winner's row, and stored nothing.
    assert results == [1, 1]
    assert keyed.query_value("SELECT count(*) FROM race") == 1
    assert sorted(attempts.values()) == [1, 2]


@pytest.mark.duckdb_only  # PostgreSQL makes the second insert wait (see above)
def test_the_same_race_in_a_plain_transaction_is_refused(keyed: Database, second: Database) -> None:
    # What atomic() protects against: without a retry one of the two writers fails.
    work_for = _insert_then_wait(threading.Barrier(2), {})
    handles = (keyed, second)

    def plain(who: int) -> int:
        with handles[who].transaction() as cur:
            return work_for(who)(cur)

    results = together(2, plain)
    assert sum(isinstance(r, CaseloadError) for r in results) == 1
    assert keyed.query_value("SELECT count(*) FROM race") == 1


def test_atomic_with_eight_writers_of_one_key(keyed: Database) -> None:
    def work(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("INSERT INTO race SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM race)")

    results = together(8, lambda _: keyed.atomic(work))
    assert results == [None] * 8
    assert keyed.query_value("SELECT count(*) FROM race") == 1


def test_atomic_gives_up_after_its_attempts_with_a_readable_error(keyed: Database) -> None:
    calls = []

    def always_conflicts(cur: duckdb.DuckDBPyConnection) -> None:
        calls.append(1)
        cur.execute("INSERT INTO race VALUES (7, 0)")
        raise duckdb.TransactionException("Conflict on tuple deletion!")

    with pytest.raises(CaseloadError) as refused:
        keyed.atomic(always_conflicts, attempts=2)
    assert len(calls) == 2
    assert "refused" in refused.value.message and "Conflict" not in refused.value.message
    assert keyed.query_value("SELECT count(*) FROM race") == 0  # every attempt rolled back


def test_atomic_does_not_retry_other_errors(keyed: Database) -> None:
    calls = []

    def fails(cur: duckdb.DuckDBPyConnection) -> None:
        calls.append(1)
        cur.execute("INSERT INTO race VALUES (7, 0)")
        raise ValueError("not a conflict")

    with pytest.raises(ValueError, match="not a conflict"):
        keyed.atomic(fails)
    assert len(calls) == 1
    assert keyed.query_value("SELECT count(*) FROM race") == 0


def test_eight_sessions_committing_the_same_export_store_each_row_once(
    db: Database, therapist: Actor, couple: int
) -> None:
    data = (ROOT / "data" / "samples" / "google_forms.csv").read_bytes()
    previews = [service.prepare(db, therapist, "google_forms.csv", data, now=NOW) for _ in range(8)]
    first = previews[0]
    assert first.accepted > 0 and first.unmatched > 0 and first.duplicates == 0
    rows = first.accepted + first.unmatched  # every row of the file is either

    results = together(8, lambda i: service.commit_import(db, therapist, previews[i]))

    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []  # never "The database refused the request (TransactionException)"
    done = [r for r in results if isinstance(r, service.ImportResult)]
    # Each response is stored once, whoever stored it; the other sessions count it a duplicate.
    assert sum(r.accepted for r in done) == first.accepted
    assert sum(r.unmatched for r in done) == first.unmatched
    for r in done:
        assert r.accepted + r.unmatched + r.duplicates == rows
        assert r.rejected == 0
    assert db.query_value("SELECT count(*) FROM responses") == first.accepted
    assert db.query_value("SELECT count(DISTINCT natural_key) FROM responses") == first.accepted
    assert db.query_value("SELECT count(*) FROM unmatched_responses") == first.unmatched
    # Every answer stored once too: as many as one import of the file stores.
    per_response = db.query_value(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM answers GROUP BY response_id, item_id)"
    )
    assert per_response == 1
    # Every session's import is on record, each with its own counts.
    batches = db.query_rows("SELECT accepted, duplicates, unmatched FROM import_batches")
    assert sorted(batches) == sorted((r.accepted, r.duplicates, r.unmatched) for r in done)


def test_ids_drawn_by_transactions_at_once_are_unique_even_when_they_interleave(
    tmp_path: Path,
) -> None:
    """Large imports at the same moment draw interleaved ids from one sequence; the writer takes
    whatever it drew (it used to refuse a block with gaps: "ids with gaps; nothing was stored")."""
    from analytics.store.ids import next_ids

    db = factories.database(tmp_path / "ids.duckdb")
    db.execute("CREATE SEQUENCE seq_responses START 1")  # all a bare file needs to draw ids
    drawn: list[np.ndarray] = []

    def draw() -> None:
        for _ in range(10):
            drawn.append(
                np.asarray(db.atomic(lambda cur: next_ids(cur, "responses", 5000)), dtype=np.int64)
            )

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = np.concatenate(drawn)
    assert len(drawn) == 40 and len(every) == 200_000
    assert len(np.unique(every)) == len(every)
    assert all(len(block) == 5000 and (np.diff(block) > 0).all() for block in drawn)
    db.close()
