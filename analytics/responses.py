"""Identity of a stored response, shared by the importer and the demo generator."""

from __future__ import annotations

import datetime as dt

import pandas as pd


def natural_key(partner_id: int, instrument_code: str, completed_at: dt.datetime) -> str:
    """partner + instrument + completion time to the second: the same answer sheet, whatever
    file (or overlapping export) it arrives in, always gets the same key."""
    return f"{partner_id}:{instrument_code}:{completed_at:%Y-%m-%dT%H:%M:%S}"


def natural_keys(
    partner_ids: pd.Series, instrument_code: str, completed_at: pd.Series
) -> pd.Series:
    """Vectorised `natural_key` for whole columns (naive UTC timestamps)."""
    stamps = pd.to_datetime(completed_at).dt.strftime("%Y-%m-%dT%H:%M:%S")
    return partner_ids.astype("int64").astype(str) + f":{instrument_code}:" + stamps
