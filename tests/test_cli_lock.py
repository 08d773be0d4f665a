"""The command line while another process holds the database file (issue 7, point 8).

DuckDB lets one process open a file for writing, and no other process may open it meanwhile.
A command refused that way exits 3 with a clear message (and, with --json, {"error": ...} on
stdout); `info` and `couples list` are answered by the running dashboard through its link.
The lock holders here are real second processes; the commands run in this process through
`main()` (a different process from the holder, which is what matters), and once each through
`python -m analytics` for the real entry point. `couples list` signs in (--user, the password
from $CASELOAD_PASSWORD), through the link too.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from analytics.cli import practice_cmd, server_link
from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import accounts
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests.cli_users import PASSWORD, password_env, user

ROOT = Path(__file__).parents[1]
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 30)
BUSY_TEXT = "in use by another program"

# A bare writer: another command, or a dashboard without its link.
HOLD = (
    "import sys\n"
    "from tests import factories\n"
    "db = factories.database(sys.argv[1])\n"
    "db.query_value('SELECT 1')\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)
# The dashboard: it opens the practice and serves the link, as ui.database() does.
DASHBOARD = (
    "import sys\n"
    "from analytics.cli import server_link\n"
    "from analytics.practice.opening import open_practice\n"
    "db = open_practice(sys.argv[1])\n"
    "link = server_link.serve(db)\n"
    "print('ready' if link else 'no link', flush=True)\n"
    "sys.stdin.read()\n"
    "db.close()\n"
)

linux_only = pytest.mark.skipif(
    getattr(socket, "SO_PEERCRED", None) is None, reason="the link needs SO_PEERCRED (Linux)"
)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    password_env(monkeypatch)  # the subprocesses inherit it too


# The --user arguments of each practice's therapist (made before any holder takes the file).
_USER: dict[str, list[str]] = {}


def signed_in(path: Path) -> list[str]:
    return _USER[str(path)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), today=TODAY, now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analytics", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@contextmanager
def hold(script: str, path: Path) -> Iterator[subprocess.Popen[str]]:
    """Run a holder process for the `with` block (closing its stdin lets it finish)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def practice(db_path: Path) -> Path:
    """A small practice on disk (one couple), closed again so that a holder can take it."""
    db = open_practice(db_path)
    therapist = add_therapist(db, "Dr Example")
    add_couple(
        db,
        therapist,
        "C-1",
        PartnerInput("Ada Example", "ada@example.org"),
        PartnerInput("Ben Example", "ben@example.org"),
        start_date=dt.date(2026, 3, 2),
    )
    db.close()
    _USER[str(db_path)] = user(db_path, "Dr Example")
    return db_path


@pytest.fixture
def held(practice: Path) -> Iterator[Path]:
    """The practice, held open for writing by another process without a link."""
    with hold(HOLD, practice):
        yield practice


