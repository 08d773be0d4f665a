"""How commands print: tables for people, JSON for scripts; and the shared argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any, TextIO

import pandas as pd


def print_frame(frame: pd.DataFrame, as_json: bool, out: TextIO | None = None) -> None:
    """A table, or a JSON list of records (to `out`, default standard output)."""
    if as_json:
        print(frame.to_json(orient="records", date_format="iso"), file=out)
    elif frame.empty:
        print("(none)", file=out)
    else:
        print(frame.to_string(index=False), file=out)


def print_json(value: Any, out: TextIO | None = None) -> None:
    """JSON with dates as ISO text and missing numbers as null."""
    print(json.dumps(value, default=_plain, allow_nan=False), file=out)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(type(value).__name__)


def number(value: Any) -> float | None:
    """A float, or None for missing values (JSON null)."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), 4)


def text(value: Any) -> str | None:
    """A string, or None for missing values (pandas gives NaN for a missing string)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def numbers(value: Any) -> list[float]:
    """A list of floats from a DuckDB list column (a numpy array), [] when missing."""
    if value is None or isinstance(value, float | str):
        return []
    return [round(float(v), 4) for v in value]


def moment(value: Any) -> str | None:
    """A date or timestamp as ISO text, or None when missing."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return str(value.isoformat())


def date_arg(text: str) -> dt.date:
    """argparse type: a YYYY-MM-DD date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a date like 2026-01-31") from exc


def positive(text: str) -> int:
    """argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("use a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("use a number of 1 or more")
    return value
