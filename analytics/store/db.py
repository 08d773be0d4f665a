"""The one way to reach the database: a `Database` that owns the connection.

Each unit of work takes its own cursor (DuckDB cursors are per thread); writes run inside
`transaction()`. DuckDB errors are translated once, here, into `CaseloadError`.

The practice's file is encrypted at rest: DuckDB opens an encrypted file only by ATTACHing it
to an in-memory connection with its key (after loading the httpfs extension from its wheel,
which brings the crypto module that writes). The file is attached as `practice` and every
cursor starts with `USE practice` (a cursor does not inherit it). DuckDB refuses to attach one
file twice in a process, so every `Database` of the same file in this process shares one root
connection; the last one closed closes it.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from analytics.errors import CaseloadError, DatabaseBusy
from analytics.store import postgres
from analytics.store.ids import PG_ALIAS
from analytics.store.keys import SOURCES_HINT

Params = Sequence[Any] | dict[str, Any] | None
T = TypeVar("T")
# Errors a concurrent writer causes (a write-write conflict, or a key stored meanwhile).
_CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException)
# PostgreSQL reports the same through the postgres extension as a plain duckdb.Error, at the
# statement (not at COMMIT): another transaction changed the row, or stored the same key first.
_PG_CONFLICTS = ("could not serialize access", "deadlock detected", "violates unique constraint")
_PG_UNIQUE = re.compile(r'violates unique constraint "([a-z_]+)"')


def is_conflict(exc: BaseException) -> bool:
    """True when `exc` is what a concurrent writer causes (retrying may succeed), or arose while
    cleaning up after one: PostgreSQL refuses every later statement of an aborted transaction."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _CONFLICTS):
            return True
        if isinstance(seen, duckdb.Error) and any(text in str(seen) for text in _PG_CONFLICTS):
            return True
        seen = seen.__context__
    return False


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


ENCRYPT_HINT = (
    "Run `python -m analytics encrypt` (with the dashboard stopped) to encrypt it; it writes a"
    " key file beside it."
)
ALIAS = "practice"  # the name the practice's file is attached under


def httpfs_extension() -> Path:
    """The httpfs extension shipped in its wheel (never downloaded): DuckDB's writing crypto."""
    import duckdb_extension_httpfs

    folder = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    found = sorted(folder.glob(f"v{duckdb.__version__}/httpfs.duckdb_extension"))
    found = found or sorted(folder.glob("*/httpfs.duckdb_extension"))
    if not found:
        raise CaseloadError(
            "The encryption module (the duckdb-extension-httpfs package) is not installed.",
            hint="Install the locked requirements (requirements.lock).",
        )
    return found[-1]


def sql_string(text: str | Path) -> str:
    """A SQL string literal for a file path of ours (ATTACH and LOAD take no bound path)."""
    return "'" + str(text).replace("'", "''") + "'"


def owner_only() -> None:
    """Make every file this process creates from now on owner-only (umask 077)."""
    # DuckDB creates the WAL anew after each checkpoint, and temporary files, with the process
    # umask and no per-file mode; tightening it (never loosening) keeps them 0600. Setting 077
    # first means no other thread ever sees a looser umask meanwhile.
    previous = os.umask(0o077)
    os.umask(previous | 0o077)


def attach(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    alias: str,
    *,
    key: str | None,
    read_only: bool = False,
) -> None:
    """ATTACH a database file under `alias` (an identifier of ours), encrypted with `key`."""
    options = ["ENCRYPTION_KEY ?"] if key is not None else []
    if read_only:
        options.append("READ_ONLY")
    clause = f" ({', '.join(options)})" if options else ""
    con.execute(f"ATTACH {sql_string(path)} AS {alias}{clause}", [key] if key is not None else [])


