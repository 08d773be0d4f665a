"""Check every row of a parsed file before anything is written, over whole columns at once.

A row ends up in exactly one of four groups: accepted (a new response for a known partner),
duplicate (already stored, already waiting in the unmatched queue, or repeated in the file),
unmatched (the practice knows no such respondent; it waits for the therapist), or rejected
(with a reason in plain words that never quotes the row's content).

A row whose respondent is a known partner is filed under that partner's couple whoever imports
it: the access rule decides only what the importer is shown. Rows of couples outside the
importer's caseload carry no case code or partner label here, so nothing downstream can show
whose they are; the importer only learns how many there were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.importing.mapping import Mapping, check_mapping, convert_answers
from analytics.importing.parsed import (
    CLIENT_CODE,
    COMPLETED,
    COMPLETED_PROBLEM,
    COMPLETED_RAW,
    EMAIL,
    RESPONSE_ID,
    ROW,
    ParsedFile,
    RowIssue,
)
from analytics.instruments import lookup
from analytics.instruments.model import Instrument
from analytics.practice import access, settings
from analytics.practice.access import Actor
from analytics.practice.responses import natural_keys, source_ids
from analytics.store.db import Database

# One reason for every way the identifiers disagree (two partners, or one known and one not):
# it never says which identifier is on file, so it reveals nothing about other caseloads.
NOT_ONE_CLIENT = (
    "The email address and client code on this row do not identify one and the same client."
)
NO_DATE = "The completion date is missing."
BAD_DATE = "The completion date is not a date that can be read."
FUTURE = "The completion date is in the future."
DEFAULT_GRACE_DAYS = 30

# Whether a row (columns queue_key, respondent, completed_at of the registered frame `k`) is
# already in the unmatched queue, whatever its status: the same key, or a row queued before
# migration 003 (no key, its tool's id was not kept) with the same respondent and time.
# Binds the instrument version id once.
ALREADY_QUEUED = (
    "(EXISTS (SELECT 1 FROM unmatched_responses u WHERE u.queue_key = k.queue_key)"
    " OR EXISTS (SELECT 1 FROM unmatched_responses u WHERE u.queue_key IS NULL"
    " AND u.instrument_id = ? AND u.completed_at = k.completed_at"
    " AND u.respondent IS NOT DISTINCT FROM k.respondent))"
)


def before_start(grace_days: int) -> str:
    """The reason for an answer sheet dated too long before its couple's start (no date given:
    the couple may be outside the importer's caseload)."""
    if grace_days <= 0:
        return "The completion date is before this couple started therapy."
    return (
        "The completion date is before this couple started therapy"
        f" (more than {grace_days} days before)."
    )


@dataclass
class Validation:
    """The outcome of checking one file; `matched` and `unmatched` carry one float column per
    mapped numeric item code, named by the code; `matched_texts` and `unmatched_texts` hold the
    free-text answers of the same rows (same index)."""

    instrument: Instrument
    instrument_id: int
    item_codes: list[str]
    matched: pd.DataFrame  # _row, partner_id, couple_id, visible, case_code, label (both NA
    #                        when not visible), completed_at, natural_key, source_response_id,
    #                        answered, <items>
    unmatched: pd.DataFrame  # _row, respondent, completed_at, source_response_id, queue_key,
    #                          <items>
    rejected: list[RowIssue]
    duplicates: int
    rows_total: int
    matched_texts: pd.DataFrame
    unmatched_texts: pd.DataFrame

    @property
    def outside_caseload(self) -> int:
        """New responses that go to couples outside the importer's caseload."""
        return int((~self.matched["visible"].astype(bool)).sum())


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="str")
    values = frame[column].astype("str").str.strip()
    return values.mask(values == "")


def _partners(db: Database, actor: Actor) -> pd.DataFrame:
    """Every partner on file (a row is filed with its own couple whoever imports it), whether
    the actor may see their couple, and their couple's start."""
    return db.query_df(
        "SELECT p.id AS partner_id, p.couple_id, c.case_code, p.label, lower(p.email) AS email,"
        " upper(p.client_code) AS client_code, c.start_date,"
        " v.couple_id IS NOT NULL AS visible"
        " FROM partners p JOIN couples c ON c.id = p.couple_id"
        " LEFT JOIN visible_couples(?, ?) v ON v.couple_id = c.id",
        access.params(actor),
    )


def _lookup(keys: pd.Series, values: pd.Series) -> dict[object, object]:
    """A mapping for Series.map without missing keys (a partner without an email)."""
    present = keys.notna()
    return dict(zip(keys[present], values[present], strict=True))


def _completed(frame: pd.DataFrame) -> pd.Series:
    if COMPLETED not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    stamps = pd.to_datetime(frame[COMPLETED], errors="coerce")
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps


