"""`python -m analytics report CODE --out FILE.pdf [--deidentify] [--partner A|B] [--scale CODE
...]`: a couple's client report as a PDF (joint unless --partner), charts drawn through the chart
export module. It acts as the person signed in with --user (analytics/cli/signing.py); the
report is audited."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from analytics.charts.images import chart_png
from analytics.cli import signing
from analytics.cli.output import date_arg
from analytics.errors import CaseloadError
from analytics.practice.couples import find_couple_id
from analytics.store.db import Database
from analytics.views.report import render_report


def _report(args: argparse.Namespace, db: Database) -> int:
    couple_id = find_couple_id(db, args.actor, args.code)
    out = Path(args.out_file)
    if not out.parent.is_dir():
        raise CaseloadError("The folder for --out does not exist.")
    data = render_report(
        db,
        args.actor,
        couple_id,
        as_of=args.as_of or args.today,
        to_png=args.to_png,
        scales=args.scale or None,
        partner=args.partner,
        deidentify=args.deidentify,
    )
    out.write_bytes(data)
    print(f"Wrote the report for {args.code} to {out} ({len(data) // 1024 + 1} KB).")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the report subcommand."""
    rp = sub.add_parser(
        "report",
        parents=[common, signing.user_flag()],
        help="a couple's client report (PDF), joint or per partner",
    )
    rp.add_argument("code", help="case code")
    rp.add_argument(
        "--out", dest="out_file", required=True, metavar="FILE.pdf", help="where to write the PDF"
    )
    rp.add_argument(
        "--deidentify",
        action="store_true",
        help="case code instead of names, weeks since the start instead of dates",
    )
    rp.add_argument("--partner", choices=("A", "B"), help="one partner's own report")
    rp.add_argument(
        "--scale",
        action="append",
        metavar="CODE",
        help="a scale to show (repeatable; CODE or instrument:CODE; default the headline)",
    )
    rp.add_argument("--as-of", type=date_arg, default=None, help="the date the report is written")
    # Tests swap in a PNG maker that needs no browser.
    rp.set_defaults(handler=_report, to_png=chart_png)
