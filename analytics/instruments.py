"""Instruments are data files (analytics/instrument_files/*.toml), read and checked here.

At start the definitions are copied into the `instruments` and `items` tables so that scoring
can be done in SQL. The file stays the source of truth: a therapist may correct a figure there.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from analytics.db import Database
from analytics.errors import CaseloadError

DIRECTIONS = ("higher_better", "higher_worse")


@dataclass(frozen=True)
class Construct:
    code: str
    family: str
    label: str
    direction: str
    min_items: int
    description: str = ""
    sd: float | None = None
    reliability: float | None = None
    clinical_mean: float | None = None
    clinical_sd: float | None = None
    functional_mean: float | None = None
    functional_sd: float | None = None
    flag_at: float | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_better"


@dataclass(frozen=True)
class Item:
    code: str
    construct: str
    text: str
    position: int
    reverse: bool = False
    min_value: float = 0
    max_value: float = 6
    is_safety: bool = False


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    version: str
    scale_min: float
    scale_max: float
    labels: tuple[str, ...]
    constructs: tuple[Construct, ...]
    items: tuple[Item, ...]
    min_fraction_answered: float
    required_constructs: tuple[str, ...]
    global_construct: str
    source: str = ""
    period: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def construct(self, code: str) -> Construct:
        """The construct with this code."""
        for construct in self.constructs:
            if construct.code == code:
                return construct
        raise CaseloadError(f"Instrument {self.code} has no construct {code!r}.")

    def items_of(self, construct: str) -> list[Item]:
        """The items that make up one construct, in questionnaire order."""
        return [item for item in self.items if item.construct == construct]

    def label_for(self, value: float) -> str:
        """The scale label of a whole-number answer, or the number itself."""
        index = int(value - self.scale_min)
        if value == int(value) and 0 <= index < len(self.labels):
            return self.labels[index]
        return f"{value:g}"

    def to_json(self) -> str:
        """The definition as JSON, for the database copy and the CLI."""
        return json.dumps(asdict(self), sort_keys=True)


def _parse(data: dict[str, Any], origin: str) -> Instrument:
    """Build and check an `Instrument` from a parsed TOML document."""

    def fail(why: str) -> CaseloadError:
        return CaseloadError(f"Instrument file {origin} is invalid: {why}.")

    try:
        scale = data["scale"]
        lo, hi = float(scale["min"]), float(scale["max"])
        labels = tuple(str(x) for x in scale.get("labels", []))
        constructs = tuple(
            Construct(**{k: v for k, v in c.items() if k in Construct.__dataclass_fields__})
            for c in data["constructs"]
        )
        by_code = {c.code: c for c in constructs}
        items = tuple(
            Item(
                code=str(raw["code"]),
                construct=str(raw["construct"]),
                text=str(raw["text"]),
                position=pos,
                reverse=bool(raw.get("reverse", False)),
                min_value=float(raw.get("min", lo)),
                max_value=float(raw.get("max", hi)),
                is_safety=by_code[raw["construct"]].family == "safety",
            )
            for pos, raw in enumerate(data["items"], start=1)
        )
        missing = data.get("missing", {})
        instrument = Instrument(
            code=str(data["code"]),
            name=str(data["name"]),
            version=str(data["version"]),
            scale_min=lo,
            scale_max=hi,
            labels=labels,
            constructs=constructs,
            items=items,
            min_fraction_answered=float(missing.get("min_fraction_answered", 1.0)),
            required_constructs=tuple(missing.get("required_constructs", [])),
            global_construct=str(data.get("global", {}).get("construct", "")),
            source=str(data.get("source", "")),
            period=str(data.get("period", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f"missing or malformed field ({exc})") from exc

    if labels and len(labels) != int(hi - lo) + 1:
        raise fail("the number of scale labels does not match the scale range")
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        raise fail("two items share a code")
    for c in constructs:
        if c.direction not in DIRECTIONS:
            raise fail(f"construct {c.code} has direction {c.direction!r}")
        if len(instrument.items_of(c.code)) < c.min_items:
            raise fail(f"construct {c.code} has fewer items than its minimum")
    for code in (*instrument.required_constructs, instrument.global_construct):
        if code and code not in by_code:
            raise fail(f"construct {code!r} is named but not defined")
    return instrument


def load_file(path: Path) -> Instrument:
    """Read and check one instrument file."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CaseloadError(f"Instrument file {path.name} cannot be read ({exc}).") from exc
    return _parse(data, path.name)


