"""`python -m analytics import`: exit codes, --json shape, --dry-run, re-import, --user, --profile.

Commands sign in as a supervisor (every couple) unless a test names another --user."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from analytics.cli import main as cli_main
from analytics.importing import service
from analytics.importing.mapping import Mapping
from analytics.instruments import catalog
from analytics.practice.access import Actor
from analytics.practice.accounts import SIGN_IN_FAILED
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests.cli_users import password_env, user

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 0)  # naive UTC
CODES = [item.code for item in catalog.builtin("checkin").answer_items]
KEYS = {
    "source",
    "accepted",
    "rejected",
    "duplicates",
    "unmatched",
    "outside_caseload",
    "batch_id",
    "errors",
}
TABLES = (
    "import_batches",
    "responses",
    "answers",
    "text_answers",
    "unmatched_responses",
    "audit_log",
)


def write_csv(
    path: Path, rows: list[tuple[str, str]], *, columns: list[str] | None = None, value: str = "4"
) -> Path:
    """A plain wide export: Email, Completed, one column per item."""
    heads = columns or CODES
    lines = [",".join(["Email", "Completed", *heads])]
    for email, when in rows:
        cells = ["0" if c.startswith("SAF") else value for c in CODES][: len(heads)]
        lines.append(",".join([email, when, *cells]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_LEAD: list[list[str]] = []


@pytest.fixture(autouse=True)
def _lead(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A supervisor's account, made before any count is taken; its password in the env."""
    password_env(monkeypatch)
    _LEAD.append(user(db_path, "Practice Lead", role="supervisor"))
    yield
    _LEAD.clear()


def main(argv: Sequence[str]) -> int:
    """The command line with the clock fixed at TODAY / NOW, signed in as the supervisor."""
    argv = list(argv)
    if argv[:1] == ["import"] and "--user" not in argv:
        argv += _LEAD[-1]
    return cli_main.main(argv, today=TODAY, now=NOW)


def counts(db: Database) -> dict[str, int]:
    return {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in TABLES}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    parsed = json.loads(out) if "--json" in argv and out.strip() else out
    return code, parsed, err


@pytest.fixture
def export(tmp_path: Path, couple: int) -> Path:
    return write_csv(
        tmp_path / "weekly.csv",
        [
            ("d001.a@example.org", "2026-01-05 18:00"),
            ("d001.b@example.org", "2026-01-05 19:00"),
            ("someone@example.org", "2026-01-05 20:00"),
        ],
    )


def test_import_json_then_reimport_adds_nothing(
    capsys: pytest.CaptureFixture[str], db: Database, db_path: Path, export: Path
) -> None:
    code, out, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--json")
    assert code == 0 and set(out) == KEYS
    assert (out["source"], out["accepted"], out["unmatched"], out["rejected"]) == (
        "generic_wide",
        2,
        1,
        0,
    )
    assert isinstance(out["batch_id"], int) and out["errors"] == []
    before = counts(db)
    assert before["answers"] == 2 * len(CODES)

    code, again, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--json")
    assert code == 0
    assert (again["accepted"], again["duplicates"], again["unmatched"]) == (0, 3, 0)
    after = counts(db)
    for table in ("responses", "answers", "unmatched_responses"):
        assert after[table] == before[table]


def test_dry_run_writes_nothing(
    capsys: pytest.CaptureFixture[str], db: Database, db_path: Path, export: Path
) -> None:
    before = counts(db)
    code, out, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--dry-run", "--json")
    assert code == 0 and out["accepted"] == 2 and out["batch_id"] is None
    assert counts(db) == before
    code, text, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--dry-run")
    assert code == 0 and "Dry run" in text and "Accepted:   2" in text


def test_rejected_rows_are_listed_and_good_rows_imported(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path, couple: int
) -> None:
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            ("d001.a@example.org", "2026-01-05 18:00"),
            ("d001.b@example.org", "2099-01-01 10:00"),
            ("d001.b@example.org", "not a date"),
        ],
    )
    code, out, _ = cli(capsys, "import", str(path), "--db", str(db_path), "--json")
    assert code == 0 and out["accepted"] == 1 and out["rejected"] == 2
    assert out["errors"] == [
        {"row": 3, "reason": "The completion date is in the future."},
        {"row": 4, "reason": "The completion date is not a date that can be read."},
    ]


def test_file_rejected_exits_1_with_reasons(
    capsys: pytest.CaptureFixture[str], db: Database, db_path: Path, tmp_path: Path, couple: int
) -> None:
    no_safety = write_csv(
        tmp_path / "short.csv", [("d001.a@example.org", "2026-01-05 18:00")], columns=CODES[:-4]
    )
    code, out, _ = cli(capsys, "import", str(no_safety), "--db", str(db_path), "--json")
    assert code == 1 and set(out) == KEYS and out["batch_id"] is None
    assert out["errors"][0]["row"] is None and "SAF1" in out["errors"][0]["reason"]

    future = write_csv(tmp_path / "future.csv", [("d001.a@example.org", "2099-01-05 18:00")])
    code, out, _ = cli(capsys, "import", str(future), "--db", str(db_path), "--json")
    assert code == 1 and out["rejected"] == 1

    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02 binary \xff\xfe\x00" * 50)
    code, out, _ = cli(capsys, "import", str(junk), "--db", str(db_path), "--json")
    assert code == 1 and out["errors"][0]["row"] is None
    code, text, _ = cli(capsys, "import", str(no_safety), "--db", str(db_path))
    assert code == 1 and "SAF1" in text
    assert counts(db)["responses"] == 0


