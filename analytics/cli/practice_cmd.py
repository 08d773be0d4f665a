"""Practice commands: demo, info, therapists, couples (add, list, show), caseload, settings.

`couples ...`, `caseload` and `settings set` act as the person signed in with --user (see
analytics/cli/signing.py); `demo`, `info` (row counts only), `therapists` and `settings list`
hold no couple's data and act for the practice."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from analytics.cli import signing
from analytics.cli.output import (
    date_arg,
    moment,
    number,
    numbers,
    positive,
    print_frame,
    print_json,
    text,
)
from analytics.clinical import change, flags
from analytics.clinical.change import CATEGORIES
from analytics.practice import audit, couples, settings, therapists
from analytics.practice.opening import open_practice
from analytics.store import migrate
from analytics.store.db import Database
from analytics.store.paths import DEMO_PATH, serve_path
from analytics.views import caseload

# A result row as pandas hands it over (`DataFrame.to_dict("records")`).
Row = Mapping[Hashable, Any]

TABLES = (
    "therapists",
    "couples",
    "partners",
    "sessions",
    "instruments",
    "items",
    "scales",
    "import_batches",
    "responses",
    "answers",
    "text_answers",
    "response_scores",
    "response_safety",
    "unmatched_responses",
    "safety_reviews",
    "repair_cases",
    "repair_events",
    "agenda_items",
    "audit_log",
)


def _demo(args: argparse.Namespace, _db: Database | None) -> int:
    # The demo has its own file (data/demo.duckdb unless --db); $CASELOAD_DB names the
    # practice's and is not read here. Opened here, not by main(): a demo file is deleted first.
    path = Path(args.db) if args.db else DEMO_PATH
    lines = _build_demo_file(
        path,
        args.instruments,
        couples=args.couples,
        weeks=args.weeks,
        seed=args.seed,
        as_of=args.as_of or args.today,
        force=args.force,
    )
    print("\n".join(lines))
    return 0


def _build_demo_file(
    path: Path,
    instruments: str | None,
    *,
    couples: int = 12,
    weeks: int = 30,
    seed: int = 7,
    as_of: dt.date,
    force: bool = False,
) -> list[str]:
    """Build the demo in the file at `path` (with `force`, in place of an earlier demo); returns
    what to tell the person."""
    from analytics.demo.build import build_demo, discard_demo_file  # heavy (numpy work)

    replaced = force and discard_demo_file(path, instruments_folder=instruments)
    db = open_practice(path, instruments_folder=instruments)
    try:
        summary = build_demo(db, couples=couples, weeks=weeks, seed=seed, as_of=as_of, force=force)
    finally:
        db.close()
    return [
        *([f"Replaced the earlier demo practice in {path}."] if replaced else []),
        summary,
        f"Database: {path}. Demo accounts and their passwords: see README.md (demo only).",
    ]


def _serve_path(args: argparse.Namespace, _db: Database | None) -> int:
    path = serve_path(args.db)
    if args.build_demo and path == DEMO_PATH and not path.exists():
        # On standard error: standard output is only the path, for the Makefile.
        lines = _build_demo_file(path, args.instruments, as_of=args.today)
        print("\n".join(lines), file=sys.stderr)
    print(path)
    return 0


def _info(args: argparse.Namespace, db: Database) -> int:
    # Writes to `args.out`: the dashboard's link runs this handler too (see server_link).
    counts = {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608 (fixed names)
    info: dict[str, Any] = {
        "database": str(db.path.resolve()),
        "schema_version": migrate.schema_version(db),
        "rows": counts,
    }
    out = args.out
    if args.json:
        print(json.dumps(info), file=out)
    else:
        print(f"database:       {info['database']}", file=out)
        print(f"schema version: {info['schema_version']}", file=out)
        for table, n in counts.items():
            print(f"  {table:<20} {n:>10,}", file=out)
    return 0


def _therapists_add(args: argparse.Namespace, db: Database) -> int:
    actor = therapists.add_therapist(
        db, args.name, role="supervisor" if args.supervisor else "therapist"
    )
    print(f"Added {actor.role} {actor.name} (id {actor.id}).")
    return 0


def _therapists_list(args: argparse.Namespace, db: Database) -> int:
    print_frame(therapists.list_therapists(db), args.json)
    return 0


def _couples_add(args: argparse.Namespace, db: Database) -> int:
    # A therapist adds to their own caseload; a supervisor may name any therapist.
    assignee = therapists.get_actor(db, args.therapist) if args.therapist else args.actor
    couple_id = couples.add_couple(
        db,
        args.actor,
        args.code,
        couples.parse_person(args.a),
        couples.parse_person(args.b),
        start_date=args.start or args.today,
        therapist_id=assignee.id,
    )
    print(f"Added couple {args.code.strip().upper()} (id {couple_id}) for {assignee.name}.")
    return 0


def _couples_list(args: argparse.Namespace, db: Database) -> int:
    # Writes to `args.out`: the dashboard's link runs this handler too (see server_link).
    frame = couples.list_couples(db, args.actor, include_closed=True)
    print_frame(frame, args.json, args.out)
    return 0


# Commands that only read and take no option but --json: the dashboard's link answers them
# while it holds the database file (analytics/cli/server_link.py).
READ_ONLY = {"info": _info, "couples list": _couples_list}
# Of those, the ones that answer as a signed-in person (the link is sent --user and password).
SIGNED_IN = frozenset({"couples list"})


def _partner(row: Row, label: str) -> dict[str, Any]:
    x = label.lower()
    checkins = int(number(row[f"{x}_checkins"]) or 0)
    return {
        "name": str(row[f"partner_{x}"]),
        "latest": number(row[f"{x}_latest"]),
        # Change needs a baseline and a later score.
        "change": number(row[f"{x}_change"]) if checkins >= 2 else None,
        "category": text(row[f"{x}_category"]),
        "checkins": checkins,
        "trend": numbers(row[f"{x}_trend"]),
    }


def _flag(raw: Row) -> dict[str, str]:
    return {
        "kind": str(raw["kind"]),
        "severity": str(raw["severity"]),
        "reason": str(raw["reason"]),
    }


def _caseload(args: argparse.Namespace, db: Database) -> int:
    assigned = None if not args.therapist else therapists.get_actor(db, args.therapist).id
    rows = caseload.caseload_rows(
        db,
        args.actor,
        as_of=args.as_of or args.today,
        statuses=tuple(args.status or ("active", "paused")),
        search=args.search or "",
        therapist_id=assigned,
    )
    records: list[dict[str, Any]] = [
        {
            "case_code": str(r["case_code"]),
            "therapist": str(r["therapist"]),
            "status": str(r["status"]),
            "headline": text(r["headline"]),
            "partner_a": _partner(r, "A"),
            "partner_b": _partner(r, "B"),
            "last_checkin": moment(r["last_checkin"]),
            "flags": [_flag(f) for f in r["flags"]],
        }
        for r in rows.to_dict("records")
    ]
    if args.json:
        print_json(records)
        return 0
    if not records:
        print("(no couples)")
    for rec in records:
        marks = ", ".join(f["kind"] for f in rec["flags"]) or "no flags"
        print(f"{rec['case_code']}  {rec['status']}  {rec['therapist']}  [{marks}]")
        for label in ("a", "b"):
            p = rec[f"partner_{label}"]
            if p["latest"] is None:
                print(f"  {label.upper()} {p['name']}: no check-ins")
                continue
            words = CATEGORIES[p["category"]][0]
            shift = "" if p["change"] is None else f" ({p['change']:+.1f})"
            print(
                f"  {label.upper()} {p['name']}: {rec['headline']} {p['latest']:.1f}{shift},"
                f" {words}"
            )
        for f in rec["flags"]:
            print(f"  ! {f['reason']}")
    return 0


def _scale(r: Row) -> dict[str, Any]:
    """One partner's scores and change on one scale, for `couples show --json`."""
    known = int(r["n_scores"]) >= 2 and r["category"] != "no_reliable_change_figure"
    return {
        "instrument": r["instrument_code"],
        "scale": r["scale_code"],
        "label": r["scale_label"],
        "partner": r["partner"],
        "direction": r["direction"],
        "scores": int(r["n_scores"]),
        "baseline": number(r["baseline"]),
        "baseline_at": moment(r["baseline_at"]),
        "latest": number(r["latest"]),
        "latest_at": moment(r["latest_at"]),
        "change": number(r["change"]) if int(r["n_scores"]) >= 2 else None,
        "reliable_change_index": number(r["rci"]) if known else None,
        # None: cannot tell (fewer than two scores, or no reliable-change figure).
        "beyond_noise": bool(r["reliable"]) if known else None,
        "category": r["category"],
        "smallest_reliable_change": number(r["rc_points"]),
        "reliable_change_from": text(r["rc_method"]),
        "reliable_change_source": text(r["rc_source"]),
        "cutoff": number(r["cutoff_used"]),
        "cutoff_from": text(r["cutoff_method"]),
        "cutoff_source": text(r["cutoff_from"]),
        "band": text(r["latest_band"]),
    }


