"""The one writer of responses. The importer, the unmatched queue, the demo generator and the
test factories all store answer sheets through `write`, so every stored response has its
answers, its free text, its scale scores and its safety facts, written together.

A response's identity is its natural key: partner + instrument + completion time to the second,
plus the survey tool and its own response id when the export carries one (so two distinct sheets
of one partner less than a second apart never collapse, and ids of different tools never clash).
The same answer sheet, whatever file (or overlapping export) it arrives in, gets the same key
and is stored once.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from analytics.store.ids import next_ids

# Columns of the `sheets` frame given to `write`.
PARTNER, COMPLETED, SOURCE_ID, CREATED = (
    "partner_id",
    "completed_at",
    "source_response_id",
    "created_at",
)


def natural_key(
    partner_id: int,
    instrument_code: str,
    completed_at: dt.datetime,
    response_id: str | None = None,
    source: str | None = None,
) -> str:
    """The key of one answer sheet (`response_id`: the survey tool's own id, if any)."""
    key = f"{partner_id}:{instrument_code}:{completed_at:%Y-%m-%dT%H:%M:%S}"
    return key if response_id is None else f"{key}#{source or ''}:{response_id}"


def source_ids(values: pd.Series | None, index: pd.Index) -> pd.Series:
    """Survey-tool response ids as stripped text, NA when blank or absent."""
    if values is None:
        return pd.Series(pd.NA, index=index, dtype="str")
    text = values.astype("str").str.strip()
    return text.mask(text == "")


def natural_keys(
    partner_ids: pd.Series,
    instrument_code: str,
    completed_at: pd.Series,
    response_ids: pd.Series | None = None,
    source: str | None = None,
) -> pd.Series:
    """Vectorised `natural_key` for whole columns (naive UTC timestamps; ids NA when none)."""
    stamps = pd.to_datetime(completed_at).dt.strftime("%Y-%m-%dT%H:%M:%S")
    keys = partner_ids.astype("int64").astype(str) + f":{instrument_code}:" + stamps
    if response_ids is None:
        return keys
    ids = source_ids(response_ids, keys.index)
    if not bool(ids.notna().any()):
        return keys
    return keys.where(ids.isna(), keys + f"#{source or ''}:" + ids.fillna(""))


def _stored_keys(cur: duckdb.DuckDBPyConnection, keys: pd.Series) -> pd.Series:
    """Which keys are already stored."""
    cur.register("writer_keys", pd.DataFrame({"natural_key": keys.to_numpy()}))
    try:
        found = cur.execute(
            "SELECT natural_key FROM responses"
            " WHERE natural_key IN (SELECT natural_key FROM writer_keys)"
        ).df()["natural_key"]
    finally:
        cur.unregister("writer_keys")
    return keys.isin(found)


def _insert(
    cur: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, sql: str, params: list[object]
) -> None:
    cur.register(name, frame)
    try:
        cur.execute(sql, params)
    finally:
        cur.unregister(name)


def write(
    cur: duckdb.DuckDBPyConnection,
    *,
    instrument_id: int,
    instrument_code: str,
    sheets: pd.DataFrame,
    answers: pd.DataFrame,
    texts: pd.DataFrame | None = None,
    batch_id: int | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Store answer sheets of one instrument version inside the caller's transaction.

    Keys already stored are looked up here, inside the caller's transaction, so a caller that
    retries its transaction after a conflict counts the sheets stored meanwhile as stored.

    Args:
        sheets: one row per sheet: partner_id, completed_at (naive UTC), and optionally
            source_response_id (the survey tool's own id, part of the key) and created_at
            (the demo fixes it to stay reproducible).
        answers: aligned with `sheets` by index; one numeric column per item code answered
            with a number (NaN when blank).
        texts: aligned likewise; one text column per free-text item code (NA when blank).
        source: the survey tool the ids come from (`ParsedFile.source`), part of the key.

    Returns:
        The sheets actually stored (those not stored before, first of any repeats), in the
        given order, with their new `response_id` and `natural_key`.
    """
    ids = source_ids(sheets.get(SOURCE_ID), sheets.index)
    keys = natural_keys(sheets[PARTNER], instrument_code, sheets[COMPLETED], ids, source)
    fresh = ~keys.duplicated() & ~_stored_keys(cur, keys)
    stored = sheets[fresh].assign(natural_key=keys[fresh])
    if stored.empty:
        return stored.assign(response_id=pd.Series(dtype="int64"))
    # Ascending, not necessarily consecutive: imports drawing at the same moment interleave.
    new_ids = np.asarray(next_ids(cur, "responses", len(stored)), dtype=np.int64)
    stored = stored.assign(response_id=new_ids)

    rows = pd.DataFrame(
        {
            "id": stored["response_id"].to_numpy(),
            "partner_id": stored[PARTNER].astype("int64").to_numpy(),
            "instrument_id": instrument_id,
            "completed_at": pd.to_datetime(stored[COMPLETED]).to_numpy(),
            "source_response_id": (
                ids[fresh].astype("object").where(ids[fresh].notna(), None).to_numpy()
            ),
            "natural_key": stored["natural_key"].to_numpy(),
            "created_at": (
                pd.to_datetime(stored[CREATED]).to_numpy() if CREATED in stored else pd.NaT
            ),
        }
    )
    values = answers.loc[stored.index].astype("float64")
    wide = values.assign(_response_id=stored["response_id"].to_numpy())
    cur.register("writer_responses", rows)
    cur.register("writer_answers", wide)
    try:
        cur.execute(
            "INSERT INTO responses (id, partner_id, instrument_id, completed_at, batch_id,"
            " source_response_id, natural_key, created_at)"
            " SELECT id, partner_id, instrument_id, CAST(completed_at AS TIMESTAMP), ?,"
            " source_response_id, natural_key,"
            " coalesce(CAST(created_at AS TIMESTAMP), CAST(current_timestamp AS TIMESTAMP))"
            " FROM writer_responses ORDER BY id",
            [batch_id],
        )
        # The batch's answers, long: what is stored, and what the derived facts are computed
        # from while still in memory (re-reading the rows just inserted, uncommitted, is slow).
        cur.execute(
            "CREATE OR REPLACE TEMP VIEW writer_answer_rows AS"
            " SELECT u._response_id AS response_id, i.id AS item_id, u.value"
            " FROM (UNPIVOT (SELECT * FROM writer_answers)"
            "   ON COLUMNS(* EXCLUDE (_response_id)) INTO NAME item_code VALUE value) u"
            " JOIN items i ON i.instrument_id = (SELECT any_value(instrument_id)"
            "   FROM writer_responses) AND i.code = u.item_code AND i.kind <> 'text'"
        )
        if len(values.columns):
            cur.execute(
                "INSERT INTO answers (response_id, item_id, value)"
                " SELECT response_id, item_id, value FROM writer_answer_rows"
                " ORDER BY response_id, item_id"
            )
        # The derived facts, from their one SQL definition (migration 002).
        cur.execute(
            "INSERT INTO response_scores"
            " SELECT * FROM scale_scores_of('writer_answer_rows', 'writer_responses')"
        )
        cur.execute(
            "INSERT INTO response_safety"
            " SELECT * FROM safety_items_of('writer_answer_rows', 'writer_responses')"
        )
    finally:
        cur.execute("DROP VIEW IF EXISTS writer_answer_rows")
        cur.unregister("writer_answers")
        cur.unregister("writer_responses")
    if texts is not None and len(texts.columns):
        words = texts.loc[stored.index].astype("object")
        words = words.where(words.notna(), None)
        words = words.assign(_response_id=stored["response_id"].to_numpy())
        _insert(
            cur,
            "writer_texts",
            words,
            "INSERT INTO text_answers (response_id, item_id, text)"
            " SELECT u._response_id, i.id, u.text FROM (UNPIVOT writer_texts"
            "   ON COLUMNS(* EXCLUDE (_response_id)) INTO NAME item_code VALUE text) u"
            " JOIN items i ON i.instrument_id = ? AND i.code = u.item_code AND i.kind = 'text'"
            " WHERE trim(u.text) <> '' ORDER BY u._response_id",
            [instrument_id],
        )
    return stored
