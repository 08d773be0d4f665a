"""Write one checked import in ONE transaction: batch, responses, answers, unmatched rows and a
single audit entry land together or not at all.

Rows are inserted in bulk from registered DataFrames. Keys already stored by the time of the
commit (another import in between) are skipped and counted as duplicates, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analytics import audit, instruments
from analytics.db import Database
from analytics.importing import profiles
from analytics.importing.mapping import Mapping
from analytics.importing.parsed import ROW, ParsedFile
from analytics.importing.validate import Validation
from analytics.therapists import Actor

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Committed:
    batch_id: int
    profile_id: int | None
    accepted: int
    rejected: int
    duplicates: int
    unmatched: int
    couples: list[tuple[int, str]]  # (couple id, case code) of every couple that got a response


def _insert_batch(
    cur: duckdb.DuckDBPyConnection,
    actor: Actor,
    parsed: ParsedFile,
    profile_id: int | None,
    rows_total: int,
) -> int:
    row = cur.execute(
        "INSERT INTO import_batches (file_name, checksum, source, profile_id, imported_by,"
        " rows_total) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        [
            parsed.file_name or "upload",
            parsed.checksum,
            parsed.source,
            profile_id,
            profiles.actor_ref(actor),
            rows_total,
        ],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _count(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _insert_responses(
    cur: duckdb.DuckDBPyConnection, batch_id: int, instrument_id: int, matched: pd.DataFrame
) -> pd.DataFrame:
    """Insert the responses not stored yet; returns those rows with their new `response_id`.

    Ids are drawn from the sequence up front so that answers need no join on the natural key.
    """
    if matched.empty:
        return matched.assign(response_id=pd.Series(dtype="int64"))
    cur.register("import_keys", matched[["natural_key"]])
    stored = cur.execute(
        "SELECT natural_key FROM responses"
        " WHERE natural_key IN (SELECT natural_key FROM import_keys)"
    ).df()["natural_key"]
    cur.unregister("import_keys")
    fresh = matched[~matched["natural_key"].isin(stored)]
    ids = cur.execute(
        "SELECT nextval('seq_responses') AS id FROM range(?)", [len(fresh)]
    ).fetchnumpy()["id"]
    fresh = fresh.assign(response_id=np.asarray(ids, dtype="int64"))
    cur.register(
        "import_matched",
        fresh[["response_id", "partner_id", "completed_at", "source_response_id", "natural_key"]],
    )
    cur.execute(
        "INSERT INTO responses (id, partner_id, instrument_id, completed_at, batch_id,"
        " source_response_id, natural_key)"
        " SELECT m.response_id, m.partner_id, ?, m.completed_at, ?, m.source_response_id,"
        " m.natural_key FROM import_matched m",
        [instrument_id, batch_id],
    )
    cur.unregister("import_matched")
    return fresh


def _insert_answers(
    cur: duckdb.DuckDBPyConnection,
    instrument_id: int,
    stored: pd.DataFrame,
    item_codes: list[str],
) -> None:
    if stored.empty or not item_codes:
        return
    cur.register("import_values", stored[["response_id", *item_codes]])
    cur.execute(
        "INSERT INTO answers (response_id, item_id, value)"
        " SELECT u.response_id, i.id, u.value FROM (UNPIVOT import_values"
        "   ON COLUMNS(* EXCLUDE (response_id)) INTO NAME item_code VALUE value) u"
        " JOIN items i ON i.instrument_id = ? AND i.code = u.item_code",
        [instrument_id],
    )
    cur.unregister("import_values")


def _insert_unmatched(
    cur: duckdb.DuckDBPyConnection,
    batch_id: int,
    instrument_id: int,
    unmatched: pd.DataFrame,
    item_codes: list[str],
) -> int:
    if unmatched.empty or not item_codes:  # without items no row passes validation anyway
        return 0
    cur.register("import_unmatched", unmatched[[ROW, "respondent", "completed_at", *item_codes]])
    cur.execute(
        "INSERT INTO unmatched_responses (batch_id, row_number, respondent, instrument_id,"
        " completed_at, answers)"
        " SELECT ?, w._row, w.respondent, ?, w.completed_at, coalesce(j.answers, '{}')"
        " FROM import_unmatched w LEFT JOIN"
        " (SELECT _row, json_group_object(item_code, value)::VARCHAR AS answers FROM (UNPIVOT"
        "   import_unmatched ON COLUMNS(* EXCLUDE (_row, respondent, completed_at))"
        "   INTO NAME item_code VALUE value) GROUP BY _row) j ON j._row = w._row"
        " WHERE NOT EXISTS (SELECT 1 FROM unmatched_responses u WHERE u.instrument_id = ?"
        " AND u.completed_at = w.completed_at AND u.respondent IS NOT DISTINCT FROM w.respondent)"
        " ORDER BY w._row",
        [batch_id, instrument_id, instrument_id],
    )
    inserted = _count(cur)
    cur.unregister("import_unmatched")
    return inserted


def commit(
    db: Database,
    actor: Actor,
    parsed: ParsedFile,
    validation: Validation,
    *,
    mapping: Mapping,
    profile_id: int | None = None,
    save_profile_as: str | None = None,
    progress: Progress | None = None,
) -> Committed:
    """Store the accepted and unmatched rows of one checked file; returns what was stored."""
    report = progress or (lambda _fraction: None)
    instrument_id = instruments.instrument_id(db, validation.instrument.code)
    codes = validation.item_codes
    rejected = len(validation.rejected)
    with db.transaction() as cur:
        if save_profile_as:
            profile_id = profiles.save(
                cur,
                actor,
                save_profile_as,
                header_signature=parsed.header_signature,
                source=parsed.source,
                mapping=mapping,
            )
        batch_id = _insert_batch(cur, actor, parsed, profile_id, validation.rows_total)
        report(0.1)
        stored = _insert_responses(cur, batch_id, instrument_id, validation.matched)
        accepted = len(stored)
        report(0.3)
        _insert_answers(cur, instrument_id, stored, codes)
        report(0.8)
        queued = _insert_unmatched(cur, batch_id, instrument_id, validation.unmatched, codes)
        late = len(validation.matched) - accepted + len(validation.unmatched) - queued
        duplicates = validation.duplicates + late
        cur.execute(
            "UPDATE import_batches SET accepted = ?, rejected = ?, duplicates = ?, unmatched = ?"
            " WHERE id = ?",
            [accepted, rejected, duplicates, queued, batch_id],
        )
        couples = sorted(
            set(zip(stored["couple_id"].astype(int), stored["case_code"].astype(str), strict=True)),
            key=lambda pair: pair[1],
        )
        audit.record(
            cur,
            actor_id=profiles.actor_ref(actor),
            action="import",
            entity="import_batch",
            entity_id=batch_id,
            detail={
                "source": parsed.source,
                "rows": validation.rows_total,
                "accepted": accepted,
                "rejected": rejected,
                "duplicates": duplicates,
                "unmatched": queued,
            },
        )
        report(0.95)
    report(1.0)
    return Committed(
        batch_id,
        profile_id,
        accepted,
        rejected,
        duplicates,
        queued,
        [(int(i), str(c)) for i, c in couples],
    )
