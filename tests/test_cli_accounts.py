"""Issue 11 on the command line: `accounts ...` (acting for the practice, so that the first
administrator can be made without the web page) and --user on every command that shows a
couple, which then shows only what that person may see, directly and through the dashboard's
link."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from analytics.cli import server_link
from analytics.cli.main import main
from analytics.cli.signing import PASSWORD_ENV
from analytics.errors import CaseloadError
from analytics.practice import accounts
from analytics.practice.accounts import SIGN_IN_FAILED
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from tests import factories
from tests.cli_users import PASSWORD, password_env, user

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 30)
FIRST = "first admin password 7788"
NOT_YOURS = "There is no couple with that case code in your caseload."


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.StringIO(stdin))
            code = main(list(argv), today=TODAY, now=NOW)
    else:
        code = main(list(argv), today=TODAY, now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def _query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    db = open_practice(db_path)
    try:
        return db.query_rows(sql, params or [])
    finally:
        db.close()


def _can_sign_in(db_path: Path, username: str, password: str) -> bool:
    db = open_practice(db_path)
    try:
        accounts.authenticate(db, username, password, now=NOW)
    except CaseloadError:
        return False
    finally:
        db.close()
    return True


# --- accounts ----------------------------------------------------------------------------------


def test_the_first_administrator_of_an_empty_practice(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    db = ["--db", str(db_path)]
    code, out, err = run(
        capsys, "accounts", "create", "Boss", "--admin", "--password-stdin", *db, stdin=FIRST + "\n"
    )
    assert (code, out, err) == (0, "Created account boss (administrator).\n", "")
    assert _can_sign_in(db_path, "boss", FIRST)
    ((who, detail),) = _query(
        db_path, "SELECT therapist_id, detail FROM audit_log WHERE entity = 'account'"
    )
    assert who is None and json.loads(detail)["by"] is None  # the command line: no account

    code, out, err = run(
        capsys, "accounts", "create", "ann", "--name", "Ann Lee", "--password-stdin", *db,
        stdin="a therapist's long secret\n",
    )  # fmt: skip
    assert (code, out, err) == (0, "Created account ann (therapist).\n", "")
    add = ["accounts", "create", "sam", "--therapist", "Sam Old", "--role", "supervisor"]
    db_ = open_practice(db_path)
    add_therapist(db_, "Sam Old")
    db_.close()
    assert run(capsys, *add, "--password-stdin", *db, stdin="supervising long secret 1\n")[0] == 0

    code, out, err = run(capsys, "accounts", "list", "--json", *db)
    listed = {a["username"]: a for a in json.loads(out)}
    assert code == 0 and set(listed) == {"boss", "ann", "sam"}
    assert (listed["ann"]["name"], listed["ann"]["roles"]) == ("Ann Lee", "therapist")
    assert (listed["sam"]["name"], listed["sam"]["roles"]) == ("Sam Old", "supervisor")
    assert listed["boss"]["roles"] == "administrator"
    assert all(a["state"] == "active" for a in listed.values())
    _, text, _ = run(capsys, "accounts", "list", *db)
    for shown in (out, text):  # no hash, no password, in either form
        assert "argon2" not in shown and "hash" not in shown and FIRST not in shown


@pytest.mark.parametrize(
    ("argv", "stdin", "reason"),
    [
        (["ann", "--name", "Ann"], "short\n", "at least 12 characters"),
        (["ann", "--name", "Ann"], "password123456\n", "too common"),
        (["ann", "--name", "Ann"], "", "No password on standard input"),
        (["ann"], "a long enough password\n", "needs a role"),
        (["ann", "--therapist", "Nobody"], "a long enough password\n", "no therapist"),
        (["x", "--admin"], "a long enough password\n", "A username has 2 to 40"),
    ],
)
def test_create_refuses_with_a_reason_and_never_the_password(
    capsys: pytest.CaptureFixture[str], db_path: Path, argv: list[str], stdin: str, reason: str
) -> None:
    code, out, err = run(
        capsys, "accounts", "create", *argv, "--password-stdin", "--db", str(db_path), stdin=stdin
    )
    assert (code, out) == (1, "") and reason in err
    assert not stdin.strip() or stdin.strip() not in err
    assert _query(db_path, "SELECT count(*) FROM accounts") == [(0,)]


def test_without_a_terminal_a_password_must_come_on_stdin(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    code, _, err = run(capsys, "accounts", "create", "boss", "--admin", "--db", str(db_path))
    assert code == 1 and "--password-stdin" in err


def test_reset_disable_and_enable(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    db = ["--db", str(db_path)]
    new = "a brand new password 42"
    run(capsys, "accounts", "create", "boss", "--admin", "--password-stdin", *db, stdin=FIRST)
    assert run(capsys, "accounts", "create", "ann", "--name", "Ann Lee", "--password-stdin", *db,
               stdin="a therapist's long secret\n")[0] == 0  # fmt: skip
    code, out, _ = run(capsys, "accounts", "reset-password", "ANN", "--password-stdin", *db,
                       stdin=new + "\n")  # fmt: skip
    assert code == 0 and "ann" in out and new not in out
    assert not _can_sign_in(db_path, "ann", "a therapist's long secret")
    assert _can_sign_in(db_path, "ann", new)

    assert run(capsys, "accounts", "disable", "ann", *db)[0] == 0
    db_ = open_practice(db_path)
    try:
        with pytest.raises(CaseloadError, match="disabled"):
            accounts.authenticate(db_, "ann", new, now=NOW)
    finally:
        db_.close()
    _, out, _ = run(capsys, "accounts", "list", "--json", *db)
    assert {a["username"]: a["state"] for a in json.loads(out)}["ann"] == "disabled"
    # Its history stays: the account and every audit row of it.
    actions = [a for (a,) in _query(db_path, "SELECT action FROM audit_log WHERE entity = 'account'"
                                    " ORDER BY id")]  # fmt: skip
    assert actions[-1] == "disable" and "reset password" in actions
    assert run(capsys, "accounts", "enable", "ann", *db)[0] == 0
    assert _can_sign_in(db_path, "ann", new)

    # The last administrator who can sign in stays; an unknown username is named as such.
    code, _, err = run(capsys, "accounts", "disable", "boss", *db)
    assert code == 1 and "last administrator" in err
    code, _, err = run(capsys, "accounts", "disable", "nobody", *db)
    assert code == 1 and "no account with that username" in err


# --- signed in ---------------------------------------------------------------------------------


@pytest.fixture
def two(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Two therapists with a couple each (A-1 Ann's, B-1 Bo's), a supervisor and an
    administrator-only account; the --user arguments of each."""
    db = open_practice(db_path)
    try:
        ann = add_therapist(db, "Ann Lee")
        bo = add_therapist(db, "Bo Ray")
        factories.couple(db, ann, "A-1")
        factories.couple(db, bo, "B-1")
        accounts.create_account(db, None, username="admin", password=PASSWORD, is_admin=True)
    finally:
        db.close()
    password_env(monkeypatch)
    return {
        "ann": user(db_path, "Ann Lee"),
        "bo": user(db_path, "Bo Ray"),
        "lead": user(db_path, "Lea Lead", role="supervisor"),
        "admin": ["--user", "admin"],
    }


