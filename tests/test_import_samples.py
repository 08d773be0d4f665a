"""Every sample export in data/samples/ against the demo practice: detected as the right tool,
imported, and imported again without adding anything (through the service and the CLI)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analytics.cli.import_cmd import PRACTICE
from analytics.cli.main import main
from analytics.importing import service
from analytics.importing.parsed import SOURCES
from analytics.practice.opening import open_database

SAMPLES = sorted(
    p
    for p in (Path(__file__).parents[1] / "data" / "samples").glob("*.*")
    if p.suffix in {".csv", ".xlsx", ".tsv", ".txt"}
)
STORED = ("responses", "answers", "unmatched_responses")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    assert main(["demo", "--db", str(path)]) == 0
    return path


@pytest.fixture
def practice(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "practice.duckdb"
    shutil.copy(demo_db, copy)
    return copy


def _counts(path: Path) -> dict[str, int]:
    db = open_database(path)
    try:
        return {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in STORED}
    finally:
        db.close()


def test_there_is_a_sample_for_every_tool() -> None:
    assert {p.stem for p in SAMPLES} >= set(SOURCES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_imports_once_through_the_service(practice: Path, sample: Path) -> None:
    db = open_database(practice)
    try:
        preview = service.prepare(db, PRACTICE, sample.name, sample.read_bytes())
        assert preview.parsed.source == sample.stem
        assert not preview.problems, preview.problems
        assert preview.accepted > 0
        assert all(issue.row >= 1 and issue.reason for issue in preview.rejected)
        first = service.commit_import(db, PRACTICE, preview)
        assert first.accepted == preview.accepted and first.couples
        total = first.accepted + first.unmatched + first.duplicates + first.rejected
        assert preview.validation is not None
        assert total == preview.validation.rows_total

        again = service.commit_import(
            db, PRACTICE, service.prepare(db, PRACTICE, sample.name, sample.read_bytes())
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


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_imports_once_through_the_cli(
    practice: Path, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["import", str(sample), "--db", str(practice), "--json"]
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
