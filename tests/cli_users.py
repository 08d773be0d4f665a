"""Signing in on the command line in tests: an account for a therapist (made on first use, with
a cheap password hash, see conftest) and the --user arguments; the password reaches the command
through $CASELOAD_PASSWORD, which each CLI test module sets with `password_env`."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.cli.signing import PASSWORD_ENV
from analytics.practice import accounts, therapists
from analytics.practice.opening import open_practice

PASSWORD = "cli test password 0451"


def user(
    db_path: Path | None, name: str, *, role: str = "therapist", admin: bool = False
) -> list[str]:
    """`--user USERNAME` for an account signing in as the therapist `name` (the therapist made
    with `role` when missing; an existing account of theirs gets PASSWORD). `db_path` None: the
    practice $CASELOAD_POSTGRES names."""
    db = open_practice(db_path)  # None: the practice $CASELOAD_POSTGRES names
    try:
        found = db.query_value("SELECT id FROM therapists WHERE lower(name) = lower(?)", [name])
        if found is None:
            therapists.add_therapist(db, name, role=role)
            found = db.query_value("SELECT id FROM therapists WHERE lower(name) = lower(?)", [name])
        existing = db.query_value("SELECT id FROM accounts WHERE therapist_id = ?", [found])
        if existing is not None:
            accounts.reset_password(db, None, int(existing), PASSWORD)
            username = accounts.get_account(db, int(existing)).username
        else:
            username = f"staff{found}"
            accounts.create_account(
                db,
                None,
                username=username,
                password=PASSWORD,
                therapist_id=int(found),
                is_admin=admin,
            )
    finally:
        db.close()
    return ["--user", username]


def password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the commands PASSWORD the way a script does."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
