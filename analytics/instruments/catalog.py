"""Find and read instrument files: the built-in ones (analytics/instruments/files/) and the
therapist's own folder (default data/instruments/). Reading never touches the database."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from analytics.errors import CaseloadError
from analytics.instruments.model import Instrument
from analytics.instruments.schema import InstrumentFileError, parse

BUILTIN = "builtin"
FOLDER = "folder"
# Bigger than any sensible instrument file; a guard against reading something else by mistake.
MAX_FILE_BYTES = 512 * 1024


@dataclass(frozen=True)
class InstrumentFile:
    """One file and what came of reading it: an instrument, or the problems that stop it."""

    origin: str
    file_name: str
    instrument: Instrument | None
    definition: dict[str, Any] = field(default_factory=dict)
    checksum: str = ""
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.instrument is not None


def checksum(definition: dict[str, Any]) -> str:
    """A fingerprint of a definition's content (comments and layout do not count)."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_text(text: str, file_name: str, origin: str = FOLDER) -> InstrumentFile:
    """Parse and check the text of one instrument file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return InstrumentFile(
            origin, file_name, None, problems=(f"{file_name}: not valid TOML ({exc}).",)
        )
    try:
        instrument = parse(data, file_name)
    except InstrumentFileError as exc:
        return InstrumentFile(origin, file_name, None, data, checksum(data), tuple(exc.problems))
    return InstrumentFile(origin, file_name, instrument, data, checksum(data))


def read_file(path: Path, origin: str = FOLDER) -> InstrumentFile:
    """Read and check one instrument file from disk."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return InstrumentFile(
                origin, path.name, None, problems=(f"{path.name}: the file is too large.",)
            )
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = type(exc).__name__
        return InstrumentFile(
            origin, path.name, None, problems=(f"{path.name}: cannot be read ({reason}).",)
        )
    return read_text(text, path.name, origin)


@cache
def builtin_files() -> tuple[InstrumentFile, ...]:
    """Every instrument shipped with the product, sorted by file name."""
    found = []
    for entry in resources.files("analytics.instruments.files").iterdir():
        if entry.name.endswith(".toml"):
            found.append(read_text(entry.read_text("utf-8"), entry.name, BUILTIN))
    return tuple(sorted(found, key=lambda f: f.file_name))


def builtin(code: str) -> Instrument:
    """A built-in instrument by code (for the demo generator and tests)."""
    for entry in builtin_files():
        if entry.instrument is not None and entry.instrument.code == code:
            return entry.instrument
    raise CaseloadError(f"There is no built-in instrument with the code {code!r}.")


def template_text() -> str:
    """The commented template for a new instrument file."""
    return resources.files("analytics.instruments").joinpath("template.toml").read_text("utf-8")


def folder_files(folder: Path) -> list[InstrumentFile]:
    """The therapist's instrument files (*.toml directly in the folder), sorted by name."""
    if not folder.is_dir():
        return []
    return [read_file(path) for path in sorted(folder.glob("*.toml")) if path.is_file()]


def load_all(folder: Path | None) -> list[InstrumentFile]:
    """Built-in files, then the folder's; a folder file may not reuse a built-in code, and no
    two files may declare the same code and version."""
    files = list(builtin_files())
    builtin_codes = {f.instrument.code for f in files if f.instrument is not None}
    seen = {(f.instrument.code, f.instrument.version): f.file_name for f in files if f.instrument}
    for entry in folder_files(folder) if folder is not None else []:
        ins = entry.instrument
        if ins is not None and ins.code in builtin_codes:
            entry = _refuse(entry, f"the code '{ins.code}' belongs to a built-in instrument")
        elif ins is not None and (ins.code, ins.version) in seen:
            other = seen[(ins.code, ins.version)]
            entry = _refuse(entry, f"{other} already declares {ins.code} version {ins.version}")
        elif ins is not None:
            seen[(ins.code, ins.version)] = entry.file_name
        files.append(entry)
    return files


def _refuse(entry: InstrumentFile, why: str) -> InstrumentFile:
    return InstrumentFile(
        entry.origin,
        entry.file_name,
        None,
        entry.definition,
        entry.checksum,
        (f"{entry.file_name}: top level: {why}.",),
    )
