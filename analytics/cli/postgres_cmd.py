"""Moving a practice between a DuckDB file and PostgreSQL.

`migrate-to-postgres --from FILE --to URL` copies a practice file into an empty PostgreSQL
database; `migrate-to-duckdb --from URL --to FILE` copies a PostgreSQL practice into a new
encrypted file with its .sha256 (a backup that `restore` takes, or a practice a single server
opens). Both compare row counts and checksums table by table and print them.

The connection string may leave the password out: libpq then reads $PGPASSWORD or ~/.pgpass,
which keeps it out of the process list. `--to`/`--from` default to $CASELOAD_POSTGRES.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from analytics.cli.output import print_json
from analytics.errors import CaseloadError
from analytics.store import backup, keys, postgres, transfer
from analytics.store.db import Database
from analytics.store.paths import resolve_postgres


def _dsn(given: str | None) -> str:
    found = resolve_postgres(given)
    if not found:
        raise CaseloadError(
            "No PostgreSQL database was named.",
            hint=f"Give its connection string, or set ${postgres.ENV_VAR}.",
        )
    return found


def _report(args: argparse.Namespace, checks: list[transfer.TableCheck], lines: list[str]) -> int:
    rows = [
        {"table": c.table, "rows": c.target_rows, "checksum": c.target_checksum, "ok": c.matches}
        for c in checks
    ]
    if args.json:
        print_json({"tables": rows, "copied": lines}, args.out)
        return 0
    for line in lines:
        print(line, file=args.out)
    width = max((len(c.table) for c in checks), default=5)
    print(f"{'table':<{width}}  {'rows':>9}  checksum", file=args.out)
    for c in checks:
        print(f"{c.table:<{width}}  {c.target_rows:>9}  {c.target_checksum}  ok", file=args.out)
    return 0


def _to_postgres(args: argparse.Namespace, _db: Database | None) -> int:
    source = Path(args.source)
    if not source.exists():
        raise CaseloadError(f"The database {source.name} was not found.")
    found = keys.find_key(source)
    dsn = _dsn(args.target)
    checks = transfer.to_postgres(source, found.value if found else None, dsn)
    lines = [f"Copied {source.name} into {postgres.describe(dsn)}; every table matches."]
    return _report(args, checks, lines)


def _to_duckdb(args: argparse.Namespace, _db: Database | None) -> int:
    out = Path(args.target)
    if out.exists():
        raise CaseloadError(f"The file {out.name} exists already; nothing was written.")
    dsn = _dsn(args.source)
    found = keys.resolve_key(out)  # a new key file beside it, unless a key is configured
    assert found is not None
    checks = transfer.to_duckdb(dsn, out, found.value)
    digest = backup.write_checksum(out)
    lines = [
        f"Copied {postgres.describe(dsn)} into {out}; every table matches.",
        f"sha256 {digest}  {out.name}",
    ]
    if found.file is not None:
        lines.append(f"Its key is in {found.file}: keep a copy apart from the file.")
    return _report(args, checks, lines)


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the two migration commands."""
    standalone = {"needs_db": False, "instruments": None}
    up = sub.add_parser(
        "migrate-to-postgres",
        parents=[json_flag],
        help="copy a practice file into an empty PostgreSQL database, checked table by table",
    )
    up.add_argument("--from", dest="source", metavar="FILE", required=True, help="practice file")
    up.add_argument(
        "--to",
        dest="target",
        metavar="URL",
        help=f"connection string (default ${postgres.ENV_VAR})",
    )
    up.set_defaults(handler=_to_postgres, **standalone)
    down = sub.add_parser(
        "migrate-to-duckdb",
        parents=[json_flag],
        help="copy a PostgreSQL practice into a new encrypted file (a backup), checked",
    )
    down.add_argument(
        "--from",
        dest="source",
        metavar="URL",
        help=f"connection string (default ${postgres.ENV_VAR})",
    )
    down.add_argument("--to", dest="target", metavar="FILE", required=True, help="new file")
    down.set_defaults(handler=_to_duckdb, **standalone)
