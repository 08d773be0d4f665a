"""Export commands: `export caseload --out FILE.csv|FILE.xlsx` (the format from the suffix), of
the couples the person signed in with --user may see (analytics/cli/signing.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from analytics.cli import signing
from analytics.practice import exports as export_audit
from analytics.store.db import Database
from analytics.views import caseload, exports


def _export_caseload(args: argparse.Namespace, db: Database) -> int:
    out = Path(args.out_file)
    fmt = exports.table_format(out)
    rows = exports.caseload_export(
        db, args.actor, as_of=args.today, statuses=tuple(args.status or ("active", "paused"))
    )
    data = exports.table_bytes(rows, fmt)
    # The audit entry lands before the file: a file that exists was always audited.
    export_audit.record_export(
        db, args.actor, kind="caseload", fmt=fmt, couple_ids=rows.attrs["couple_ids"]
    )
    out.write_bytes(data)
    print(f"Wrote {len(rows)} couple(s) to {out} ({fmt.upper()}).")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the export subcommands."""
    ex = sub.add_parser("export", help="export practice data for supervision")
    ex_sub = ex.add_subparsers(dest="what", required=True, metavar="WHAT")
    cl = ex_sub.add_parser(
        "caseload",
        parents=[common, signing.user_flag()],
        help="the caseload with flags and change categories as CSV or XLSX (no partner names)",
    )
    # `args.out` is the command's output stream (see main): the file goes under its own name.
    cl.add_argument(
        "--out", dest="out_file", required=True, metavar="FILE", help="FILE.csv or FILE.xlsx"
    )
    cl.add_argument(
        "--status",
        action="append",
        choices=list(caseload.STATUSES),
        help="status to include (repeatable; default active and paused)",
    )
    cl.set_defaults(handler=_export_caseload)
