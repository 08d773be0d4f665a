"""The practice library: conversations and exercises an agenda item may suggest, per check-in
scale and repair milestone. The built-in list ships as library.toml next to this module; a
therapist's own library.toml in the practice's instruments folder replaces or adds entries key
by key. A malformed file is refused with a readable CaseloadError naming the problem."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from analytics.errors import CaseloadError

FILE_NAME = "library.toml"
# The most a therapist's entry may hold: a suggestion is a line on a one-page agenda.
ENTRY_LIMIT = 300


@dataclass(frozen=True)
class Library:
    scales: dict[str, list[str]]  # check-in scale code -> interventions
    milestones: dict[int, list[str]]  # repair milestone 1-4 -> interventions

    def for_scale(self, code: str) -> str | None:
        """The first suggestion for a scale (None when the library has none)."""
        found = self.scales.get(code)
        return found[0] if found else None

    def for_milestone(self, milestone: int) -> str | None:
        """The first suggestion for a repair milestone (None when the library has none)."""
        found = self.milestones.get(milestone)
        return found[0] if found else None


def _entries(where: str, key: str, value: object) -> list[str]:
    """A list of non-empty suggestion strings, or a refusal naming the key."""
    if not isinstance(value, list) or not value:
        raise CaseloadError(f"The practice library ({where}): {key} must be a list of sentences.")
    out = []
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            raise CaseloadError(f"The practice library ({where}): {key} holds an empty entry.")
        if len(entry) > ENTRY_LIMIT:
            raise CaseloadError(
                f"The practice library ({where}): an entry of {key} is longer than"
                f" {ENTRY_LIMIT} characters."
            )
        out.append(entry.strip())
    return out


def parse(text: str, where: str) -> Library:
    """A library from TOML text; `where` names the file in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseloadError(f"The practice library ({where}) is not valid TOML: {exc}.") from exc
    unknown = set(data) - {"scales", "milestones"}
    if unknown:
        raise CaseloadError(
            f"The practice library ({where}) has unknown sections: {', '.join(sorted(unknown))}."
            " Only [scales] and [milestones] are read."
        )
    scales_raw = data.get("scales", {})
    milestones_raw = data.get("milestones", {})
    if not isinstance(scales_raw, dict) or not isinstance(milestones_raw, dict):
        raise CaseloadError(
            f"The practice library ({where}): [scales] and [milestones] are tables."
        )
    scales = {str(k): _entries(where, f"scales.{k}", v) for k, v in scales_raw.items()}
    milestones: dict[int, list[str]] = {}
    for key, value in milestones_raw.items():
        if str(key) not in {"1", "2", "3", "4"}:
            raise CaseloadError(
                f"The practice library ({where}): milestones are numbered 1 to 4, not {key!r}."
            )
        milestones[int(key)] = _entries(where, f"milestones.{key}", value)
    return Library(scales, milestones)


def builtin() -> Library:
    """The library shipped with the package."""
    text = resources.files("analytics.practice").joinpath(FILE_NAME).read_text("utf-8")
    return parse(text, "built-in")


def load_library(folder: Path | None) -> Library:
    """The built-in library with the therapist's library.toml in `folder` (if any) laid over it,
    key by key."""
    base = builtin()
    if folder is None:
        return base
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return base
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseloadError(
            f"The practice library {FILE_NAME} in the instruments folder cannot be read"
            f" ({type(exc).__name__})."
        ) from exc
    own = parse(text, f"{FILE_NAME} in the instruments folder")
    return Library({**base.scales, **own.scales}, {**base.milestones, **own.milestones})
