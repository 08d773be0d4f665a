"""Encryption at rest: the database file and its WAL hold no client's name or email; a missing,
wrong or unexpected key is refused in words; `encrypt` converts a plain practice and `rekey`
changes the key, with everything (ids, macros, the audit chain) working afterwards."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import duckdb
import pytest

from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import PRACTICE, Actor
from analytics.practice.couples import PartnerInput, add_couple, get_couple, update_couple
from analytics.practice.opening import open_practice, sync_instruments
from analytics.practice.therapists import add_therapist
from analytics.store import keys, migrate
from analytics.store.db import Database
from tests import factories

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 30)
SECRETS = [b"Zanzibar Quillfeather", b"quillfeather.unique@example.org", b"Ottoline Brackenridge"]
GONE = b"Perpetua Wolfsbane"  # a name replaced by an edit: in no file either


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def test_the_file_and_its_wal_hold_no_names_or_emails(db: Database, therapist: Actor) -> None:
    cid = add_couple(
        db,
        therapist,
        "Q-1",
        PartnerInput("Zanzibar Quillfeather", "quillfeather.unique@example.org"),
        PartnerInput(GONE.decode(), "wolfsbane@example.org"),
        start_date=TODAY,
    )
    factories.checkin(db, cid, "A", NOW, 4)
    couple = get_couple(db, therapist, cid)
    update_couple(
        db,
        therapist,
        cid,
        case_code="Q-1",
        partner_a=PartnerInput("Zanzibar Quillfeather", "quillfeather.unique@example.org"),
        partner_b=PartnerInput("Ottoline Brackenridge", "wolfsbane@example.org"),
        therapist_id=therapist.id or 0,
        start_date=couple.start_date,
    )
    wal = db.path.with_name(db.path.name + ".wal")
    assert wal.exists() and wal.stat().st_size > 0  # not checkpointed yet: the changes are there
    for path in (db.path, wal):
        content = _bytes(path)
        assert not any(secret in content for secret in [*SECRETS, GONE]), path.name
    assert _mode(db.path) == _mode(wal) == 0o600
    assert _mode(keys.key_file_path(db.path)) == 0o600

    db.execute("CHECKPOINT")
    content = _bytes(db.path) + _bytes(wal)
    assert len(_bytes(db.path)) > 100_000
    assert not any(secret in content for secret in [*SECRETS, GONE])
    # Still readable with the key, of course.
    assert db.query_value(
        "SELECT display_name FROM partners WHERE couple_id = ? AND label = 'B'", [cid]
    ) == ("Ottoline Brackenridge")


def test_a_new_practice_gets_an_owner_only_key_file(db_path: Path) -> None:
    assert not db_path.exists()
    open_practice(db_path).close()
    key_file = db_path.with_suffix(".key")
    assert _mode(key_file) == 0o600 and _mode(db_path) == 0o600
    assert len(key_file.read_text().strip()) == 64


def test_no_key_is_refused_in_words(db: Database, db_path: Path) -> None:
    db.close()
    db_path.with_suffix(".key").unlink()
    with pytest.raises(CaseloadError) as info:
        open_practice(db_path)
    assert info.value.message == "The database is encrypted and no key was found."
    assert "CASELOAD_KEY" in str(info.value.hint)


def test_a_wrong_key_is_refused_in_words(
    db: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.close()
    monkeypatch.setenv(keys.KEY_ENV_VAR, "not-the-key")
    with pytest.raises(CaseloadError) as info:
        open_practice(db_path)
    assert info.value.message == "The key does not open this database."
    assert "not-the-key" not in str(info.value)
    with pytest.raises(CaseloadError, match="does not open"):
        open_practice(db_path, key="another wrong one")


def test_a_key_file_others_can_read_is_refused(db: Database, db_path: Path) -> None:
    db.close()
    key_file = db_path.with_suffix(".key")
    key_file.chmod(0o644)
    with pytest.raises(CaseloadError, match="may be read by other users"):
        open_practice(db_path)


def test_the_same_file_twice_shares_one_connection_and_one_key(db: Database) -> None:
    other = factories.database(db.path)
    assert other.query_value("SELECT count(*) FROM schema_migrations") > 0
    other.close()
    assert db.query_value("SELECT 1") == 1  # closing one handle leaves the other working
    with pytest.raises(CaseloadError, match="another key"):
        Database(db.path, key="something else").query_value("SELECT 1")


def _plain_practice(path: Path, folder: Path) -> dict[str, int]:
    """A practice in a plain (unencrypted) file, as before encryption: a couple, a check-in,
    audit entries."""
    db = Database(path)
    try:
        migrate.apply_migrations(db)
        sync_instruments(db, folder)
        therapist = add_therapist(db, "Plain Therapist")
        cid = factories.couple(db, therapist, "P-1")
        response = factories.checkin(db, cid, "A", NOW, 3)
        return {"couple": cid, "response": response}
    finally:
        db.close()


def test_a_plain_file_with_a_key_configured_is_refused_with_the_encrypt_hint(
    db_path: Path, instruments_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plain_practice(db_path, instruments_dir)
    with pytest.raises(CaseloadError) as info:
        open_practice(db_path)  # no key anywhere: a plain file
    assert info.value.message == "The database file is not encrypted."
    assert "python -m analytics encrypt" in str(info.value.hint)
    monkeypatch.setenv(keys.KEY_ENV_VAR, "a configured key")
    with pytest.raises(CaseloadError) as info:
        open_practice(db_path)
    assert info.value.message == "The database file is not encrypted."
    assert "python -m analytics encrypt" in str(info.value.hint)


def test_encrypt_converts_a_plain_practice_and_everything_works(
    capsys: pytest.CaptureFixture[str], db_path: Path, instruments_dir: Path
) -> None:
    made = _plain_practice(db_path, instruments_dir)
    assert b"P-1 Alpha" in db_path.read_bytes()
    assert main(["encrypt", "--db", str(db_path)], today=TODAY, now=NOW) == 0
    assert "Encrypted" in capsys.readouterr().out
    assert b"P-1 Alpha" not in db_path.read_bytes()
    assert not db_path.with_name(db_path.name + ".wal").exists()
    assert not db_path.with_name(db_path.name + ".encrypting").exists()
    assert _mode(db_path) == _mode(db_path.with_suffix(".key")) == 0o600

    db = open_practice(db_path)
    try:
        listed = db.query_rows("SELECT id, case_code FROM couples")
        assert listed == [(made["couple"], "P-1")]
        assert db.query_value("SELECT count(*) FROM responses") == 1
        assert audit.verify(db).intact
        # The sequences went on where they were: the next ids follow the stored ones.
        therapist = add_therapist(db, "After Encryption")
        cid = factories.couple(db, therapist, "P-2")
        assert cid == made["couple"] + 1
        assert factories.checkin(db, cid, "A", NOW, 4) == made["response"] + 1
        # The macros survived: the caseload's scores are computed in SQL.
        assert db.query_value("SELECT audit_genesis()")
        assert audit.verify(db).intact
    finally:
        db.close()

    code = main(["encrypt", "--db", str(db_path)], today=TODAY, now=NOW)
    assert code == 1 and "encrypted already" in capsys.readouterr().err


def test_rekey_refuses_the_old_key_and_opens_with_the_new(
    capsys: pytest.CaptureFixture[str], db: Database, db_path: Path, therapist: Actor
) -> None:
    cid = factories.couple(db, therapist, "R-1")
    db.close()
    key_file = db_path.with_suffix(".key")
    old = key_file.read_text().strip()
    assert main(["rekey", "--db", str(db_path)], today=TODAY, now=NOW) == 0
    out = capsys.readouterr().out
    assert "new key" in out and old not in out
    new = key_file.read_text().strip()
    assert new != old and _mode(key_file) == 0o600
    kept = key_file.with_name(key_file.name + ".before-rekey")
    assert kept.read_text().strip() == old and _mode(kept) == 0o600
    with pytest.raises(CaseloadError, match="does not open"):
        open_practice(db_path, key=old)
    again = open_practice(db_path)
    try:
        assert again.query_value("SELECT id FROM couples WHERE case_code = 'R-1'") == cid
        assert audit.verify(again).intact
    finally:
        again.close()


def test_rekey_with_the_key_in_the_environment_says_to_update_it(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(keys.KEY_ENV_VAR, "the key from the environment")
    open_practice(db_path).close()
    assert not db_path.with_suffix(".key").exists()  # a configured key: no key file made
    target = tmp_path / "elsewhere" / "new.key"
    argv = ["rekey", "--db", str(db_path), "--new-key-file", str(target)]
    assert main(argv, today=TODAY, now=NOW) == 0
    out = capsys.readouterr().out
    assert "$CASELOAD_KEY still holds the old key" in out and str(target) in out
    with pytest.raises(CaseloadError, match="does not open"):
        open_practice(db_path)
    monkeypatch.setenv(keys.KEY_ENV_VAR, target.read_text().strip())
    open_practice(db_path).close()


def test_spilled_temporary_files_are_encrypted(db: Database) -> None:
    with db.cursor() as cur:
        assert cur.execute("SELECT current_setting('temp_file_encryption')").fetchone() == (True,)
        assert cur.execute("SELECT current_setting('temp_directory')").fetchone() == (
            f"{db.path}.tmp",
        )


def test_the_practice_actor_is_a_supervisor() -> None:
    # The command line backs up as the practice (see analytics.practice.backups).
    assert PRACTICE.is_supervisor


def test_a_plain_file_opened_without_a_key_still_reads(db_path: Path) -> None:
    con = duckdb.connect(str(db_path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    plain = Database(db_path)
    assert not plain.encrypted and plain.query_value("SELECT x FROM t") == 1
    plain.close()
