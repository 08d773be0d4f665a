"""Backups and restores: a backup restores to the same content table by table (the audit chain
included), is encrypted with the database's key, owner-only, checked by its .sha256; a damaged
backup, a wrong key, an existing or held target are refused; while the dashboard holds the file
the command line's `backup` is made by the dashboard."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from analytics.cli import server_link
from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import audit, backups
from analytics.practice.access import Actor
from analytics.practice.opening import open_practice
from analytics.store import backup, keys
from analytics.store.db import Database
from tests import factories
from tests.test_cli_lock import DASHBOARD, HOLD, hold, linux_only

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 30)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _content(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the schema, its rows ordered by all columns."""
    tables = [
        str(r[0])
        for r in db.query_rows(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            " ORDER BY table_name"
        )
    ]
    return {t: db.query_rows(f'SELECT * FROM "{t}" ORDER BY ALL') for t in tables}


def _fill(db: Database, therapist: Actor) -> None:
    for code in ("B-1", "B-2"):
        cid = factories.couple(db, therapist, code)
        factories.checkin(db, cid, "A", dt.datetime(2026, 3, 2, 9), 3)
        factories.checkin(db, cid, "B", dt.datetime(2026, 3, 9, 9), 5)
    audit.record_view(db, therapist, cid, "couple")


def _copy_key(db_path: Path, target: Path) -> None:
    """The practice's key file beside another database path (as on a new machine)."""
    key = db_path.with_suffix(".key")
    keys.write_key_file(target.with_suffix(".key"), key.read_text().strip())


def test_a_backup_restores_to_the_same_content(
    db: Database, db_path: Path, therapist: Actor, tmp_path: Path
) -> None:
    _fill(db, therapist)
    out = tmp_path / "backups" / "b.duckdb"
    made = backup.back_up(db, out)
    assert made.path == out and made.tables["couples"] == 2
    assert _mode(out) == _mode(backup.checksum_path(out)) == 0o600
    assert backup.checksum_path(out).read_text() == f"{made.sha256}  b.duckdb\n"
    assert b"B-1 Alpha" not in out.read_bytes()

    target = tmp_path / "restored" / "practice.duckdb"
    _copy_key(db_path, target)
    assert backup.restore(out, target, key=keys.find_key(target).value) is None  # type: ignore[union-attr]
    restored = open_practice(target)
    try:
        assert _content(restored) == _content(db)
        check = audit.verify(restored)
        assert check.intact and check.entries == audit.verify(db).entries
        # Both go on with the same next ids.
        assert factories.couple(restored, therapist, "B-3") == factories.couple(
            db, therapist, "B-3"
        )
    finally:
        restored.close()


