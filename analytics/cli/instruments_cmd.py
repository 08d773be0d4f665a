"""`instruments list|check|template`: what the practice's questionnaires are, and whether an
instrument file is valid before it goes into the instruments folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from analytics.cli.output import print_json
from analytics.instruments import catalog, lookup
from analytics.instruments.model import Instrument
from analytics.store.db import Database


def _item(ins: Instrument, code: str) -> dict[str, Any]:
    item = ins.item(code)
    fmt = item.format
    return {
        "code": item.code,
        "kind": item.kind,
        "label": item.label,
        "wording": item.text,
        "range": None if fmt is None else [fmt.min, fmt.max],
        "labels": None if fmt is None else list(fmt.labels),
        "reverse": item.reverse,
        "threshold": item.threshold,
    }


def _describe(ins: Instrument) -> dict[str, Any]:
    return {
        "code": ins.code,
        "name": ins.name,
        "version": ins.version,
        "headline": ins.headline,
        "source": ins.source,
        "items": [_item(ins, i.code) for i in ins.items],
        "scales": [
            {
                "code": s.code,
                "label": s.label,
                "family": s.family,
                "items": list(s.items),
                "method": s.method,
                "direction": s.direction,
                "min_answered": s.min_answered,
                "prorate": s.prorate,
                "reliability": s.reliability,
                "sd": s.sd,
                "reliability_source": s.reliability_source,
                "reliable_change": s.reliable_change,
                "reliable_change_source": s.reliable_change_source,
                "cutoff": s.cutoff,
                "cutoff_source": s.cutoff_source,
            }
            for s in ins.scales
        ],
    }


def _list(args: argparse.Namespace, db: Database) -> int:
    found = lookup.current(db)
    if args.json:
        print(json.dumps([_describe(i) for i in found]))
        return 0
    for ins in found:
        print(
            f"{ins.code}  {ins.name} v{ins.version}  ({len(ins.items)} items, headline "
            f"{ins.scale(ins.headline).label})"
        )
        for scale in ins.scales:
            print(f"  scale {scale.code:<24} {scale.label} ({', '.join(scale.items)})")
        for item in ins.items:
            extra = " (reverse)" if item.reverse else ""
            if item.kind == "safety":
                extra = f" (safety, positive from {item.threshold:g})"
            elif item.kind == "text":
                extra = " (free text)"
            print(f"  {item.code:<8} {item.name}{extra}")
    return 0


def _check(args: argparse.Namespace, _db: Database | None) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: there is no file at {args.file}.", file=sys.stderr)
        return 1
    entry = catalog.read_file(path)
    if args.json:
        print_json(
            {
                "file": entry.file_name,
                "valid": entry.ok,
                "problems": list(entry.problems),
                "instrument": None if entry.instrument is None else _describe(entry.instrument),
            }
        )
    elif entry.instrument is not None:
        ins = entry.instrument
        print(
            f"{entry.file_name} is valid: {ins.name} v{ins.version}, {len(ins.items)} items, "
            f"{len(ins.scales)} scales."
        )
    else:
        n = len(entry.problems)
        print(f"{entry.file_name} is invalid ({n} problem{'s' if n != 1 else ''}):")
        for problem in entry.problems:
            print(f"  - {problem}")
    return 0 if entry.ok else 1


def _template(_args: argparse.Namespace, _db: Database | None) -> int:
    print(catalog.template_text(), end="")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the `instruments` subcommands."""
    ins = sub.add_parser("instruments", help="list instruments, check or start an instrument file")
    ins_sub = ins.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = ins_sub.add_parser(
        "list", parents=[common, json_flag], help="current instruments with scales and items"
    )
    listing.set_defaults(handler=_list)
    check = ins_sub.add_parser(
        "check", parents=[json_flag], help="validate an instrument file (exit 1 when invalid)"
    )
    check.add_argument("file", metavar="FILE")
    check.set_defaults(handler=_check, needs_db=False, db=None, instruments=None)
    template = ins_sub.add_parser("template", help="print a commented template file")
    template.set_defaults(handler=_template, needs_db=False, db=None, instruments=None)