def _couples_show(args: argparse.Namespace, db: Database) -> int:
    actor = args.actor
    couple_id = couples.find_couple_id(db, actor, args.code)
    couple = couples.get_couple(db, actor, couple_id)
    # A read of a couple's data is audited before anything of it is printed.
    audit.record_view(db, actor, couple_id, "cli")
    scales = [_scale(r) for r in change.partner_change(db, actor, [couple_id]).to_dict("records")]
    raised = flags.couple_flags(
        db, actor, as_of=args.as_of or args.today, couple_ids=[couple_id]
    ).to_dict("records")
    if args.json:
        print_json(
            {
                "case_code": couple.case_code,
                "status": couple.status,
                "therapist": couple.therapist,
                "partners": [{"label": p.label, "name": p.name} for p in couple.partners],
                "flags": [{**_flag(f), "details": json.loads(f["details"])} for f in raised],
                "scales": scales,
            }
        )
        return 0
    print(f"{couple.case_code}  {couple.status}  therapist {couple.therapist}")
    for p in couple.partners:
        print(f"  Partner {p.label}: {p.name}")
    for f in raised:
        print(f"  ! {f['reason']}")
    if not scales:
        print("  (no scored check-ins)")
        return 0
    print(f"  {'':1} {'Scale':<34} {'Start':>5}    {'Now':>5}  {'Change':>6}  {'Noise':>5}  Result")
    for s in scales:
        noise = (
            "" if s["smallest_reliable_change"] is None else f"{s['smallest_reliable_change']:.2f}"
        )
        if s["change"] is None:
            print(
                f"  {s['partner']} {s['label']:<34} {'':>5}    {s['latest']:>5.1f}  {'':>6}"
                f"  {noise:>5}  {CATEGORIES[s['category']][0]}"
            )
            continue
        print(
            f"  {s['partner']} {s['label']:<34} {s['baseline']:>5.1f} -> {s['latest']:>5.1f}"
            f"  {s['change']:>+6.1f}  {noise:>5}  {CATEGORIES[s['category']][0]}"
        )
    print(
        "  Noise: the smallest change larger than measurement noise on that scale; a change"
        " within it is 'No reliable change'."
    )
    return 0