def test_the_backup_command_is_audited_and_restore_checks_the_chain(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    db_path: Path,
    therapist: Actor,
    tmp_path: Path,
) -> None:
    _fill(db, therapist)
    db.close()
    out = tmp_path / "b.duckdb"
    assert (
        main(["backup", "--out", str(out), "--db", str(db_path), "--json"], today=TODAY, now=NOW)
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["backup"] == str(out) and shown["sha256"] == backup.sha256_file(out)
    again = factories.database(db_path)
    assert again.query_rows(
        "SELECT therapist_id, action, entity, detail FROM audit_log WHERE action = 'backup'"
    ) == [(None, "backup", "database", json.dumps({"tables": shown["tables"]}))]
    again.close()

    code = main(["backup", "--out", str(out), "--db", str(db_path)], today=TODAY, now=NOW)
    assert code == 1 and "exists already" in capsys.readouterr().err

    code = main(["restore", "--from", str(out), "--db", str(db_path)], today=TODAY, now=NOW)
    assert code == 1 and "--force" in capsys.readouterr().err
    code = main(
        ["restore", "--from", str(out), "--db", str(db_path), "--force"], today=TODAY, now=NOW
    )
    assert code == 0, capsys.readouterr()
    kept = db_path.with_name(db_path.name + ".before-restore")
    assert _mode(kept) == _mode(db_path) == 0o600
    restored = open_practice(db_path)
    try:
        assert audit.verify(restored).intact
        actions = [r[0] for r in restored.query_rows("SELECT action FROM audit_log ORDER BY id")]
        assert actions[-1] == "restore" and "backup" not in actions  # made before its own entry
        assert restored.query_value("SELECT count(*) FROM couples") == 2
    finally:
        restored.close()


def test_a_tampered_or_unchecked_backup_is_refused(
    db: Database, db_path: Path, therapist: Actor, tmp_path: Path
) -> None:
    _fill(db, therapist)
    out = tmp_path / "b.duckdb"
    backup.back_up(db, out)
    target = tmp_path / "r" / "p.duckdb"
    _copy_key(db_path, target)
    key = db_path.with_suffix(".key").read_text().strip()
    content = bytearray(out.read_bytes())
    content[len(content) // 2] ^= 0x01
    out.write_bytes(bytes(content))
    with pytest.raises(CaseloadError, match="does not match its checksum"):
        backup.restore(out, target, key=key)
    backup.checksum_path(out).unlink()
    with pytest.raises(CaseloadError, match="checksum file"):
        backup.restore(out, target, key=key)
    assert not target.exists()


def test_restore_with_the_wrong_key_is_refused(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    therapist: Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fill(db, therapist)
    out = tmp_path / "b.duckdb"
    backup.back_up(db, out)
    target = tmp_path / "r" / "p.duckdb"
    monkeypatch.setenv(keys.KEY_ENV_VAR, "not the practice's key")
    code = main(["restore", "--from", str(out), "--db", str(target)], today=TODAY, now=NOW)
    assert code == 1
    assert "The key does not open this backup" in capsys.readouterr().err
    assert not target.exists()


def test_back_up_now_is_for_supervisors_and_names_the_file_by_time(
    db: Database, therapist: Actor, supervisor: Actor
) -> None:
    with pytest.raises(CaseloadError, match="Only a supervisor"):
        backups.back_up_now(db, therapist, NOW)
    made = backups.back_up_now(db, supervisor, NOW)
    assert made.path == db.path.resolve().parent / "backups" / "caseload-20261120T123000Z.duckdb"
    assert backup.verify_checksum(made.path) == made.sha256
    assert (
        db.query_value("SELECT therapist_id FROM audit_log WHERE action = 'backup'")
        == supervisor.id
    )


@pytest.fixture
def practice(db: Database, therapist: Actor) -> Path:
    """A small practice on disk, closed again so that a holder can take it."""
    _fill(db, therapist)
    db.close()
    return db.path


@linux_only
def test_backup_through_the_dashboard_while_it_holds_the_file(
    capsys: pytest.CaptureFixture[str], practice: Path, tmp_path: Path
) -> None:
    if len(os.fsencode(server_link.socket_path(practice))) > 107:
        pytest.skip("the temporary folder's path is too long for a Unix socket")
    out = tmp_path / "made-by-the-dashboard.duckdb"
    with hold(DASHBOARD, practice):
        code = main(["backup", "--out", str(out), "--db", str(practice)], today=TODAY, now=NOW)
        shown = capsys.readouterr()
        assert code == 0, shown
        assert f"sha256 {backup.sha256_file(out)}" in shown.out
        assert _mode(out) == _mode(backup.checksum_path(out)) == 0o600
        # An existing file is never written over, not even the database itself.
        code = main(["backup", "--out", str(practice), "--db", str(practice)], today=TODAY, now=NOW)
        assert code == 2 and "to a new file" in capsys.readouterr().err
        # Restoring needs the dashboard stopped.
        code = main(
            ["restore", "--from", str(out), "--db", str(practice), "--force"], today=TODAY, now=NOW
        )
        assert code == 3 and "Stop the dashboard" in capsys.readouterr().err
    assert backup.verify_checksum(out)
    target = tmp_path / "r" / "p.duckdb"
    _copy_key(practice, target)
    assert main(["restore", "--from", str(out), "--db", str(target)], today=TODAY, now=NOW) == 0
    restored = open_practice(target)
    try:
        assert restored.query_value("SELECT count(*) FROM couples") == 2
        assert restored.query_value("SELECT count(*) FROM audit_log WHERE action = 'backup'") == 0
    finally:
        restored.close()
    held = open_practice(practice)
    try:  # the dashboard audited the backup it made
        assert held.query_value("SELECT count(*) FROM audit_log WHERE action = 'backup'") == 1
    finally:
        held.close()


def test_the_link_refuses_a_relative_or_existing_backup_file(db: Database, tmp_path: Path) -> None:
    def ask(out: object) -> dict[str, object]:
        request = {
            "command": "backup",
            "options": {"backup_out": out},
            "today": TODAY.isoformat(),
            "now": NOW.isoformat(),
        }
        return server_link.run_command(db, json.dumps(request).encode())

    for bad in ("relative.duckdb", str(db.path), 7, str(tmp_path / "x\x00y")):
        answer = ask(bad)
        assert answer["code"] == 2 and "to a new file" in str(answer["error"]), bad
    good = tmp_path / "linked.duckdb"
    answer = ask(str(good))
    assert answer["code"] == 0 and good.exists() and answer["error"] is None


def test_a_held_target_is_not_restored(
    capsys: pytest.CaptureFixture[str], practice: Path, tmp_path: Path
) -> None:
    db = factories.database(practice)
    out = tmp_path / "b.duckdb"
    backup.back_up(db, out)
    db.close()
    with hold(HOLD, practice):
        code = main(
            ["restore", "--from", str(out), "--db", str(practice), "--force"], today=TODAY, now=NOW
        )
        assert code == 3 and "Stop the dashboard" in capsys.readouterr().err


@pytest.mark.usefixtures("app_env")
def test_the_settings_page_backs_up_for_a_supervisor(
    db: Database, supervisor: Actor, therapist: Actor
) -> None:
    from tests.test_pages import open_app, rerun

    page = "pages/settings.py"
    assert not [b for b in open_app(therapist, page).button if b.label == "Back up now"]
    at = open_app(supervisor, page)
    rerun(next(b for b in at.button if b.label == "Back up now").click())
    assert not at.exception and not at.error
    (made,) = (db.path.resolve().parent / "backups").glob("caseload-*.duckdb")
    name, checksum = at.code[0].value.splitlines()
    assert name == made.name and checksum == f"sha256 {backup.sha256_file(made)}"
    assert backup.verify_checksum(made)
    assert db.query_value("SELECT therapist_id FROM audit_log WHERE action = 'backup'") == (
        supervisor.id
    )
