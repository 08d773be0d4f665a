"""The PostgreSQL baseline (analytics/store/pg_migrations/010_baseline.sql) is the DuckDB schema:
same tables, columns in the same order, the same types as DuckDB reads them, the same nullability,
keys, checks and seed rows; identity ids; and every macro and view binds over its tables.

Needs the session fixture `pg_url` (a libpq string to a throwaway PostgreSQL 15; it skips when the
server binaries are missing). Each test builds the baseline in a schema of its own and drops it,
so the shared database is left as it was found.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from analytics.store.db import Database
from analytics.store.ids import SEQUENCES

BASELINE = "010_baseline.sql"
# DuckDB reads PostgreSQL json as VARCHAR (the macros cast to JSON where they need it).
READ_AS = {"JSON": "VARCHAR"}


def baseline_sql() -> str:
    """The baseline file as shipped with the package."""
    return (resources.files("analytics.store.pg_migrations") / BASELINE).read_text("utf-8")


def postgres_extension() -> Path:
    """The installed wheel's postgres extension, copied to the name DuckDB's LOAD expects."""
    try:
        import duckdb_extension_postgres as package  # type: ignore[import-not-found]
    except ImportError:
        pytest.skip("duckdb-extension-postgres is not installed")
    shipped = (
        Path(package.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "postgres.duckdb_extension"
    )
    target = (
        Path(tempfile.gettempdir())
        / "duckdb-pg-ext"
        / f"v{duckdb.__version__}"
        / "postgres_scanner.duckdb_extension"
    )
    if not target.exists() or target.stat().st_size != shipped.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
        shutil.copyfile(shipped, partial)
        partial.replace(target)
    return target


def attach_pg(url: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the PostgreSQL database attached as `pg` (nothing downloaded)."""
    con = duckdb.connect(
        ":memory:",
        config={"autoload_known_extensions": False, "autoinstall_known_extensions": False},
    )
    con.execute(f"LOAD '{postgres_extension()}'")
    quoted = url.replace("'", "''")  # ATTACH takes no parameters; the URL comes from the fixture
    con.execute(f"ATTACH '{quoted}' AS pg (TYPE postgres)")
    return con


