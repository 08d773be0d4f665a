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
from analytics.store.db import Database
from bench import Row, failed, ratio
from bench.practices import BACKENDS, new_pg_database, wanted

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


def _import_seconds(db: Database, path: Path) -> tuple[float, float, float]:
    """(read, read+map+validate, full) seconds of importing the file into the practice."""
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
    data = path.read_bytes()
    started = time.perf_counter()
    parsed = service.read(db, path.name, data, max_bytes=len(data) + 1)
    read_s = time.perf_counter() - started
    preview = service.review(db, boss, parsed, now=NOW)
    checked_s = time.perf_counter() - started
    result = service.commit_import(db, boss, preview)
    total_s = time.perf_counter() - started
    if result.accepted != ROWS:
        raise RuntimeError(f"{result.accepted} rows accepted, {len(preview.rejected)} rejected")
    return read_s, checked_s, total_s


def run() -> list[Row]:
    """Import the file into a new practice on each backend, beside a bare read of it."""
    note = f"{ROWS:,} rows x {len(catalog.builtin('checkin').answer_items)} items"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.csv"
        write_wide_csv(path)
        bare = []
        for _ in range(3):
            started = time.perf_counter()
            duckdb.read_csv(str(path)).df()
            bare.append(time.perf_counter() - started)
        bare_s = min(bare)
        rows.append(
            Row("import: bare duckdb.read_csv (100k wide)", bare_s, "s", "", "best of 3", "duckdb")
        )
        full: dict[str, float] = {}
        for backend in BACKENDS:
            if not wanted(backend):
                continue
            name = "import: full (read..commit)"
            try:
                db = (
                    open_practice(Path(tmp) / "bench.duckdb", instruments_folder=tmp)
                    if backend == "duckdb"
                    else open_practice(postgres=new_pg_database("imp"), instruments_folder=tmp)
                )
                try:
                    read_s, checked_s, total_s = _import_seconds(db, path)
                finally:
                    db.close()
            except Exception as exc:
                rows.append(failed(name, backend, exc, "<= 4x bare"))
                continue
            full[backend] = total_s
            versus = (
                f"; {total_s / full['duckdb']:.1f}x the DuckDB import"
                if "duckdb" in full and backend != "duckdb"
                else ""
            )
            rows += [
                Row("import: read (100k wide)", read_s, "s", "", note, backend),
                Row("import: read+map+validate", checked_s, "s", "", "", backend),
                Row(
                    name,
                    total_s,
                    "s",
                    "<= 4x bare",
                    f"target was < 5 s{versus}",
                    backend,
                    ratio(total_s, bare_s),
                    "bare read_csv",
                ),
            ]
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
