"""The command-line interface: subcommands, --json output and exit codes 0/1/2 (3: see
test_cli_lock.py).

Every call passes a fixed `today` and `now`: the command line never reads the clock itself
(only analytics/__main__.py does). Commands that show couples sign in with --user (the password
from $CASELOAD_PASSWORD); tests/test_cli_accounts.py covers what each role may see.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from analytics.cli.main import main
from analytics.instruments import catalog
from analytics.practice.opening import open_practice
from analytics.store.db import Database
from analytics.store.migrate import available
from analytics.store.paths import ENV_VAR
from tests.cli_users import password_env, user

ROOT = Path(__file__).parents[1]
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 30)
# The demo practice (seed 7) as of TODAY: the couples flagged, and with which kinds of flag.
DEMO_FLAGS = {
    "D-003": ["no_improvement"],
    "D-004": ["gap", "no_improvement"],
    "D-005": ["deterioration"],
    "D-010": ["safety", "no_improvement"],
    "D-011": ["overdue"],
    "D-007": ["repair_stall"],
}
PARTNER_KEYS = {"name", "latest", "change", "category", "checkins", "trend"}
SCALE_KEYS = {
    "instrument",
    "scale",
    "label",
    "partner",
    "direction",
    "scores",
    "baseline",
    "baseline_at",
    "latest",
    "latest_at",
    "change",
    "reliable_change_index",
    "beyond_noise",
    "category",
    "smallest_reliable_change",
    "reliable_change_from",
    "reliable_change_source",
    "cutoff",
    "cutoff_from",
    "cutoff_source",
    "band",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv), today=TODAY, now=NOW)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def as_json(out: str) -> Any:
    return json.loads(out)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    password_env(monkeypatch)


_DEMO_USER: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo practice as of TODAY, built once for the read-only tests of this module."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    code = main(
        ["demo", "--db", str(path), "--instruments", str(path.parent / "none")],
        today=TODAY,
        now=NOW,
    )
    assert code == 0
    _DEMO_USER[str(path)] = user(path, "Morgan Demo")  # the supervisor: sees every couple
    return path


def demo_args(demo_path: Path) -> list[str]:
    """The demo database, signed in as its supervisor."""
    return ["--db", str(demo_path), *_DEMO_USER[str(demo_path)]]


# --- help and usage ----------------------------------------------------------------------------


def test_help_lists_every_subcommand() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for command in (
        "accounts",
        "demo",
        "info",
        "therapists",
        "couples",
        "caseload",
        "settings",
        "instruments",
        "import",
    ):
        assert f"\n    {command}" in done.stdout, command
    # The exit codes are documented where a person looks first.
    words = " ".join(done.stdout.split())
    assert "2 usage error; 3 the database file is held by another program" in words


def test_make_help_lists_every_target() -> None:
    # `make` with no target prints this help; every target a person may type is in it.
    makefile = (ROOT / "Makefile").read_text("utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M)
    assert phony is not None
    targets = set(phony.group(1).split()) - {"help"}
    assert {"run", "test", "lint", "bench", "demo"} <= targets
    done = subprocess.run(
        ["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("make ")}
    assert listed == targets
    assert "import-linter contracts" in done.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["nonsense"],
        ["couples"],
        ["couples", "add"],
        ["demo", "--couples", "0"],
        ["info", "--x"],
        ["caseload", "--status", "archived"],
        ["settings", "set", "no_such_setting", "3"],
        ["settings", "set", "overdue_days", "many"],
        ["instruments", "check"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert run(capsys, *argv)[0] == 2


# --- therapists and couples --------------------------------------------------------------------


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
    lead = user(db_path, "Sam Lead")

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
        *lead,
    )
    assert code == 0 and "C-1" in out
    code, _, _ = run(
        capsys,
        "couples",
        "add",
        "C-2",
        "--therapist",
        "Dr Example",
        "--a",
        "Cy",
        "--b",
        "Di",
        "--start",
        "2026-03-02",
        "--db",
        db,
        *lead,
    )
    assert code == 0
    code, out, _ = run(capsys, "couples", "list", "--json", "--db", db, *lead)
    first, second = as_json(out)
    assert (
        first["case_code"],
        first["partner_a"],
        first["email_a"],
        first["client_code_a"],
        first["partner_b"],
        first["client_code_b"],
    ) == ("C-1", "Ada Example", "ada@example.org", "C-1A", "Ben Example", "C-1B")
    # Without --start a couple starts on the `today` the command was given; never the clock's.
    assert first["start_date"].startswith(TODAY.isoformat())
    assert second["start_date"].startswith("2026-03-02")


@pytest.mark.parametrize(
    "argv",
    [
        ["therapists", "add", "  "],
        ["couples", "add", "C-1", "--therapist", "Nobody", "--a", "A <a@example.org>", "--b", "B"],
        ["couples", "add", "C-1", "--therapist", "Dr Example", "--a", "A <bad>", "--b", "B"],
        ["demo"],  # the practice already has couples
        ["couples", "show", "NOPE-1"],
        ["caseload", "--therapist", "Nobody"],
    ],
)
def test_refused_input_exits_1_with_a_reason(
    capsys: pytest.CaptureFixture[str], db_path: Path, argv: list[str]
) -> None:
    db = str(db_path)
    run(capsys, "therapists", "add", "Dr Example", "--db", db)
    signed_in = user(db_path, "Dr Example")
    code, _, _ = run(
        capsys, "couples", "add", "X-1", "--a", "P", "--b", "Q", "--db", db, *signed_in
    )
    assert code == 0
    if argv[0] in ("couples", "caseload"):
        argv = [*argv, *signed_in]
    code, out, err = run(capsys, *argv, "--db", db)
    assert code == 1
    assert err.startswith("error: ") and len(err) > 12
    assert out == ""


@pytest.mark.parametrize(
    ("argv", "not_a_database"),
    [
        (["couples", "show", "NOPE-1", "--json"], False),
        (["caseload", "--therapist", "Nobody", "--json"], False),
        (["therapists", "list", "--json"], True),  # refused while opening, before the handler
    ],
)
def test_refused_input_with_json_prints_an_error_object(
    capsys: pytest.CaptureFixture[str], db_path: Path, argv: list[str], not_a_database: bool
) -> None:
    if not_a_database:
        db_path.write_bytes(b"this is not a database file" * 1000)
    else:
        argv = [*argv, *user(db_path, "Dr Example")]
    code, out, err = run(capsys, *argv, "--db", str(db_path))
    refusal = as_json(out)
    assert code == 1 and set(refusal) == {"error", "hint"}
    assert isinstance(refusal["error"], str) and refusal["error"]
    assert err.startswith(f"error: {refusal['error']}")


def test_info_reports_path_version_and_counts(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    assert run(capsys, "demo", "--db", str(db_path), "--as-of", "2026-06-01")[0] == 0
    code, out, _ = run(capsys, "info", "--json", "--db", str(db_path))
    info = as_json(out)
    assert code == 0 and info["database"] == str(db_path.resolve())
    assert info["schema_version"] == max(m.version for m in available())
    rows = info["rows"]
    assert rows["couples"] == 13 and rows["answers"] > 0
    assert rows["response_scores"] > rows["responses"] > 0  # every check-in has 13 scales
    assert rows["response_safety"] == 4 * rows["responses"]  # four safety items each
    assert rows["text_answers"] > 0


def test_demo_dates_follow_today_unless_as_of_is_given(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    code, out, _ = run(capsys, "demo", "--db", str(db_path), "--couples", "3", "--weeks", "6")
    assert code == 0 and f"as of {TODAY.isoformat()}" in out
    db = open_practice(db_path)
    try:
        latest = db.query_value("SELECT max(completed_at) FROM responses")
        logged = db.query_value("SELECT logged_at FROM audit_log WHERE action = 'demo:build'")
    finally:
        db.close()
    assert TODAY - dt.timedelta(days=8) <= latest.date() < TODAY
    assert logged == dt.datetime.combine(TODAY, dt.time())


# --- instruments -------------------------------------------------------------------------------


def test_instruments_list_json(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, _ = run(capsys, "instruments", "list", "--json", "--db", str(db_path))
    assert code == 0
    listed = {i["code"]: i for i in as_json(out)}
    assert sorted(listed) == ["checkin", "csi16", "csi4"]
    checkin = listed["checkin"]
    assert (checkin["version"], checkin["headline"]) == ("2.0", "global")
    items = {i["code"]: i for i in checkin["items"]}
    sat1 = items["SAT1"]
    assert (sat1["kind"], sat1["range"], sat1["reverse"]) == ("scored", [0, 6], False)
    assert sat1["labels"][0] == "Strongly disagree" and sat1["wording"]
    assert items["SAT3"]["reverse"] is True
    saf2 = items["SAF2"]
    assert (saf2["kind"], saf2["range"], saf2["threshold"]) == ("safety", [0, 2], 1)
    assert saf2["labels"] == ["Never", "Once", "More than once"]
    assert saf2["label"] == "Fear of the partner"
    assert {c for c, i in items.items() if i["kind"] == "safety"} == {
        "SAF1",
        "SAF2",
        "SAF3",
        "SAF4",
    }
    txt1 = items["TXT1"]
    assert (txt1["kind"], txt1["range"], txt1["label"]) == ("text", None, "Topics for next session")
    scales = {s["code"]: s for s in checkin["scales"]}
    assert len(scales) == 13
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
    } <= set(scales)
    assert scales["global"]["items"] == ["SAT1", "SAT2", "SAT3"]
    assert scales["past_hurt"]["direction"] == "higher_worse"
    # Licensed instruments: codes and scoring facts only, no wording.
    csi4 = listed["csi4"]
    assert [i["range"] for i in csi4["items"]] == [[0, 6], [0, 5], [0, 5], [0, 5]]
    assert all(i["wording"] is None for i in csi4["items"])
    (total,) = csi4["scales"]
    assert (total["method"], total["cutoff"]) == ("sum", 13.5)
    assert len(listed["csi16"]["items"]) == 16


def test_instruments_list_text(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, _ = run(capsys, "instruments", "list", "--db", str(db_path))
    assert code == 0
    assert "checkin  Relationship check-in v2.0" in out
    assert "SAF2" in out and "(safety, positive from 1)" in out
    assert "(free text)" in out and "(reverse)" in out


@pytest.fixture
def no_default_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The database a command would open by default; tests check it is never created."""
    path = tmp_path / "must-not-exist.duckdb"
    monkeypatch.setenv(ENV_VAR, str(path))
    return path


