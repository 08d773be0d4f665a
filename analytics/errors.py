"""The one error type the project raises for things a person can act on."""

from __future__ import annotations


class CaseloadError(Exception):
    """A refusal or failure with a message fit to show a therapist.

    Messages never carry health data (answers, notes, names from files): pages and the CLI
    show them verbatim, and they may end up in logs.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class DatabaseBusy(CaseloadError):
    """The database file is held by another process (DuckDB lets one process open a file for
    writing); the command line exits with its own code for it."""
