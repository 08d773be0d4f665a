"""PostgreSQL mode (issue 12): the connection string, errors that name no password or value,
several servers on one practice, and moving a practice between a file and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.importing import service
from analytics.practice import audit, couples
from analytics.practice.access import Actor
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from analytics.store import postgres
from analytics.store.db import PostgresDatabase
from analytics.store.migrate import apply_migrations, schema_version
from tests import factories

ROOT = Path(__file__).parents[1]
NOW = dt.datetime(2026, 11, 20, 12, 0)
TODAY = dt.date(2026, 11, 20)


# --- the connection string (no server needed) -------------------------------------------------


def test_a_url_and_a_libpq_string_say_the_same() -> None:
    url = postgres.parse("postgresql://ann:s%40cret@db.example:6543/practice?sslmode=require")
    pairs = postgres.parse("host=db.example port=6543 dbname=practice user=ann password='s@cret'")
    assert url == pairs | {"sslmode": "require"}


def test_the_password_leaves_the_string_duckdb_sees() -> None:
    text, password = postgres.without_password("host=h dbname=p user=u password='it\\'s a secret'")
    assert "password" not in text and "secret" not in text
    assert password == "it's a secret"
    assert postgres.parse(text) == {"host": "h", "dbname": "p", "user": "u"}


def test_the_label_names_no_password() -> None:
    label = postgres.describe("postgresql://ann:hunter2hunter2@db:5432/practice")
    assert label == "postgresql://ann@db:5432/practice"


def test_a_garbled_string_is_refused_in_words() -> None:
    with pytest.raises(CaseloadError, match="not understood"):
        postgres.parse("host=h this is not libpq")


def test_an_unreachable_server_is_refused_without_the_password(tmp_path: Path) -> None:
    # Nothing listens on port 9 of the loopback: DuckDB's own message repeats the string.
    db = PostgresDatabase("host=127.0.0.1 port=9 dbname=x user=u password=Sup3r-Secret-pw")
    with pytest.raises(CaseloadError) as refused:
        db.query_value("SELECT 1")
    db.close()
    told = f"{refused.value.message} {refused.value.hint} {refused.value!r}"
    assert "could not be reached" in refused.value.message
    assert "Sup3r-Secret-pw" not in told
    # Not even the DuckDB error underneath (a traceback would show it) holds the password.
    assert "Sup3r-Secret-pw" not in repr(refused.value.__context__)
    assert refused.value.__cause__ is None


# --- a practice on PostgreSQL ----------------------------------------------------------------


@pytest.fixture
def pg_db(pg_dsn: str) -> Iterator[PostgresDatabase]:
    """A migrated PostgreSQL practice of the test's own."""
    db = open_practice(postgres=pg_dsn)
    assert isinstance(db, PostgresDatabase)
    yield db
    db.close()


def test_migrations_make_every_table_and_are_idempotent(pg_url: str) -> None:
    db = PostgresDatabase(pg_url)
    try:
        first = apply_migrations(db)
        assert first and schema_version(db) == first[-1]
        assert apply_migrations(db) == []
        # The macros live in this process's DuckDB and run over PostgreSQL's tables.
        assert (
            db.query_value("SELECT count(*) FROM couple_flags(TRUE, NULL, NULL, ?)", [TODAY]) == 0
        )
        assert db.query_value("SELECT current_database()") == "pg"
    finally:
        db.close()


def test_a_duplicate_key_names_the_field_and_never_the_value(pg_db: PostgresDatabase) -> None:
    add_therapist(pg_db, "Secret Name 42")
    with pytest.raises(CaseloadError) as refused:
        # Past the product's own check: what PostgreSQL itself says, translated.
        pg_db.execute("INSERT INTO therapists (name, role) VALUES ('Secret Name 42', 'therapist')")
    assert refused.value.message == "That name is already in use; nothing was changed."
    assert "Secret Name 42" not in repr(refused.value)


def _second_server(db: PostgresDatabase) -> PostgresDatabase:
    """What another dashboard server holds: its own connection to the same database."""
    other = PostgresDatabase(db.dsn)
    apply_migrations(other)  # every server creates the macros in its own process
    return other