def test_check_accepts_the_template(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_default_db: Path
) -> None:
    code, template, _ = run(capsys, "instruments", "template")
    assert code == 0 and template == catalog.template_text()
    path = tmp_path / "mine.toml"
    path.write_text(template, encoding="utf-8")
    code, out, err = run(capsys, "instruments", "check", str(path))
    assert (code, err) == (0, "")
    assert out == "mine.toml is valid: My practice's scale v1.0, 5 items, 1 scales.\n"
    code, out, _ = run(capsys, "instruments", "check", str(path), "--json")
    report = as_json(out)
    assert code == 0
    assert (report["file"], report["valid"], report["problems"]) == ("mine.toml", True, [])
    assert report["instrument"]["code"] == "my_scale"
    assert not no_default_db.exists()


def test_check_lists_every_problem_of_an_invalid_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_default_db: Path
) -> None:
    text = catalog.template_text()
    text = text.replace('method = "mean"', 'method = "avg"', 1)
    text = text.replace("reverse = true", "reverse = true\nrevers = true", 1)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")

    code, out, err = run(capsys, "instruments", "check", str(path))
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == "broken.toml is invalid (3 problems):"
    assert len(lines) == 4 and all(line.startswith("  - broken.toml: ") for line in lines[1:])
    assert "'revers'" in out and "did you mean 'reverse'" in out
    # The bad default is named where it is declared and where a scale relies on it.
    assert "  - broken.toml: [defaults]: method must be one of sum, mean." in lines
    assert "scale 'closeness': method must be one of sum, mean (here or in [defaults])" in out

    code, out, _ = run(capsys, "instruments", "check", str(path), "--json")
    report = as_json(out)
    assert code == 1
    assert (report["valid"], report["instrument"]) == (False, None)
    assert report["problems"] == [line[4:] for line in lines[1:]]
    assert not no_default_db.exists()