def _settings_list(args: argparse.Namespace, db: Database) -> int:
    print_frame(settings.listing(db)[["key", "setting", "value", "unit", "low", "high"]], args.json)
    return 0


def _settings_set(args: argparse.Namespace, db: Database) -> int:
    settings.update(db, args.actor, args.key, args.value)
    print(f"Set {args.key} to {args.value}.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the practice subcommands."""
    user = signing.user_flag()
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="build the synthetic demo practice (in data/demo.duckdb unless --db)",
        description="Build the synthetic demo practice in its own file, data/demo.duckdb unless"
        " --db. It never replaces a practice's records.",
    )
    demo.add_argument(
        "--couples", type=positive, default=12, help="number of couples (>= 12 gives every story)"
    )
    demo.add_argument("--weeks", type=positive, default=30, help="longest course in weeks")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument("--as-of", type=date_arg, default=None, help="the demo's 'today'")
    demo.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier demo (a database holding anything else is refused)",
    )
    demo.set_defaults(handler=_demo, needs_db=False)

    serve = sub.add_parser(
        "serve-path",
        parents=[common],
        help="print the database the dashboard serves: the practice's, else the demo",
    )
    serve.add_argument(
        "--build-demo",
        action="store_true",
        help="build the demo first when it is served and missing",
    )
    serve.set_defaults(handler=_serve_path, needs_db=False)

    info = sub.add_parser(
        "info", parents=[common, json_flag], help="database path, schema version, row counts"
    )
    info.set_defaults(handler=_info)

    th = sub.add_parser("therapists", help="add or list therapists")
    th_sub = th.add_subparsers(dest="action", required=True, metavar="ACTION")
    th_add = th_sub.add_parser("add", parents=[common], help="add a therapist")
    th_add.add_argument("name")
    th_add.add_argument("--supervisor", action="store_true", help="sees every couple")
    th_add.set_defaults(handler=_therapists_add)
    th_list = th_sub.add_parser("list", parents=[common, json_flag], help="list therapists")
    th_list.set_defaults(handler=_therapists_list)

    cp = sub.add_parser("couples", help="add, list or show couples")
    cp_sub = cp.add_subparsers(dest="action", required=True, metavar="ACTION")
    cp_add = cp_sub.add_parser("add", parents=[common, user], help="add a couple")
    cp_add.add_argument("code", help="case code, e.g. C-2026-014")
    cp_add.add_argument(
        "--therapist", help="assigned therapist's name (default: you; others: supervisors only)"
    )
    cp_add.add_argument("--a", required=True, metavar='"NAME <EMAIL>"', help="partner A")
    cp_add.add_argument("--b", required=True, metavar='"NAME <EMAIL>"', help="partner B")
    cp_add.add_argument("--start", type=date_arg, default=None, help="start date (default today)")
    cp_add.set_defaults(handler=_couples_add)
    cp_list = cp_sub.add_parser("list", parents=[common, json_flag, user], help="list couples")
    cp_list.set_defaults(handler=_couples_list)
    cp_show = cp_sub.add_parser(
        "show", parents=[common, json_flag, user], help="each partner's scores and change per scale"
    )
    cp_show.add_argument("code", help="case code")
    cp_show.add_argument("--as-of", type=date_arg, default=None, help="date for the flags")
    cp_show.set_defaults(handler=_couples_show)

    cl = sub.add_parser(
        "caseload", parents=[common, json_flag, user], help="the caseload with each couple's flags"
    )
    cl.add_argument("--therapist", metavar="NAME", help="only this therapist's couples")
    cl.add_argument(
        "--status",
        action="append",
        choices=list(caseload.STATUSES),
        help="status to include (repeatable; default active and paused)",
    )
    cl.add_argument("--search", metavar="TEXT", help="case code or name contains this")
    cl.add_argument("--as-of", type=date_arg, default=None, help="the date to judge flags on")
    cl.set_defaults(handler=_caseload)

    st = sub.add_parser("settings", help="practice thresholds behind the flags")
    st_sub = st.add_subparsers(dest="action", required=True, metavar="ACTION")
    st_list = st_sub.add_parser("list", parents=[common, json_flag], help="show the settings")
    st_list.set_defaults(handler=_settings_list)
    st_set = st_sub.add_parser("set", parents=[common, user], help="change one setting")
    st_set.add_argument("key", choices=[s.key for s in settings.SETTINGS])
    st_set.add_argument("value", type=int)
    st_set.set_defaults(handler=_settings_set)