def test_a_held_file_exits_3_with_a_message(held: Path) -> None:
    done = cli(
        "couples", "add", "C-2", "--therapist", "Dr Example", "--a", "P", "--b", "Q",
        "--db", str(held), *signed_in(held),
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.startswith("error: ") and BUSY_TEXT in done.stderr
    assert "PID" not in done.stderr and sys.executable not in done.stderr  # DuckDB's own words
    assert done.stdout == ""


# Refused commands with --json; the last two are read-only, but nobody answers for this holder.
JSON_COMMANDS = [
    ["caseload", "--json"],
    ["settings", "list", "--json"],
    ["couples", "show", "C-1", "--json"],
    ["info", "--json"],
    ["couples", "list", "--json"],
]


def test_a_held_file_with_json_prints_an_error_object(
    capsys: pytest.CaptureFixture[str], held: Path
) -> None:
    for argv in JSON_COMMANDS:
        if argv[0] in ("caseload", "couples"):
            argv = [*argv, *signed_in(held)]
        code, out, err = run(capsys, *argv, "--db", str(held))
        assert code == 3, argv
        refusal = json.loads(out)
        assert set(refusal) == {"error", "hint"} and BUSY_TEXT in refusal["error"]
        assert refusal["hint"]
        assert err.startswith("error: ") and BUSY_TEXT in err


@linux_only
def test_read_only_commands_are_answered_by_the_dashboard(
    capsys: pytest.CaptureFixture[str], practice: Path
) -> None:
    if len(os.fsencode(server_link.socket_path(practice))) > 107:
        pytest.skip("the temporary folder's path is too long for a Unix socket")
    me = signed_in(practice)
    commands = [
        ["info"],
        ["info", "--json"],
        ["couples", "list", *me],
        ["couples", "list", "--json", *me],
    ]
    direct = {tuple(argv): run(capsys, *argv, "--db", str(practice)) for argv in commands}
    assert all(code == 0 and out for code, out, _ in direct.values())

    with hold(DASHBOARD, practice):
        for argv in commands:
            assert run(capsys, *argv, "--db", str(practice)) == direct[tuple(argv)], argv
        # The real entry point, once: the same bytes on stdout.
        done = cli("couples", "list", "--json", "--db", str(practice), *me)
        assert (done.returncode, done.stdout) == (0, direct[("couples", "list", "--json", *me)][1])
        assert json.loads(done.stdout)[0]["case_code"] == "C-1"
        # Anything else is still refused while the dashboard holds the file.
        code, out, _ = run(capsys, "caseload", "--json", "--db", str(practice), *me)
        assert code == 3 and BUSY_TEXT in json.loads(out)["error"]
        code, _, err = run(capsys, "therapists", "add", "Someone", "--db", str(practice))
        assert code == 3 and BUSY_TEXT in err

    # The dashboard closed its database: the link is gone with it.
    assert not server_link.socket_path(practice).exists()
    assert run(capsys, "info", "--db", str(practice)) == direct[("info",)]


# --- the link itself, in this process ----------------------------------------------------------


def _raw(path: Path, payload: bytes) -> dict[str, object]:
    """Send raw bytes to a link and read its JSON answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(path))
        conn.sendall(payload)
        raw = b""
        while chunk := conn.recv(65536):
            raw += chunk
    answer: dict[str, object] = json.loads(raw)
    return answer


@pytest.fixture
def link(db: Database) -> Iterator[server_link.Link]:
    if len(os.fsencode(server_link.socket_path(db.path))) > 107:
        pytest.skip("the temporary folder's path is too long for a Unix socket")
    served = server_link.serve(db)
    if served is None:
        pytest.skip("no link on this system (it needs Unix sockets and SO_PEERCRED)")
    yield served
    served.close()


def test_the_link_socket_is_the_owners_only(link: server_link.Link, db: Database) -> None:
    assert link.path == server_link.socket_path(db.path)
    assert link.path.name == db.path.name + ".sock" and link.path.parent == db.path.resolve().parent
    assert stat.S_IMODE(os.stat(link.path).st_mode) == 0o600


def _account(db: Database) -> dict[str, object]:
    """The sign-in options of a new therapist's account in `db`."""
    accounts.create_account(
        db,
        None,
        username="linktest",
        password=PASSWORD,
        name="Link Test",
        clinical_role="therapist",
    )
    return {"user": "linktest", "password": PASSWORD}


def test_the_link_answers_only_its_allowlist(link: server_link.Link, db: Database) -> None:
    day, moment = TODAY.isoformat(), NOW.isoformat()
    me = _account(db)
    good = {"command": "couples list", "options": {"json": True, **me}, "today": day, "now": moment}
    answer = _raw(link.path, json.dumps(good).encode() + b"\n")
    assert answer["code"] == 0 and answer["error"] is None
    assert json.loads(str(answer["stdout"])) == []
    refused = [
        {**good, "command": "couples add"},
        {**good, "command": "caseload"},
        {**good, "options": {"json": True, "therapist": "x", **me}},
        {**good, "options": {"json": "yes", **me}},
        {**good, "options": {"json": True}},  # couples list only signed in
        {**good, "options": {"json": True, "user": "linktest"}},
        {**good, "command": "info"},  # info takes no credentials
        {**good, "options": {"json": True, **me, "user": 7}},
        {**good, "options": {"json": True, **me, "user": "x" * 41}},
        {**good, "options": {"json": True, **me, "password": "p" * 257}},
        {**good, "now": "2026-11-20T12:30:00+05:00"},
        {**good, "today": "someday"},
        {**good, "extra": 1},
        ["info"],
    ]
    for request in refused:
        answer = _raw(link.path, json.dumps(request).encode() + b"\n")
        assert (answer["code"], answer["stdout"]) == (2, ""), request
    assert _raw(link.path, b"not json\n")["code"] == 2
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(link.path))
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            conn.sendall(b"x" * 10_000)  # too long for a request: dropped unanswered
            assert conn.recv(100) == b""
    assert _raw(link.path, json.dumps(good).encode() + b"\n")["code"] == 0  # still answering
    assert db.query_value("SELECT count(*) FROM couples") == 0


