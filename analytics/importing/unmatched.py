"""The unmatched queue: imported rows whose respondent the practice does not know (a known
partner's rows go to their own couple, whoever imports them). The therapist files each one under
a partner (same rules as an import) or discards it, with a reason.

A therapist sees the rows of the imports they ran; a supervisor sees every pending row. Filing
and discarding run through `Database.atomic`, so two sessions resolving the same row at once
get a plain answer ("not waiting"), never a database error.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.validate import answer_reasons
from analytics.instruments import lookup
from analytics.practice import access, audit, responses
from analytics.practice.access import Actor
from analytics.store.db import Database

NOT_QUEUED = "That response is not waiting in your unmatched queue."
# Never says why: whether the row's email or code is another client's is not the filer's to know.
NOT_THIS_PARTNER = "This response cannot be filed under that partner."
# Why a queued row is discarded: a small fixed list (stored on the row and audited), plus an
# optional note that is stored on the row only (it may say anything; it is never audited).
DISCARD_REASONS = {
    "test": "A test or practice response",
    "not_a_client": "Not from a client of this practice",
    "repeat": "A repeat of a response already filed",
    "wrong_form": "Answered on the wrong form",
    "other": "Another reason (see the note)",
}
MAX_NOTE = 500


def list_pending(db: Database, actor: Actor) -> pd.DataFrame:
    """Pending rows the actor may resolve: where they came from, who, when, how many answers."""
    return db.query_df(
        "SELECT u.id, b.file_name, u.row_number, u.respondent, u.completed_at,"
        " len(json_keys(u.answers)) AS answers, b.imported_at"
        " FROM unmatched_responses u JOIN import_batches b ON b.id = u.batch_id"
        " WHERE u.status = 'pending' AND (? OR b.imported_by = ?)"
        " ORDER BY u.completed_at, u.id",
        [actor.sees_every_couple, actor.id],
    )


def assignable_partners(db: Database, actor: Actor) -> pd.DataFrame:
    """Partners of the actor's open couples: partner_id, case_code, label, display_name."""
    return db.query_df(
        "SELECT p.id AS partner_id, c.case_code, p.label, p.display_name"
        " FROM partners p JOIN couples c ON c.id = p.couple_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = c.id"
        " WHERE c.status <> 'closed' ORDER BY c.case_code, p.label",
        access.params(actor),
    )


def pending_choices(pending: pd.DataFrame) -> dict[int, str]:
    """Queue row id -> a short label (no file content) for choosing a row."""
    return {
        int(i): f"#{i} · row {n}" for i, n in zip(pending["id"], pending["row_number"], strict=True)
    }


def partner_choices(db: Database, actor: Actor) -> dict[int, str]:
    """Partner id -> "CASE · partner A" for every partner the actor may file a row under."""
    people = assignable_partners(db, actor)
    return {
        int(i): f"{case} · partner {label}"
        for i, case, label in zip(
            people["partner_id"], people["case_code"], people["label"], strict=True
        )
    }


@dataclass(frozen=True)
class _Queued:
    batch_id: int
    instrument_id: int
    completed_at: dt.datetime
    answers: dict[str, float]
    texts: dict[str, str]
    source: str  # the survey tool of the row's import
    source_response_id: str | None  # the tool's own id of the row, part of the response's key


def _pending(db: Database, actor: Actor, unmatched_id: int) -> _Queued:
    rows = db.query_rows(
        "SELECT u.batch_id, u.instrument_id, u.completed_at, u.answers, u.texts, b.source,"
        " u.source_response_id"
        " FROM unmatched_responses u JOIN import_batches b ON b.id = u.batch_id"
        " WHERE u.id = ? AND u.status = 'pending' AND (? OR b.imported_by = ?)",
        [unmatched_id, actor.sees_every_couple, actor.id],
    )
    if not rows:
        raise CaseloadError(NOT_QUEUED)
    batch_id, instrument_id, completed_at, answers, texts, source, source_id = rows[0]
    return _Queued(
        int(batch_id),
        int(instrument_id),
        completed_at,
        {str(k): float(v) for k, v in json.loads(str(answers)).items()},
        {str(k): str(v) for k, v in json.loads(str(texts or "{}")).items()},
        str(source),
        None if source_id is None else str(source_id),
    )


