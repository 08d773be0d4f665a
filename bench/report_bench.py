"""Client report speed (issue 10): one report PDF with its chart drawn through kaleido and
Debian's Chromium (warm, median of later reports), and a zip of 100 couples' reports, on a
demo practice of 100 couples with up to a year of check-ins. Printed by `make bench`, never
asserted in tests."""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from analytics.charts import export
from analytics.charts.images import chart_png
from analytics.demo.build import build_demo
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice
from analytics.views.report import render_report
from analytics.views.report_batch import active_couples, reports_zip
from bench import Row

COUPLES = 100
RUNS = 5


def run() -> list[Row]:
    """Time one report (warm) and a batch of every active couple's report."""
    if not export.images_available():
        return [
            Row("client report", float("nan"), "s", "", "no Chromium: apt-get install chromium")
        ]
    today = dt.date.today()
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        folder = Path(tmp)
        db = open_practice(folder / "bench.duckdb", instruments_folder=folder)
        try:
            # Every couple active, so the batch has COUPLES reports.
            build_demo(db, couples=COUPLES, weeks=52, as_of=today)
            db.execute("UPDATE couples SET status = 'active', closed_at = NULL")
            couples = active_couples(db, PRACTICE)
            busiest = int(
                db.query_value(
                    "SELECT p.couple_id FROM responses r JOIN partners p ON p.id = r.partner_id"
                    " GROUP BY p.couple_id ORDER BY count(*) DESC, p.couple_id LIMIT 1"
                )
            )
            render_report(db, PRACTICE, busiest, as_of=today, to_png=chart_png)  # warm up
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                render_report(db, PRACTICE, busiest, as_of=today, to_png=chart_png)
                times.append(time.perf_counter() - started)
            started = time.perf_counter()
            archive = reports_zip(db, PRACTICE, couples, as_of=today, to_png=chart_png)
            batch = time.perf_counter() - started
        finally:
            db.close()
    return [
        Row(
            "client report PDF (warm)",
            statistics.median(times),
            "s",
            "< 2 s",
            f"median of {RUNS}; the busiest couple, its chart through kaleido",
        ),
        Row(
            f"batch of {len(couples)} reports (zip)",
            batch,
            "s",
            "< 60 s",
            f"{len(archive) // 1024} KB zip, one PDF per active couple",
        ),
    ]
