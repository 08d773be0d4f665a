"""Command-line interface: `python -m analytics --help`.

Exit codes: 0 success, 1 refused input (the reason is printed), 2 usage error (argparse).
The command line acts for the whole practice: whoever holds the database file sees all of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from analytics.cli import import_cmd, instruments_cmd, practice_cmd
from analytics.errors import CaseloadError
from analytics.practice.opening import open_practice
from analytics.store.db import Database


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
        prog="python -m analytics", description="Caseload dashboard: data and admin commands."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (practice_cmd, instruments_cmd, import_cmd):
        module.register(sub, common, json_flag)
    return parser


def main(argv: Sequence[str] | None = None, *, today: dt.date, now: dt.datetime) -> int:
    """Run one command; returns the exit code. `today` (local date) and `now` (naive UTC) come
    from the caller: the process entry point reads the clock, tests fix it."""
    args = build_parser().parse_args(argv)
    args.today, args.now = today, now
    db: Database | None = None
    try:
        if getattr(args, "needs_db", True):
            db = open_practice(args.db, instruments_folder=args.instruments)
        return int(args.handler(args, db))
    except CaseloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if db is not None:
            db.close()