@cache
def builtin() -> tuple[Instrument, ...]:
    """Every instrument shipped in analytics/instrument_files/, sorted by code."""
    found = []
    for entry in resources.files("analytics.instrument_files").iterdir():
        if entry.name.endswith(".toml"):
            found.append(_parse(tomllib.loads(entry.read_text("utf-8")), entry.name))
    return tuple(sorted(found, key=lambda i: i.code))


def get(code: str) -> Instrument:
    """The built-in instrument with this code."""
    for instrument in builtin():
        if instrument.code == code:
            return instrument
    raise CaseloadError(f"There is no instrument with the code {code!r}.")


def default() -> Instrument:
    """The built-in weekly check-in."""
    return get("checkin")


def sync(db: Database, instruments: tuple[Instrument, ...] | None = None) -> None:
    """Copy instrument definitions into the database, keeping ids stable across restarts."""
    with db.transaction() as cur:
        for ins in instruments if instruments is not None else builtin():
            row = cur.execute("SELECT id FROM instruments WHERE code = ?", [ins.code]).fetchone()
            if row is None:
                row = cur.execute(
                    "INSERT INTO instruments (code, name, version, scale_min, scale_max,"
                    " definition) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    [ins.code, ins.name, ins.version, ins.scale_min, ins.scale_max, ins.to_json()],
                ).fetchone()
            else:
                cur.execute(
                    "UPDATE instruments SET name = ?, version = ?, scale_min = ?, scale_max = ?,"
                    " definition = ?, synced_at = current_timestamp WHERE id = ?",
                    [ins.name, ins.version, ins.scale_min, ins.scale_max, ins.to_json(), row[0]],
                )
            assert row is not None
            instrument_id = int(row[0])
            cur.execute("DELETE FROM constructs WHERE instrument_id = ?", [instrument_id])
            for c in ins.constructs:
                cur.execute(
                    "INSERT INTO constructs (instrument_id, code, family, label, direction,"
                    " min_items, flag_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [instrument_id, c.code, c.family, c.label, c.direction, c.min_items, c.flag_at],
                )
            for item in ins.items:
                values = [
                    item.position,
                    item.construct,
                    item.text,
                    item.reverse,
                    item.min_value,
                    item.max_value,
                    item.is_safety,
                ]
                existing = cur.execute(
                    "SELECT id FROM items WHERE instrument_id = ? AND code = ?",
                    [instrument_id, item.code],
                ).fetchone()
                if existing is None:
                    cur.execute(
                        "INSERT INTO items (position, construct, text, reverse, min_value,"
                        " max_value, is_safety, instrument_id, code)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*values, instrument_id, item.code],
                    )
                else:
                    cur.execute(
                        "UPDATE items SET position = ?, construct = ?, text = ?, reverse = ?,"
                        " min_value = ?, max_value = ?, is_safety = ? WHERE id = ?",
                        [*values, existing[0]],
                    )


def instrument_id(db: Database, code: str) -> int:
    """The database id of an instrument."""
    value = db.query_value("SELECT id FROM instruments WHERE code = ?", [code])
    if value is None:
        raise CaseloadError(f"The instrument {code!r} is not in the database.")
    return int(value)


def item_ids(db: Database, code: str) -> dict[str, int]:
    """Item code -> database id for one instrument."""
    rows = db.query_rows(
        "SELECT i.code, i.id FROM items i JOIN instruments s ON s.id = i.instrument_id"
        " WHERE s.code = ?",
        [code],
    )
    return {str(c): int(i) for c, i in rows}