def test_check_refuses_a_missing_or_unreadable_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_default_db: Path
) -> None:
    code, out, err = run(capsys, "instruments", "check", str(tmp_path / "nothing.toml"))
    assert (code, out) == (1, "")
    assert err.startswith("error: there is no file")
    garbled = tmp_path / "garbled.toml"
    garbled.write_text("code = \n", encoding="utf-8")
    code, out, _ = run(capsys, "instruments", "check", str(garbled))
    assert code == 1 and "not valid TOML" in out
    assert not no_default_db.exists()


# --- caseload ----------------------------------------------------------------------------------


def test_caseload_json_shape_and_flags(capsys: pytest.CaptureFixture[str], demo_path: Path) -> None:
    code, out, err = run(capsys, "caseload", "--json", *demo_args(demo_path))
    assert (code, err) == (0, "")
    records = as_json(out)
    assert isinstance(records, list) and len(records) == 12  # active and paused only
    assert records[0]["case_code"] == "D-010"  # the safety couple comes first
    for rec in records:
        assert set(rec) == {
            "case_code",
            "therapist",
            "status",
            "headline",
            "partner_a",
            "partner_b",
            "last_checkin",
            "flags",
        }
        assert isinstance(rec["case_code"], str) and isinstance(rec["therapist"], str)
        assert rec["status"] == "active"
        assert rec["headline"] == "Global satisfaction"
        assert dt.datetime.fromisoformat(rec["last_checkin"]).date() <= TODAY
        for key in ("partner_a", "partner_b"):
            partner = rec[key]
            assert set(partner) == PARTNER_KEYS
            assert isinstance(partner["name"], str) and partner["name"]
            assert isinstance(partner["latest"], float) and 0 <= partner["latest"] <= 6
            assert isinstance(partner["change"], float)
            assert partner["category"] in {"recovered", "improved", "unchanged", "deteriorated"}
            assert isinstance(partner["checkins"], int) and partner["checkins"] >= 4
            trend = partner["trend"]
            assert len(trend) == partner["checkins"]
            assert all(isinstance(v, float) for v in trend)
            assert trend[-1] == pytest.approx(partner["latest"], abs=0.01)
            assert trend[-1] - trend[0] == pytest.approx(partner["change"], abs=0.02)
        for flag in rec["flags"]:
            assert set(flag) == {"kind", "severity", "reason"}
            assert all(isinstance(v, str) and v for v in flag.values())
    flagged = {r["case_code"]: [f["kind"] for f in r["flags"]] for r in records if r["flags"]}
    assert flagged == DEMO_FLAGS
    safety = records[0]["flags"][0]
    assert (safety["kind"], safety["severity"]) == ("safety", "urgent")
    assert "Partner B" in safety["reason"] and "“Once”" in safety["reason"]
    assert "Fear of the partner" in safety["reason"]
    # Flagged couples first, then the rest in case-code order.
    assert [r["case_code"] for r in records[len(DEMO_FLAGS) :]] == [
        "D-001",
        "D-002",
        "D-006",
        "D-008",
        "D-009",
        "D-012",
    ]


