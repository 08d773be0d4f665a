"""Password rules and hashing: at least 12 characters, not a common password, hashed with
argon2id (argon2-cffi). A password is never stored, logged or put in an error message."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from analytics.errors import CaseloadError

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a cap stops a megabyte "password" costing CPU
_COMMON = Path(__file__).with_name("common_passwords.txt")

# argon2-cffi's defaults (RFC 9106's second recommended profile: t=3, m=64 MiB, p=4). Tests
# swap in a cheap hasher through `use_hasher`; hashes record their own parameters, so a hash
# made with one profile still verifies with the other.
PRODUCT_HASHER = PasswordHasher()
_hasher = PRODUCT_HASHER


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the hasher (tests use cheap parameters); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


@cache
def common_passwords() -> frozenset[str]:
    """The refused common passwords, lower-cased."""
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def check_rules(password: str, *, username: str = "") -> None:
    """Refuse a password that breaks the rules, saying which rule (never echoing it)."""
    if len(password) < MIN_LENGTH:
        raise CaseloadError(f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise CaseloadError(f"A password may have at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 4:
        raise CaseloadError(
            "That password is too common or too easy to guess.",
            hint="A few unrelated words together make a strong password that is easy to type.",
        )
    if username and username.lower() in lowered:
        raise CaseloadError("A password must not contain the username.")


def hash_password(password: str) -> str:
    """The argon2id hash of a password (salted; the text records the parameters)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, only spends the same time")


def spend_verify_time(password: str) -> None:
    """Do the work of one verification for an unknown username, so that a sign-in attempt
    takes as long whether or not the username exists."""
    verify_password(_dummy_hash(), password)


def needs_rehash(stored_hash: str) -> bool:
    """True when a hash was made with weaker parameters than the current hasher's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
