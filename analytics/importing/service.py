"""The import workflow used by both the Import page and `python -m analytics import`:
read -> map -> check (`prepare`, writes nothing) -> store (`commit_import`, one transaction).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing import commit, profiles
from analytics.importing.context import MAX_MB_ENV, Limits, ReadContext
from analytics.importing.mapping import Mapping, auto_map, mapping_problems, unmapped_items
from analytics.importing.parsed import ROW, ParsedFile, RowIssue
from analytics.importing.unmatched import (
    DISCARD_REASONS,
    MAX_NOTE,
    assign,
    assignable_partners,
    discard,
    list_pending,
    partner_choices,
    pending_choices,
)
from analytics.importing.validate import Validation, validate
from analytics.instruments import lookup
from analytics.instruments.model import Instrument
from analytics.practice import settings
from analytics.practice.access import Actor
from analytics.store.db import Database

__all__ = [
    "DISCARD_REASONS",
    "MAX_MB_ENV",
    "MAX_NOTE",
    "ImportPreview",
    "ImportResult",
    "assign",
    "assignable_partners",
    "commit_import",
    "discard",
    "item_labels",
    "list_pending",
    "max_upload_bytes",
    "partner_choices",
    "pending_choices",
    "prepare",
    "read",
    "read_context",
    "review",
    "suggest_mapping",
]


def max_upload_bytes() -> int:
    """The largest file accepted: $CASELOAD_MAX_UPLOAD_MB megabytes (default 20)."""
    return Limits.from_env().max_bytes


@dataclass
class ImportPreview:
    """What an import would do. Nothing has been written yet."""

    parsed: ParsedFile
    mapping: Mapping
    instrument: Instrument
    profile_id: int | None
    profile_name: str | None
    problems: list[str]  # file-level reasons that block the whole import
    unmapped: list[str]  # item codes no column answers (informational)
    validation: Validation | None  # None when `problems` block the import

    @property
    def accepted(self) -> int:
        """New responses, whichever couple they go to."""
        return 0 if self.validation is None else len(self.validation.matched)

    @property
    def outside_caseload(self) -> int:
        """How many of the new responses go to couples outside the importer's caseload."""
        return 0 if self.validation is None else self.validation.outside_caseload

    @property
    def unmatched(self) -> int:
        return 0 if self.validation is None else len(self.validation.unmatched)

    @property
    def duplicates(self) -> int:
        return 0 if self.validation is None else self.validation.duplicates

    @property
    def rejected(self) -> list[RowIssue]:
        return list(self.parsed.skipped) if self.validation is None else self.validation.rejected

    @property
    def errors(self) -> list[RowIssue | str]:
        """File-level problems first, then every rejected row."""
        return [*self.problems, *self.rejected]

    @property
    def importable(self) -> bool:
        """True when committing would store something or finds everything already stored."""
        return not self.problems and (self.accepted + self.unmatched + self.duplicates) > 0

    def accepted_table(self) -> pd.DataFrame:
        """Accepted rows of the importer's own caseload for display, with counts only (never
        an answer or a word of free text): row, case, partner, completed, answered, free text.
        Rows going to other couples are left out (`outside_caseload` counts them)."""
        if self.validation is None:
            return pd.DataFrame(
                columns=["row", "case", "partner", "completed", "answered", "free text"]
            )
        mine = self.validation.matched["visible"].astype(bool)
        m = self.validation.matched[mine]
        texts = self.validation.matched_texts[mine]
        return pd.DataFrame(
            {
                "row": m[ROW],
                "case": m["case_code"],
                "partner": m["label"],
                "completed": m["completed_at"],
                "answered": m["answered"],
                "free text": texts.notna().sum(axis=1).astype("int64"),
            }
        ).reset_index(drop=True)

    def rejected_table(self) -> pd.DataFrame:
        """Row number and reason of every row that will not be imported."""
        rows: list[dict[str, object]] = [{"row": None, "reason": p} for p in self.problems]
        rows += [{"row": r.row, "reason": r.reason} for r in self.rejected]
        return pd.DataFrame(rows, columns=["row", "reason"]).astype({"row": "Int64"})


@dataclass(frozen=True)
class ImportResult:
    batch_id: int
    source: str
    accepted: int
    rejected: int
    duplicates: int
    unmatched: int
    profile_id: int | None
    # (couple id, case code) of the couples in the importer's caseload that got a response
    couples: list[tuple[int, str]] = field(default_factory=list)
    # How many new responses went to couples outside the importer's caseload (never whose)
    outside_caseload: int = 0


