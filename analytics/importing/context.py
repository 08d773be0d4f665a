"""What the readers may know beyond the file's bytes: the practice's limits on work, the client
codes on file (to recognise a respondent column by its content) and the practice's time zone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from analytics.errors import CaseloadError

MAX_MB_ENV = "CASELOAD_MAX_UPLOAD_MB"
MAX_ROWS_ENV = "CASELOAD_MAX_ROWS"
MAX_COLUMNS_ENV = "CASELOAD_MAX_COLUMNS"
MAX_CELLS_ENV = "CASELOAD_MAX_CELLS"
_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one file may cause; every check runs before the file is expanded.

    The defaults are far above a practice's real export (a weekly check-in from both partners
    of 100 couples for ten years is about 104,000 rows of 40 columns) and low enough that the
    worst file within them is read and checked in a few seconds and under 500 MB of memory
    (measured: 150,000 rows of 26 columns, 470 MB at the peak, interpreter included).
    """

    # The uploaded file itself ($CASELOAD_MAX_UPLOAD_MB, default 20 MB).
    max_bytes: int = 20 * _MB
    # Rows of the file, counting the header and blank rows ($CASELOAD_MAX_ROWS). Each row
    # costs some 1.5 KB on its way through the pipeline (times, respondent, checks): 200,000
    # rows of only 20 columns already passed 500 MB.
    max_rows: int = 150_000
    # Columns of the widest row ($CASELOAD_MAX_COLUMNS). Survey exports have tens of columns;
    # Qualtrics with every metadata field and embedded data stays in the low hundreds.
    max_columns: int = 1_000
    # Rows x columns of the table as read ($CASELOAD_MAX_CELLS): 100,000 responses of a
    # 40-column export (the import bench: 3.6 million) fit.
    max_cells: int = 4_000_000
    # Cells stored in an Excel worksheet. A workbook cell is XML parsed in Python, some
    # 5 microseconds, 20 times a CSV cell: half a million read in about 3 s (10,000 responses
    # of 50 columns). Larger exports are read as CSV, which every survey tool writes.
    max_workbook_cells: int = 500_000
    # Uncompressed size of all parts of an .xlsx (a zip archive). Half a million cells take
    # some 20 MB of worksheet XML, free-text answers some more; 100 MB refuses decompression
    # bombs (a few KB that would unpack to gigabytes) before anything is unpacked, and bounds
    # the memory a single huge text cell could take.
    max_expanded_bytes: int = 100 * _MB

    def __post_init__(self) -> None:
        for name in (
            "max_bytes",
            "max_rows",
            "max_columns",
            "max_cells",
            "max_workbook_cells",
            "max_expanded_bytes",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive whole number, not {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, overridden by $CASELOAD_MAX_UPLOAD_MB (megabytes, may be fractional),
        $CASELOAD_MAX_ROWS, $CASELOAD_MAX_COLUMNS and $CASELOAD_MAX_CELLS (whole numbers)."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            max_bytes=_megabytes(env, MAX_MB_ENV, default.max_bytes),
            max_rows=_whole(env, MAX_ROWS_ENV, default.max_rows),
            max_columns=_whole(env, MAX_COLUMNS_ENV, default.max_columns),
            max_cells=_whole(env, MAX_CELLS_ENV, default.max_cells),
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    text = env.get(name, "").strip().replace("_", "")
    return text or None


def _refused(name: str, wanted: str) -> CaseloadError:
    return CaseloadError(
        f"{name} must be {wanted}.",
        hint=f"Set {name} to a value like the default, or unset it to use the default.",
    )


def _megabytes(env: Mapping[str, str], name: str, default: int) -> int:
    """Bytes from a variable in megabytes (fractions allowed); a bad value is refused by name."""
    text = _text(env, name)
    if text is None:
        return default
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not 0 < megabytes < float("inf"):
        raise _refused(name, "a positive number of megabytes")
    return max(1, int(megabytes * _MB))


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number from a variable; a bad value is refused by name."""
    text = _text(env, name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise _refused(name, "a positive whole number")
    return int(text)


@dataclass(frozen=True)
class ReadContext:
    """Facts from the practice the readers use; nothing here is ever shown to the importer."""

    limits: Limits = field(default_factory=Limits)
    # Upper-cased client codes of every partner on file (a column of them names the respondent).
    known_codes: frozenset[str] = frozenset()
    # IANA name of the zone in which times written without one are read; None: as written.
    time_zone: str | None = None
