"""`make bench`: speed and memory targets, printed as one table (never asserted in tests).

Each bench module exposes `run() -> list[Row]`; add new modules to MODULES in __main__.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    target: str = ""
    note: str = ""
