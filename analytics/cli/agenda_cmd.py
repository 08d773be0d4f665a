"""`python -m analytics agenda CODE [--json]`: a couple's agenda for a session (today's unless
--session says otherwise): the saved one for that date when there is one, else the draft. It acts
as the person signed in with --user (analytics/cli/signing.py)."""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli import signing
from analytics.cli.output import date_arg, print_json
from analytics.practice.couples import find_couple_id
from analytics.store.db import Database
from analytics.store.paths import resolve_instruments_folder
from analytics.views.agenda import KIND_WORDS, agenda_view


def _agenda(args: argparse.Namespace, db: Database) -> int:
    couple_id = find_couple_id(db, args.actor, args.code)
    today = args.as_of or args.today
    view = agenda_view(
        db,
        args.actor,
        couple_id,
        as_of=today,
        session_date=args.session or today,
        library_folder=resolve_instruments_folder(args.instruments),
    )
    if args.json:
        items: list[dict[str, Any]] = [
            {
                "position": n,
                "kind": i.kind,
                "text": i.text,
                "why": i.why,
                "numbers": i.numbers,
                "suggestion": i.suggestion,
                "status": i.status,
                "source": i.source,
                "carried_from": i.carried_from,
            }
            for n, i in enumerate(view.items, start=1)
        ]
        print_json(
            {
                "case_code": view.case_code,
                "session_date": view.session_date,
                "saved": view.saved is not None,
                "version": None if view.saved is None else view.saved.version,
                "last_session": view.since,
                "safety_waiting": view.safety_waiting,
                "items": items,
            }
        )
        return 0
    state = f"saved, version {view.saved.version}" if view.saved else "draft"
    print(f"Agenda for {view.case_code}, session of {view.session_date:%d %b %Y} ({state})")
    if view.safety_waiting:
        print("  ! Safety answers not assessed yet: assess safety first.")
    if not view.items:
        print("  (no items)")
    for n, i in enumerate(view.items, start=1):
        mark = {"done": "x", "dropped": "-"}.get(i.status, " ")
        print(f"{n:>3}. [{mark}] {KIND_WORDS.get(i.kind, i.kind)}: {i.text}")
        if i.why:
            print(f"       why: {i.why}")
        if i.suggestion:
            print(f"       try: {i.suggestion}")
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the agenda subcommand."""
    ag = sub.add_parser(
        "agenda",
        parents=[common, json_flag, signing.user_flag()],
        help="a couple's session agenda: the saved one, else a draft from the data",
    )
    ag.add_argument("code", help="case code")
    ag.add_argument("--session", type=date_arg, default=None, help="session date (default today)")
    ag.add_argument("--as-of", type=date_arg, default=None, help="the date to judge the data on")
    ag.set_defaults(handler=_agenda)
