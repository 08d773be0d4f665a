"""Signing in on the command line: `--user USERNAME` on every command that reads or changes a
couple, so that it shows only what that person may see (issue 11).

The password is never an argument (it would sit in the shell history and the process list): it
comes from $CASELOAD_PASSWORD when set (scripts, tests), else a prompt on the terminal. The
check is `accounts.authenticate`, as on the sign-in page: failures are counted, locked after
five, audited, and refused with the same message whatever went wrong.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from analytics.errors import CaseloadError
from analytics.practice import accounts
from analytics.practice.access import Actor
from analytics.store.db import Database

PASSWORD_ENV = "CASELOAD_PASSWORD"
MAX_USERNAME = 40  # the longest username accounts allow
_NO_USER_HINT = (
    "Sign in with --user USERNAME; the password comes from $CASELOAD_PASSWORD or a prompt."
    " (`python -m analytics accounts create` makes an account.)"
)


def user_flag() -> argparse.ArgumentParser:
    """The parent parser of a command that acts as a signed-in person."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--user",
        metavar="USERNAME",
        help=f"sign in as this account (password from ${PASSWORD_ENV} or a prompt)",
    )
    return parser


def signs_in(args: argparse.Namespace) -> bool:
    """True for a command that acts as a signed-in person (it has the --user option)."""
    return "user" in vars(args)


def read_password(args: argparse.Namespace) -> str:
    """The password of `args.user`: from the environment, else a terminal prompt; refuses when
    there is no username, or no password and no terminal to ask on."""
    if not args.user:
        raise CaseloadError("This command shows couples' data: sign in first.", hint=_NO_USER_HINT)
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise CaseloadError(
            "No password: there is no terminal to ask on.",
            hint=f"Set ${PASSWORD_ENV} for a script, or run the command in a terminal.",
        )
    return getpass.getpass(f"Password for {args.user}: ")


def sign_in(db: Database, args: argparse.Namespace) -> Actor:
    """The identity `args.user` with `args.password` acts as; `CaseloadError` when refused."""
    account = accounts.authenticate(db, str(args.user), str(args.password), now=args.now)
    return account.actor()