def test_the_link_runs_the_handler_with_the_callers_clock(
    monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    def clock(args: argparse.Namespace, _db: Database) -> int:
        print(f"{args.today} {args.now} {args.json}", file=args.out)
        return 0

    def refuses(args: argparse.Namespace, _db: Database) -> int:
        print("partial", file=args.out)
        raise CaseloadError("No such thing.", hint="Try another.")

    def breaks(_args: argparse.Namespace, _db: Database) -> int:
        raise RuntimeError("a value from a row: Zebra-Quartz")

    me = _account(db)
    monkeypatch.setitem(practice_cmd.READ_ONLY, "info", clock)
    monkeypatch.setitem(practice_cmd.READ_ONLY, "couples list", refuses)
    request = {
        "command": "info",
        "options": {},
        "today": "2026-01-31",
        "now": "2026-02-01T03:04:05",
    }
    answer = server_link.run_command(db, json.dumps(request).encode())
    assert answer == {
        "code": 0,
        "stdout": "2026-01-31 2026-02-01 03:04:05 False\n",
        "error": None,
        "hint": None,
    }
    request |= {"command": "couples list", "options": me}
    answer = server_link.run_command(db, json.dumps(request).encode())
    assert answer == {
        "code": 1,
        "stdout": "partial\n",
        "error": "No such thing.",
        "hint": "Try another.",
    }
    monkeypatch.setitem(practice_cmd.READ_ONLY, "couples list", breaks)
    answer = server_link.run_command(db, json.dumps(request).encode())
    assert answer["code"] == 1 and "RuntimeError" in str(answer["error"])
    assert "Zebra" not in json.dumps(answer)  # a fault's message never leaves


def test_a_stale_socket_is_replaced_and_a_closed_database_ends_the_link(db: Database) -> None:
    path = server_link.socket_path(db.path)
    if len(os.fsencode(path)) > 107:
        pytest.skip("the temporary folder's path is too long for a Unix socket")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))  # what a killed dashboard leaves behind: a socket nobody listens on
    stale.close()
    assert server_link.ask(db.path, "info", {"json": True}, today=TODAY, now=NOW) is None
    served = server_link.serve(db)
    if served is None:
        pytest.skip("no link on this system (it needs Unix sockets and SO_PEERCRED)")
    answer = server_link.ask(db.path, "info", {"json": True}, today=TODAY, now=NOW)
    assert answer is not None and answer.code == 0
    assert json.loads(answer.stdout)["database"] == str(db.path.resolve())
    db.close()
    assert not path.exists()
    assert server_link.ask(db.path, "info", {"json": True}, today=TODAY, now=NOW) is None


def test_no_link_where_it_cannot_be_served(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100) / "practice.duckdb"
    assert server_link.serve(Database(deep)) is None  # too long for a socket path: skipped
    in_the_way = tmp_path / "p.duckdb.sock"
    in_the_way.write_text("not a socket")
    assert server_link.serve(Database(tmp_path / "p.duckdb")) is None
    assert in_the_way.read_text() == "not a socket"  # never removed