def _connect(path: Path, key: str | None, read_only: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory root connection with `path` attached as `practice` and in use."""
    # Spilled intermediate results go beside the database (as DuckDB does for a file it opens
    # itself), encrypted when the database is: DuckDB leaves temp_file_encryption off otherwise.
    con = duckdb.connect(config={"temp_directory": f"{path}.tmp"})
    try:
        if key is not None:
            con.execute(f"LOAD {sql_string(httpfs_extension())}")
            con.execute("SET temp_file_encryption = true")
            if not read_only:
                owner_only()
        attach(con, path, ALIAS, key=key, read_only=read_only)
        con.execute(f"USE {ALIAS}")
        if key is not None and not read_only:
            os.chmod(path, 0o600)
    except duckdb.Error as exc:
        con.close()
        raise translate_error(exc) from exc
    except BaseException:
        con.close()
        raise
    return con


class _Root:
    """One file's root connection, shared by every `Database` of that file in this process."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: str | None, read_only: bool) -> None:
        self.con = con
        self.key = key
        self.read_only = read_only
        self.users = 0


_ROOTS: dict[str, _Root] = {}
_ROOTS_LOCK = threading.Lock()


def _same_key(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return secrets.compare_digest(a.encode(), b.encode())


def _acquire(path: Path, key: str | None, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The shared root connection of `path`, opened when this is its first user."""
    name = str(path.resolve())
    with _ROOTS_LOCK:
        root = _ROOTS.get(name)
        if root is None:
            root = _Root(_connect(path, key, read_only), key, read_only)
            _ROOTS[name] = root
        elif not _same_key(root.key, key):
            raise CaseloadError(
                "The database is already open in this program with another key (or none)."
            )
        elif root.read_only != read_only:
            raise CaseloadError(
                "The database is already open in this program, "
                + ("for reading only." if root.read_only else "for writing.")
            )
        root.users += 1
        return root.con


def _release(name: str) -> None:
    """One user fewer of a shared root connection; the last one closes it."""
    with _ROOTS_LOCK:
        root = _ROOTS.get(name)
        if root is None:
            return
        root.users -= 1
        if root.users > 0:
            return
        del _ROOTS[name]
    root.con.close()


def _postgres_error(text: str) -> CaseloadError | None:
    """A readable error for what PostgreSQL refused; its own text repeats the row's values (and
    a connection failure the connection string), so none of it is kept."""
    if "Unable to connect to Postgres" in text:
        return CaseloadError(
            "The PostgreSQL database could not be reached, or refused the sign-in.",
            hint=f"Check the connection string (${postgres.ENV_VAR} or secrets [database]"
            " postgres), the server and the password.",
        )
    if "could not serialize access" in text or "deadlock detected" in text:
        return CaseloadError(
            "Another change was saved at the same moment; nothing was changed.",
            hint="Try again.",
        )
    unique = _PG_UNIQUE.search(text)
    if unique:
        # PostgreSQL names a constraint `<table>_<column>[_<column>]_key`.
        name = unique.group(1).removesuffix("_key")
        column = next((c for c in _UNIQUE_LABELS if name.endswith("_" + c)), None)
        label = _UNIQUE_LABELS[column] if column else "value"
        return CaseloadError(f"That {label} is already in use; nothing was changed.")
    if "violates not-null constraint" in text:
        return CaseloadError("A required value is missing; nothing was changed.")
    if "violates check constraint" in text:
        return CaseloadError("A value is not one of the allowed choices; nothing was changed.")
    if "violates foreign key constraint" in text:
        return CaseloadError(
            "The change refers to a record that does not exist; nothing was changed."
        )
    if "Current transaction is aborted" in text:
        return CaseloadError("An earlier step of this change failed; nothing was changed.")
    return None


def translate_error(exc: duckdb.Error) -> CaseloadError:
    """Turn a DuckDB error into a readable `CaseloadError` that carries no row values."""
    text = str(exc)
    from_postgres = _postgres_error(text)
    if from_postgres is not None:
        return from_postgres
    if isinstance(exc, duckdb.CatalogException) and "without a key" in text:
        return CaseloadError("The database is encrypted and no key was found.", hint=SOURCES_HINT)
    if isinstance(exc, duckdb.InvalidInputException) and "Wrong encryption key" in text:
        return CaseloadError("The key does not open this database.", hint=SOURCES_HINT)
    if isinstance(exc, duckdb.CatalogException) and "is not encrypted" in text:
        return CaseloadError("The database file is not encrypted.", hint=ENCRYPT_HINT)
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

    backend = "duckdb"

    def __init__(
        self, path: str | Path, *, key: str | None = None, read_only: bool = False
    ) -> None:
        # `key` None opens a plain (unencrypted) file: only `encrypt` reads one, as its source.
        self.path = Path(path)
        self.read_only = read_only
        self.key = key
        self._lock = threading.Lock()
        # One writing transaction at a time in this process. Every write appends to the
        # hash-chained audit trail, whose next entry depends on the last one: two transactions
        # writing side by side would both chain from the same entry and one would fail at
        # COMMIT. Reads never wait for it; re-entrant, so a write may call another write.
        self._writing = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._release: weakref.finalize[Any, Any] | None = None
        self._on_close: list[Callable[[], None]] = []

    @property
    def encrypted(self) -> bool:
        """True when the file is opened with a key."""
        return self.key is not None

    @property
    def location(self) -> str:
        """Where the practice is kept, naming no secret (the file's full path)."""
        return str(self.path.resolve())

    def _root(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                if not self.read_only:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                self._con = _acquire(self.path, self.key, self.read_only)
                # A `Database` dropped without close() still gives its share back.
                self._release = weakref.finalize(self, _release, str(self.path.resolve()))
            return self._con

    _start = f"USE {ALIAS}"

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the practice (a cursor starts in DuckDB's in-memory database)."""
        cur = self._root().cursor()
        try:
            cur.execute(self._start)
        except BaseException:
            cur.close()
            raise
        return cur

    def root_cursor(self) -> duckdb.DuckDBPyConnection:
        """A raw cursor on the practice for the store's own mechanics (backups); the caller
        closes it and translates DuckDB errors."""
        return self._cursor()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one unit of work; DuckDB errors become `CaseloadError`."""
        focused = self._focused()
        if focused is not None:
            try:
                yield focused
            except duckdb.Error as exc:
                raise translate_error(exc) from exc
            return
        with self._own_cursor() as cur:
            yield cur

    @contextmanager
    def _own_cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            cur = self._cursor()
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        try:
            yield cur
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        finally:
            cur.close()

    def _focused(self) -> duckdb.DuckDBPyConnection | None:
        """The cursor of a `focus` block open in this thread (PostgreSQL only)."""
        return None

    @contextmanager
    def focus(self, couple_ids: Sequence[int] | None) -> Iterator[None]:
        """Reads in this block need only these couples' rows (None: every couple's). A DuckDB
        file reads what a query needs anyway: nothing to do."""
        yield

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside BEGIN/COMMIT; any exception rolls everything back."""
        # Never a focus block's cursor: writes go to the practice's own tables.
        with self._writing, self._own_cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                changed = self._changed(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            self._committed(cur, changed)

    def atomic(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, attempts: int = 5) -> T:
        """Run `work(cursor)` in one transaction. When another writer conflicts with it, roll
        back and run it again from the start (it then sees what the other one stored)."""
        # DuckDB reports a concurrent writer as a TransactionException (a write-write conflict,
        # or a key another transaction stored first, found at COMMIT) or a ConstraintException;
        # PostgreSQL as a serialization failure or a unique violation (see is_conflict). Only
        # those are retried, so `work` must not turn them into other errors itself; a
        # genuine duplicate is retried too and then reported as usual.
        for attempt in range(1, attempts + 1):
            with self._writing:
                try:
                    cur = self._cursor()
                except duckdb.Error as exc:
                    raise translate_error(exc) from exc
                try:
                    cur.execute("BEGIN TRANSACTION")
                    try:
                        result = work(cur)
                        changed = self._changed(cur)
                        cur.execute("COMMIT")
                        self._committed(cur, changed)
                    except BaseException:
                        with suppress(duckdb.Error):
                            cur.execute("ROLLBACK")
                        raise
                    return result
                except duckdb.Error as exc:
                    if not is_conflict(exc) or attempt == attempts:
                        raise translate_error(exc) from exc
                finally:
                    cur.close()
            # Back off a little, at random, so that writers that collided do not collide again.
            time.sleep(random.uniform(0.005, 0.02) * 2**attempt)
        raise AssertionError("unreachable")

    def _changed(self, cur: duckdb.DuckDBPyConnection) -> bool:
        """Whether the open transaction changed the practice's records (see data_version)."""
        return False

    def _committed(self, cur: duckdb.DuckDBPyConnection, changed: bool) -> None:
        """After a COMMIT: let other servers know (PostgreSQL)."""

    def data_version(self) -> int:
        """A number that moves whenever another server changes the practice's records (cached
        reads are keyed on it). A DuckDB file has one server, which clears its own cache."""
        return 0

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
        """Let go of the root connection; the last `Database` of the file closes it (and with
        it every cursor)."""
        with self._lock:
            callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()
        with self._lock:
            release, self._release, self._con = self._release, None, None
        if release is not None:
            release()


_BUMP = "SELECT nextval('practice_changes') AS v"


class PostgresDatabase(Database):
    """A practice kept in PostgreSQL, attached to an in-memory DuckDB connection as `pg`.

    Each cursor searches `pg.public` for tables and DuckDB's `memory.main` for the macros and
    views (created there per process by `apply_migrations`). Every PostgreSQL transaction is
    REPEATABLE READ; a concurrent change is a conflict that `atomic` retries.
    """

    backend = "postgres"
    _start = postgres.SEARCH_PATH
    # The per-response tables every score, flag and change reads, often several times in one
    # query. DuckDB's postgres scanner reads a whole table for each reference (only constant
    # filters reach PostgreSQL), so a one-couple page would read every couple's scores many
    # times over: a focus block copies the rows it needs once, then reads the copies.
    FOCUSED_TABLES = ("response_scores", "response_safety")

    def __init__(self, dsn: str, *, read_only: bool = False) -> None:
        super().__init__(Path(), read_only=read_only)
        self._dsn = dsn
        self._label = postgres.describe(dsn)
        self._local = threading.local()

    def _focused(self) -> duckdb.DuckDBPyConnection | None:
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        return cur

    @contextmanager
    def focus(self, couple_ids: Sequence[int] | None) -> Iterator[None]:
        """Reads in this block (this thread) see only these couples' per-response rows (None:
        every couple's), copied once from PostgreSQL into this cursor's own temporary tables,
        which come first on its search path. Writes never use this cursor."""
        if self._focused() is not None:
            yield  # an outer block is open: its copies hold what this one needs
            return
        with self._own_cursor() as cur:
            for table in self.FOCUSED_TABLES:
                query = f"SELECT * FROM {table}"  # noqa: S608 (fixed names; integers below)
                if couple_ids is not None:
                    wanted = ",".join(str(int(i)) for i in couple_ids)
                    query += f" WHERE couple_id = ANY('{{{wanted}}}'::integer[])"
                cur.execute(
                    f"CREATE TEMP TABLE {table} AS"  # noqa: S608 (fixed names)
                    f" SELECT * FROM postgres_query('{PG_ALIAS}', ?)",
                    [query],
                )
            cur.execute(f"SET search_path = 'temp.main,{PG_ALIAS}.public,memory.main'")
            self._local.cursor = cur
            try:
                yield
            finally:
                self._local.cursor = None

    @property
    def location(self) -> str:
        """The server and database, without the password."""
        return self._label

    @property
    def dsn(self) -> str:
        """The connection string (it may hold the password: never show or log it)."""
        return self._dsn

    def _changed(self, cur: duckdb.DuckDBPyConnection) -> bool:
        # The triggers of pg_migrations/010 mark the transaction when a statement changed records.
        row = cur.execute(
            f"SELECT changed FROM postgres_query('{PG_ALIAS}', ?)",  # noqa: S608 (fixed name)
            ["SELECT current_setting('caseload.changed', true) AS changed"],
        ).fetchone()
        return row is not None and row[0] == "yes"

    def _committed(self, cur: duckdb.DuckDBPyConnection, changed: bool) -> None:
        if changed:
            cur.execute(f"SELECT * FROM postgres_query('{PG_ALIAS}', ?)", [_BUMP])  # noqa: S608

    def data_version(self) -> int:
        """`practice_changes`, bumped by every change any server makes (see pg_migrations/010)."""
        with self.cursor() as cur:
            row = cur.execute(
                f"SELECT v FROM postgres_query('{PG_ALIAS}', ?)",  # noqa: S608 (fixed name)
                ["SELECT last_value AS v FROM practice_changes"],
            ).fetchone()
        return int(row[0]) if row else 0

    def _root(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                try:
                    self._con = postgres.connect(self._dsn, read_only=self.read_only)
                except duckdb.Error as exc:
                    raise translate_error(exc) from None
                self._release = weakref.finalize(self, self._con.close)
            return self._con
