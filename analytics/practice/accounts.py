"""Accounts: who may sign in, with which roles, and the rules of signing in.

An account has a username and an argon2id password hash (analytics/practice/passwords.py). Its
roles: a clinical identity (a linked therapist row, as therapist or supervisor) and/or
administration (manages accounts; through that role alone it sees no couple). Five failed
attempts in a row lock an account for 15 minutes; every failure gives the same message, so a
sign-in page never tells whether a username exists. Every change is audited (ids only).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import audit, passwords
from analytics.practice.access import ADMIN_ROLE, ROLES, Actor
from analytics.store.db import Database
from analytics.store.ids import next_id

MAX_FAILURES = 5
LOCK_MINUTES = 15
CLINICAL_ROLES = ROLES  # therapist, supervisor
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
SIGN_IN_FAILED = (
    "Sign-in failed: the username or password is not right, or the account is locked for"
    f" {LOCK_MINUTES} minutes after {MAX_FAILURES} failed attempts."
)


@dataclass(frozen=True)
class Account:
    """A person who may sign in, with their roles."""

    id: int
    username: str
    name: str
    therapist_id: int | None
    clinical_role: str | None
    is_admin: bool
    disabled: bool

    def actor(self) -> Actor:
        """The identity every query and change of this person runs as."""
        if self.therapist_id is not None and self.clinical_role is not None:
            return Actor(
                self.therapist_id,
                self.name,
                self.clinical_role,
                account_id=self.id,
                is_admin=self.is_admin,
            )
        return Actor(None, self.name, ADMIN_ROLE, account_id=self.id, is_admin=True)


_SELECT = (
    "SELECT a.id, a.username, coalesce(t.name, a.username), a.therapist_id, t.role, a.is_admin,"
    " a.disabled_at IS NOT NULL FROM accounts a LEFT JOIN therapists t ON t.id = a.therapist_id"
)


def _account(row: tuple[object, ...]) -> Account:
    aid, username, name, tid, role, is_admin, disabled = row
    return Account(
        int(aid),  # type: ignore[call-overload]
        str(username),
        str(name),
        None if tid is None else int(tid),  # type: ignore[call-overload]
        None if role is None else str(role),
        bool(is_admin),
        bool(disabled),
    )


def get_account(db: Database, account_id: int) -> Account:
    """One account by id."""
    rows = db.query_rows(f"{_SELECT} WHERE a.id = ?", [account_id])
    if not rows:
        raise CaseloadError("There is no such account.")
    return _account(rows[0])


def find_account(db: Database, username: str) -> Account:
    """One account by username (case-insensitive)."""
    rows = db.query_rows(f"{_SELECT} WHERE a.username = ?", [normal_username(username)])
    if not rows:
        raise CaseloadError("There is no account with that username.")
    return _account(rows[0])


def count_accounts(db: Database) -> int:
    """How many accounts exist (none: the app asks for the first administrator)."""
    return int(db.query_value("SELECT count(*) FROM accounts"))


def normal_username(username: str) -> str:
    """A username as stored: trimmed and lower-case."""
    return username.strip().lower()


def _check_username(username: str) -> str:
    name = normal_username(username)
    if not _USERNAME.match(name):
        raise CaseloadError(
            "A username has 2 to 40 characters: letters, digits, '.', '_' or '-',"
            " starting with a letter or digit."
        )
    return name


def _require_admin(by: Actor | None) -> None:
    # None is the command line: whoever holds the database file and its key runs the practice.
    if by is not None and not by.is_admin:
        raise CaseloadError("Only an administrator can manage accounts.")


def _by(by: Actor | None) -> dict[str, object]:
    return {"by": None if by is None else by.account_id}


def create_account(
    db: Database,
    by: Actor | None,
    *,
    username: str,
    password: str,
    name: str | None = None,
    clinical_role: str | None = None,
    therapist_id: int | None = None,
    is_admin: bool = False,
    first: bool = False,
) -> Account:
    """Create an account. With `clinical_role` a therapist row is made for it (named `name`),
    unless `therapist_id` links an existing therapist that has no account yet. `first`: only
    while there is no account at all (the first start of an empty practice)."""
    if not first:
        _require_admin(by)
    username = _check_username(username)
    passwords.check_rules(password, username=username)
    if clinical_role is not None and clinical_role not in CLINICAL_ROLES:
        raise CaseloadError(f"The clinical role must be one of: {', '.join(CLINICAL_ROLES)}.")
    if clinical_role is None and therapist_id is None and not is_admin:
        raise CaseloadError("An account needs a role: therapist, supervisor or administrator.")
    password_hash = passwords.hash_password(password)  # outside the transaction: it is slow

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        if first and cur.execute("SELECT count(*) FROM accounts").fetchone() != (0,):
            raise CaseloadError("The first administrator has already been created.")
        if cur.execute("SELECT 1 FROM accounts WHERE username = ?", [username]).fetchone():
            raise CaseloadError("That username is already taken.")
        tid = therapist_id
        if tid is not None:
            if not cur.execute("SELECT 1 FROM therapists WHERE id = ?", [tid]).fetchone():
                raise CaseloadError("There is no such therapist.")
            if cur.execute("SELECT 1 FROM accounts WHERE therapist_id = ?", [tid]).fetchone():
                raise CaseloadError("That therapist already has an account.")
            if clinical_role is not None:
                cur.execute("UPDATE therapists SET role = ? WHERE id = ?", [clinical_role, tid])
        elif clinical_role is not None:
            display = " ".join((name or "").split())
            if not display or len(display) > 100:
                raise CaseloadError("A therapist needs a name of 1 to 100 characters.")
            taken = cur.execute(
                "SELECT 1 FROM therapists WHERE lower(name) = lower(?)", [display]
            ).fetchone()
            if taken:
                raise CaseloadError("A therapist with that name already exists.")
            tid = next_id(cur, "therapists")
            cur.execute(
                "INSERT INTO therapists (id, name, role) VALUES (?, ?, ?)",
                [tid, display, clinical_role],
            )
            audit.record(cur, actor_id=None, action="create", entity="therapist", entity_id=tid)
        account_id = next_id(cur, "accounts")
        cur.execute(
            "INSERT INTO accounts (id, username, therapist_id, is_admin, password_hash)"
            " VALUES (?, ?, ?, ?, ?)",
            [account_id, username, tid, is_admin, password_hash],
        )
        audit.record(
            cur,
            actor_id=None if by is None else by.id,
            action="create",
            entity="account",
            entity_id=account_id,
            detail={**_by(by), "admin": is_admin, "therapist": tid},
        )
        return account_id

    return get_account(db, db.atomic(work))


def authenticate(db: Database, username: str, password: str, *, now: dt.datetime) -> Account:
    """The account these credentials open, or `CaseloadError(SIGN_IN_FAILED)`; counts failures
    and locks after five in a row. The message is the same whatever went wrong."""
    name = normal_username(username)
    rows = db.query_rows(
        "SELECT id, password_hash, locked_until, disabled_at IS NOT NULL"
        " FROM accounts WHERE username = ?",
        [name],
    )
    if not rows or not name:
        passwords.spend_verify_time(password)
        _record_failure(db, None, now)
        raise CaseloadError(SIGN_IN_FAILED)
    account_id, stored, locked_until, disabled = rows[0]
    ok = passwords.verify_password(str(stored), password)
    if locked_until is not None and locked_until > now:
        _record_failure(db, int(account_id), now, counted=False)
        raise CaseloadError(SIGN_IN_FAILED)
    if not ok:
        _record_failure(db, int(account_id), now)
        raise CaseloadError(SIGN_IN_FAILED)
    if disabled:
        # Said only to someone who knows the password: the account exists but may not be used.
        raise CaseloadError("This account is disabled.", hint="Ask your practice's administrator.")
    new_hash = passwords.hash_password(password) if passwords.needs_rehash(str(stored)) else None

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(
            "UPDATE accounts SET failed_attempts = 0, locked_until = NULL,"
            " password_hash = coalesce(?, password_hash) WHERE id = ?",
            [new_hash, account_id],
        )

    db.atomic(work)
    return get_account(db, int(account_id))


def _record_failure(
    db: Database, account_id: int | None, now: dt.datetime, *, counted: bool = True
) -> None:
    """Count a failed attempt (locking at the fifth) and audit it; never the username typed
    (it may be a mistyped password)."""

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        locked = False
        if account_id is not None and counted:
            cur.execute(
                "UPDATE accounts SET failed_attempts = failed_attempts + 1,"
                " locked_until = CASE WHEN failed_attempts + 1 >= ? THEN ? ELSE locked_until END"
                " WHERE id = ?",
                [MAX_FAILURES, now + dt.timedelta(minutes=LOCK_MINUTES), account_id],
            )
            # Read back in the same transaction: it sees its own update.
            row = cur.execute(
                "SELECT failed_attempts FROM accounts WHERE id = ?", [account_id]
            ).fetchone()
            locked = row is not None and int(row[0]) >= MAX_FAILURES
            if locked:
                cur.execute("UPDATE accounts SET failed_attempts = 0 WHERE id = ?", [account_id])
        audit.record(
            cur,
            actor_id=None,
            action="sign-in failed",
            entity="account",
            entity_id=account_id,
            detail={"locked": locked} if account_id is not None else {"known": False},
        )
        if locked:
            audit.record(cur, actor_id=None, action="lock", entity="account", entity_id=account_id)

    db.atomic(work)


def change_password(
    db: Database,
    account_id: int,
    old_password: str,
    new_password: str,
    *,
    keep_session: int | None = None,
) -> None:
    """Change one's own password after confirming the current one; the account's other
    sessions end (`keep_session`, the one making the change, stays)."""
    stored = db.query_value("SELECT password_hash FROM accounts WHERE id = ?", [account_id])
    if stored is None or not passwords.verify_password(str(stored), old_password):
        raise CaseloadError("The current password is not right; nothing was changed.")
    account = get_account(db, account_id)
    passwords.check_rules(new_password, username=account.username)
    if new_password == old_password:
        raise CaseloadError("The new password must differ from the current one.")
    _set_password(
        db,
        account,
        new_password,
        action="change password",
        by=account.actor(),
        keep_session=keep_session,
    )


def reset_password(db: Database, by: Actor | None, account_id: int, new_password: str) -> None:
    """An administrator (or the command line) sets a new password; the account's sessions end
    and any lock is lifted."""
    _require_admin(by)
    account = get_account(db, account_id)
    passwords.check_rules(new_password, username=account.username)
    _set_password(db, account, new_password, action="reset password", by=by)


def _end_sessions(
    cur: duckdb.DuckDBPyConnection, account_id: int, reason: str, keep: int | None = None
) -> None:
    """End an account's live sessions (a reset password or a disabled account)."""
    cur.execute(
        "UPDATE sign_ins SET ended_at = current_timestamp, end_reason = ?"
        " WHERE account_id = ? AND ended_at IS NULL AND id IS DISTINCT FROM ?",
        [reason, account_id, keep],
    )


