"""Audit commands: `audit verify` recomputes the hash chain of the audit trail."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from analytics.cli.output import print_json
from analytics.practice import audit
from analytics.store.db import Database


def _verify(args: argparse.Namespace, db: Database) -> int:
    check = audit.verify(db)
    if args.json:
        print_json(
            {
                "entries": check.entries,
                "intact": check.intact,
                "broken_entry": check.broken_id,
                "reason": check.reason,
            }
        )
    if check.intact:
        if not args.json:
            print(f"{check.entries} entries, chain intact")
        return 0
    print(
        f"error: the audit chain is broken at entry {check.broken_id}: {check.reason}"
        f" ({check.entries} entries)",
        file=sys.stderr,
    )
    return 1


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the audit subcommands."""
    au = sub.add_parser("audit", help="check the audit trail")
    au_sub = au.add_subparsers(dest="what", required=True, metavar="WHAT")
    ver = au_sub.add_parser(
        "verify",
        parents=[common, json_flag],
        help="recompute the hash chain; exit 1 names the first edited or deleted entry",
    )
    ver.set_defaults(handler=_verify)
