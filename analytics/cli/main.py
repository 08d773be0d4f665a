"""Command-line interface: `python -m analytics --help`.

Exit codes:
  0  success;
  1  refused input: the reason is printed on standard error and, with --json, as a JSON object
     {"error": ..., "hint": ...} on standard output;
  2  usage error (argparse);
  3  the database file is held by another program (DuckDB lets one process open it for
     writing; while the dashboard runs, `info` and `couples list` are answered by the dashboard
     itself, see server_link): the same message and JSON as exit 1.
Who a command acts as: every command that reads or changes a couple (`couples ...`, `caseload`,
`agenda`, `report`, `export`, `import`, `settings set`) acts as the person signed in with
`--user USERNAME` (password from $CASELOAD_PASSWORD or a prompt; analytics/cli/signing.py) and
shows only what that role may see, as the web app does. The rest hold no couple's data and act
for the practice, i.e. whoever holds the database file: `demo`, `info`, `therapists`,
`settings list`, `instruments`, `audit verify` and `accounts` (which is how the first
administrator is made without the web page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import Any

from analytics.cli import (
    accounts_cmd,
    agenda_cmd,
    audit_cmd,
    export_cmd,
    import_cmd,
    instruments_cmd,
    postgres_cmd,
    practice_cmd,
    report_cmd,
    server_link,
    signing,
    storage_cmd,
)
from analytics.cli.output import print_json
from analytics.errors import CaseloadError, DatabaseBusy
from analytics.practice.opening import open_practice
from analytics.store.db import Database
from analytics.store.paths import resolve_path

REFUSED, BUSY = 1, server_link.BUSY
EXIT_CODES = (
    "exit codes: 0 done; 1 refused (the reason on stderr, and with --json an object"
    ' {"error": ..., "hint": ...} on stdout); 2 usage error; 3 the database file is held by'
    " another program (same message and JSON). While the dashboard runs, `info`,"
    " `couples list` and `backup` are done by the dashboard itself."
)
_BUSY_HINT = (
    "Stop the dashboard or the other command and try again (`info`, `couples list` and"
    " `backup` work while the dashboard runs)."
)
_NO_LINK_HINT = (
    "The program holding it did not answer read-only commands (a running dashboard does, on"
    " Linux); stop it and try again."
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; each subcommand sets `handler` (and may skip the database)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", metavar="PATH", help="database file (default: $CASELOAD_DB or data/caseload.duckdb)"
    )
    common.add_argument(
        "--instruments",
        metavar="FOLDER",
        help="your instrument files (default: $CASELOAD_INSTRUMENTS or data/instruments/)",
    )
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON")

    parser = argparse.ArgumentParser(
        prog="python -m analytics",
        description="Caseload dashboard: data and admin commands.",
        epilog=EXIT_CODES,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = (
        practice_cmd,
        instruments_cmd,
        import_cmd,
        agenda_cmd,
        export_cmd,
        report_cmd,
        audit_cmd,
        accounts_cmd,
        storage_cmd,
        postgres_cmd,
    )
    for module in modules:
        module.register(sub, common, json_flag)
    return parser


def _refuse(code: int, message: str, hint: str | None, as_json: bool) -> int:
    """Print a refusal (stderr; with --json also a JSON object on stdout) and return `code`."""
    print(f"error: {message} {hint}" if hint else f"error: {message}", file=sys.stderr)
    if as_json:
        print_json({"error": message, "hint": hint})
    return code


def _ask_dashboard(args: argparse.Namespace, as_json: bool) -> int | None:
    """For a command the dashboard runs (read-only ones, `backup`), its answer (printed) and
    exit code; None when the command is not one it answers or no dashboard answered."""
    names = {handler: name for name, handler in server_link.commands().items()}
    command = names.get(args.handler)
    if command is None:
        return None
    options: dict[str, Any] = {"json": as_json}
    if command in practice_cmd.SIGNED_IN:
        # The dashboard signs the person in itself (the socket is the same user's only).
        options |= {"user": args.user, "password": args.password}
    if command == "backup":
        # The dashboard runs elsewhere: it gets the file as an absolute path.
        options["backup_out"] = os.path.abspath(args.backup_out)
    answer = server_link.ask(
        resolve_path(args.db), command, options, today=args.today, now=args.now
    )
    if answer is None:
        return None
    sys.stdout.write(answer.stdout)
    if answer.error is not None:
        return _refuse(answer.code, answer.error, answer.hint, as_json)
    return answer.code


def main(argv: Sequence[str] | None = None, *, today: dt.date, now: dt.datetime) -> int:
    """Run one command; returns the exit code. `today` (local date) and `now` (naive UTC) come
    from the caller: the process entry point reads the clock, tests fix it."""
    args = build_parser().parse_args(argv)
    args.today, args.now, args.out = today, now, sys.stdout
    as_json = bool(getattr(args, "json", False))
    db: Database | None = None
    try:
        if signing.signs_in(args):
            args.password = signing.read_password(args)  # before the file: asked once
        if getattr(args, "needs_db", True):
            try:
                db = open_practice(args.db, instruments_folder=args.instruments)
            except DatabaseBusy as busy:
                answered = _ask_dashboard(args, as_json)
                if answered is not None:
                    return answered
                hint = _NO_LINK_HINT if args.handler in server_link.commands().values() else None
                return _refuse(BUSY, busy.message, hint or _BUSY_HINT, as_json)
        if db is not None and signing.signs_in(args):
            args.actor = signing.sign_in(db, args)
        return int(args.handler(args, db))
    except CaseloadError as exc:
        code = BUSY if isinstance(exc, DatabaseBusy) else REFUSED
        return _refuse(code, exc.message, exc.hint, as_json)
    finally:
        if db is not None:
            db.close()