@pytest.fixture
def pg_baseline(pg_url: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """The baseline built in a fresh PostgreSQL schema; yields (connection, schema name)."""
    con = attach_pg(pg_url)
    schema = f"baseline_{uuid.uuid4().hex[:12]}"
    # SET LOCAL: the file's unqualified names land in the new schema, for this transaction only.
    con.execute(
        "CALL postgres_execute('pg', ?)",
        [f"CREATE SCHEMA {schema}; SET LOCAL search_path = {schema};\n{baseline_sql()}"],
    )
    con.execute("CALL pg_clear_cache()")
    try:
        yield con, schema
    finally:
        con.execute("CALL postgres_execute('pg', ?)", [f"DROP SCHEMA {schema} CASCADE"])
        con.close()


def _columns(
    con: duckdb.DuckDBPyConnection, database: str, schema: str
) -> dict[str, list[tuple[str, str, bool]]]:
    rows = con.execute(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable"
        " FROM duckdb_columns() c JOIN duckdb_tables() t"
        " USING (database_name, schema_name, table_name)"
        " WHERE c.database_name = ? AND c.schema_name = ? AND c.table_name <> 'schema_migrations'"
        " ORDER BY c.table_name, c.column_index",
        [database, schema],
    ).fetchall()
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, data_type, nullable in rows:
        tables.setdefault(table, []).append((column, READ_AS.get(data_type, data_type), nullable))
    return tables


def test_tables_columns_types_and_nullability_match_duckdb(
    db: Database, pg_baseline: tuple[duckdb.DuckDBPyConnection, str]
) -> None:
    con, schema = pg_baseline
    with db.cursor() as cur:
        duck = _columns(cur, "practice", "main")
    pg = _columns(con, "pg", schema)
    assert sorted(pg) == sorted(duck)
    for table, columns in duck.items():
        assert pg[table] == columns, table


def test_keys_and_checks_match_duckdb(
    db: Database, pg_baseline: tuple[duckdb.DuckDBPyConnection, str]
) -> None:
    con, schema = pg_baseline
    kinds = {"PRIMARY KEY": "p", "UNIQUE": "u", "CHECK": "c"}
    with db.cursor() as cur:
        duck_rows = cur.execute(
            "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints()"
            " WHERE database_name = 'practice' AND table_name <> 'schema_migrations'"
            " AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK')"
        ).fetchall()
        unique_indexes = cur.execute(
            "SELECT table_name, expressions FROM duckdb_indexes()"
            " WHERE database_name = 'practice' AND is_unique"
        ).fetchall()
    duck = sorted((t, kinds[k], tuple(sorted(set(cols)))) for t, k, cols in duck_rows)
    # A DuckDB unique index is a UNIQUE constraint in PostgreSQL (named <table>_<col>_key).
    duck += [(t, "u", tuple(re.findall(r"\w+", str(e)))) for t, e in unique_indexes]
    pg_rows = con.execute(
        "SELECT * FROM postgres_query('pg', ?)",
        [
            "SELECT c.conrelid::regclass::text AS t, c.contype::text AS k, c.conname::text AS name,"
            " ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.conrelid"
            " AND a.attnum = ANY(c.conkey) ORDER BY array_position(c.conkey, a.attnum)) AS cols"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            f" WHERE n.nspname = '{schema}' AND c.contype IN ('p', 'u', 'c')"
        ],
    ).fetchall()
    pg = sorted((t.split(".")[-1], k, tuple(sorted(cols))) for t, k, _, cols in pg_rows)
    assert pg == sorted(duck)
    # Unique constraints keep PostgreSQL's default names, <table>_<columns>_key (the error
    # translation maps them back to words).
    for table, kind, name, cols in pg_rows:
        if kind == "u":
            assert name == f"{table.split('.')[-1]}_{'_'.join(cols)}_key"


def test_identity_ids_and_seed_rows(
    db: Database, pg_baseline: tuple[duckdb.DuckDBPyConnection, str]
) -> None:
    con, schema = pg_baseline
    for table in SEQUENCES:
        row = con.execute(
            "SELECT * FROM postgres_query('pg', ?)",
            [f"SELECT pg_get_serial_sequence('{schema}.{table}', 'id')::text AS seq"],
        ).fetchone()
        assert row is not None and row[0] == f"{schema}.{table}_id_seq", table
    settings = "SELECT key, value FROM {} ORDER BY key"
    with db.cursor() as cur:
        expected = cur.execute(settings.format("practice_settings")).fetchall()
    assert con.execute(settings.format(f"pg.{schema}.practice_settings")).fetchall() == expected
    assert con.execute(f"SELECT count(*) FROM pg.{schema}.practice_kind").fetchone() == (0,)
    # BY DEFAULT: an explicit id is taken, an omitted one is drawn.
    con.execute(f"INSERT INTO pg.{schema}.therapists (id, name) VALUES (40, 'Explicit')")
    con.execute(f"INSERT INTO pg.{schema}.therapists (name) VALUES ('Drawn')")
    rows = con.execute(
        f"SELECT id, role, active FROM pg.{schema}.therapists ORDER BY name"
    ).fetchall()
    assert rows == [(1, "therapist", True), (40, "therapist", True)]


def test_foreign_keys_refuse_orphans(pg_baseline: tuple[duckdb.DuckDBPyConnection, str]) -> None:
    con, schema = pg_baseline
    with pytest.raises(duckdb.Error, match="couples_therapist_id_fkey"):
        con.execute(
            f"INSERT INTO pg.{schema}.couples (id, case_code, therapist_id, start_date)"
            " VALUES (1, 'C-1', 999, DATE '2026-01-05')"
        )


def _macro_statements() -> list[str]:
    """Every CREATE OR REPLACE MACRO/VIEW of the DuckDB migrations, in order, into memory.main."""
    found = []
    files = sorted(
        (
            e
            for e in resources.files("analytics.store.migrations").iterdir()
            if e.name.endswith(".sql")
        ),
        key=lambda e: e.name,
    )
    for entry in files:
        for statement in duckdb.extract_statements(entry.read_text("utf-8")):
            text = statement.query
            match = re.search(
                r"(?is)^\s*(?:--[^\n]*\n\s*)*CREATE\s+OR\s+REPLACE\s+(MACRO|VIEW)\s+", text
            )
            if match:
                found.append(text[: match.end()] + "memory.main." + text[match.end() :])
    return found


def test_every_macro_and_view_binds_over_the_baseline(
    pg_baseline: tuple[duckdb.DuckDBPyConnection, str],
) -> None:
    con, schema = pg_baseline
    con.execute(f"SET search_path = 'pg.{schema},memory.main'")
    statements = _macro_statements()
    assert len(statements) >= 30
    for statement in statements:
        con.execute(statement)
    as_of = dt.date(2026, 1, 5)
    assert con.execute("SELECT * FROM couple_flags(TRUE, NULL, NULL, ?)", [as_of]).fetchall() == []
    assert con.execute("SELECT * FROM couple_flags(FALSE, 1, [1], ?)", [as_of]).fetchall() == []
    assert con.execute("SELECT * FROM repair_stalls(TRUE, NULL, NULL, ?)", [as_of]).fetchall() == []
    assert con.execute("SELECT * FROM checkin_change(TRUE, NULL, NULL)").fetchall() == []
    # The writer's statements: the macros' columns line up with the stored tables'.
    con.execute("INSERT INTO response_scores SELECT * FROM scale_scores_of('answers', 'responses')")
    con.execute("INSERT INTO response_safety SELECT * FROM safety_items_of('answers', 'responses')")
