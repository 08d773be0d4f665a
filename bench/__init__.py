"""`make bench`: speed and memory targets, printed as one table (never asserted in tests).

Each bench module exposes `run() -> list[Row]`; add new modules to MODULES in __main__.py. A row
names its backend ("duckdb", "postgres", or "" when storage plays no part) and, when it has one,
its ratio to a reference measured in the same run (`ratio`, `reference`); a row whose
measurement failed says so in its note (see `failed`) instead of stopping the bench.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    target: str = ""
    note: str = ""
    backend: str = ""
    ratio: float | None = None
    reference: str = ""  # what `ratio` divides by

    def with_ratio(self) -> Row:
        """This row, its ratio to the target's limit when it has no reference of its own."""
        if self.ratio is not None or math.isnan(self.value):
            return self
        limit = re.fullmatch(r"\s*<=?\s*([0-9.]+)\s*(s|MB|x)?\s*", self.target)
        if not limit or float(limit.group(1)) == 0:
            return self
        return Row(
            self.name, self.value, self.unit, self.target, self.note, self.backend,
            self.value / float(limit.group(1)), "target",
        )  # fmt: skip


def failed(name: str, backend: str, exc: BaseException, target: str = "", unit: str = "s") -> Row:
    """A row whose measurement raised: the reason, short, instead of a number."""
    reason = " ".join(str(exc).split())[:90] or type(exc).__name__
    return Row(name, float("nan"), unit, target, f"failed: {type(exc).__name__}: {reason}", backend)


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is missing or zero."""
    if math.isnan(a) or math.isnan(b) or b == 0:
        return None
    return a / b


def growth(label: str, backend: str, seconds: dict[int, float]) -> list[Row]:
    """Rows saying how a time grows with the practice: each larger size against the smallest,
    sub-linear when the time ratio is below the size ratio."""
    if not seconds:
        return []
    base = min(seconds)
    rows = []
    for size in sorted(seconds):
        if size == base:
            continue
        r = ratio(seconds[size], seconds[base])
        sizes = size / base
        verdict = "-" if r is None else ("sub-linear" if r < sizes else "NOT sub-linear")
        rows.append(
            Row(
                f"growth: {label}, {size:,} / {base:,} couples",
                seconds[size],
                "s",
                f"< {sizes:g}x",
                f"{verdict}: {base:,} couples took {seconds[base]:.3f} s; size ratio {sizes:g}x",
                backend,
                r,
                f"{base:,} couples",
            )
        )
    return rows