def test_two_servers_see_each_others_writes_at_once(pg_db: PostgresDatabase) -> None:
    db = pg_db
    therapist = add_therapist(db, "Test Therapist")
    other = _second_server(db)
    try:
        assert other.query_value("SELECT count(*) FROM couples") == 0
        factories.couple(db, therapist, "D-100")
        # The next read (the next page load) of the other server sees it.
        assert other.query_value("SELECT case_code FROM couples") == "D-100"
        factories.couple(other, therapist, "D-101")
        assert sorted(couples.list_couples(db, therapist)["case_code"]) == ["D-100", "D-101"]
    finally:
        other.close()


def _import_in_process(dsn: str, actor: Actor, name: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """One server importing a file (run in its own process)."""
    db = open_practice(postgres=dsn)
    try:
        data = (ROOT / "data" / "samples" / name).read_bytes()
        preview = service.prepare(db, actor, name, data, now=NOW)
        result = service.commit_import(db, actor, preview)
        queue.put((result.accepted, result.duplicates, result.unmatched))
    except BaseException as exc:  # reported to the test
        queue.put(repr(exc))
    finally:
        db.close()


def test_two_servers_importing_the_same_file_store_each_response_once(
    pg_db: PostgresDatabase,
) -> None:
    db = pg_db
    supervisor = add_therapist(db, "Test Supervisor", role="supervisor")
    couples.add_couple(
        db,
        supervisor,
        "D-001",
        couples.PartnerInput("Ann", "d001.a@example.org"),
        couples.PartnerInput("Bo", "d001.b@example.org"),
        start_date=dt.date(2026, 1, 5),
    )
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    jobs = [
        context.Process(
            target=_import_in_process, args=(db.dsn, supervisor, "google_forms.csv", queue)
        )
        for _ in range(2)
    ]
    for job in jobs:
        job.start()
    results = [queue.get(timeout=120) for _ in jobs]
    for job in jobs:
        job.join(timeout=60)
    assert all(isinstance(r, tuple) for r in results), results
    accepted = [r[0] for r in results]
    stored = db.query_value("SELECT count(*) FROM responses")
    assert stored > 0 and sum(accepted) == stored
    assert db.query_value("SELECT count(DISTINCT natural_key) FROM responses") == stored
    assert sorted(accepted)[0] == 0  # the later one found every response stored already
    assert audit.verify(db).intact


def _append_in_process(dsn: str, actor_id: int, n: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    db = PostgresDatabase(dsn)
    try:
        apply_migrations(db)
        for i in range(n):
            db.atomic(
                lambda cur, i=i: audit.record(
                    cur, actor_id=actor_id, action="view", entity="test", entity_id=i
                )
            )
        queue.put("ok")
    except BaseException as exc:
        queue.put(repr(exc))
    finally:
        db.close()


def test_the_audit_chain_holds_when_two_servers_append(pg_db: PostgresDatabase) -> None:
    db = pg_db
    therapist = add_therapist(db, "Test Therapist")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    before = int(db.query_value("SELECT count(*) FROM audit_log"))
    jobs = [
        context.Process(target=_append_in_process, args=(db.dsn, therapist.id, 40, queue))
        for _ in range(2)
    ]
    for job in jobs:
        job.start()
    results = [queue.get(timeout=120) for _ in jobs]
    for job in jobs:
        job.join(timeout=60)
    assert results == ["ok", "ok"]
    assert db.query_value("SELECT count(*) FROM audit_log") == before + 80
    check = audit.verify(db)
    assert check.intact, check


# --- moving a practice -----------------------------------------------------------------------


def _cli(*args: str) -> int:
    return main(list(args), today=TODAY, now=NOW)


def test_a_practice_file_moves_to_postgres_and_back_unchanged(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "practice.duckdb"
    assert _cli("demo", "--db", str(source), "--couples", "6", "--weeks", "12") == 0
    capsys.readouterr()
    assert _cli("migrate-to-postgres", "--from", str(source), "--to", pg_url) == 0
    said = capsys.readouterr().out
    assert "every table matches" in said and "responses" in said

    copied = open_practice(postgres=pg_url)
    original = factories.database(source)
    try:
        for table in ("couples", "responses", "answers", "response_scores", "audit_log"):
            assert copied.query_value(f"SELECT count(*) FROM {table}") == original.query_value(
                f"SELECT count(*) FROM {table}"
            )
        flags = "SELECT * FROM couple_flags(TRUE, NULL, NULL, ?) ORDER BY ALL"
        assert copied.query_rows(flags, [TODAY]) == original.query_rows(flags, [TODAY])
        assert audit.verify(copied).intact
        # New rows continue after the copied ids.
        actor = add_therapist(copied, "New Colleague")
        assert actor.id > int(original.query_value("SELECT max(id) FROM therapists"))
    finally:
        original.close()
        copied.close()

    back = tmp_path / "back" / "copy.duckdb"
    assert _cli("migrate-to-duckdb", "--from", pg_url, "--to", str(back)) == 0
    said = capsys.readouterr().out
    assert "every table matches" in said and back.exists()
    assert back.with_name("copy.duckdb.sha256").exists()
    assert (back.stat().st_mode & 0o777) == 0o600
    reopened = open_practice(back)
    try:
        assert (
            reopened.query_value("SELECT count(*) FROM therapists WHERE name = 'New Colleague'")
            == 1
        )
        assert audit.verify(reopened).intact
    finally:
        reopened.close()


def test_migrate_to_postgres_refuses_a_database_that_holds_records(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "practice.duckdb"
    assert _cli("demo", "--db", str(source), "--couples", "2", "--weeks", "4") == 0
    assert _cli("migrate-to-postgres", "--from", str(source), "--to", pg_url) == 0
    capsys.readouterr()
    assert _cli("migrate-to-postgres", "--from", str(source), "--to", pg_url) != 0
    assert "already holds" in capsys.readouterr().err


def test_the_command_line_works_on_postgres(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(postgres.ENV_VAR, pg_dsn)
    assert _cli("info") == 0
    assert "couples" in capsys.readouterr().out


def test_a_change_on_another_server_moves_the_number_caches_are_keyed_on(
    pg_db: PostgresDatabase,
) -> None:
    therapist = add_therapist(pg_db, "Test Therapist")
    other = _second_server(pg_db)
    try:
        before = pg_db.data_version()
        factories.couple(other, therapist, "D-200")
        after = pg_db.data_version()
        assert after > before
        # A page view is an audit entry only: it leaves every cache alone.
        pg_db.atomic(lambda cur: audit.record(cur, actor_id=None, action="view", entity="couple"))
        assert pg_db.data_version() == after
        # A change that was rolled back may move it too (a needless reload, never a stale one).
        with pytest.raises(CaseloadError):
            factories.couple(other, therapist, "D-200")
        assert pg_db.query_value("SELECT count(*) FROM couples") == 1
    finally:
        other.close()


def test_the_number_moves_again_after_the_commit(pg_db: PostgresDatabase) -> None:
    # A server reading it while a change is open would cache what it saw before the commit;
    # the writer moves it once more after COMMIT, so that server reads again.
    seen: list[int] = []

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("INSERT INTO practice_text_settings (key, value) VALUES ('probe', 'x')")
        seen.append(pg_db.data_version())  # another cursor: what another server reads now

    pg_db.atomic(work)
    assert pg_db.data_version() > seen[0]


def test_a_focused_read_sees_its_couples_and_writes_still_reach_postgres(
    pg_db: PostgresDatabase,
) -> None:
    therapist = add_therapist(pg_db, "Test Therapist")
    first = factories.couple(pg_db, therapist, "F-001")
    second = factories.couple(pg_db, therapist, "F-002")
    for cid in (first, second):
        factories.checkin(pg_db, cid, "A", dt.datetime(2026, 2, 2, 9), 4)
    every = "SELECT DISTINCT couple_id FROM response_scores ORDER BY 1"
    assert [r[0] for r in pg_db.query_rows(every)] == [first, second]
    with pg_db.focus([first]):
        assert [r[0] for r in pg_db.query_rows(every)] == [first]
        # A write inside goes to PostgreSQL's own table, never to the copy.
        factories.checkin(pg_db, second, "B", dt.datetime(2026, 2, 3, 9), 2)
        assert [r[0] for r in pg_db.query_rows(every)] == [first]
    stored = "SELECT count(*) FROM response_scores WHERE couple_id = ?"
    assert pg_db.query_value(stored, [second]) > pg_db.query_value(stored, [first])
    with pg_db.focus(None):
        assert [r[0] for r in pg_db.query_rows(every)] == [first, second]