def _set_password(
    db: Database,
    account: Account,
    new_password: str,
    *,
    action: str,
    by: Actor | None,
    keep_session: int | None = None,
) -> None:
    new_hash = passwords.hash_password(new_password)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(
            "UPDATE accounts SET password_hash = ?, failed_attempts = 0, locked_until = NULL,"
            " password_changed_at = current_timestamp WHERE id = ?",
            [new_hash, account.id],
        )
        _end_sessions(cur, account.id, "password reset", keep_session)
        audit.record(
            cur,
            actor_id=None if by is None else by.id,
            action=action,
            entity="account",
            entity_id=account.id,
            detail=_by(by),
        )

    db.atomic(work)


def set_disabled(db: Database, by: Actor | None, account_id: int, disabled: bool) -> None:
    """Disable (or enable again) an account; its history stays. An administrator cannot
    disable their own account, nor the last administrator who can sign in."""
    _require_admin(by)
    account = get_account(db, account_id)
    if disabled and by is not None and by.account_id == account_id:
        raise CaseloadError("You cannot disable your own account.")

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        if disabled and account.is_admin:
            others = cur.execute(
                "SELECT count(*) FROM accounts WHERE is_admin AND disabled_at IS NULL AND id <> ?",
                [account_id],
            ).fetchone()
            if others == (0,):
                raise CaseloadError("The last administrator who can sign in cannot be disabled.")
        cur.execute(
            "UPDATE accounts SET disabled_at = CASE WHEN ? THEN current_timestamp END,"
            " failed_attempts = 0, locked_until = NULL WHERE id = ?",
            [disabled, account_id],
        )
        if disabled:
            _end_sessions(cur, account_id, "disabled")
        audit.record(
            cur,
            actor_id=None if by is None else by.id,
            action="disable" if disabled else "enable",
            entity="account",
            entity_id=account_id,
            detail=_by(by),
        )

    db.atomic(work)


def listing(db: Database, by: Actor, *, now: dt.datetime) -> pd.DataFrame:
    """Every account with its roles and state, for an administrator."""
    _require_admin(by)
    return db.query_df(
        "SELECT a.id, a.username, coalesce(t.name, '') AS name,"
        " concat_ws(', ', t.role, CASE WHEN a.is_admin THEN 'administrator' END) AS roles,"
        " CASE WHEN a.disabled_at IS NOT NULL THEN 'disabled'"
        "      WHEN a.locked_until > ? THEN 'locked' ELSE 'active' END AS state,"
        " (SELECT max(s.started_at) FROM sign_ins s WHERE s.account_id = a.id) AS last_sign_in,"
        " a.password_changed_at"
        " FROM accounts a LEFT JOIN therapists t ON t.id = a.therapist_id ORDER BY a.username",
        [now],
    )


def therapists_without_account(db: Database) -> pd.DataFrame:
    """Therapists (from before accounts, or the demo) that no account signs in as yet."""
    return db.query_df(
        "SELECT t.id, t.name, t.role FROM therapists t"
        " WHERE t.active AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.therapist_id = t.id)"
        " ORDER BY t.name"
    )