def _belongs_to_another(db: Database, unmatched_id: int, partner_id: int) -> bool:
    """Whether the row's email or client code is on file for a partner other than this one
    (a client added since the row was queued, maybe in another therapist's caseload)."""
    found = db.query_value(
        "SELECT count(*) FROM unmatched_responses u,"
        " unnest(string_split(coalesce(u.respondent, ''), ' / ')) AS t(token)"
        " JOIN partners p ON p.email = lower(t.token) OR upper(p.client_code) = upper(t.token)"
        " WHERE u.id = ? AND p.id <> ?",
        [unmatched_id, partner_id],
    )
    return bool(found)


def assign(db: Database, actor: Actor, unmatched_id: int, partner_id: int) -> int:
    """File a pending row under a partner of the actor's caseload; returns the new response id."""
    queued = _pending(db, actor, unmatched_id)
    couple = db.query_value(
        "SELECT p.couple_id FROM partners p JOIN visible_couples(?, ?) v"
        " ON v.couple_id = p.couple_id WHERE p.id = ?",
        [*access.params(actor), partner_id],
    )
    if couple is None:
        raise CaseloadError("That partner is not in your caseload.")
    if _belongs_to_another(db, unmatched_id, partner_id):
        raise CaseloadError(NOT_THIS_PARTNER)
    instrument = lookup.by_id(db, queued.instrument_id)
    known = [i.code for i in instrument.answer_items if i.code in queued.answers]
    values = pd.DataFrame([queued.answers], columns=known, dtype="float64")
    reason = str(answer_reasons(values, instrument).iloc[0])
    if reason:
        raise CaseloadError(f"This response cannot be filed: {reason}")
    text_codes = [i.code for i in instrument.text_items if i.code in queued.texts]
    texts = pd.DataFrame([queued.texts], columns=text_codes, dtype="string")
    sheet = pd.DataFrame(
        {
            "partner_id": [partner_id],
            "completed_at": [pd.Timestamp(queued.completed_at)],
            "source_response_id": pd.Series([queued.source_response_id], dtype="str"),
        }
    )

    def work(cur: duckdb.DuckDBPyConnection) -> int:
        still = cur.execute(
            "SELECT 1 FROM unmatched_responses WHERE id = ? AND status = 'pending'", [unmatched_id]
        ).fetchone()
        if not still:
            raise CaseloadError(NOT_QUEUED)
        stored = responses.write(
            cur,
            instrument_id=queued.instrument_id,
            instrument_code=instrument.code,
            sheets=sheet,
            answers=values,
            texts=texts,
            batch_id=queued.batch_id,
            source=queued.source,
        )
        if stored.empty:
            raise CaseloadError(
                "That partner already has a response completed at the same time;"
                " nothing was changed."
            )
        response_id = int(stored["response_id"].iloc[0])
        cur.execute(
            "UPDATE unmatched_responses SET status = 'assigned', partner_id = ?, resolved_by = ?,"
            " resolved_at = current_timestamp WHERE id = ?",
            [partner_id, actor.id, unmatched_id],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="assign",
            entity="unmatched_response",
            entity_id=unmatched_id,
            couple_id=int(couple),
            detail={"response_id": response_id},
        )
        return response_id

    return db.atomic(work)


def discard(
    db: Database, actor: Actor, unmatched_id: int, *, reason: str, note: str | None = None
) -> None:
    """Drop a pending row from the queue (kept, marked discarded, for the record) for one of
    `DISCARD_REASONS`; the optional note stays on the row and is never audited."""
    if reason not in DISCARD_REASONS:
        raise CaseloadError("Choose why this response is discarded.")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise CaseloadError(f"The note is at most {MAX_NOTE} characters.")
    _pending(db, actor, unmatched_id)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        changed = cur.execute(
            "UPDATE unmatched_responses SET status = 'discarded', resolved_by = ?,"
            " resolved_at = current_timestamp, discard_reason = ?, discard_note = ?"
            " WHERE id = ? AND status = 'pending'",
            [actor.id, reason, note, unmatched_id],
        ).fetchone()
        if not changed or not changed[0]:
            raise CaseloadError(NOT_QUEUED)
        audit.record(
            cur,
            actor_id=actor.id,
            action="discard",
            entity="unmatched_response",
            entity_id=unmatched_id,
            detail={"reason": reason},
        )

    db.atomic(work)
