"""Run every benchmark and print one table (both backends: DuckDB file and PostgreSQL).

BENCH_ONLY=import,caseload runs the modules whose names hold one of those words;
BENCH_BACKENDS=duckdb (or postgres) leaves the other backend out; BENCH_FULL=1 adds 5,000 couples.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time

from bench import Row, failed

MODULES = [
    "bench.demo_bench",
    "bench.import_bench",
    "bench.caseload_bench",
    "bench.couple_bench",
    "bench.couple_browser_bench",
    "bench.export_bench",
    "bench.report_bench",
    "bench.load_bench",
]


def _cell(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "failed"
    return f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    """The rows as one text table."""
    head = ("backend", "benchmark", "value", "unit", "target", "ratio", "ratio to", "note")
    cells = [
        (
            r.backend or "-",
            r.name,
            _cell(r.value),
            r.unit,
            r.target,
            _cell(r.ratio, 2) + ("x" if r.ratio is not None else ""),
            r.reference,
            r.note,
        )
        for r in (row.with_ratio() for row in rows)
    ]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head) - 1)]
    right = {2, 5}

    def line(c: tuple[str, ...]) -> str:
        parts = [
            f"{v:>{w}}" if i in right else f"{v:<{w}}"
            for i, (v, w) in enumerate(zip(c, widths, strict=False))
        ]
        return "  ".join([*parts, c[-1]]).rstrip()

    return "\n".join(
        [line(head), "-" * (sum(widths) + 2 * len(widths) + 20)] + [line(c) for c in cells]
    )


def main() -> int:
    only = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
    rows: list[Row] = []
    for name in MODULES:
        if only and not any(w in name for w in only):
            continue
        started = time.perf_counter()
        try:
            rows.extend(importlib.import_module(name).run())
        except Exception as exc:  # one bench failing never hides the others' rows
            rows.append(failed(name.removeprefix("bench."), "", exc))
        print(f"  ({name} ran in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
