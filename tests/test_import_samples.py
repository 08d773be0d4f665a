"""Every sample export in data/samples/ against the demo practice: detected as the right tool,
imported, and imported again without adding anything (through the service and the CLI)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from analytics.cli import main as cli_main
from analytics.importing import service
from analytics.importing.parsed import SOURCES
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice as open_database
from tests.cli_users import password_env, user

SAMPLES = sorted(
    p
    for p in (Path(__file__).parents[1] / "data" / "samples").glob("*.*")
    if p.suffix in {".csv", ".xlsx", ".tsv", ".txt"}
)
STORED = ("responses", "answers", "text_answers", "unmatched_responses")
TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 0)  # naive UTC; every sample time is before 2026-11-19
# The free-text answers (TXT1, TXT2) each sample file holds for rows that are accepted into the
# demo practice, and for the rows that wait in the unmatched queue (README.md).
TEXTS = {
    "generic_long.csv": (2, 0),
    "generic_wide.csv": (3, 0),
    "google_forms.csv": (7, 2),
    "microsoft_forms.xlsx": (5, 0),
    "qualtrics.csv": (3, 0),
    "redcap.csv": (2, 0),
    "typeform.csv": (0, 0),
}


def main(argv: Sequence[str]) -> int:
    """The command line with the clock fixed at TODAY / NOW."""
    return cli_main.main(list(argv), today=TODAY, now=NOW)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    assert main(["demo", "--db", str(path), "--as-of", TODAY.isoformat()]) == 0
    return path


@pytest.fixture
def practice(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "practice.duckdb"
    shutil.copy(demo_db, copy)
    shutil.copy(demo_db.with_suffix(".key"), copy.with_suffix(".key"))  # its key, still 0600
    return copy


def _counts(path: Path) -> dict[str, int]:
    db = open_database(path)
    try:
        return {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in STORED}
    finally:
        db.close()


def test_there_is_a_sample_for_every_tool() -> None:
    assert {p.stem for p in SAMPLES} >= set(SOURCES)
    assert set(TEXTS) == {p.name for p in SAMPLES}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_imports_once_through_the_service(practice: Path, sample: Path) -> None:
    db = open_database(practice)
    try:
        preview = service.prepare(db, PRACTICE, sample.name, sample.read_bytes(), now=NOW)
        assert preview.parsed.source == sample.stem
        assert not preview.problems, preview.problems
        assert preview.accepted > 0
        # Every question of the check-in is found automatically (free text where the form has
        # it), and nothing else in the file is taken for a question.
        assert preview.instrument.code == "checkin"
        assert preview.unmapped == ([] if TEXTS[sample.name] != (0, 0) else ["TXT1", "TXT2"])
        assert preview.validation is not None
        texts = preview.validation.matched_texts, preview.validation.unmatched_texts
        assert tuple(int(t.notna().sum().sum()) for t in texts) == TEXTS[sample.name]
        stored_texts = int(db.query_value("SELECT count(*) FROM text_answers"))
        assert all(issue.row >= 1 and issue.reason for issue in preview.rejected)
        first = service.commit_import(db, PRACTICE, preview)
        assert first.accepted == preview.accepted and first.couples
        added = int(db.query_value("SELECT count(*) FROM text_answers")) - stored_texts
        assert added == TEXTS[sample.name][0]
        total = first.accepted + first.unmatched + first.duplicates + first.rejected
        assert preview.validation is not None
        assert total == preview.validation.rows_total

        again = service.commit_import(
            db, PRACTICE, service.prepare(db, PRACTICE, sample.name, sample.read_bytes(), now=NOW)
        )
        assert (again.accepted, again.unmatched) == (0, 0)
        assert again.duplicates == first.accepted + first.unmatched + first.duplicates
        # answers has no primary key (speed); the importer must still write one per item.
        repeated = db.query_value(
            "SELECT count(*) FROM (SELECT response_id, item_id FROM answers"
            " GROUP BY ALL HAVING count(*) > 1)"
        )
        assert repeated == 0
        orphans = db.query_value(
            "SELECT count(*) FROM answers a LEFT JOIN responses r ON r.id = a.response_id"
            " WHERE r.id IS NULL"
        )
        assert orphans == 0
    finally:
        db.close()


def _supervisor(practice: Path) -> list[str]:
    """--user for the demo's supervisor (every couple, as the whole practice used to be)."""
    return user(practice, "Morgan Demo")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_imports_once_through_the_cli(
    practice: Path,
    sample: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password_env(monkeypatch)
    args = ["import", str(sample), "--db", str(practice), "--json", *_supervisor(practice)]
    assert main([*args, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["source"] == sample.stem and dry["batch_id"] is None

    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["accepted"] == dry["accepted"] > 0 and first["batch_id"] is not None
    assert len(first["errors"]) == first["rejected"]
    stored = _counts(practice)

    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["accepted"], again["unmatched"]) == (0, 0)
    assert _counts(practice) == stored


def test_samples_disclose_once_and_keep_to_each_items_format(practice: Path) -> None:
    """Safety items are answered 0-2 ("Never" almost everywhere), scored items 0-6: importing
    every sample raises a positive safety answer only for D-010, the demo's disclosing couple."""
    db = open_database(practice)
    try:
        for sample in SAMPLES:
            preview = service.prepare(db, PRACTICE, sample.name, sample.read_bytes(), now=NOW)
            service.commit_import(db, PRACTICE, preview)
        imported = db.query_df(
            "SELECT c.case_code, p.label AS partner, i.code, i.kind, i.threshold, a.value"
            " FROM answers a JOIN items i ON i.id = a.item_id"
            " JOIN responses r ON r.id = a.response_id JOIN partners p ON p.id = r.partner_id"
            " JOIN couples c ON c.id = p.couple_id WHERE r.batch_id IS NOT NULL"
        )
        safety, scored = (
            imported.loc[imported["kind"] == k, "value"] for k in ("safety", "scored")
        )
        assert set(safety) == {0.0, 1.0} and scored.between(0, 6).all() and scored.max() == 6
        positive = imported[imported["value"] >= imported["threshold"]]
        assert positive[["case_code", "partner", "code", "value"]].values.tolist() == [
            ["D-010", "B", "SAF2", 1.0]
        ]
    finally:
        db.close()
