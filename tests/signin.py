"""Signing in for page tests: an account for a therapist (made on first use, with a cheap
password hash) and a live session whose id the AppTest's session state carries, exactly as a
browser tab's does after the sign-in page."""

from __future__ import annotations

import ui
from analytics.practice import accounts, sign_ins
from analytics.practice.access import Actor
from analytics.practice.opening import open_practice
from analytics.store.db import Database

PASSWORD = "page test password 0451"


def account_for(db: Database, actor: Actor) -> accounts.Account:
    """The account that signs in as `actor` (made for a therapist that has none yet)."""
    if actor.account_id is not None:
        return accounts.get_account(db, actor.account_id)
    found = db.query_value("SELECT id FROM accounts WHERE therapist_id = ?", [actor.id])
    if found is not None:
        return accounts.get_account(db, int(found))
    return accounts.create_account(
        db,
        None,
        username=f"staff{actor.id}",
        password=PASSWORD,
        therapist_id=actor.id,
        clinical_role=actor.role,
    )


def session_for(actor: Actor) -> int:
    """A live sign-in for `actor` in the app's database; its id goes in session state."""
    db = open_practice()  # the database app_env names: a file, or PostgreSQL
    try:
        return sign_ins.start(db, account_for(db, actor), now=ui.clock()).id
    finally:
        db.close()
