"""Which file column answers which instrument item, and how answer text becomes a number.

Columns match items by item code ("SAT1", "sat1", "Q_SAT1", "checkin_sat1") or by the item's
wording after normalisation (case, punctuation, curly quotes, whitespace and leading numbering
such as "1.", "Q3 -" or "3)" ignored). A `Mapping` is what the therapist reviews and corrects,
and what an import profile stores.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.parsed import ParsedFile
from analytics.instruments.model import Instrument

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "´": "'"})
# "1.", "3)", "Q3 -", "Question 12:", "2a." -- a bare leading number needs a separator after it.
_NUMBERING = re.compile(
    r"^\s*(?:q(?:uestion)?\s*\d+[a-z]?\s*[.):\-–—]?|\d+[a-z]?\s*[.):\-–—])\s*", re.IGNORECASE
)
# A whole number as survey tools write one: "5", "5.0", "5,00". Only zeros may follow the point:
# "0.000…01" would round to 0.0 in floating point and be stored as "Never" on a safety item.
_NUMBER = re.compile(r"^[+-]?\d{1,9}(?:[.,]0+)?$")
# Any other decimal ("2.5"): a number, but not a step of any response format.
_DECIMAL = re.compile(r"^[+-]?\d+[.,]\d+$")


def normalise_text(text: str) -> str:
    """Question wording reduced to lower-case words: comparable across survey tools."""
    t = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip()
    t = _NUMBERING.sub("", t).lower()
    t = re.sub(r"[^\w\s]|_", " ", t)
    return " ".join(t.split())


def _normalise_label(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).split()).lower()


@dataclass(frozen=True)
class Mapping:
    """Column -> item code for one instrument; every other question column is ignored."""

    instrument_code: str
    columns: dict[str, str]
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> str:
        return json.dumps(
            {
                "instrument": self.instrument_code,
                "columns": self.columns,
                "ignored": list(self.ignored),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        try:
            data = json.loads(text)
            columns = {str(k): str(v) for k, v in dict(data["columns"]).items()}
            return cls(str(data["instrument"]), columns, tuple(str(c) for c in data["ignored"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CaseloadError(
                "The saved import profile is damaged; map the columns again."
            ) from exc

    def for_file(self, parsed: ParsedFile) -> Mapping:
        """This mapping limited to the file's question columns (others become ignored)."""
        present = set(parsed.question_columns)
        columns = {c: code for c, code in self.columns.items() if c in present}
        ignored = tuple(c for c in parsed.question_columns if c not in columns)
        return Mapping(self.instrument_code, columns, ignored)


def _tokens(header: str, longest: int) -> set[str]:
    """The header's words, upper-cased. Codes may hold "_" (CSI4_1), so every run of up to
    `longest` "_"-joined parts counts too: "Q_SAT1" gives SAT1, "Q_CSI4_3" gives CSI4_3."""
    tokens: set[str] = set()
    for word in re.split(r"[^A-Z0-9_]+", header.upper()):
        parts = [p for p in word.split("_") if p]
        tokens.update(
            "_".join(parts[i:j])
            for i in range(len(parts))
            for j in range(i + 1, min(i + longest, len(parts)) + 1)
        )
    return tokens


def _code_match(header: str, codes: dict[str, str]) -> str | None:
    """The single item code written as a token of the header, if any."""
    # Runs no longer than the longest code: a header full of "_" costs no more than its length.
    longest = max((code.count("_") + 1 for code in codes), default=1)
    found = {codes[t] for t in _tokens(header, longest) if t in codes}
    return found.pop() if len(found) == 1 else None


def _text_match(header: str, texts: dict[str, str]) -> str | None:
    """The item whose normalised wording equals, or failing that is contained in, the header."""
    norm = normalise_text(header)
    if not norm:
        return None
    exact = [code for text, code in texts.items() if text == norm]
    if exact:
        return exact[0]
    contained = sorted(
        ((len(text), code) for text, code in texts.items() if text and text in norm), reverse=True
    )
    if not contained or (len(contained) > 1 and contained[0][0] == contained[1][0]):
        return None
    return contained[0][1]


def auto_map(parsed: ParsedFile, candidates: Sequence[Instrument]) -> Mapping:
    """Match every question column to an item of the candidate instrument that matches the
    most columns (the first on a tie)."""
    mappings = [_map_to(parsed, instrument) for instrument in candidates]
    if not mappings:
        raise CaseloadError("No instrument is available to import into.")
    return max(mappings, key=lambda m: len(m.columns))


def _map_to(parsed: ParsedFile, instrument: Instrument) -> Mapping:
    codes = {item.code.upper(): item.code for item in instrument.items}
    texts = {normalise_text(item.text): item.code for item in instrument.items if item.text}
    columns: dict[str, str] = {}
    ignored: list[str] = []
    notes: list[str] = []
    for column in parsed.question_columns:
        code = _code_match(column, codes) or _text_match(column, texts)
        if code is None:
            ignored.append(column)
        elif code in columns.values():
            ignored.append(column)
            notes.append(f"A second column matches item {code}; only the first one is used.")
        else:
            columns[column] = code
    return Mapping(instrument.code, columns, tuple(ignored), tuple(notes))


