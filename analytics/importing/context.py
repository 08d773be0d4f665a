"""What the readers may know beyond the file's bytes: the practice's limits on work, the client
codes on file (to recognise a respondent column by its content) and the practice's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one file may cause; every check runs before the file is expanded."""

    max_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class ReadContext:
    """Facts from the practice the readers use; nothing here is ever shown to the importer."""

    limits: Limits = field(default_factory=Limits)
    # Upper-cased client codes of every partner on file (a column of them names the respondent).
    known_codes: frozenset[str] = frozenset()
    # IANA name of the zone in which times written without one are read; None: as written.
    time_zone: str | None = None
