"""What an instrument is, once its file has been read and checked (see schema.py).

Plain frozen dataclasses: no I/O, no database. The scoring itself is SQL (analytics/clinical);
these objects serve the importer (which column is which item, what an answer label means), the
demo generator and the pages that describe an instrument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("scored", "safety", "text")
FORMAT_TYPES = ("agreement", "frequency", "yes_no", "rating")
# A positive safety answer must be unambiguous: how often something happened, or yes / no.
SAFETY_FORMAT_TYPES = ("frequency", "yes_no")
METHODS = ("sum", "mean")
DIRECTIONS = ("higher_better", "higher_worse")
RELIABILITY_TYPES = ("cronbach_alpha", "test_retest", "omega", "provisional")


@dataclass(frozen=True)
class ResponseFormat:
    """The answers an item accepts: whole numbers from `min` to `max`, optionally labelled."""

    code: str
    type: str
    min: float
    max: float
    labels: tuple[str, ...] = ()

    def label(self, value: float) -> str:
        """The label of a whole-number answer, or the number itself."""
        index = int(value - self.min)
        if value == int(value) and 0 <= index < len(self.labels):
            return self.labels[index]
        return f"{value:g}"


@dataclass(frozen=True)
class Item:
    code: str
    kind: str
    position: int
    text: str | None = None  # our own wording; None for licensed instruments
    label: str | None = None  # a short name (e.g. "Fear of the partner"), for flags and lists
    format: ResponseFormat | None = None  # None for free-text items
    reverse: bool = False
    threshold: float | None = None  # safety items: the lowest answer that counts as positive

    @property
    def name(self) -> str:
        """How the item is named on screen: its short label, its wording, or its code."""
        return self.label or self.text or self.code

    @property
    def min(self) -> float:
        assert self.format is not None
        return self.format.min

    @property
    def max(self) -> float:
        assert self.format is not None
        return self.format.max


@dataclass(frozen=True)
class Band:
    """A labelled range of scale scores; `upto` is exclusive, None for the top band."""

    label: str
    upto: float | None
    meaning: str


@dataclass(frozen=True)
class Scale:
    code: str
    label: str
    description: str
    items: tuple[str, ...]
    method: str
    direction: str
    min_answered: float
    prorate: bool
    family: str = ""
    sd: float | None = None
    reliability: float | None = None
    reliability_type: str | None = None
    reliability_source: str | None = None
    reliable_change: float | None = None
    reliable_change_source: str | None = None
    cutoff: float | None = None
    cutoff_source: str | None = None
    clinical_mean: float | None = None
    clinical_sd: float | None = None
    functional_mean: float | None = None
    functional_sd: float | None = None
    norms_source: str | None = None
    bands: tuple[Band, ...] = ()

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_better"

    def needed(self) -> int:
        """How many of its items must be answered for a score."""
        if not self.prorate:
            return len(self.items)
        return max(1, math.ceil(self.min_answered * len(self.items) - 1e-9))


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    version: str
    headline: str
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    formats: tuple[ResponseFormat, ...]
    period: str = ""
    source: str = ""
    licence: str = ""

    def item(self, code: str) -> Item:
        """The item with this code."""
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)

    def scale(self, code: str) -> Scale:
        """The scale with this code."""
        for scale in self.scales:
            if scale.code == code:
                return scale
        raise KeyError(code)

    def items_of(self, scale: str) -> list[Item]:
        """The items of one scale, in questionnaire order."""
        codes = set(self.scale(scale).items)
        return [item for item in self.items if item.code in codes]

    @property
    def scored_items(self) -> list[Item]:
        return [item for item in self.items if item.kind == "scored"]

    @property
    def safety_items(self) -> list[Item]:
        return [item for item in self.items if item.kind == "safety"]

    @property
    def text_items(self) -> list[Item]:
        return [item for item in self.items if item.kind == "text"]

    @property
    def answer_items(self) -> list[Item]:
        """Items answered with a number (scored and safety)."""
        return [item for item in self.items if item.kind != "text"]