def _codes(out: str) -> list[str]:
    return sorted(r["case_code"] for r in json.loads(out))


def test_a_therapist_sees_only_their_own_couples(
    capsys: pytest.CaptureFixture[str], db_path: Path, two: dict[str, list[str]], tmp_path: Path
) -> None:
    db = ["--db", str(db_path)]
    ann = two["ann"]
    code, out, err = run(capsys, "couples", "show", "B-1", *db, *ann)
    unknown = run(capsys, "couples", "show", "Z-9", *db, *ann)
    assert (code, out, err) == (1, "", f"error: {NOT_YOURS}\n") == unknown
    assert run(capsys, "agenda", "B-1", *db, *ann)[2] == f"error: {NOT_YOURS}\n"
    assert run(capsys, "couples", "show", "A-1", *db, *ann)[0] == 0

    assert _codes(run(capsys, "couples", "list", "--json", *db, *ann)[1]) == ["A-1"]
    assert _codes(run(capsys, "caseload", "--json", *db, *ann)[1]) == ["A-1"]
    assert _codes(run(capsys, "couples", "list", "--json", *db, *two["lead"])[1]) == ["A-1", "B-1"]
    out_file = tmp_path / "mine.csv"
    code, out, _ = run(capsys, "export", "caseload", "--out", str(out_file), *db, *ann)
    assert code == 0 and "1 couple(s)" in out
    exported = out_file.read_text("utf-8-sig")
    assert "A-1" in exported and "B-1" not in exported
    # A therapist adds to their own caseload only.
    add = ["couples", "add", "A-2", "--a", "P", "--b", "Q", *db, *ann]
    assert run(capsys, *add)[0] == 0
    code, _, err = run(capsys, *add[:-2], "--therapist", "Bo Ray", *ann)
    assert code == 1 and "Only a supervisor" in err

    # Each read and export is audited with the signed-in therapist's id.
    ann_id = _query(db_path, "SELECT id FROM therapists WHERE name = 'Ann Lee'")[0][0]
    rows = _query(
        db_path,
        "SELECT action, therapist_id FROM audit_log WHERE action IN ('view', 'export')",
    )
    assert sorted(rows) == [("export", ann_id), ("view", ann_id)]


