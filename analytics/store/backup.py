"""Copies of the practice's database: backups, restores, and re-encrypting in place.

Every copy is made by DuckDB itself (ATTACH a new file, `COPY FROM DATABASE`), inside one
transaction, and checked before it is used: the same tables with the same row counts, the same
sequences at the same next values, the same views, macros and indexes. A copy is written beside
its destination under a temporary name and renamed into place only when complete. Every file
made here is owner-only (0600). No audit here (the store is the lowest layer): the practice layer
records backups.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.errors import CaseloadError, DatabaseBusy
from analytics.store.db import (
    ALIAS,
    Database,
    attach,
    httpfs_extension,
    owner_only,
    sql_string,
    translate_error,
)

CHECKSUM_SUFFIX = ".sha256"
ENCRYPTING_SUFFIX = ".encrypting"
RESTORING_SUFFIX = ".restoring"
BEFORE_RESTORE_SUFFIX = ".before-restore"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Copy:
    """A finished copy: its file, the sha256 of its bytes, and its tables' row counts."""

    path: Path
    sha256: str
    tables: dict[str, int]


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_path(backup: Path) -> Path:
    """The checksum file of a backup: its name with .sha256 added."""
    return backup.with_name(backup.name + CHECKSUM_SUFFIX)


def write_checksum(backup: Path) -> str:
    """Write `<backup>.sha256` (sha256sum's format, owner-only); return the checksum."""
    digest = sha256_file(backup)
    target = checksum_path(backup)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"{digest}  {backup.name}\n")
    os.chmod(target, 0o600)
    return digest


def verify_checksum(backup: Path) -> str:
    """The backup's checksum, refused when its .sha256 file is missing or does not match."""
    target = checksum_path(backup)
    try:
        line = target.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseloadError(
            f"The checksum file {target.name} is missing or unreadable.",
            hint="A backup is restored only with the .sha256 file written beside it.",
        ) from exc
    expected = line.split()[0].lower() if line else ""
    if not backup.is_file():
        raise CaseloadError(f"The backup {backup.name} was not found.")
    if not secrets.compare_digest(expected, sha256_file(backup)):
        raise CaseloadError(
            f"The backup {backup.name} does not match its checksum: it was changed or damaged.",
            hint="Use another backup.",
        )
    return expected


def _ident(name: str) -> str:
    """A name from DuckDB's catalogue (never from input) quoted as an identifier."""
    return '"' + name.replace('"', '""') + '"'


def _catalog(cur: duckdb.DuckDBPyConnection, database: str) -> dict[str, object]:
    """What a copy must keep: tables and row counts, sequences' next values, views, macros and
    indexes (by name)."""
    tables = [
        str(r[0])
        for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary"
            " ORDER BY schema_name, table_name",
            [database],
        ).fetchall()
    ]
    counts: dict[str, int] = {}
    for table in tables:
        row = cur.execute(f"SELECT count(*) FROM {database}.{_ident(table)}").fetchone()  # noqa: S608 (catalogue names)
        counts[table] = int(row[0]) if row else 0

    def names(sql: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in cur.execute(sql, [database]).fetchall()]

    return {
        "tables": counts,
        "sequences": names(
            "SELECT sequence_name, increment_by, min_value, max_value, cycle"
            " FROM duckdb_sequences() WHERE database_name = ? ORDER BY ALL"
        ),
        "views": names(
            "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal"
            " ORDER BY ALL"
        ),
        "macros": names(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE database_name = ?"
            " AND function_type IN ('macro', 'table_macro') ORDER BY ALL"
        ),
        "indexes": names(
            "SELECT index_name, table_name FROM duckdb_indexes() WHERE database_name = ?"
            " ORDER BY ALL"
        ),
    }


