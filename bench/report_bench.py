"""Client report speed (issue 10): one report PDF with its chart drawn through kaleido and
Debian's Chromium (warm, median of later reports) for the busiest couple of the shared
1,000-couple practice, on each backend; and a zip of 100 couples' reports (a copy of the shared
100-couple practice, every couple made active). Printed by `make bench`, never asserted in
tests."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from analytics.charts import export
from analytics.charts.images import chart_png
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice
from analytics.views.report import render_report
from analytics.views.report_batch import active_couples, reports_zip
from bench import Row, failed, practices, ratio
from bench.practices import AS_OF, BACKENDS, COUPLES, SMALL, wanted

RUNS = 5
PG_RUNS = 3
NAME = "client report PDF (warm)"


def _report_seconds(backend: str, runs: int) -> float:
    """The median time of one report of the busiest couple, after a warm-up report."""
    p = practices.practice(COUPLES)
    db = practices.open_db(p, backend)
    try:
        render_report(db, PRACTICE, p.busiest, as_of=AS_OF, to_png=chart_png)  # warm up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            render_report(db, PRACTICE, p.busiest, as_of=AS_OF, to_png=chart_png)
            times.append(time.perf_counter() - started)
    finally:
        db.close()
    return statistics.median(times)


def _batch() -> Row:
    p = practices.practice(SMALL)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        path = practices.copy_file(p, Path(tmp))
        db = open_practice(path, key=p.key, instruments_folder=p.instruments)
        try:
            # Every couple active, so the batch has SMALL reports.
            db.execute("UPDATE couples SET status = 'active', closed_at = NULL")
            couples = active_couples(db, PRACTICE)
            started = time.perf_counter()
            archive = reports_zip(db, PRACTICE, couples, as_of=AS_OF, to_png=chart_png)
            batch = time.perf_counter() - started
        finally:
            db.close()
    return Row(
        f"batch of {len(couples)} reports (zip)",
        batch,
        "s",
        "< 60 s",
        f"{len(archive) // 1024} KB zip, one PDF per active couple",
        "duckdb",
    )


def run() -> list[Row]:
    """Time one report (warm) on each backend and a batch of every active couple's report."""
    if not export.images_available():
        return [
            Row("client report", float("nan"), "s", "", "no Chromium: apt-get install chromium")
        ]
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for backend in BACKENDS:
        if not wanted(backend):
            continue
        runs = RUNS if backend == "duckdb" else PG_RUNS
        try:
            seconds[backend] = _report_seconds(backend, runs)
        except Exception as exc:
            rows.append(failed(NAME, backend, exc, "< 2 s"))
            continue
        versus = backend != "duckdb" and "duckdb" in seconds
        rows.append(
            Row(
                NAME,
                seconds[backend],
                "s",
                "< 2 s",
                f"median of {runs}; the busiest couple, its chart through kaleido",
                backend,
                ratio(seconds[backend], seconds["duckdb"]) if versus else None,
                "duckdb row" if versus else "",
            )
        )
        if backend == "duckdb":
            rows.append(_batch())
    return rows
