"""Entry point of the readers: an uploaded file's bytes -> a `ParsedFile` (see parsed.py).

    read_export("responses.csv", data) -> ParsedFile

The survey tool is detected from the headers (detect.py); each tool's quirks are undone by its
reader (forms.py, qualtrics.py, redcap.py, generic.py). Anything wrong with the file itself
raises CaseloadError with a message that never quotes the file's cells.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.assemble import Extract, signature, to_frame
from analytics.importing.content import propose_respondent
from analytics.importing.context import ReadContext
from analytics.importing.decode import load_table
from analytics.importing.detect import detect
from analytics.importing.forms import read_google_forms, read_microsoft_forms, read_typeform
from analytics.importing.generic import read_generic_long, read_generic_wide
from analytics.importing.parsed import SOURCES, ParsedFile
from analytics.importing.qualtrics import read_qualtrics
from analytics.importing.redcap import read_redcap

READERS: dict[str, Callable[[pd.DataFrame], Extract]] = {
    "google_forms": read_google_forms,
    "microsoft_forms": read_microsoft_forms,
    "qualtrics": read_qualtrics,
    "redcap": read_redcap,
    "typeform": read_typeform,
    "generic_wide": read_generic_wide,
    "generic_long": read_generic_long,
}
assert set(READERS) == set(SOURCES)


def _size(n: int) -> str:
    """A byte count in MB (or KB for small limits), never rounded down to the limit."""
    if n >= 1024 * 1024:
        return f"{-(-n * 10 // (1024 * 1024)) / 10:g} MB"
    return f"{-(-n * 10 // 1024) / 10:g} KB"


def read_export(
    file_name: str,
    data: bytes,
    *,
    context: ReadContext | None = None,
    max_bytes: int | None = None,
) -> ParsedFile:
    """Read one survey-tool export (CSV or .xlsx) into the pipeline's `ParsedFile`."""
    context = context or ReadContext()
    if max_bytes is None:
        max_bytes = context.limits.max_bytes
    data = bytes(data)
    if len(data) > max_bytes:
        raise CaseloadError(
            f"The file is {_size(len(data))}; the limit is {_size(max_bytes)}.",
            hint="Export a shorter date range, or split the file.",
        )
    if not data.strip():
        raise CaseloadError("The file is empty.")
    table = load_table(data, context.limits)
    if table.grid.empty:
        raise CaseloadError("The file is empty.")
    source = detect(table.grid, known_codes=context.known_codes)
    extract = READERS[source](table.grid)
    propose_respondent(extract, known_codes=context.known_codes)
    extract.skipped.extend(table.skipped)
    frame, frame_notes = to_frame(extract, time_zone=context.time_zone)
    notes = [f"Detected a {SOURCES[source]} export.", *table.notes, *extract.notes, *frame_notes]
    if extract.skipped:
        notes.append(f"Rows set aside: {len(extract.skipped)} (see the list of skipped rows).")
    return ParsedFile(
        source=source,
        frame=frame,
        question_columns=list(extract.questions),
        header_signature=signature(extract.questions),
        file_name=file_name,
        checksum=hashlib.sha256(data).hexdigest(),
        skipped=sorted(extract.skipped, key=lambda issue: issue.row),
        notes=notes,
    )
