"""Moving a practice between its two homes: an encrypted DuckDB file and PostgreSQL.

`to_postgres` copies a practice file into an empty PostgreSQL practice; `to_duckdb` copies a
PostgreSQL practice into a new encrypted file (a backup a single server can open). Both copy
every table in one transaction of the target, carry the id sequences past every id copied,
and then compare the two sides table by table: row counts, and a checksum of every row's
values (read through DuckDB on both sides, so a value that changed on the way is found).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.errors import CaseloadError
from analytics.store import postgres
from analytics.store.db import (
    ALIAS,
    Database,
    PostgresDatabase,
    attach,
    httpfs_extension,
    owner_only,
    sql_string,
    translate_error,
)
from analytics.store.ids import PG_ALIAS, SEQUENCES
from analytics.store.migrate import apply_migrations

# Tables a freshly migrated practice already fills (its default settings, the practice's kind):
# replaced by the source's rows. Any other row in the target means it is not empty.
_SEEDED = {"practice_settings", "practice_text_settings", "practice_kind", "schema_migrations"}
_SOURCE = "source_practice"


@dataclass(frozen=True)
class TableCheck:
    """One table compared after a copy: rows on each side and whether every value matched."""

    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def matches(self) -> bool:
        """True when both sides hold the same rows."""
        return (self.source_rows, self.source_checksum) == (
            self.target_rows,
            self.target_checksum,
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(cur: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    rows = cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?"
        " AND NOT temporary ORDER BY table_name",
        [catalog, schema],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _columns(cur: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    rows = cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ?"
        " AND table_name = ? ORDER BY column_index",
        [catalog, schema, table],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _checksum(cur: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> tuple[int, str]:
    """Rows, and an order-free checksum of every row's values as text."""
    values = ", ".join(f"coalesce({_ident(c)}::VARCHAR, '\\N')" for c in columns)
    row = cur.execute(
        f"SELECT count(*), coalesce(sum(hash(concat_ws(chr(31), {values}))::HUGEINT), 0)"  # noqa: S608 (catalogue names)
        f" FROM {relation}"
    ).fetchone()
    assert row is not None
    return int(row[0]), format(int(row[1]), "x")


def _order(cur: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """The tables with every table after the ones its PostgreSQL foreign keys point to."""
    edges = cur.execute(
        f"SELECT child, parent FROM postgres_query('{PG_ALIAS}', ?)",  # noqa: S608 (fixed name)
        [
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent"
            " FROM pg_constraint c WHERE c.contype = 'f'"
        ],
    ).fetchall()
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in edges:
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, p in parents.items() if not p - set(ordered))
        if not ready:
            raise CaseloadError("The PostgreSQL tables refer to each other in a circle.")
        ordered.extend(ready)
        for table in ready:
            del parents[table]
    return ordered


def _compare(
    cur: duckdb.DuckDBPyConnection, source: str, target: str, tables: list[str]
) -> list[TableCheck]:
    checks = []
    for table in tables:
        catalog, schema = target.split(".")
        columns = _columns(cur, catalog, schema, table)
        rows_a, sum_a = _checksum(cur, f"{source}.{_ident(table)}", columns)
        rows_b, sum_b = _checksum(cur, f"{target}.{_ident(table)}", columns)
        checks.append(TableCheck(table, rows_a, rows_b, sum_a, sum_b))
    return checks


def _copy_rows(
    cur: duckdb.DuckDBPyConnection, table: str, source: tuple[str, str], target: tuple[str, str]
) -> None:
    """Every row of `table` from (catalog, schema) `source` into the same table of `target`,
    column by column as the target names them."""
    names = ", ".join(_ident(c) for c in _columns(cur, *target, table))
    into = f"{target[0]}.{target[1]}.{_ident(table)}"
    cur.execute(
        f"INSERT INTO {into} ({names})"  # noqa: S608 (catalogue names)
        f" SELECT {names} FROM {source[0]}.{source[1]}.{_ident(table)}"
    )


@contextlib.contextmanager
def _one_transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The whole copy in one transaction of the target: all of it, or (on any error, a
    mismatch included) nothing."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield
        cur.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")
        raise


def _refuse_mismatch(checks: list[TableCheck]) -> None:
    wrong = [c.table for c in checks if not c.matches]
    if wrong:
        raise CaseloadError(
            f"The copy did not match the source in {len(wrong)} table(s): {', '.join(wrong)}."
        )


def to_postgres(source: Path, key: str | None, dsn: str) -> list[TableCheck]:
    """Copy the practice file `source` (opened with `key`) into the empty PostgreSQL practice at
    `dsn` (its tables made first), and check every table."""
    target = PostgresDatabase(dsn)
    try:
        apply_migrations(target)
        cur = target.root_cursor()
        try:
            if key is not None:
                cur.execute(f"LOAD {sql_string(httpfs_extension())}")
            attach(cur, source, _SOURCE, key=key, read_only=True)
            try:
                return _copy_into_postgres(cur)
            finally:
                cur.execute(postgres.SEARCH_PATH)
                with contextlib.suppress(duckdb.Error):
                    cur.execute(f"DETACH {_SOURCE}")
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        finally:
            cur.close()
    finally:
        target.close()


