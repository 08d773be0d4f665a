"""Write one checked import in ONE transaction: batch, responses, answers, unmatched rows and a
single audit entry land together or not at all.

Rows are inserted in bulk from registered DataFrames. Keys already stored by the time of the
commit (another import in between) are skipped and counted as duplicates, never an error. The
transaction runs through `Database.atomic`: when another session commits an overlapping file at
the same moment, the conflict rolls this one back and runs it again from the start, and the
writer, looking the keys up again inside the new transaction, counts the rows the other one
stored as duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from analytics.importing import profiles
from analytics.importing.mapping import Mapping
from analytics.importing.parsed import ROW, ParsedFile
from analytics.importing.validate import ALREADY_QUEUED, Validation
from analytics.practice import audit, responses
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.store.ids import next_id

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Committed:
    batch_id: int
    profile_id: int | None
    accepted: int
    rejected: int
    duplicates: int
    unmatched: int
    # (couple id, case code) of every couple in the importer's caseload that got a response
    couples: list[tuple[int, str]]
    # New responses filed under couples outside the importer's caseload (a count, never whose)
    outside_caseload: int = 0


def _insert_batch(
    cur: duckdb.DuckDBPyConnection,
    actor: Actor,
    parsed: ParsedFile,
    profile_id: int | None,
    rows_total: int,
) -> int:
    batch_id = next_id(cur, "import_batches")
    cur.execute(
        "INSERT INTO import_batches (id, file_name, checksum, source, profile_id, imported_by,"
        " rows_total) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            parsed.file_name or "upload",
            parsed.checksum,
            parsed.source,
            profile_id,
            actor.id,
            rows_total,
        ],
    )
    return batch_id


def _count(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _insert_unmatched(cur: duckdb.DuckDBPyConnection, batch_id: int, validation: Validation) -> int:
    """Queue the rows whose respondent the practice does not know, answers and free text
    included; rows queued meanwhile (by another import) are skipped."""
    unmatched, codes = validation.unmatched, validation.item_codes
    if unmatched.empty or not codes:  # without items no row passes validation anyway
        return 0
    texts = validation.unmatched_texts.astype("object")
    keys = ["respondent", "completed_at", "source_response_id", "queue_key"]
    frame = unmatched[[ROW, *keys, *codes]].assign(
        source_response_id=lambda f: f["source_response_id"].astype("object"),
        _texts=[
            json.dumps({k: v for k, v in row.items() if isinstance(v, str)}, sort_keys=True)
            for row in texts.to_dict("records")
        ]
        if len(texts.columns)
        else None,
    )
    cur.register("import_unmatched", frame)
    try:
        cur.execute(
            "INSERT INTO unmatched_responses (batch_id, row_number, respondent, instrument_id,"  # noqa: S608 (constant text)
            " completed_at, answers, texts, source_response_id, queue_key)"
            " SELECT ?, k._row, k.respondent, ?, k.completed_at, coalesce(j.answers, '{}'),"
            " CAST(k._texts AS JSON), CAST(k.source_response_id AS VARCHAR), k.queue_key"
            " FROM import_unmatched k LEFT JOIN"
            " (SELECT _row, json_group_object(item_code, value)::VARCHAR AS answers FROM (UNPIVOT"
            "   (SELECT * EXCLUDE (_texts, respondent, completed_at, source_response_id,"
            "     queue_key) FROM import_unmatched)"
            "   ON COLUMNS(* EXCLUDE (_row))"
            "   INTO NAME item_code VALUE value) GROUP BY _row) j ON j._row = k._row"
            f" WHERE NOT {ALREADY_QUEUED}"
            " ORDER BY k._row",
            [batch_id, validation.instrument_id, validation.instrument_id],
        )
        inserted = _count(cur)
    finally:
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
    rejected = len(validation.rejected)
    matched = validation.matched

    def work(cur: duckdb.DuckDBPyConnection) -> Committed:
        # Everything is decided again inside the transaction (a retry starts from scratch).
        profile = profile_id
        if save_profile_as:
            profile = profiles.save(
                cur,
                actor,
                save_profile_as,
                header_signature=parsed.header_signature,
                source=parsed.source,
                mapping=mapping,
            )
        batch_id = _insert_batch(cur, actor, parsed, profile, validation.rows_total)
        report(0.1)
        stored = responses.write(
            cur,
            instrument_id=validation.instrument_id,
            instrument_code=validation.instrument.code,
            sheets=matched[["partner_id", "completed_at", "source_response_id"]],
            answers=matched[validation.item_codes],
            texts=validation.matched_texts,
            batch_id=batch_id,
            source=parsed.source,
        )
        accepted = len(stored)
        report(0.8)
        queued = _insert_unmatched(cur, batch_id, validation)
        late = len(validation.matched) - accepted + len(validation.unmatched) - queued
        duplicates = validation.duplicates + late
        landed = matched.loc[stored.index]
        seen = landed[landed["visible"].astype(bool)]
        outside = accepted - len(seen)
        cur.execute(
            "UPDATE import_batches SET accepted = ?, rejected = ?, duplicates = ?, unmatched = ?"
            " WHERE id = ?",
            [accepted, rejected, duplicates, queued, batch_id],
        )
        couples = sorted(
            set(zip(seen["couple_id"].astype(int), seen["case_code"].astype(str), strict=True)),
            key=lambda pair: pair[1],
        )
        audit.record(
            cur,
            actor_id=actor.id,
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
                "outside_caseload": outside,
            },
        )
        report(0.95)
        return Committed(
            batch_id,
            profile,
            accepted,
            rejected,
            duplicates,
            queued,
            [(int(i), str(c)) for i, c in couples],
            outside,
        )

    done = db.atomic(work)
    report(1.0)
    return done