def suggest_mapping(
    db: Database, parsed: ParsedFile, *, profile: str | None = None
) -> tuple[Mapping, int | None, str | None]:
    """The mapping to start from: a named profile, else the profile saved for these headers,
    else automatic matching. Returns (mapping, profile id, profile name)."""
    saved = (
        profiles.get_by_name(db, profile)
        if profile
        else profiles.find_by_signature(db, parsed.header_signature)
    )
    if saved is not None:
        return saved.mapping.for_file(parsed), saved.id, saved.name
    return auto_map(parsed, lookup.current(db)), None, None


_KIND_NOTES = {"safety": " (safety)", "text": " (free text)"}


def item_labels(db: Database, instrument_code: str) -> dict[str, str]:
    """Item code -> "CODE · short label (or wording)", safety and free-text items marked so,
    for choosing the item a column answers."""
    return {
        i.code: f"{i.code} · {i.name}{_KIND_NOTES.get(i.kind, '')}"
        for i in lookup.get(db, instrument_code).items
    }


def review(
    db: Database,
    actor: Actor,
    parsed: ParsedFile,
    *,
    now: dt.datetime,
    profile: str | None = None,
    mapping: Mapping | None = None,
) -> ImportPreview:
    """Map (an explicit mapping, a named profile, the profile saved for these headers, or
    automatically) and check every row of an already-read file against the clock time `now`
    (naive UTC). Writes nothing."""
    chosen, profile_id, profile_name = suggest_mapping(db, parsed, profile=profile)
    if mapping is not None and mapping != chosen:
        chosen, profile_id, profile_name = mapping, None, None
    instrument = lookup.get(db, chosen.instrument_code)
    problems = mapping_problems(chosen, instrument)
    if not problems and len(parsed.frame) == 0:
        problems = ["The file has no responses in it."]
    checked = None if problems else validate(db, actor, parsed, chosen, now=now)
    return ImportPreview(
        parsed,
        chosen,
        instrument,
        profile_id,
        profile_name,
        problems,
        unmapped_items(chosen, instrument),
        checked,
    )


def _limits(max_bytes: int | None) -> Limits:
    """The practice's limits on work (from the environment), with the size limit given."""
    limits = Limits.from_env()
    return limits if max_bytes is None else dataclasses.replace(limits, max_bytes=max_bytes)


def read_context(db: Database, *, max_bytes: int | None = None) -> ReadContext:
    """What the readers may know beyond the file: limits, every client code on file (to find
    the respondent column by its content; never shown) and the practice's time zone."""
    codes = db.query_rows(
        "SELECT DISTINCT upper(client_code) FROM partners WHERE client_code IS NOT NULL"
    )
    return ReadContext(
        limits=_limits(max_bytes),
        known_codes=frozenset(str(c) for (c,) in codes),
        time_zone=settings.time_zone(db),
    )


def read(db: Database, file_name: str, data: bytes, *, max_bytes: int | None = None) -> ParsedFile:
    """Detect the survey tool and read the export (size-checked first), with times written
    without a zone read in the practice's time zone."""
    from analytics.importing.readers import read_export

    context = read_context(db, max_bytes=max_bytes)
    # read_export checks the size (and every other limit) before it expands anything.
    parsed: ParsedFile = read_export(file_name, data, context=context)
    zone = context.time_zone or "UTC"
    if not any(zone in note for note in parsed.notes):  # the readers may have said it already
        parsed.notes.append(
            f"Times written without a time zone are read as {zone} time"
            " (the practice's time zone, chosen on the Settings page)."
        )
    return parsed


def prepare(
    db: Database,
    actor: Actor,
    file_name: str,
    data: bytes,
    *,
    now: dt.datetime,
    profile: str | None = None,
    mapping: Mapping | None = None,
    max_bytes: int | None = None,
) -> ImportPreview:
    """Read, map and check an uploaded export. Writes nothing."""
    parsed = read(db, file_name, data, max_bytes=max_bytes)
    return review(db, actor, parsed, now=now, profile=profile, mapping=mapping)


def commit_import(
    db: Database,
    actor: Actor,
    preview: ImportPreview,
    *,
    save_profile_as: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> ImportResult:
    """Store a previewed import in one transaction; rows stored meanwhile count as duplicates."""
    if not preview.importable or preview.validation is None:
        raise CaseloadError("Nothing in this file can be imported; see the reasons listed.")
    done = commit.commit(
        db,
        actor,
        preview.parsed,
        preview.validation,
        mapping=preview.mapping,
        profile_id=preview.profile_id,
        save_profile_as=save_profile_as,
        progress=progress,
    )
    return ImportResult(
        done.batch_id,
        preview.parsed.source,
        done.accepted,
        done.rejected,
        done.duplicates,
        done.unmatched,
        done.profile_id,
        done.couples,
        done.outside_caseload,
    )
