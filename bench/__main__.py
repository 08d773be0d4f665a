"""Run every benchmark and print one table."""

from __future__ import annotations

import importlib
import sys
import time

from bench import Row

MODULES = [
    "bench.demo_bench",
    "bench.import_bench",
    "bench.caseload_bench",
    "bench.couple_bench",
    "bench.couple_browser_bench",
    "bench.export_bench",
    "bench.report_bench",
]


def main() -> int:
    rows: list[Row] = []
    for name in MODULES:
        started = time.perf_counter()
        rows.extend(importlib.import_module(name).run())
        print(f"  ({name} ran in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    width = max(len(r.name) for r in rows) if rows else 10
    print(f"{'benchmark':<{width}}  {'value':>12}  {'unit':<6}  {'target':<12}  note")
    print("-" * (width + 50))
    for r in rows:
        print(f"{r.name:<{width}}  {r.value:>12.3f}  {r.unit:<6}  {r.target:<12}  {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