def _copy_into_postgres(cur: duckdb.DuckDBPyConnection) -> list[TableCheck]:
    tables = _tables(cur, PG_ALIAS, "public")
    missing = sorted(set(_tables(cur, _SOURCE, "main")) - set(tables) - {"schema_migrations"})
    if missing:
        raise CaseloadError(
            "The file holds tables PostgreSQL does not have: " + ", ".join(missing) + "."
        )
    for table in tables:
        if table in _SEEDED:
            continue
        row = cur.execute(f"SELECT count(*) FROM {PG_ALIAS}.public.{_ident(table)}").fetchone()  # noqa: S608 (catalogue names)
        if row and row[0]:
            raise CaseloadError(
                "The PostgreSQL database already holds a practice's records; nothing was copied.",
                hint="Copy into a new, empty PostgreSQL database.",
            )
    copied = [t for t in _order(cur, tables) if t != "schema_migrations"]
    with _one_transaction(cur):
        # Children first when emptying (the seeded rows), parents first when filling.
        for table in reversed(copied):
            cur.execute(f"DELETE FROM {PG_ALIAS}.public.{_ident(table)}")  # noqa: S608 (catalogue names)
        for table in copied:
            _copy_rows(cur, table, (_SOURCE, "main"), (PG_ALIAS, "public"))
        for table, sequence in SEQUENCES.items():
            if table not in copied:
                continue
            row = cur.execute(
                "SELECT greatest(coalesce(last_value, start_value - 1),"  # noqa: S608 (catalogue names)
                f" (SELECT coalesce(max(id), 0) FROM {_SOURCE}.main.{_ident(table)}))"
                " FROM duckdb_sequences() WHERE database_name = ? AND sequence_name = ?",
                [_SOURCE, sequence],
            ).fetchone()
            last = int(row[0]) if row else 0
            postgres.execute_native(
                cur,
                f"SELECT setval(pg_get_serial_sequence('public.{table}', 'id'),"
                f" {max(last, 1)}, {'true' if last >= 1 else 'false'})",
            )
        checks = _compare(cur, f"{_SOURCE}.main", f"{PG_ALIAS}.public", copied)
        _refuse_mismatch(checks)
    return checks


def to_duckdb(dsn: str, out: Path, key: str) -> list[TableCheck]:
    """Copy the PostgreSQL practice at `dsn` into the new file `out`, encrypted with `key`, and
    check every table; the file appears only when complete (0600)."""
    if out.exists():
        raise CaseloadError(f"The file {out.name} exists already; nothing was written.")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.{secrets.token_hex(4)}.partial")
    owner_only()
    target = Database(partial, key=key)
    try:
        apply_migrations(target)
        cur = target.root_cursor()
        try:
            text, password = postgres.without_password(dsn)
            cur.execute(f"LOAD {sql_string(postgres.extension_path())}")
            options = ["TYPE postgres", "READ_ONLY"]
            if password is not None:
                cur.execute(
                    "CREATE SECRET caseload_pg_source (TYPE postgres, PASSWORD ?)", [password]
                )
                options.append("SECRET caseload_pg_source")
            cur.execute(f"ATTACH {sql_string(text)} AS {_SOURCE} ({', '.join(options)})")
            try:
                checks = _copy_into_file(cur)
            finally:
                cur.execute(f"USE {ALIAS}")
                with contextlib.suppress(duckdb.Error):
                    cur.execute(f"DETACH {_SOURCE}")
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        finally:
            cur.close()
    except BaseException:
        target.close()
        for stale in (partial, partial.with_name(partial.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        raise
    target.close()
    os.chmod(partial, 0o600)
    os.replace(partial, out)
    return checks


def _copy_into_file(cur: duckdb.DuckDBPyConnection) -> list[TableCheck]:
    tables = [t for t in _tables(cur, ALIAS, "main") if t != "schema_migrations"]
    missing = sorted(set(tables) - set(_tables(cur, _SOURCE, "public")))
    if missing:
        raise CaseloadError("PostgreSQL lacks tables of the practice: " + ", ".join(missing) + ".")
    with _one_transaction(cur):
        for table in tables:
            cur.execute(f"DELETE FROM {ALIAS}.main.{_ident(table)}")  # noqa: S608 (catalogue names)
            _copy_rows(cur, table, (_SOURCE, "public"), (ALIAS, "main"))
        for table, sequence in SEQUENCES.items():
            if table not in tables:
                continue
            # DuckDB has no setval: draw the sequence up to the largest id copied.
            row = cur.execute(
                f"SELECT coalesce(max(id), 0) FROM {ALIAS}.main.{_ident(table)}"  # noqa: S608 (catalogue names)
            ).fetchone()
            top = int(row[0]) if row else 0
            if top:
                cur.execute(
                    f"SELECT max(nextval('{ALIAS}.main.{sequence}')) FROM range(?)",  # noqa: S608 (fixed names)
                    [top],
                )
        checks = _compare(cur, f"{_SOURCE}.public", f"{ALIAS}.main", tables)
        _refuse_mismatch(checks)
    return checks