def _next_ids_hold(cur: duckdb.DuckDBPyConnection, source: str, copy: str) -> bool:
    """True when every sequence of the copy goes on where the source's does: its next value (a
    fresh copy's start) is at least the source's, and past every id stored from it."""
    # COPY FROM DATABASE recreates each sequence starting at the source's next value. The
    # catalogue does not show a sequence's next value exactly (a copied sequence reports its
    # start as its last value), so the check is what matters: no id can be drawn twice.
    rows = cur.execute(
        "SELECT c.sequence_name, c.start_value, coalesce(s.last_value, s.start_value)"
        " FROM duckdb_sequences() c JOIN duckdb_sequences() s USING (schema_name, sequence_name)"
        " WHERE c.database_name = ? AND s.database_name = ?",
        [copy, source],
    ).fetchall()
    starts = {str(name): int(start) for name, start, _ in rows}
    if any(int(start) < int(floor) for _, start, floor in rows):
        return False
    columns = cur.execute(
        "SELECT table_name, column_name, regexp_extract(column_default, ?, 1)"
        " FROM duckdb_columns() WHERE database_name = ? AND column_default LIKE 'nextval(%'",
        [r"nextval\('([^']+)'", copy],
    ).fetchall()
    for table, column, sequence in columns:
        top = cur.execute(
            f"SELECT max({_ident(column)}) FROM {copy}.{_ident(table)}"  # noqa: S608 (catalogue names)
        ).fetchone()
        if top is not None and top[0] is not None and starts.get(str(sequence), 0) <= top[0]:
            return False
    return True


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def copy_database(db: Database, out: Path, *, key: str | None) -> Copy:
    """Copy everything of `db` into the new file `out`, encrypted with `key`, as one consistent
    snapshot (one transaction); checked table by table, then renamed into place, 0600."""
    if out.exists():
        raise CaseloadError(f"The file {out.name} exists already; nothing was written.")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    for stale in (partial, partial.with_name(partial.name + ".wal")):
        _remove(stale)
    alias = f"copy_{secrets.token_hex(6)}"
    owner_only()
    try:
        cur = db.root_cursor()
    except duckdb.Error as exc:
        raise translate_error(exc) from exc
    try:
        if key is not None and not db.encrypted:
            cur.execute(f"LOAD {sql_string(httpfs_extension())}")
        attach(cur, partial, alias, key=key)
        try:
            # One transaction: the copy and both catalogues see the same moment, even while the
            # dashboard goes on writing (a transaction may read one database, write another).
            cur.execute("BEGIN TRANSACTION")
            cur.execute(f"COPY FROM DATABASE {ALIAS} TO {alias}")
            source, copied = _catalog(cur, ALIAS), _catalog(cur, alias)
            ids_hold = _next_ids_hold(cur, ALIAS, alias)
            cur.execute("COMMIT")
            cur.execute(f"CHECKPOINT {alias}")
        finally:
            cur.execute(f"USE {ALIAS}")
            with contextlib.suppress(duckdb.Error):
                cur.execute(f"DETACH {alias}")
    except duckdb.Error as exc:
        _remove(partial)
        raise translate_error(exc) from exc
    except BaseException:
        _remove(partial)
        raise
    finally:
        cur.close()
    if source != copied or not ids_hold:
        _remove(partial)
        raise CaseloadError("The copy did not match the database; nothing was replaced.")
    os.chmod(partial, 0o600)
    os.replace(partial, out)
    tables = source["tables"]
    assert isinstance(tables, dict)
    return Copy(out, sha256_file(out), dict(tables))


def back_up(db: Database, out: Path) -> Copy:
    """A consistent copy of `db` at `out` with the same key, and its `.sha256` file."""
    copy = copy_database(db, out, key=db.key)
    write_checksum(out)
    return copy


def _replace_with(path: Path, copied: Path) -> None:
    """Put `copied` in place of the database at `path` (its old WAL goes: it belongs to the
    file replaced, and DuckDB would replay it into the new one)."""
    os.replace(copied, path)
    _remove(path.with_name(path.name + ".wal"))


def reencrypt(path: Path, *, old_key: str | None, new_key: str) -> Copy:
    """Rewrite the database at `path` (plain when `old_key` is None) encrypted with `new_key`,
    in place: copied beside it, checked, then renamed over it."""
    target = path.with_name(path.name + ENCRYPTING_SUFFIX)
    for stale in (target, target.with_name(target.name + ".wal")):
        _remove(stale)
    source = Database(path, key=old_key)
    try:
        copy = copy_database(source, target, key=new_key)
    finally:
        source.close()  # checkpoints: nothing of the old file is left only in its WAL
    _replace_with(path, target)
    return Copy(path, copy.sha256, copy.tables)


def is_encrypted(path: Path) -> bool:
    """True when the database file at `path` is encrypted (refused while another program
    holds it: DatabaseBusy)."""
    con = duckdb.connect()
    try:
        attach(con, path, "probe", key=None, read_only=True)
    except duckdb.CatalogException as exc:
        if "without a key" in str(exc):
            return True
        raise translate_error(exc) from exc
    except duckdb.Error as exc:
        raise translate_error(exc) from exc
    finally:
        con.close()
    return False


def _held(path: Path, key: str) -> bool:
    """True when another program holds the database file (a running dashboard)."""
    probe = Database(path, key=key, read_only=True)
    try:
        probe.query_value("SELECT 1")
    except DatabaseBusy:
        return True
    except CaseloadError:
        return False  # another key, a plain or damaged file: not held, and replaced anyway
    finally:
        probe.close()
    return False


def restore(backup: Path, path: Path, *, key: str, force: bool = False) -> Path | None:
    """Put a checked backup in place of the database at `path`; the file it replaces is kept as
    `<path>.before-restore` (returned; None when there was none)."""
    verify_checksum(backup)
    check = Database(backup, key=key, read_only=True)
    try:
        try:
            check.query_value("SELECT count(*) FROM audit_log")
        except CaseloadError as exc:
            raise CaseloadError(
                "The key does not open this backup (or it is not a backup of the practice).",
                hint="A backup opens with the key the database had when it was made.",
            ) from exc
    finally:
        check.close()
    if path.exists():
        if not force:
            raise CaseloadError(
                f"The database {path.name} exists; nothing was restored.",
                hint="Add --force to replace it (it is kept as <database>.before-restore).",
            )
        if _held(path, key):
            raise DatabaseBusy(
                "The database file is in use by another program; nothing was restored.",
                hint="Stop the dashboard and try again.",
            )
    owner_only()
    staged = path.with_name(path.name + RESTORING_SUFFIX)
    _remove(staged)
    shutil.copyfile(backup, staged)
    os.chmod(staged, 0o600)
    kept: Path | None = None
    if path.exists():
        kept = path.with_name(path.name + BEFORE_RESTORE_SUFFIX)
        os.replace(path, kept)
        os.chmod(kept, 0o600)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            os.replace(wal, kept.with_name(kept.name + ".wal"))
    _replace_with(path, staged)
    return kept
