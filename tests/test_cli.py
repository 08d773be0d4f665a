"""The command-line interface: subcommands, --json output and exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from analytics.cli.main import main

ROOT = Path(__file__).parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def as_json(out: str) -> Any:
    return json.loads(out)


def test_help_lists_every_subcommand() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for command in ("demo", "info", "therapists", "couples", "instruments", "import"):
        assert command in done.stdout


def test_therapists_and_couples(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    db = str(db_path)
    assert run(capsys, "therapists", "add", "Dr Example", "--db", db)[0] == 0
    assert run(capsys, "therapists", "add", "Sam Lead", "--supervisor", "--db", db)[0] == 0
    code, out, _ = run(capsys, "therapists", "list", "--json", "--db", db)
    assert code == 0
    assert {(t["name"], t["role"]) for t in as_json(out)} == {
        ("Dr Example", "therapist"),
        ("Sam Lead", "supervisor"),
    }

    code, out, _ = run(
        capsys,
        "couples",
        "add",
        "c-1",
        "--therapist",
        "Dr Example",
        "--a",
        "Ada Example <ADA@example.org>",
        "--b",
        "Ben Example <ben@example.org>",
        "--db",
        db,
    )
    assert code == 0 and "C-1" in out
    code, out, _ = run(capsys, "couples", "list", "--json", "--db", db)
    (couple,) = as_json(out)
    assert (
        couple["case_code"],
        couple["partner_a"],
        couple["email_a"],
        couple["client_code_a"],
        couple["partner_b"],
        couple["client_code_b"],
    ) == ("C-1", "Ada Example", "ada@example.org", "C-1A", "Ben Example", "C-1B")


@pytest.mark.parametrize(
    "argv",
    [
        ["therapists", "add", "  "],
        ["couples", "add", "C-1", "--therapist", "Nobody", "--a", "A <a@example.org>", "--b", "B"],
        ["couples", "add", "C-1", "--therapist", "Dr Example", "--a", "A <bad>", "--b", "B"],
        ["demo"],  # the practice already has couples
    ],
)
def test_refused_input_exits_1_with_a_reason(
    capsys: pytest.CaptureFixture[str], db_path: Path, argv: list[str]
) -> None:
    db = str(db_path)
    run(capsys, "therapists", "add", "Dr Example", "--db", db)
    run(
        capsys,
        "couples",
        "add",
        "X-1",
        "--therapist",
        "Dr Example",
        "--a",
        "P",
        "--b",
        "Q",
        "--db",
        db,
    )
    code, _, err = run(capsys, *argv, "--db", db)
    assert code == 1
    assert err.startswith("error: ") and len(err) > 12


@pytest.mark.parametrize(
    "argv",
    [["nonsense"], ["couples"], ["couples", "add"], ["demo", "--couples", "0"], ["info", "--x"]],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert run(capsys, *argv)[0] == 2


def test_info_reports_path_version_and_counts(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    assert run(capsys, "demo", "--db", str(db_path), "--as-of", "2026-06-01")[0] == 0
    code, out, _ = run(capsys, "info", "--json", "--db", str(db_path))
    info = as_json(out)
    assert code == 0 and info["database"] == str(db_path.resolve())
    assert info["schema_version"] >= 1
    assert info["rows"]["couples"] == 13 and info["rows"]["answers"] > 0


def test_instruments_list_json(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, _ = run(capsys, "instruments", "list", "--json", "--db", str(db_path))
    assert code == 0
    (checkin,) = as_json(out)
    assert checkin["code"] == "checkin"
    sat1 = next(i for i in checkin["items"] if i["code"] == "SAT1")
    assert sat1["construct"] == "global" and sat1["range"] == [0, 6]
    assert sat1["labels"][0] == "Strongly disagree" and sat1["wording"]
    constructs = {c["code"] for c in checkin["constructs"]}
    assert {
        "consistency",
        "transparency",
        "accountability",
        "boundaries",
        "vulnerability",
        "fear_of_vulnerability",
        "past_hurt",
        "communication_gaps",
        "stressors",
        "intimacy",
        "rituals",
        "global",
        "safety",
    } <= constructs