def test_an_administrator_only_account_sees_no_couple(
    capsys: pytest.CaptureFixture[str], db_path: Path, two: dict[str, list[str]]
) -> None:
    db = ["--db", str(db_path)]
    admin = two["admin"]
    assert run(capsys, "couples", "list", "--json", *db, *admin)[:2] == (0, "[]\n")
    assert run(capsys, "caseload", "--json", *db, *admin)[:2] == (0, "[]\n")
    assert run(capsys, "couples", "show", "A-1", *db, *admin)[2] == f"error: {NOT_YOURS}\n"
    code, _, err = run(capsys, "settings", "set", "overdue_days", "30", *db, *admin)
    assert code == 1 and "Only a supervisor" in err


def test_a_wrong_password_is_refused_counted_and_audited(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    two: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not the password at all")
    for who in (two["ann"], ["--user", "nobody"]):  # the same words for an unknown username
        code, out, err = run(capsys, "couples", "list", "--json", "--db", str(db_path), *who)
        assert (code, json.loads(out)) == (1, {"error": SIGN_IN_FAILED, "hint": None})
        assert err == f"error: {SIGN_IN_FAILED}\n" and "not the password" not in out + err
    ((failed,),) = _query(db_path, "SELECT failed_attempts FROM accounts WHERE username = ?",
                          [two["ann"][1]])  # fmt: skip
    assert failed == 1
    logged = _query(db_path, "SELECT count(*) FROM audit_log WHERE action = 'sign-in failed'")
    assert logged == [(2,)]


@pytest.mark.parametrize(
    "argv",
    [
        ["couples", "list"],
        ["couples", "show", "A-1"],
        ["caseload"],
        ["agenda", "A-1"],
        ["export", "caseload", "--out", "x.csv"],
        ["report", "A-1", "--out", "x.pdf"],
        ["import", "x.csv"],
        ["settings", "set", "overdue_days", "30"],
    ],
)
def test_without_user_clinical_commands_are_refused_with_a_hint(
    capsys: pytest.CaptureFixture[str], db_path: Path, argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv, "--db", str(db_path))
    assert (code, out) == (1, "") and "sign in first" in err and "--user USERNAME" in err
    assert not db_path.exists()  # refused before the database is even opened


def test_without_user_json_gets_the_refusal_as_an_object(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    code, out, _ = run(capsys, "caseload", "--json", "--db", str(db_path))
    refusal = json.loads(out)
    assert code == 1 and refusal["error"].endswith("sign in first.")
    assert "--user USERNAME" in refusal["hint"]


def test_no_password_and_no_terminal_is_refused(
    capsys: pytest.CaptureFixture[str], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    code, _, err = run(capsys, "caseload", "--user", "ann", "--db", str(db_path))
    assert code == 1 and PASSWORD_ENV in err


def test_operator_commands_need_no_user(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    for argv in (["info"], ["therapists", "list"], ["settings", "list"], ["audit", "verify"]):
        assert run(capsys, *argv, "--db", str(db_path))[0] == 0, argv
    with pytest.raises(SystemExit):  # --user is only for commands that show couples
        main(["info", "--user", "ann", "--db", str(db_path)], today=TODAY, now=NOW)


def test_the_link_answers_couples_list_as_the_signed_in_person(
    db_path: Path, two: dict[str, list[str]]
) -> None:
    db = open_practice(db_path)
    try:

        def ask(username: str, password: str) -> dict[str, Any]:
            request = {
                "command": "couples list",
                "options": {"json": True, "user": username, "password": password},
                "today": TODAY.isoformat(),
                "now": NOW.isoformat(),
            }
            return server_link.run_command(db, json.dumps(request).encode())

        assert _codes(ask(two["ann"][1], PASSWORD)["stdout"]) == ["A-1"]
        assert _codes(ask(two["bo"][1], PASSWORD)["stdout"]) == ["B-1"]
        assert _codes(ask(two["lead"][1], PASSWORD)["stdout"]) == ["A-1", "B-1"]
        assert ask("admin", PASSWORD)["stdout"] == "[]\n"
        refused = ask(two["ann"][1], "a wrong password here")
        assert refused == {"code": 1, "stdout": "", "error": SIGN_IN_FAILED, "hint": None}
        assert "wrong password" not in json.dumps(refused)
        failed = db.query_value(
            "SELECT failed_attempts FROM accounts WHERE username = ?", [two["ann"][1]]
        )
        assert failed == 1
    finally:
        db.close()
