"""What the Instruments page reads: every stored instrument version, the scales of the current
ones with their figures, and every instrument file that cannot be used, with its problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics.instruments import catalog, lookup
from analytics.instruments.sync import refusals
from analytics.store.db import Database


@dataclass(frozen=True)
class InstrumentsOverview:
    folder: str
    versions: pd.DataFrame  # code, version, name, origin, file, current, items, scales, responses
    scales: dict[str, pd.DataFrame]  # current instrument code -> its scales, as text
    problems: pd.DataFrame  # file, problem (one row per problem)


def _text(value: object, fmt: str = "{:g}") -> str:
    return "—" if value is None or pd.isna(value) else fmt.format(value)  # type: ignore[call-overload]


def _scales_table(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scale": raw["label"],
            "description": raw["description"],
            "items": raw["n_items"].astype("int64"),
            "scoring": [
                f"{m} of items, {'higher is better' if d == 'higher_better' else 'higher is worse'}"
                for m, d in zip(raw["method"], raw["direction"], strict=True)
            ],
            "range": [
                f"{_text(lo)}–{_text(hi)}"
                for lo, hi in zip(raw["score_min"], raw["score_max"], strict=True)
            ],
            "missing_rule": [
                f"at least {int(n)} of {int(k)} answered" + (", prorated" if p and n < k else "")
                for n, k, p in zip(raw["n_needed"], raw["n_items"], raw["prorate"], strict=True)
            ],
            "reliability": [
                "—" if pd.isna(r) else f"{r:.2f} ({t})"
                for r, t in zip(raw["reliability"], raw["reliability_type"], strict=True)
            ],
            "smallest_reliable_change": [_text(v, "{:.2f}") for v in raw["rc_points"]],
            "cutoff": [_text(v, "{:.2f}") for v in raw["cutoff_used"]],
        }
    )


def instruments_overview(db: Database, folder: Path) -> InstrumentsOverview:
    """The Instruments page's content for the practice's instrument folder."""
    files = catalog.load_all(folder)
    problems = [{"file": f.file_name, "problem": problem} for f in files for problem in f.problems]
    problems += [{"file": name, "problem": reason} for name, reason in refusals(db, files).items()]
    versions = lookup.overview(db)
    scales = {
        code: _scales_table(lookup.scales_of(db, code))
        for code in versions.loc[versions["is_current"], "code"]
    }
    return InstrumentsOverview(
        folder=str(folder),
        versions=versions,
        scales=scales,
        problems=pd.DataFrame(problems, columns=["file", "problem"]),
    )
