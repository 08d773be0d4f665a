"""Accounts, password rules, lockout and sessions (analytics/practice/accounts.py, passwords.py,
sign_ins.py) on a temporary database, with an injected clock."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.errors import CaseloadError
from analytics.practice import accounts, passwords, sign_ins
from analytics.practice.access import Actor
from analytics.practice.couples import list_couples
from analytics.store.db import Database

NOW = dt.datetime(2026, 11, 22, 9, 0)
GOOD = "violet harbour tandem"


@pytest.fixture
def admin(db: Database) -> accounts.Account:
    return accounts.create_account(
        db, None, username="Admin", password="granite orchid lamp", is_admin=True, first=True
    )


@pytest.fixture
def avery(db: Database, admin: accounts.Account) -> accounts.Account:
    return accounts.create_account(
        db,
        admin.actor(),
        username="avery",
        password=GOOD,
        name="Avery Therapist",
        clinical_role="therapist",
    )


def _fail(db: Database, username: str, password: str, now: dt.datetime = NOW) -> str:
    with pytest.raises(CaseloadError) as caught:
        accounts.authenticate(db, username, password, now=now)
    return caught.value.message


# --- passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("Qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("avery's long secret", "must not contain the username"),
    ],
)
def test_password_rules(password: str, words: str) -> None:
    with pytest.raises(CaseloadError, match=words) as caught:
        passwords.check_rules(password, username="avery")
    assert password not in str(caught.value)


def test_passwords_are_stored_only_as_argon2id_hashes(
    db: Database, avery: accounts.Account
) -> None:
    stored = db.query_value("SELECT password_hash FROM accounts WHERE id = ?", [avery.id])
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    # Nothing else in the database holds the password either (the audit detail included).
    text = db.query_df("SELECT * FROM audit_log").to_string()
    assert GOOD not in text and "avery" not in text


def test_the_product_hasher_keeps_argon2_cffi_defaults() -> None:
    """Tests swap in a cheap hasher; the product's own (restored after each test session) is
    argon2-cffi's default profile, RFC 9106's second recommendation, and argon2id."""
    product = passwords.PRODUCT_HASHER
    assert (product.time_cost, product.memory_cost, product.parallelism) == (3, 65536, 4)
    assert product.hash("some long passphrase").startswith("$argon2id$")


# --- accounts and roles ----------------------------------------------------------------------


def test_the_first_administrator_only_while_there_is_none(
    db: Database, admin: accounts.Account
) -> None:
    assert admin.username == "admin" and admin.is_admin and admin.therapist_id is None
    with pytest.raises(CaseloadError, match="already been created"):
        accounts.create_account(
            db, None, username="second", password=GOOD, is_admin=True, first=True
        )


def test_only_an_administrator_manages_accounts(db: Database, avery: accounts.Account) -> None:
    with pytest.raises(CaseloadError, match="Only an administrator"):
        accounts.create_account(
            db,
            avery.actor(),
            username="mallory",
            password=GOOD,
            clinical_role="supervisor",
            name="Mallory",
        )
    with pytest.raises(CaseloadError, match="Only an administrator"):
        accounts.reset_password(db, avery.actor(), avery.id, "a brand new passphrase")


def test_an_administrator_alone_sees_no_couple(
    db: Database, admin: accounts.Account, couple: int
) -> None:
    who = admin.actor()
    assert who.role == "administrator" and not who.sees_every_couple and not who.is_supervisor
    assert list_couples(db, who, include_closed=True).empty


def test_a_linked_therapist_signs_in_as_themselves(
    db: Database, admin: accounts.Account, therapist: Actor, couple: int
) -> None:
    linked = accounts.create_account(
        db, admin.actor(), username="tess", password=GOOD, therapist_id=therapist.id
    )
    signed = accounts.authenticate(db, "TESS", GOOD, now=NOW)  # usernames ignore case
    assert signed.actor().id == therapist.id and signed.actor().account_id == linked.id
    assert list(list_couples(db, signed.actor(), include_closed=True)["id"]) == [couple]


# --- signing in ------------------------------------------------------------------------------


def test_every_failure_gives_the_same_words(db: Database, avery: accounts.Account) -> None:
    unknown = _fail(db, "nobody", GOOD)
    wrong = _fail(db, "avery", "not the password at all")
    assert unknown == wrong == accounts.SIGN_IN_FAILED
    assert accounts.authenticate(db, " Avery ", GOOD, now=NOW).id == avery.id


def test_five_failures_lock_the_account_for_fifteen_minutes(
    db: Database, avery: accounts.Account
) -> None:
    for _ in range(accounts.MAX_FAILURES):
        _fail(db, "avery", "not the password at all")
    # Locked: even the right password is refused, with the same words as any failure.
    assert _fail(db, "avery", GOOD, NOW + dt.timedelta(minutes=14)) == accounts.SIGN_IN_FAILED
    assert accounts.authenticate(db, "avery", GOOD, now=NOW + dt.timedelta(minutes=15, seconds=1))
    actions = [
        r[0]
        for r in db.query_rows(
            "SELECT action FROM audit_log WHERE entity = 'account' AND entity_id = ? ORDER BY id",
            [avery.id],
        )
    ]
    assert actions.count("sign-in failed") == 6 and actions.count("lock") == 1


def test_four_failures_then_a_success_start_the_count_again(
    db: Database, avery: accounts.Account
) -> None:
    for _ in range(4):
        _fail(db, "avery", "not the password at all")
    accounts.authenticate(db, "avery", GOOD, now=NOW)
    for _ in range(4):
        _fail(db, "avery", "not the password at all")
    assert accounts.authenticate(db, "avery", GOOD, now=NOW).id == avery.id


def test_a_disabled_account_cannot_sign_in_and_its_history_stays(
    db: Database, admin: accounts.Account, avery: accounts.Account
) -> None:
    session = sign_ins.start(db, avery, now=NOW)
    accounts.set_disabled(db, admin.actor(), avery.id, True)
    with pytest.raises(CaseloadError, match="disabled"):
        accounts.authenticate(db, "avery", GOOD, now=NOW)
    with pytest.raises(sign_ins.SignedOut, match="disabled"):
        sign_ins.check(db, session.id, now=NOW)
    assert db.query_value("SELECT count(*) FROM therapists WHERE name = 'Avery Therapist'") == 1
    assert (
        db.query_value(
            "SELECT count(*) FROM audit_log WHERE entity = 'account' AND entity_id = ?", [avery.id]
        )
        >= 3
    )
    accounts.set_disabled(db, admin.actor(), avery.id, False)
    assert accounts.authenticate(db, "avery", GOOD, now=NOW).id == avery.id


def test_the_last_administrator_stays(db: Database, admin: accounts.Account) -> None:
    with pytest.raises(CaseloadError, match="your own account"):
        accounts.set_disabled(db, admin.actor(), admin.id, True)
    with pytest.raises(CaseloadError, match="last administrator"):
        accounts.set_disabled(db, None, admin.id, True)


def test_a_reset_ends_sessions_and_a_change_keeps_the_current_one(
    db: Database, admin: accounts.Account, avery: accounts.Account
) -> None:
    here = sign_ins.start(db, avery, now=NOW)
    elsewhere = sign_ins.start(db, avery, now=NOW)
    accounts.change_password(db, avery.id, GOOD, "lilac freight sparrow", keep_session=here.id)
    assert sign_ins.check(db, here.id, now=NOW).id == avery.id
    with pytest.raises(sign_ins.SignedOut):
        sign_ins.check(db, elsewhere.id, now=NOW)
    with pytest.raises(CaseloadError, match="current password is not right"):
        accounts.change_password(db, avery.id, GOOD, "another fine phrase")
    accounts.reset_password(db, admin.actor(), avery.id, "temporary phrase 77")
    with pytest.raises(sign_ins.SignedOut, match="reset"):
        sign_ins.check(db, here.id, now=NOW)
    assert accounts.authenticate(db, "avery", "temporary phrase 77", now=NOW).id == avery.id


# --- sessions --------------------------------------------------------------------------------


def test_a_cookie_resumes_the_session_within_the_idle_time(
    db: Database, avery: accounts.Account
) -> None:
    session = sign_ins.start(db, avery, now=NOW)
    later = NOW + dt.timedelta(minutes=14)
    assert sign_ins.resume(db, session.cookie, now=later).account.id == avery.id
    # Activity moves the idle clock on: 14 more minutes after the last activity still resume.
    assert (
        sign_ins.resume(db, session.cookie, now=later + dt.timedelta(minutes=14)).id == session.id
    )


def test_idle_time_ends_the_session_for_good(db: Database, avery: accounts.Account) -> None:
    session = sign_ins.start(db, avery, now=NOW)
    with pytest.raises(sign_ins.SignedOut, match="15 minutes without activity"):
        sign_ins.resume(db, session.cookie, now=NOW + dt.timedelta(minutes=15, seconds=1))
    # Coming back inside what would have been the idle time does not bring it back.
    with pytest.raises(sign_ins.SignedOut):
        sign_ins.resume(db, session.cookie, now=NOW + dt.timedelta(minutes=1))
    reasons = db.query_rows("SELECT end_reason FROM sign_ins WHERE id = ?", [session.id])
    assert reasons == [("idle",)]


def test_the_idle_time_is_a_setting(db: Database, avery: accounts.Account) -> None:
    db.execute("UPDATE practice_settings SET value = 30 WHERE key = 'idle_logoff_minutes'")
    session = sign_ins.start(db, avery, now=NOW)
    assert sign_ins.check(db, session.id, now=NOW + dt.timedelta(minutes=29)).id == avery.id


def test_signing_out_ends_the_session(db: Database, avery: accounts.Account) -> None:
    session = sign_ins.start(db, avery, now=NOW)
    sign_ins.end(db, session.id, now=NOW)
    with pytest.raises(sign_ins.SignedOut, match="You signed out"):
        sign_ins.resume(db, session.cookie, now=NOW)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),  # signature
        lambda c: c.replace(".", ".x", 1),  # token
        lambda c: ".".join([c.split(".")[0], c.split(".")[1], "9999999999", c.split(".")[3]]),
        lambda c: "1.2.3",
        lambda c: "",
    ],
)
def test_a_forged_cookie_is_refused(db: Database, avery: accounts.Account, mangle) -> None:  # type: ignore[no-untyped-def]
    session = sign_ins.start(db, avery, now=NOW)
    with pytest.raises(sign_ins.SignedOut):
        sign_ins.resume(db, mangle(session.cookie), now=NOW)


def test_a_session_has_a_maximum_age(db: Database, avery: accounts.Account) -> None:
    session = sign_ins.start(db, avery, now=NOW)
    moment = NOW
    while moment < NOW + sign_ins.MAX_AGE - dt.timedelta(minutes=10):
        moment += dt.timedelta(minutes=10)
        sign_ins.check(db, session.id, now=moment)
    with pytest.raises(sign_ins.SignedOut, match="maximum length"):
        sign_ins.resume(db, session.cookie, now=NOW + sign_ins.MAX_AGE)


def test_the_cookie_holds_no_password_or_username(db: Database, avery: accounts.Account) -> None:
    cookie = sign_ins.start(db, avery, now=NOW).cookie
    assert "avery" not in cookie.lower() and GOOD not in cookie
    assert set(cookie) <= set("0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz-_.")
    # Only a hash of the token is stored.
    token = cookie.split(".")[1]
    assert db.query_value("SELECT count(*) FROM sign_ins WHERE token_hash = ?", [token]) == 0