def check_mapping(mapping: Mapping, parsed: ParsedFile, instrument: Instrument) -> None:
    """Refuse a mapping that names unknown columns or items, or maps one item twice."""
    if mapping.instrument_code != instrument.code:
        raise CaseloadError("The mapping is for a different instrument.")
    known = {item.code for item in instrument.items}
    present = set(parsed.question_columns)
    if any(column not in present for column in mapping.columns):
        raise CaseloadError("The mapping names a column that is not in this file.")
    if any(code not in known for code in mapping.columns.values()):
        raise CaseloadError(f"The mapping names an item that {instrument.name} does not have.")
    seen: set[str] = set()
    for code in mapping.columns.values():
        if code in seen:
            raise CaseloadError(f"Two columns are mapped to item {code}; choose one.")
        seen.add(code)


def unmapped_items(mapping: Mapping, instrument: Instrument) -> list[str]:
    """Item codes no column answers, in questionnaire order."""
    mapped = set(mapping.columns.values())
    return [item.code for item in instrument.items if item.code not in mapped]


def mapping_problems(mapping: Mapping, instrument: Instrument) -> list[str]:
    """Why no row of the file could be imported with this mapping (empty when it can).

    Required: every safety item (a missing safety question would hide a flag) and enough of
    the headline scale's items for its missing-data rule. Other scales are scored where a row
    answers enough of them.
    """
    mapped = set(mapping.columns.values())
    problems: list[str] = []
    safety = [i.code for i in instrument.safety_items if i.code not in mapped]
    if safety:
        problems.append(f"The safety questions {', '.join(safety)} are not in the file.")
    headline = instrument.scale(instrument.headline)
    items = instrument.items_of(headline.code)
    if sum(1 for i in items if i.code in mapped) < headline.needed():
        missing = ", ".join(i.code for i in items if i.code not in mapped)
        problems.append(f"The {headline.label} questions {missing} are not in the file.")
    return problems


@dataclass(frozen=True)
class Answers:
    """Answer values per item code (NaN when blank or unusable), per-item problem masks, and
    free-text answers per text item code (NA when blank)."""

    values: pd.DataFrame
    invalid: pd.DataFrame
    out_of_range: pd.DataFrame
    texts: pd.DataFrame


def convert_answers(frame: pd.DataFrame, mapping: Mapping, instrument: Instrument) -> Answers:
    """Turn answer text into numbers through each item's own response format.

    Labels ("Strongly agree", "Once"; any case or spacing) and whole numbers ("5", "5.0",
    "5,0") are accepted; anything else is invalid, and a number outside the item's own range is
    out of range. Each column is factorised first, so Python only ever looks at its distinct values.
    Free-text items are kept as written (stripped), never interpreted.
    """
    items = {item.code: item for item in instrument.items}
    values: dict[str, np.ndarray] = {}
    invalid: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    texts: dict[str, pd.Series] = {}
    for column, code in mapping.columns.items():
        item = items[code]
        if item.format is None:
            words = frame[column].astype("string").str.strip()
            texts[code] = words.mask(words == "")
            continue
        lookup = {
            _normalise_label(label): item.format.min + i
            for i, label in enumerate(item.format.labels)
        }
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        decoded = np.full(len(uniques) + 1, np.nan)  # the extra slot is for blanks (code -1)
        bad = np.zeros(len(uniques) + 1, dtype=bool)
        for k, raw in enumerate(uniques):
            decoded[k], bad[k] = _decode(str(raw), lookup)
        number = decoded[codes]
        outside = ~np.isnan(number) & ((number < item.min) | (number > item.max))
        number[outside] = np.nan
        values[code], invalid[code], out[code] = number, bad[codes], outside
    index = frame.index
    return Answers(
        pd.DataFrame(values, index=index, dtype="float64"),
        pd.DataFrame(invalid, index=index, dtype="bool"),
        pd.DataFrame(out, index=index, dtype="bool"),
        pd.DataFrame(texts, index=index, dtype="string"),
    )


def _decode(raw: str, lookup: dict[str, float]) -> tuple[float, bool]:
    """(value, is_invalid) of one distinct answer text; blank is (NaN, False)."""
    text = raw.strip()
    if not text:
        return math.nan, False
    if _NUMBER.match(text):
        return float(text.replace(",", ".")), False
    if _DECIMAL.match(text):
        # Every format is whole steps ("5", "5.0" and "5,0" are all 5): 2.5 is not an answer.
        return math.nan, True
    label = lookup.get(_normalise_label(text))
    return (math.nan, True) if label is None else (label, False)
