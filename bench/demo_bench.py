"""How long the demo generator takes for a large practice (1000 couples, up to 52 weeks)."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from analytics.demo.build import build_demo
from analytics.practice.opening import open_practice
from bench import Row

COUPLES = 1000
WEEKS = 52
AS_OF = dt.date(2026, 11, 20)  # fixed, so every run times the same data


def run() -> list[Row]:
    """Build the large demo into a throwaway database file and time it."""
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as folder:
        db = open_practice(Path(folder) / "bench.duckdb", instruments_folder=folder)
        try:
            started = time.perf_counter()
            build_demo(db, couples=COUPLES, weeks=WEEKS, as_of=AS_OF)
            seconds = time.perf_counter() - started
            responses = int(db.query_value("SELECT count(*) FROM responses"))
            answers = int(db.query_value("SELECT count(*) FROM answers"))
        finally:
            db.close()
    return [
        Row(
            name=f"demo build ({COUPLES} couples x {WEEKS} weeks)",
            value=seconds,
            unit="s",
            target="< 60 s",
            note=f"{responses:,} responses, {answers:,} answers",
        )
    ]
