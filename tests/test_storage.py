"""Storage: opening a practice, cursors, transactions, error translation, file locations.
(Migrations and the upgrade from release 1: test_migrations.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from analytics.errors import CaseloadError
from analytics.practice.opening import open_practice
from analytics.store import migrate
from analytics.store.db import Database
from analytics.store.paths import (
    DEFAULT_INSTRUMENTS,
    DEFAULT_PATH,
    ENV_VAR,
    INSTRUMENTS_ENV_VAR,
    resolve_instruments_folder,
    resolve_path,
)
from tests import factories

pytestmark = pytest.mark.both_backends


def test_fresh_database_gets_every_migration(db_path: Path) -> None:
    db = open_practice(db_path)
    latest = max(m.version for m in migrate.available())
    assert migrate.schema_version(db) == latest
    tables = {r[0] for r in db.query_rows("SELECT table_name FROM information_schema.tables")}
    assert {
        "couples",
        "partners",
        "responses",
        "answers",
        "audit_log",
        "import_batches",
        "repair_cases",
        "repair_events",
        "agenda_items",
        "unmatched_responses",
        "instruments",
        "items",
        "scales",
        "scale_items",
        "scale_bands",
        "text_answers",
        "response_scores",
        "response_safety",
        "safety_reviews",
        "practice_settings",
    } <= tables
    assert "constructs" not in tables  # release 1's, folded into scales by migration 002
    # The built-in instruments are synced: one current version of each.
    current = db.query_rows(
        "SELECT code, version, origin FROM instruments WHERE is_current ORDER BY code"
    )
    assert current == [
        ("checkin", "2.0", "builtin"),
        ("csi16", "1.0", "builtin"),
        ("csi4", "1.0", "builtin"),
    ]
    db.close()


def test_migrating_twice_changes_nothing(db_path: Path) -> None:
    db = open_practice(db_path)
    recorded = db.query_rows("SELECT version, name, applied_at FROM schema_migrations")
    items = db.query_value("SELECT count(*) FROM items")
    db.close()
    again = open_practice(db_path)
    assert migrate.apply_migrations(again) == []
    assert again.query_rows("SELECT version, name, applied_at FROM schema_migrations") == recorded
    assert again.query_value("SELECT count(*) FROM items") == items
    again.close()


def test_instrument_ids_stay_stable_across_restarts(db_path: Path) -> None:
    db = open_practice(db_path)
    before = db.query_rows("SELECT id, code FROM items ORDER BY id")
    db.close()
    db = open_practice(db_path)
    assert db.query_rows("SELECT id, code FROM items ORDER BY id") == before
    db.close()


def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as cur:
        cur.execute("INSERT INTO therapists (name) VALUES ('Someone')")
        raise RuntimeError("boom")
    assert db.query_value("SELECT count(*) FROM therapists") == 0


def test_duckdb_errors_become_readable_without_values(db: Database) -> None:
    db.execute("INSERT INTO therapists (name) VALUES (?)", ["Secret Name"])
    with pytest.raises(CaseloadError) as info:
        db.execute("INSERT INTO therapists (name) VALUES (?)", ["Secret Name"])
    assert "already in use" in str(info.value)
    assert "Secret" not in str(info.value)


@pytest.mark.duckdb_only
def test_second_writer_process_gets_a_clear_message(db: Database, db_path: Path) -> None:
    # DuckDB allows one writer process per file; another process sees a lock error.
    import subprocess
    import sys

    code = (
        "import sys\nfrom analytics.store.db import Database\n"
        "from analytics.errors import DatabaseBusy\n"
        f"try:\n    Database({str(db_path)!r}).query_value('SELECT 1')\n"
        "except DatabaseBusy as e:\n    print(e.message); sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        check=False,
    )
    assert done.returncode == 3  # a DatabaseBusy, the CaseloadError the CLI exits 3 for
    assert "in use by another program" in done.stdout
    assert "PID" not in done.stdout  # DuckDB's own text names the holder's process


def test_close_runs_the_close_callbacks_once_first(db: Database) -> None:
    seen: list[int] = []
    db.on_close(lambda: seen.append(db.query_value("SELECT 1")))  # the connection still works
    db.close()
    db.close()
    assert seen == [1]


def test_cursors_work_from_several_threads(db: Database) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(20):
                assert db.query_value("SELECT ?::INTEGER", [n]) == n
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_path_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_path() == DEFAULT_PATH == Path("data/caseload.duckdb")
    monkeypatch.setenv(ENV_VAR, "/tmp/from-env.duckdb")
    assert resolve_path() == Path("/tmp/from-env.duckdb")
    assert resolve_path("/tmp/explicit.duckdb") == Path("/tmp/explicit.duckdb")


def test_instruments_folder_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INSTRUMENTS_ENV_VAR, raising=False)
    assert resolve_instruments_folder() == DEFAULT_INSTRUMENTS == Path("data/instruments")
    monkeypatch.setenv(INSTRUMENTS_ENV_VAR, "/tmp/from-env")
    assert resolve_instruments_folder() == Path("/tmp/from-env")
    assert resolve_instruments_folder("/tmp/explicit") == Path("/tmp/explicit")


def test_default_path_is_gitignored() -> None:
    ignore = (Path(__file__).parents[1] / ".gitignore").read_text()
    assert "data/*.duckdb" in ignore


def test_bound_parameters_keep_sql_out_of_values(db: Database) -> None:
    name = "x'); DROP TABLE couples; --"
    db.execute("INSERT INTO therapists (name) VALUES (?)", [name])
    assert db.query_value("SELECT name FROM therapists") == name
    assert db.query_value("SELECT count(*) FROM couples") == 0


def test_read_only_database_refuses_writes(db_path: Path) -> None:
    open_practice(db_path).close()
    ro = factories.database(db_path, read_only=True)
    with pytest.raises(CaseloadError):
        ro.execute("INSERT INTO therapists (name) VALUES ('x')")
    ro.close()