def test_size_limit_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    export: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASELOAD_MAX_UPLOAD_MB", "0.0001")
    code, out, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--json")
    assert code == 1 and "larger than" in out["errors"][0]["reason"]
    monkeypatch.setenv("CASELOAD_MAX_UPLOAD_MB", "lots")
    code, out, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--json")
    assert code == 1 and "CASELOAD_MAX_UPLOAD_MB" in out["errors"][0]["reason"]


def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], db_path: Path, export: Path, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["import", "--db", str(db_path)])
    assert exc.value.code == 2
    code, _, err = cli(capsys, "import", str(tmp_path / "missing.csv"), "--db", str(db_path))
    assert code == 2 and "no file" in err
    code, _, err = cli(capsys, "import", str(export), "--db", str(db_path), "--user", "nobody")
    assert code == 1 and err == f"error: {SIGN_IN_FAILED}\n"
    code, _, err = cli(capsys, "import", str(export), "--db", str(db_path), "--profile", "Nope")
    assert code == 2 and "no import profile" in err


def test_a_signed_in_therapist_sees_only_their_caseload(
    capsys: pytest.CaptureFixture[str], db: Database, db_path: Path, export: Path
) -> None:
    add_therapist(db, "Other Therapist")
    other = user(db_path, "Other Therapist")
    code, out, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--json", *other)
    # D-001's rows go to D-001 (not the other therapist's queue), shown only as a count.
    assert code == 0
    assert (out["accepted"], out["outside_caseload"], out["unmatched"]) == (2, 2, 1)
    assert "D-001" not in json.dumps(out)
    own = user(db_path, "Test Therapist")
    code, out, _ = cli(capsys, "import", str(export), "--db", str(db_path), "--json", *own)
    # Everything is stored already; the stranger's row waits in the other therapist's queue.
    assert code == 0 and (out["accepted"], out["unmatched"], out["duplicates"]) == (0, 0, 3)


def test_named_profile_maps_opaque_headers(
    capsys: pytest.CaptureFixture[str],
    db: Database,
    db_path: Path,
    tmp_path: Path,
    therapist: Actor,
    couple: int,
) -> None:
    opaque = [f"Q{i:02d}x" for i in range(len(CODES))]
    path = write_csv(
        tmp_path / "opaque.csv", [("d001.a@example.org", "2026-01-05 18:00")], columns=opaque
    )
    code, out, _ = cli(capsys, "import", str(path), "--db", str(db_path), "--json")
    assert code == 1  # nothing maps automatically
    preview = service.prepare(
        db,
        therapist,
        path.name,
        path.read_bytes(),
        now=NOW,
        mapping=Mapping("checkin", dict(zip(opaque, CODES, strict=True))),
    )
    service.commit_import(db, therapist, preview, save_profile_as="Opaque form")

    later = write_csv(
        tmp_path / "later.csv", [("d001.b@example.org", "2026-01-12 18:00")], columns=opaque
    )
    code, out, _ = cli(capsys, "import", str(later), "--db", str(db_path), "--json")
    assert code == 0 and out["accepted"] == 1  # found by header signature
    code, out, _ = cli(
        capsys, "import", str(later), "--db", str(db_path), "--json", "--profile", "opaque form"
    )
    assert code == 0 and out["duplicates"] == 1


def test_future_is_judged_against_the_given_clock(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path, couple: int
) -> None:
    """`now` comes from the caller: a time one second after it is in the future."""
    path = write_csv(
        tmp_path / "edge.csv",
        [
            ("d001.a@example.org", "2026-11-20 12:00:00"),
            ("d001.b@example.org", "2026-11-20 12:00:01"),
        ],
    )
    code, out, _ = cli(capsys, "import", str(path), "--db", str(db_path), "--json", "--dry-run")
    assert code == 0 and out["accepted"] == 1
    assert out["errors"] == [{"row": 3, "reason": "The completion date is in the future."}]


def test_free_text_is_stored_and_never_printed(
    capsys: pytest.CaptureFixture[str], db: Database, db_path: Path, tmp_path: Path, couple: int
) -> None:
    secret = "Zebra-Quartz confidential 4471"
    head = ",".join(["Email", "Completed", *CODES, "TXT1", "TXT2"])
    cells = ",".join("0" if c.startswith("SAF") else "4" for c in CODES)
    rows = [
        f"d001.a@example.org,2026-01-05 18:00,{cells},{secret},",
        f"d001.b@example.org,2099-01-05 18:00,{cells},{secret},{secret}",  # rejected: future
        f"stranger@example.org,2026-01-05 20:00,{cells},,{secret}",  # queued with its text
    ]
    path = tmp_path / "texts.csv"
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    for extra in (["--json"], []):
        code, out, err = cli(capsys, "import", str(path), "--db", str(db_path), *extra)
        assert code == 0 and secret not in json.dumps(out) + err
    assert db.query_rows("SELECT text FROM text_answers") == [(secret,)]
    assert db.query_value("SELECT texts FROM unmatched_responses") == json.dumps({"TXT2": secret})
