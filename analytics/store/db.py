"""The one way to reach the database: a `Database` that owns the connection.

Each unit of work takes its own cursor (DuckDB cursors are per thread); writes run inside
`transaction()`. DuckDB errors are translated once, here, into `CaseloadError`.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from analytics.errors import CaseloadError, DatabaseBusy

Params = Sequence[Any] | dict[str, Any] | None
T = TypeVar("T")
# Errors a concurrent writer causes (a write-write conflict, or a key stored meanwhile).
_CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException)

# Column names that appear in DuckDB constraint messages, in words a therapist understands.
_UNIQUE_LABELS = {
    "case_code": "case code",
    "email": "email address",
    "client_code": "client code",
    "name": "name",
    "header_signature": "import profile for this form",
    "natural_key": "response",
    "session_number": "session number",
    # Two writers appended to the audit trail after the same entry (see migration 008).
    "prev_hash": "place in the audit trail (another change was saved at the same moment)",
}


def translate_error(exc: duckdb.Error) -> CaseloadError:
    """Turn a DuckDB error into a readable `CaseloadError` that carries no row values."""
    text = str(exc)
    if isinstance(exc, duckdb.ConstraintException):
        match = re.search(r'Duplicate key "([a-z_]+)(?:, [a-z_]+)*:', text)
        if match:
            label = _UNIQUE_LABELS.get(match.group(1), match.group(1).replace("_", " "))
            return CaseloadError(f"That {label} is already in use; nothing was changed.")
        if "NOT NULL" in text:
            return CaseloadError("A required value is missing; nothing was changed.")
        if "CHECK" in text:
            return CaseloadError("A value is not one of the allowed choices; nothing was changed.")
        return CaseloadError("The change breaks a rule of the database; nothing was changed.")
    if isinstance(exc, duckdb.TransactionException) and "Failed to commit" in text:
        # Another writer committed first (a write-write conflict or the same new key, e.g. the
        # audit trail's next link): nothing of this change was stored.
        return CaseloadError(
            "Another change was saved at the same moment; nothing was changed.",
            hint="Try again.",
        )
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        # DuckDB's text names the other process and its program; neither is repeated here.
        return DatabaseBusy(
            "The database file is in use by another program (only one may write at a time).",
            hint="Stop the other dashboard or command and try again.",
        )
    if isinstance(exc, duckdb.IOException):
        return CaseloadError("The database file could not be read or written.")
    # Other errors are programming faults; keep the category, never the SQL or values.
    return CaseloadError(f"The database refused the request ({type(exc).__name__}).")


class Database:
    """A DuckDB database file and its single root connection.

    The server keeps one `Database` for its lifetime; every query takes a fresh cursor.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        # One writing transaction at a time in this process. Every write appends to the
        # hash-chained audit trail, whose next entry depends on the last one: two transactions
        # writing side by side would both chain from the same entry and one would fail at
        # COMMIT. Reads never wait for it; re-entrant, so a write may call another write.
        self._writing = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._on_close: list[Callable[[], None]] = []

    def _root(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                if not self.read_only:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._con = duckdb.connect(str(self.path), read_only=self.read_only)
                except duckdb.Error as exc:
                    raise translate_error(exc) from exc
            return self._con

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one unit of work; DuckDB errors become `CaseloadError`."""
        cur = self._root().cursor()
        try:
            yield cur
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside BEGIN/COMMIT; any exception rolls everything back."""
        with self._writing, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def atomic(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, attempts: int = 5) -> T:
        """Run `work(cursor)` in one transaction. When another writer conflicts with it, roll
        back and run it again from the start (it then sees what the other one stored)."""
        # DuckDB reports a concurrent writer as a TransactionException (a write-write conflict,
        # or a key another transaction stored first, found at COMMIT) or a ConstraintException.
        # Only those are retried, so `work` must not turn them into other errors itself; a
        # genuine duplicate is retried too and then reported as usual.
        for attempt in range(1, attempts + 1):
            with self._writing:
                cur = self._root().cursor()
                try:
                    cur.execute("BEGIN TRANSACTION")
                    try:
                        result = work(cur)
                        cur.execute("COMMIT")
                    except BaseException:
                        with suppress(duckdb.Error):
                            cur.execute("ROLLBACK")
                        raise
                    return result
                except _CONFLICTS as exc:
                    if attempt == attempts:
                        raise translate_error(exc) from exc
                except duckdb.Error as exc:
                    raise translate_error(exc) from exc
                finally:
                    cur.close()
            # Back off a little, at random, so that writers that collided do not collide again.
            time.sleep(random.uniform(0.005, 0.02) * 2**attempt)
        raise AssertionError("unreachable")

    def query_df(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Run a query with bound parameters and return a DataFrame."""
        with self.cursor() as cur:
            return cur.execute(sql, params).df()

    def query_rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Run a query with bound parameters and return its rows as tuples."""
        with self.cursor() as cur:
            return cur.execute(sql, params).fetchall()

    def query_value(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row, or None when there is no row."""
        with self.cursor() as cur:
            row = cur.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str, params: Params = None) -> None:
        """Run one statement in its own transaction."""
        with self.transaction() as cur:
            cur.execute(sql, params)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` when `close()` is called, before the connection goes (a service
        that answers from this database stops first)."""
        with self._lock:
            self._on_close.append(callback)

    def close(self) -> None:
        """Close the root connection (and with it every cursor)."""
        with self._lock:
            callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
