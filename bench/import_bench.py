"""Import speed: a 100,000-response wide CSV through read + map + validate + commit (target < 5 s),
next to a bare `duckdb.read_csv` of the same file for scale."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.importing import service
from analytics.instruments import catalog
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from bench import Row

ROWS = 100_000
NOW = dt.datetime(2026, 11, 20, 12, 0)  # fixed: every run times the same data
COUPLES = 50


def write_wide_csv(path: Path, rows: int = ROWS, couples: int = COUPLES, seed: int = 1) -> None:
    """A plain wide export: Email, Completed, one column per item code, numbers 0-6."""
    rng = np.random.default_rng(seed)
    ins = catalog.builtin("checkin")
    emails = np.array([f"bench{c:03d}.{s}@example.org" for c in range(couples) for s in "ab"])
    n = np.arange(rows)
    start = np.datetime64("2020-01-01T08:00:00")
    completed = start + (n // len(emails)).astype("timedelta64[h]")
    data: dict[str, object] = {
        "Email": emails[n % len(emails)],
        "Completed": pd.Series(completed).dt.strftime("%Y-%m-%d %H:%M:%S"),
    }
    for item in ins.answer_items:
        # Safety answers mostly "Never": a practice-sized share of positive answers.
        data[item.code] = (
            (rng.random(rows) < 0.01).astype(int)
            if item.kind == "safety"
            else rng.integers(int(item.min), int(item.max) + 1, rows)
        )
    pd.DataFrame(data).to_csv(path, index=False)


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_practice(Path(tmp) / "bench.duckdb", instruments_folder=tmp)
        try:
            boss = add_therapist(db, "Bench Supervisor", role="supervisor")
            for c in range(COUPLES):
                add_couple(
                    db,
                    boss,
                    f"B-{c:03d}",
                    PartnerInput("A", f"bench{c:03d}.a@example.org"),
                    PartnerInput("B", f"bench{c:03d}.b@example.org"),
                    start_date=dt.date(2019, 12, 1),
                )
            path = Path(tmp) / "wide.csv"
            write_wide_csv(path)
            data = path.read_bytes()

            started = time.perf_counter()
            parsed = service.read(db, path.name, data, max_bytes=len(data) + 1)
            read_s = time.perf_counter() - started
            preview = service.review(db, boss, parsed, now=NOW)
            checked_s = time.perf_counter() - started
            result = service.commit_import(db, boss, preview)
            total_s = time.perf_counter() - started
            assert result.accepted == ROWS, (result.accepted, len(preview.rejected))

            started = time.perf_counter()
            duckdb.read_csv(str(path)).df()
            bare_s = time.perf_counter() - started
        finally:
            db.close()
    note = f"{ROWS:,} rows x {len(catalog.builtin('checkin').answer_items)} items"
    return [
        Row("import: read (100k wide)", read_s, "s", "", note),
        Row("import: read+map+validate", checked_s, "s", ""),
        Row("import: full (read..commit)", total_s, "s", "< 5 s"),
        Row("import: bare duckdb.read_csv", bare_s, "s", ""),
        Row("import: full / bare read", total_s / bare_s if bare_s else 0.0, "x", ""),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
