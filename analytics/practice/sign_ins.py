"""Signed-in sessions: a signed, expiring token the browser keeps in a cookie, and the idle rule.

A sign-in stores only the sha256 of a random token. The browser holds
`<id>.<token>.<expires>.<signature>` (an HMAC-SHA256 under a secret kept in the encrypted
database), so a reload within the idle time resumes the session without the password. A session
ends when the person signs out, stays idle longer than the practice's idle time (default 15
minutes), reaches its maximum age, or their account is disabled or its password reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import duckdb

from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.accounts import Account, get_account
from analytics.store.db import Database
from analytics.store.ids import next_id

MAX_AGE = dt.timedelta(hours=12)  # a token is never accepted after this, active or not
TOUCH_EVERY = dt.timedelta(seconds=30)  # last_seen is written at most this often
DEFAULT_IDLE_MINUTES = 15
_SECRET_KEY = "session_signing"
_EPOCH = dt.datetime(1970, 1, 1)

# Why a session ended, in words shown on the sign-in page.
ENDED = {
    "signed out": "You signed out.",
    "idle": "You were signed out after {minutes} minutes without activity.",
    "expired": "Your session reached its maximum length; please sign in again.",
    "disabled": "Your account was disabled.",
    "password reset": "Your password was reset by an administrator; sign in with the new one.",
    "ended": "Your session has ended; please sign in again.",
}


class SignedOut(CaseloadError):
    """The session is over (`reason` is a key of `ENDED`)."""

    def __init__(self, reason: str, minutes: int = DEFAULT_IDLE_MINUTES) -> None:
        super().__init__(ENDED.get(reason, ENDED["ended"]).format(minutes=minutes))
        self.reason = reason


@dataclass(frozen=True)
class Session:
    """A live sign-in: its row id, the account, and the cookie value the browser keeps."""

    id: int
    account: Account
    cookie: str


def _secret(db: Database) -> bytes:
    stored = db.query_value("SELECT value FROM practice_secrets WHERE key = ?", [_SECRET_KEY])
    if stored is None:
        fresh = secrets.token_hex(32)

        def work(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute(
                "INSERT INTO practice_secrets (key, value) SELECT ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM practice_secrets WHERE key = ?)",
                [_SECRET_KEY, fresh, _SECRET_KEY],
            )

        db.atomic(work)
        stored = db.query_value("SELECT value FROM practice_secrets WHERE key = ?", [_SECRET_KEY])
    return bytes.fromhex(str(stored))


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_minutes(db: Database) -> int:
    """The practice's idle time (a setting; 15 minutes unless a supervisor changed it)."""
    value = db.query_value("SELECT value FROM practice_settings WHERE key = 'idle_logoff_minutes'")
    return DEFAULT_IDLE_MINUTES if value is None else int(value)


def start(db: Database, account: Account, *, now: dt.datetime) -> Session:
    """Begin a session for an account that has just signed in (audited 'sign in')."""
    token = secrets.token_urlsafe(32)
    expires = int(((now + MAX_AGE) - _EPOCH).total_seconds())

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        session_id = next_id(cur, "sign_ins")
        cur.execute(
            "INSERT INTO sign_ins (id, account_id, token_hash, started_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?)",
            [session_id, account.id, _token_hash(token), now, now],
        )
        audit.record(
            cur,
            actor_id=account.therapist_id,
            action="sign in",
            entity="account",
            entity_id=account.id,
        )
        return session_id

    session_id = db.atomic(work)
    payload = f"{session_id}.{token}.{expires}"
    return Session(session_id, account, f"{payload}.{_sign(_secret(db), payload)}")


def resume(db: Database, cookie: str, *, now: dt.datetime) -> Session:
    """The session a browser's cookie names, if its signature, age and idle time allow; else
    `SignedOut` (a forged or mangled cookie is simply 'ended')."""
    parts = cookie.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        raise SignedOut("ended")
    session_id, token, expires, signature = parts
    payload = f"{session_id}.{token}.{expires}"
    if not hmac.compare_digest(_sign(_secret(db), payload), signature):
        raise SignedOut("ended")
    if now >= _EPOCH + dt.timedelta(seconds=int(expires)):
        end(db, int(session_id), now=now, reason="expired")
        raise SignedOut("expired")
    stored = db.query_value("SELECT token_hash FROM sign_ins WHERE id = ?", [int(session_id)])
    if stored is None or not hmac.compare_digest(str(stored), _token_hash(token)):
        raise SignedOut("ended")
    account = check(db, int(session_id), now=now)
    return Session(int(session_id), account, cookie)


def check(db: Database, session_id: int, *, now: dt.datetime) -> Account:
    """The account of a live session, marking it active now; `SignedOut` when it has ended,
    been idle too long, or its account was disabled or reset since."""
    rows = db.query_rows(
        "SELECT s.account_id, s.last_seen, s.ended_at, s.end_reason, s.started_at,"
        " a.disabled_at IS NOT NULL"
        " FROM sign_ins s JOIN accounts a ON a.id = s.account_id WHERE s.id = ?",
        [session_id],
    )
    if not rows:
        raise SignedOut("ended")
    account_id, last_seen, ended_at, end_reason, started_at, disabled = rows[0]
    minutes = idle_minutes(db)
    if ended_at is not None:
        raise SignedOut(str(end_reason or "ended"), minutes)
    reason = None
    if disabled:
        reason = "disabled"
    elif now - last_seen > dt.timedelta(minutes=minutes):
        reason = "idle"
    elif now - started_at >= MAX_AGE:
        reason = "expired"
    if reason is not None:
        end(db, session_id, now=now, reason=reason)
        raise SignedOut(reason, minutes)
    if now - last_seen >= TOUCH_EVERY:

        def work(cur: duckdb.DuckDBPyConnection) -> None:
            cur.execute("UPDATE sign_ins SET last_seen = ? WHERE id = ?", [now, session_id])

        db.atomic(work)
    return get_account(db, int(account_id))


def end(db: Database, session_id: int, *, now: dt.datetime, reason: str = "signed out") -> None:
    """End a session (sign out, idle logoff, ...); audited with its reason. Ending one that
    has already ended changes nothing."""

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        # Read first, then update, in one transaction: a session ended meanwhile by another
        # transaction makes this UPDATE conflict (and the retry finds it ended).
        row = cur.execute(
            "SELECT account_id FROM sign_ins WHERE id = ? AND ended_at IS NULL", [session_id]
        ).fetchone()
        if row is None:
            return
        cur.execute(
            "UPDATE sign_ins SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
            [now, reason, session_id],
        )
        therapist = cur.execute(
            "SELECT therapist_id FROM accounts WHERE id = ?", [row[0]]
        ).fetchone()
        audit.record(
            cur,
            actor_id=None if therapist is None else therapist[0],
            action="sign out",
            entity="account",
            entity_id=int(row[0]),
            detail={"reason": reason},
        )

    db.atomic(work)
