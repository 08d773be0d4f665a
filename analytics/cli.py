"""Command-line interface: `python -m analytics --help`.

Exit codes: 0 success, 1 refused input (the reason is printed), 2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd

from analytics import couples, instruments, migrate, therapists
from analytics.db import Database
from analytics.errors import CaseloadError
from analytics.storage import open_database, resolve_path

Handler = Callable[[argparse.Namespace, Database], int]

TABLES = (
    "therapists",
    "couples",
    "partners",
    "sessions",
    "instruments",
    "items",
    "import_batches",
    "responses",
    "answers",
    "unmatched_responses",
    "repair_milestones",
    "agenda_items",
    "audit_log",
)


def _print_frame(frame: pd.DataFrame, as_json: bool) -> None:
    if as_json:
        print(frame.to_json(orient="records", date_format="iso"))
    elif frame.empty:
        print("(none)")
    else:
        print(frame.to_string(index=False))


def _cmd_demo(args: argparse.Namespace, db: Database) -> int:
    from analytics.demo import build_demo  # heavy (numpy work); only for this command

    summary = build_demo(
        db,
        couples=args.couples,
        weeks=args.weeks,
        seed=args.seed,
        as_of=args.as_of,
        force=args.force,
    )
    print(summary)
    return 0


def _cmd_info(args: argparse.Namespace, db: Database) -> int:
    counts = {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608 (fixed names)
    info: dict[str, Any] = {
        "database": str(db.path.resolve()),
        "schema_version": migrate.schema_version(db),
        "rows": counts,
    }
    if args.json:
        print(json.dumps(info))
    else:
        print(f"database:       {info['database']}")
        print(f"schema version: {info['schema_version']}")
        for table, n in counts.items():
            print(f"  {table:<20} {n:>10,}")
    return 0


def _cmd_therapists_add(args: argparse.Namespace, db: Database) -> int:
    actor = therapists.add_therapist(
        db, args.name, role="supervisor" if args.supervisor else "therapist"
    )
    print(f"Added {actor.role} {actor.name} (id {actor.id}).")
    return 0


def _cmd_therapists_list(args: argparse.Namespace, db: Database) -> int:
    _print_frame(therapists.list_therapists(db), args.json)
    return 0


def _cmd_couples_add(args: argparse.Namespace, db: Database) -> int:
    assignee = therapists.get_actor(db, args.therapist)
    couple_id = couples.add_couple(
        db,
        assignee,
        args.code,
        couples.parse_person(args.a),
        couples.parse_person(args.b),
        start_date=args.start,
    )
    print(f"Added couple {args.code.strip().upper()} (id {couple_id}) for {assignee.name}.")
    return 0


def _cmd_couples_list(args: argparse.Namespace, db: Database) -> int:
    # The CLI is run by whoever holds the database file: it sees the whole practice.
    everyone = therapists.Actor(id=-1, name="cli", role="supervisor")
    frame = couples.list_couples(db, everyone, include_closed=True)
    _print_frame(frame, args.json)
    return 0


def _cmd_instruments_list(args: argparse.Namespace, db: Database) -> int:
    found = instruments.builtin()
    if args.json:
        print(json.dumps([_instrument_dict(i) for i in found]))
        return 0
    for ins in found:
        print(
            f"{ins.code}  {ins.name} v{ins.version}  ({len(ins.items)} items, "
            f"scale {ins.scale_min:g}-{ins.scale_max:g})"
        )
        for item in ins.items:
            flag = " (reverse)" if item.reverse else ""
            print(f"  {item.code:<6} {item.construct:<22} {item.text}{flag}")
    return 0


def _instrument_dict(ins: instruments.Instrument) -> dict[str, Any]:
    return {
        "code": ins.code,
        "name": ins.name,
        "version": ins.version,
        "constructs": [asdict(c) for c in ins.constructs],
        "items": [
            {
                "code": item.code,
                "wording": item.text,
                "construct": item.construct,
                "range": [item.min_value, item.max_value],
                "labels": list(ins.labels),
                "reverse": item.reverse,
                "safety": item.is_safety,
            }
            for item in ins.items
        ],
    }


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a date like 2026-01-31") from exc


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("use a number of 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; each subcommand sets `handler`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", metavar="PATH", help="database file (default: $CASELOAD_DB or data/caseload.duckdb)"
    )
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON")

    parser = argparse.ArgumentParser(
        prog="python -m analytics", description="Caseload dashboard: data and admin commands."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common], help="build the synthetic demo practice")
    demo.add_argument(
        "--couples",
        type=_positive,
        default=12,
        help="number of couples (>= 12 gives every trajectory)",
    )
    demo.add_argument("--weeks", type=_positive, default=30, help="longest course in weeks")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument("--as-of", type=_date, default=None, help="the demo's 'today' (YYYY-MM-DD)")
    demo.add_argument("--force", action="store_true", help="replace an existing practice")
    demo.set_defaults(handler=_cmd_demo)

    info = sub.add_parser(
        "info", parents=[common, json_flag], help="database path, schema version, row counts"
    )
    info.set_defaults(handler=_cmd_info)

    th = sub.add_parser("therapists", help="add or list therapists")
    th_sub = th.add_subparsers(dest="action", required=True, metavar="ACTION")
    th_add = th_sub.add_parser("add", parents=[common], help="add a therapist")
    th_add.add_argument("name")
    th_add.add_argument("--supervisor", action="store_true", help="sees every couple")
    th_add.set_defaults(handler=_cmd_therapists_add)
    th_list = th_sub.add_parser("list", parents=[common, json_flag], help="list therapists")
    th_list.set_defaults(handler=_cmd_therapists_list)

    cp = sub.add_parser("couples", help="add or list couples")
    cp_sub = cp.add_subparsers(dest="action", required=True, metavar="ACTION")
    cp_add = cp_sub.add_parser("add", parents=[common], help="add a couple")
    cp_add.add_argument("code", help="case code, e.g. C-2026-014")
    cp_add.add_argument("--therapist", required=True, help="assigned therapist's name")
    cp_add.add_argument("--a", required=True, metavar='"NAME <EMAIL>"', help="partner A")
    cp_add.add_argument("--b", required=True, metavar='"NAME <EMAIL>"', help="partner B")
    cp_add.add_argument("--start", type=_date, default=None, help="start date (default today)")
    cp_add.set_defaults(handler=_cmd_couples_add)
    cp_list = cp_sub.add_parser("list", parents=[common, json_flag], help="list couples")
    cp_list.set_defaults(handler=_cmd_couples_list)

    ins = sub.add_parser("instruments", help="list instruments")
    ins_sub = ins.add_subparsers(dest="action", required=True, metavar="ACTION")
    ins_list = ins_sub.add_parser(
        "list", parents=[common, json_flag], help="instruments with their items"
    )
    ins_list.set_defaults(handler=_cmd_instruments_list)

    for register in _EXTENSIONS:
        register(sub, common, json_flag)
    return parser


# Subcommands living next to the code they drive register themselves here (see importing/cli.py).
_EXTENSIONS: list[Callable[[Any, argparse.ArgumentParser, argparse.ArgumentParser], None]] = []

from analytics.importing import cli as _import_cli  # noqa: E402 (registers after the hook exists)

_EXTENSIONS.append(_import_cli.register)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    db: Database | None = None
    try:
        db = open_database(resolve_path(args.db))
        return int(args.handler(args, db))
    except CaseloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if db is not None:
            db.close()
