"""Account commands: `accounts create | reset-password | disable | enable | list`.

They act for the practice (whoever holds the database file and its key), not a signed-in
person: that is how the first administrator is made on an empty practice without the web page,
and how a locked-out practice gets back in. Changes are audited with no account as the actor.
A password is never an argument: it is asked twice on the terminal, or read as one line from
standard input with --password-stdin (scripts); it is never echoed, logged or put in a message.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from typing import Any

from analytics.cli.output import print_frame
from analytics.errors import CaseloadError
from analytics.practice import accounts, therapists
from analytics.practice.access import PRACTICE
from analytics.store.db import Database

# `accounts.listing` is for an administrator; the command line runs the practice.
_OPERATOR = dataclasses.replace(PRACTICE, is_admin=True)
_NO_ROLE = "none"


def _new_password(args: argparse.Namespace, username: str) -> str:
    """The new password: one line of standard input, or typed twice on the terminal."""
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise CaseloadError("No password on standard input (one line was expected).")
        return password.removesuffix("\r")
    if not sys.stdin.isatty():
        raise CaseloadError(
            "No terminal to ask for the password on.",
            hint="Pass it as one line on standard input with --password-stdin.",
        )
    first = getpass.getpass(f"New password for {username}: ")
    if getpass.getpass("Type it again: ") != first:
        raise CaseloadError("The two passwords differ; nothing was changed.")
    return first


def _create(args: argparse.Namespace, db: Database) -> int:
    therapist_id = None
    if args.therapist:
        if args.name:
            raise CaseloadError("Give --name for a new therapist or --therapist, not both.")
        if args.role == _NO_ROLE:
            raise CaseloadError("--therapist links a clinical role: leave out --role none.")
        therapist_id = therapists.get_actor(db, args.therapist).id
    role = args.role
    if role is None:  # a new therapist when named; a linked one keeps its role
        role = "therapist" if args.name else None
    password = _new_password(args, args.username)
    account = accounts.create_account(
        db,
        None,
        username=args.username,
        password=password,
        name=args.name,
        clinical_role=None if role == _NO_ROLE else role,
        therapist_id=therapist_id,
        is_admin=args.admin,
    )
    roles = ", ".join(r for r in (account.clinical_role, "administrator" * account.is_admin) if r)
    print(f"Created account {account.username} ({roles}).")
    return 0


def _reset(args: argparse.Namespace, db: Database) -> int:
    account = accounts.find_account(db, args.username)
    accounts.reset_password(db, None, account.id, _new_password(args, account.username))
    print(f"New password set for {account.username}; its sessions have ended.")
    return 0


def _set_disabled(disabled: bool) -> Any:
    def handler(args: argparse.Namespace, db: Database) -> int:
        account = accounts.find_account(db, args.username)
        accounts.set_disabled(db, None, account.id, disabled)
        state = "disabled (its history stays)" if disabled else "enabled"
        print(f"Account {account.username} {state}.")
        return 0

    return handler


def _list(args: argparse.Namespace, db: Database) -> int:
    print_frame(accounts.listing(db, _OPERATOR, now=args.now), args.json)
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the accounts subcommands."""
    stdin_flag = argparse.ArgumentParser(add_help=False)
    stdin_flag.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password as one line from standard input (default: ask twice)",
    )
    ac = sub.add_parser("accounts", help="who may sign in: create, reset, disable, list")
    ac_sub = ac.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = ac_sub.add_parser(
        "create",
        parents=[common, stdin_flag],
        help="create an account (the first administrator of an empty practice too)",
    )
    create.add_argument("username")
    create.add_argument("--name", help="a new therapist's name (for a clinical role)")
    create.add_argument(
        "--role",
        choices=[*accounts.CLINICAL_ROLES, _NO_ROLE],
        help="clinical role (default: therapist with --name, else none)",
    )
    create.add_argument("--admin", action="store_true", help="may manage accounts")
    create.add_argument(
        "--therapist", metavar="NAME", help="link an existing therapist that has no account"
    )
    create.set_defaults(handler=_create)
    reset = ac_sub.add_parser(
        "reset-password", parents=[common, stdin_flag], help="set a new password; lifts a lock"
    )
    reset.add_argument("username")
    reset.set_defaults(handler=_reset)
    for action, disabled, words in (
        ("disable", True, "stop an account signing in (its history stays)"),
        ("enable", False, "let a disabled account sign in again"),
    ):
        one = ac_sub.add_parser(action, parents=[common], help=words)
        one.add_argument("username")
        one.set_defaults(handler=_set_disabled(disabled))
    listing = ac_sub.add_parser(
        "list", parents=[common, json_flag], help="every account, its roles and state"
    )
    listing.set_defaults(handler=_list)