def test_caseload_for_one_therapist(capsys: pytest.CaptureFixture[str], demo_path: Path) -> None:
    code, out, _ = run(
        capsys, "caseload", "--json", "--therapist", "jordan demo", *demo_args(demo_path)
    )
    records = as_json(out)
    assert code == 0
    assert {r["therapist"] for r in records} == {"Jordan Demo"}
    # Couples go round-robin to the two demo therapists: Jordan has the even case numbers.
    assert sorted(r["case_code"] for r in records) == [f"D-{i:03d}" for i in range(2, 13, 2)]
    code, out, _ = run(
        capsys, "caseload", "--json", "--therapist", "Morgan Demo", *demo_args(demo_path)
    )
    assert (code, as_json(out)) == (0, [])  # the supervisor has no couples of their own


def test_caseload_status_and_search(capsys: pytest.CaptureFixture[str], demo_path: Path) -> None:
    code, out, _ = run(capsys, "caseload", "--json", "--status", "closed", *demo_args(demo_path))
    (closed,) = as_json(out)
    assert code == 0
    assert (closed["case_code"], closed["status"], closed["flags"]) == ("D-013", "closed", [])
    code, out, _ = run(
        capsys,
        "caseload",
        "--json",
        "--status",
        "closed",
        "--status",
        "active",
        "--search",
        "d-01",
        *demo_args(demo_path),
    )
    assert sorted(r["case_code"] for r in as_json(out)) == ["D-010", "D-011", "D-012", "D-013"]


def test_caseload_as_of_changes_the_overdue_flag(
    capsys: pytest.CaptureFixture[str], demo_path: Path
) -> None:
    # D-011 last checked in 33 days before TODAY: 20 days earlier, 13 days was not yet overdue.
    earlier = (TODAY - dt.timedelta(days=20)).isoformat()
    code, out, _ = run(capsys, "caseload", "--json", "--as-of", earlier, *demo_args(demo_path))
    kinds = {r["case_code"]: [f["kind"] for f in r["flags"]] for r in as_json(out)}
    assert code == 0 and "overdue" not in kinds["D-011"]