class _Reasons:
    """Per-row reason text, built column by column (no per-row Python)."""

    def __init__(self, index: pd.Index) -> None:
        self.text = pd.Series("", index=index, dtype="str")

    def add(self, mask: pd.Series | np.ndarray, message: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.text = self.text.where(~mask, self.text + message + " ")

    def add_items(self, problems: pd.DataFrame, what: str) -> None:
        """One reason listing the item codes (never the answers) that have this problem."""
        listed = pd.Series("", index=problems.index, dtype="str")
        for code in problems.columns[problems.any(axis=0).to_numpy()]:
            listed = listed.where(~problems[code], listed + code + " ")
        hit = listed != ""
        joined = listed.str.strip().str.replace(" ", ", ", regex=False)
        self.add(hit, f"{what} (" + joined + ").")

    @property
    def rejected(self) -> pd.Series:
        return self.text != ""


def _count_reasons(reasons: _Reasons, values: pd.DataFrame, instrument: Instrument) -> None:
    """A row must answer enough of the headline scale's items for its missing-data rule."""
    headline = instrument.scale(instrument.headline)
    items = [i.code for i in instrument.items_of(headline.code)]
    have = values.reindex(columns=items).notna().sum(axis=1)
    few = have < headline.needed()
    if few.any():  # the per-row text is only built when some row needs it
        reasons.add(
            few,
            f"Too few {headline.label} questions answered ("
            + have.astype("str")
            + f" of {len(items)}; at least {headline.needed()} are needed).",
        )


def answer_reasons(values: pd.DataFrame, instrument: Instrument) -> pd.Series:
    """Reasons (empty string when fine) from stored numeric answers, for the unmatched queue."""
    reasons = _Reasons(values.index)
    limits = {i.code: (i.min, i.max) for i in instrument.answer_items}
    outside = pd.DataFrame(
        {c: (values[c] < limits[c][0]) | (values[c] > limits[c][1]) for c in values.columns},
        index=values.index,
    )
    if len(outside.columns):
        reasons.add_items(outside, "Answers outside the scale")
    _count_reasons(reasons, values.where(~outside) if len(outside.columns) else values, instrument)
    return reasons.text.str.strip()


def _existing_keys(db: Database, keys: pd.Series) -> pd.Series:
    """Which natural keys are already stored as responses."""
    if keys.empty:
        return pd.Series(False, index=keys.index)
    with db.cursor() as cur:
        cur.register("import_keys", pd.DataFrame({"natural_key": keys.to_numpy()}))
        found = cur.execute(
            "SELECT natural_key FROM responses"
            " WHERE natural_key IN (SELECT natural_key FROM import_keys)"
        ).df()
    return keys.isin(found["natural_key"])


def queue_keys(
    instrument_id: int,
    respondent: pd.Series,
    completed_at: pd.Series,
    response_ids: pd.Series,
    source: str,
) -> pd.Series:
    """The unmatched queue's duplicate key, built like a response's natural key: instrument
    version, respondent, completion second, then the survey tool and its id when there is one."""
    stamps = pd.to_datetime(completed_at).dt.strftime("%Y-%m-%dT%H:%M:%S")
    keys = f"{instrument_id}:" + respondent.fillna("").astype("str") + ":" + stamps
    ids = source_ids(response_ids, keys.index)
    return keys.where(ids.isna(), keys + f"#{source}:" + ids.fillna(""))


def _queued(db: Database, instrument_id: int, rows: pd.DataFrame) -> pd.Series:
    """Which unmatched rows are already in the queue (pending, assigned or discarded)."""
    if rows.empty:
        return pd.Series(False, index=rows.index)
    keys = pd.DataFrame(
        {
            "i": np.arange(len(rows)),
            "queue_key": rows["queue_key"].to_numpy(),
            "respondent": rows["respondent"].to_numpy(),
            "completed_at": rows["completed_at"].to_numpy(),
        }
    )
    with db.cursor() as cur:
        cur.register("import_unmatched", keys)
        found = cur.execute(
            f"SELECT k.i FROM import_unmatched k WHERE {ALREADY_QUEUED}",  # noqa: S608 (constant)
            [instrument_id],
        ).df()
    hit = np.zeros(len(rows), dtype=bool)
    hit[found["i"].to_numpy(dtype=int)] = True
    return pd.Series(hit, index=rows.index)


def validate(
    db: Database,
    actor: Actor,
    parsed: ParsedFile,
    mapping: Mapping,
    *,
    now: dt.datetime,
) -> Validation:
    """Check every row against the clock time `now` (naive UTC); nothing is written."""
    instrument = lookup.get(db, mapping.instrument_code)
    instrument_id = lookup.version_id(db, instrument.code)
    check_mapping(mapping, parsed, instrument)
    frame = parsed.frame
    answers = convert_answers(frame, mapping, instrument)
    item_codes = [i.code for i in instrument.items if i.code in answers.values.columns]
    values = answers.values[item_codes]
    reasons = _Reasons(frame.index)

    # Who answered. Every partner on file counts: the row goes to its own couple, whoever
    # imports it. Identifiers that disagree (two partners, or one known and one not) reject
    # the row; only respondents the practice does not know at all wait in the queue.
    people = _partners(db, actor)
    email, code = _text(frame, EMAIL).str.lower(), _text(frame, CLIENT_CODE).str.upper()
    by_email = email.map(_lookup(people["email"], people["partner_id"]))
    by_code = code.map(_lookup(people["client_code"], people["partner_id"]))
    email_known, code_known = by_email.notna(), by_code.notna()
    mixed = (
        (email_known & code_known & (by_email != by_code))
        | (email_known & code.notna() & ~code_known)
        | (code_known & email.notna() & ~email_known)
    )
    reasons.add(mixed, NOT_ONE_CLIENT)
    partner = by_email.fillna(by_code).where(~mixed)
    known = partner.notna()
    unknown = ~known & ~mixed

    completed = _completed(frame)
    now_utc = pd.Timestamp(now)
    problem = _text(frame, COMPLETED_PROBLEM)
    raw_blank = _text(frame, COMPLETED_RAW).isna()
    refused = problem.notna()
    reasons.add(refused, problem.fillna(""))  # the reader's own words (e.g. a two-digit year)
    reasons.add(completed.isna() & raw_blank & ~refused, NO_DATE)
    reasons.add(completed.isna() & ~raw_blank & ~refused, BAD_DATE)
    reasons.add(completed > now_utc, FUTURE)
    grace = int(settings.current(db).get("start_grace_days", DEFAULT_GRACE_DAYS))
    starts = pd.to_datetime(people["start_date"]) - pd.Timedelta(days=grace)
    earliest = pd.to_datetime(partner.map(_lookup(people["partner_id"], starts)))
    reasons.add(known & (completed < earliest), before_start(grace))
    reasons.add_items(answers.invalid, "Answers that are not on the scale")
    reasons.add_items(answers.out_of_range, "Answers outside the scale")
    _count_reasons(reasons, values, instrument)

    ok = ~reasons.rejected
    rows = frame[ROW].astype("int64")
    rejected = [
        RowIssue(int(r), t) for r, t in zip(rows[~ok], reasons.text[~ok].str.strip(), strict=True)
    ]
    rejected += list(parsed.skipped)
    rejected.sort(key=lambda issue: issue.row)

    response_ids = source_ids(frame.get(RESPONSE_ID), frame.index)
    take = ok & known
    by_partner = people.set_index("partner_id")
    partner_ids = partner[take].astype("int64")
    visible = partner_ids.map(by_partner["visible"]).astype(bool)
    matched = pd.DataFrame(
        {
            ROW: rows[take],
            "partner_id": partner_ids,
            "couple_id": partner_ids.map(by_partner["couple_id"]).astype("int64"),
            "visible": visible,
            # Never carried for couples the importer may not see: nothing can show them.
            "case_code": partner_ids.map(by_partner["case_code"]).where(visible),
            "label": partner_ids.map(by_partner["label"]).where(visible),
            "completed_at": completed[take],
            "natural_key": natural_keys(
                partner_ids, instrument.code, completed[take], response_ids[take], parsed.source
            ),
            "source_response_id": response_ids[take],
            "answered": values[take].notna().sum(axis=1),
        }
    )
    matched = pd.concat([matched, values[take]], axis=1)
    dup = matched["natural_key"].duplicated() | _existing_keys(db, matched["natural_key"])

    waiting = ok & unknown
    respondent = email.fillna("").str.cat(code.fillna(""), sep=" / ").str.strip(" /")
    respondent = respondent[waiting].mask(respondent[waiting] == "")
    unmatched = pd.DataFrame(
        {
            ROW: rows[waiting],
            "respondent": respondent,
            "completed_at": completed[waiting],
            "source_response_id": response_ids[waiting],
            "queue_key": queue_keys(
                instrument_id,
                respondent,
                completed[waiting],
                response_ids[waiting],
                parsed.source,
            ),
        }
    )
    unmatched = pd.concat([unmatched, values[waiting]], axis=1)
    queued = unmatched["queue_key"].duplicated() | _queued(db, instrument_id, unmatched)
    keep_matched, keep_unmatched = matched[~dup], unmatched[~queued]
    return Validation(
        instrument=instrument,
        instrument_id=instrument_id,
        item_codes=item_codes,
        matched=keep_matched.reset_index(drop=True),
        unmatched=keep_unmatched.reset_index(drop=True),
        rejected=rejected,
        duplicates=int(dup.sum() + queued.sum()),
        rows_total=len(frame) + len(parsed.skipped),
        matched_texts=answers.texts.loc[keep_matched.index].reset_index(drop=True),
        unmatched_texts=answers.texts.loc[keep_unmatched.index].reset_index(drop=True),
    )