def test_caseload_text_lists_reasons(capsys: pytest.CaptureFixture[str], demo_path: Path) -> None:
    code, out, _ = run(capsys, "caseload", *demo_args(demo_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("D-010  active  Jordan Demo  [safety, no_improvement]")
    _, json_out, _ = run(capsys, "caseload", "--json", *demo_args(demo_path))
    for rec in as_json(json_out):
        for flag in rec["flags"]:
            assert f"  ! {flag['reason']}" in lines
        for key, label in (("partner_a", "A"), ("partner_b", "B")):
            assert f"  {label} {rec[key]['name']}: Global satisfaction" in out
    assert "D-001  active  Avery Demo  [no flags]" in lines
    assert "None" not in out and "nan" not in out


# --- couples show ------------------------------------------------------------------------------


def _first_and_last_global(db: Database, client_code: str) -> tuple[float, float]:
    """A slow reference: the partner's first and last global satisfaction, from raw answers."""
    ins = catalog.builtin("checkin")
    reverse = {i.code: i.reverse for i in ins.items_of("global")}
    rows = db.query_rows(
        "SELECT r.completed_at, i.code, a.value FROM answers a"
        " JOIN responses r ON r.id = a.response_id JOIN items i ON i.id = a.item_id"
        " JOIN partners p ON p.id = r.partner_id WHERE p.client_code = ?"
        " AND list_contains(?, i.code) ORDER BY r.completed_at",
        [client_code, list(reverse)],
    )
    by_time: dict[dt.datetime, list[float]] = {}
    for when, code, value in rows:
        by_time.setdefault(when, []).append(6 - value if reverse[code] else value)
    scores = [sum(v) / len(v) for _, v in sorted(by_time.items())]
    return scores[0], scores[-1]


def test_couples_show_json(capsys: pytest.CaptureFixture[str], demo_path: Path) -> None:
    code, out, err = run(capsys, "couples", "show", "d-001", "--json", *demo_args(demo_path))
    assert (code, err) == (0, "")
    shown = as_json(out)
    assert (shown["case_code"], shown["status"], shown["therapist"]) == (
        "D-001",
        "active",
        "Avery Demo",
    )
    assert [p["label"] for p in shown["partners"]] == ["A", "B"]
    assert shown["flags"] == []
    scales = shown["scales"]
    assert len(scales) == 2 * 13  # both partners, every check-in scale
    for s in scales:
        assert set(s) == SCALE_KEYS
        assert s["instrument"] == "checkin" and s["partner"] in ("A", "B")
        assert isinstance(s["scores"], int) and s["scores"] >= 2
        for key in ("baseline", "latest", "change", "reliable_change_index"):
            assert isinstance(s[key], float), key
        assert s["change"] == pytest.approx(s["latest"] - s["baseline"], abs=1e-3)
        assert isinstance(s["beyond_noise"], bool)
        assert s["beyond_noise"] == (abs(s["reliable_change_index"]) > 1.96)
        assert s["category"] in {"recovered", "improved", "unchanged", "deteriorated"}
        assert s["reliable_change_from"] == "jacobson_truax"
        assert "Provisional" in s["reliable_change_source"]
        # A cutoff only where the file gives one or the norms to work it out; never half of it.
        if s["cutoff"] is None:
            assert (s["cutoff_from"], s["cutoff_source"]) == (None, None)
        else:
            assert s["cutoff_from"] == "jacobson_truax_c" and s["cutoff_source"]
        dt.datetime.fromisoformat(s["baseline_at"])
        dt.datetime.fromisoformat(s["latest_at"])

    # The headline scale against figures worked out here from the instrument file and answers.
    figures = catalog.builtin("checkin").scale("global")
    assert figures.sd is not None and figures.reliability is not None
    smallest = 1.96 * math.sqrt(2) * figures.sd * math.sqrt(1 - figures.reliability)
    db = open_practice(demo_path)
    try:
        for label in ("A", "B"):
            (g,) = [s for s in scales if s["scale"] == "global" and s["partner"] == label]
            first, last = _first_and_last_global(db, f"D-001{label}")
            assert g["baseline"] == pytest.approx(first, abs=1e-4)
            assert g["latest"] == pytest.approx(last, abs=1e-4)
            assert g["smallest_reliable_change"] == pytest.approx(smallest, abs=1e-4)
            assert g["reliable_change_index"] == pytest.approx(
                (last - first) / (smallest / 1.96), abs=1e-3
            )
            # Jacobson & Truax c between the norms 3 (SD 1) and 5 (SD 1).
            assert (g["cutoff"], g["cutoff_from"]) == (4.0, "jacobson_truax_c")
            # D-001 improves steadily: from the distressed side of the cutoff to the other.
            assert (g["category"], g["beyond_noise"]) == ("recovered", True)
            assert g["band"] == "Non-distressed range"
    finally:
        db.close()


def test_couples_show_json_flags_with_their_numbers(
    capsys: pytest.CaptureFixture[str], demo_path: Path
) -> None:
    code, out, _ = run(capsys, "couples", "show", "D-010", "--json", *demo_args(demo_path))
    shown = as_json(out)
    assert code == 0
    assert [f["kind"] for f in shown["flags"]] == ["safety", "no_improvement"]
    safety = shown["flags"][0]
    assert safety["severity"] == "urgent"
    (answer,) = safety["details"]
    assert (answer["partner"], answer["item"], answer["answer"], answer["value"]) == (
        "B",
        "SAF2",
        "Once",
        1.0,
    )


def test_couples_show_text(capsys: pytest.CaptureFixture[str], demo_path: Path) -> None:
    code, out, err = run(capsys, "couples", "show", "D-005", *demo_args(demo_path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "D-005  active  therapist Avery Demo"
    assert lines[1].startswith("  Partner A: ") and lines[2].startswith("  Partner B: ")
    assert lines[3].startswith("  ! Partner ") and "fell from" in lines[3]
    _, json_out, _ = run(capsys, "couples", "show", "D-005", "--json", *demo_args(demo_path))
    for s in as_json(json_out)["scales"]:
        row = next(line for line in lines if line.startswith(f"  {s['partner']} {s['label']} "))
        assert f"{s['baseline']:.1f} -> " in row and f"{s['latest']:.1f}" in row
        assert f"{s['smallest_reliable_change']:.2f}" in row
    global_rows = [line for line in lines if "Global satisfaction" in line and "->" in line]
    assert len(global_rows) == 2 and all(row.endswith("Worse") for row in global_rows)
    assert "None" not in out and "nan" not in out


def test_couples_show_before_two_check_ins(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    from tests import factories

    db = open_practice(db_path)
    try:
        from analytics.practice.therapists import add_therapist

        actor = add_therapist(db, "Dr Example")
        couple_id = factories.couple(db, actor, "C-1")
        factories.checkin(db, couple_id, "A", dt.datetime(2026, 11, 10, 19), 3)
    finally:
        db.close()
    signed_in = user(db_path, "Dr Example")
    code, out, _ = run(capsys, "couples", "show", "C-1", "--json", "--db", str(db_path), *signed_in)
    shown = as_json(out)
    assert code == 0
    a_scales = [s for s in shown["scales"] if s["partner"] == "A"]
    assert len(a_scales) == 13 and not [s for s in shown["scales"] if s["partner"] == "B"]
    for s in a_scales:
        assert (s["scores"], s["category"], s["change"]) == (1, "not_enough_data", None)
        assert (s["beyond_noise"], s["reliable_change_index"]) == (None, None)
        assert s["latest"] == s["baseline"]
    # Partner B has never checked in: the start (5 Jan) is long past the 14 days allowed.
    assert [f["kind"] for f in shown["flags"]] == ["overdue"]
    code, out, _ = run(capsys, "couples", "show", "C-1", "--db", str(db_path), *signed_in)
    assert code == 0 and "Too few check-ins" in out and "->" not in out


def test_unknown_case_code_exits_1_with_the_reason(
    capsys: pytest.CaptureFixture[str], demo_path: Path
) -> None:
    reason = "There is no couple with that case code in your caseload."
    code, out, err = run(capsys, "couples", "show", "D-999", *demo_args(demo_path))
    assert (code, out, err) == (1, "", f"error: {reason}\n")
    # With --json a script gets the reason as JSON on stdout too.
    code, out, err = run(capsys, "couples", "show", "D-999", "--json", *demo_args(demo_path))
    assert (code, as_json(out), err) == (1, {"error": reason, "hint": None}, f"error: {reason}\n")


# --- settings ----------------------------------------------------------------------------------


def test_settings_list_json(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, _ = run(capsys, "settings", "list", "--json", "--db", str(db_path))
    assert code == 0
    listed = {s["key"]: s for s in as_json(out)}
    assert set(listed) == {
        "overdue_days",
        "no_improvement_checkins",
        "start_grace_days",
        "repair_stall_days",
        "pace_review_days",
        "idle_logoff_minutes",
    }
    assert listed["repair_stall_days"]["value"] == 56 and listed["pace_review_days"]["value"] == 28
    assert (listed["start_grace_days"]["value"], listed["start_grace_days"]["unit"]) == (30, "days")
    assert (listed["overdue_days"]["value"], listed["overdue_days"]["unit"]) == (14, "days")
    assert listed["no_improvement_checkins"]["value"] == 6
    assert all(isinstance(s["low"], int) and isinstance(s["high"], int) for s in listed.values())


def _setting_audit(db_path: Path) -> list[tuple[Any, ...]]:
    db = open_practice(db_path)
    try:
        return db.query_rows(
            "SELECT therapist_id, action, entity, detail FROM audit_log WHERE entity = 'setting'"
        )
    finally:
        db.close()


def _therapist_id(db_path: Path, name: str) -> int:
    db = open_practice(db_path)
    try:
        return int(db.query_value("SELECT id FROM therapists WHERE name = ?", [name]))
    finally:
        db.close()


def test_a_therapist_cannot_change_settings(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    signed_in = user(db_path, "Dr Example")
    code, out, err = run(
        capsys, "settings", "set", "overdue_days", "30", "--db", str(db_path), *signed_in
    )
    assert (code, out) == (1, "")
    assert err == "error: Only a supervisor can change practice settings.\n"
    assert _setting_audit(db_path) == []


def test_settings_set_stores_audits_and_changes_the_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "demo.duckdb"
    assert run(capsys, "demo", "--db", str(path))[0] == 0
    lead = user(path, "Morgan Demo")

    def overdue() -> list[str]:
        _, out, _ = run(capsys, "caseload", "--json", "--db", str(path), *lead)
        return [
            r["case_code"] for r in as_json(out) if "overdue" in [f["kind"] for f in r["flags"]]
        ]

    assert overdue() == ["D-011"]
    code, out, err = run(capsys, "settings", "set", "overdue_days", "40", "--db", str(path), *lead)
    assert (code, out, err) == (0, "Set overdue_days to 40.\n", "")
    _, listed, _ = run(capsys, "settings", "list", "--json", "--db", str(path))
    assert {s["key"]: s["value"] for s in as_json(listed)}["overdue_days"] == 40
    ((who, action, entity, detail),) = _setting_audit(path)
    assert (who, action, entity) == (_therapist_id(path, "Morgan Demo"), "update", "setting")
    assert json.loads(detail) == {"key": "overdue_days", "from": 14, "to": 40}
    assert overdue() == []  # D-011's 33 days are no longer overdue

    assert run(capsys, "settings", "set", "overdue_days", "21", "--db", str(path), *lead)[0] == 0
    assert overdue() == ["D-011"]


@pytest.mark.parametrize("value", ["0", "121", "-3"])
def test_settings_set_refuses_out_of_range(
    capsys: pytest.CaptureFixture[str], db_path: Path, value: str
) -> None:
    lead = user(db_path, "Sam Lead", role="supervisor")
    code, out, err = run(
        capsys, "settings", "set", "overdue_days", value, "--db", str(db_path), *lead
    )
    assert (code, out) == (1, "")
    assert err == "error: Check-in overdue after must be a whole number from 1 to 120.\n"
    _, listed, _ = run(capsys, "settings", "list", "--json", "--db", str(db_path))
    assert {s["key"]: s["value"] for s in as_json(listed)}["overdue_days"] == 14
    assert _setting_audit(db_path) == []


def test_the_command_line_creates_owner_only_files(tmp_path: Path) -> None:
    """Health records: the database (and its WAL) the command line creates is not readable by
    other users of the machine (the process runs with umask 077)."""
    import stat
    import subprocess
    import sys

    db_file = tmp_path / "fresh.duckdb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics",
            "accounts",
            "create",
            "boss",
            "--admin",
            "--password-stdin",
            "--db",
            str(db_file),
            "--instruments",
            str(tmp_path),
        ],
        input="a long first admin password\n",
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    made = [db_file, *tmp_path.glob("fresh.duckdb*")]
    assert made and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in made if p.is_file())
