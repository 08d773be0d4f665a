"""Read an instrument file's contents strictly: every key known, every type right, every
reference resolved. All problems are collected, each naming the file, the part and the problem,
so a therapist fixing a file sees the whole list at once.

The file layout is documented in analytics/instruments/files/TEMPLATE.toml.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analytics.errors import CaseloadError
from analytics.instruments.model import (
    DIRECTIONS,
    FORMAT_TYPES,
    KINDS,
    METHODS,
    RELIABILITY_TYPES,
    SAFETY_FORMAT_TYPES,
    Band,
    Instrument,
    Item,
    ResponseFormat,
    Scale,
)

INSTRUMENT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
ITEM_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
SCALE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class InstrumentFileError(CaseloadError):
    """An instrument file that cannot be used, with every problem found in it."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"Instrument file {origin} is invalid ({count}).")


# Field kinds: what a key's value must be.
TEXT, NUMBER, BOOL, TEXT_LIST, TABLE, TABLE_LIST, BANDS = (
    "text",
    "a number",
    "true or false",
    "a list of text",
    "a table",
    "a list of tables",
    "a band set name or a list of bands",
)


@dataclass(frozen=True)
class Key:
    kind: str
    required: bool = False


TOP = {
    "code": Key(TEXT, True),
    "name": Key(TEXT, True),
    "version": Key(TEXT, True),
    "headline": Key(TEXT, True),
    "period": Key(TEXT),
    "source": Key(TEXT, True),
    "licence": Key(TEXT),
    "defaults": Key(TABLE),
    "formats": Key(TABLE, True),
    "band_sets": Key(TABLE),
    "items": Key(TABLE_LIST, True),
    "scales": Key(TABLE_LIST, True),
}
DEFAULTS = {"method": Key(TEXT), "min_answered": Key(NUMBER), "prorate": Key(BOOL)}
FORMAT = {
    "type": Key(TEXT, True),
    "min": Key(NUMBER, True),
    "max": Key(NUMBER, True),
    "labels": Key(TEXT_LIST),
}
ITEM = {
    "code": Key(TEXT, True),
    "kind": Key(TEXT),
    "text": Key(TEXT),
    "label": Key(TEXT),
    "format": Key(TEXT),
    "reverse": Key(BOOL),
    "threshold": Key(NUMBER),
}
SCALE = {
    "code": Key(TEXT, True),
    "label": Key(TEXT, True),
    "description": Key(TEXT, True),
    "family": Key(TEXT),
    "items": Key(TEXT_LIST, True),
    "method": Key(TEXT),
    "direction": Key(TEXT, True),
    "min_answered": Key(NUMBER),
    "prorate": Key(BOOL),
    "reliability": Key(TABLE),
    "reliable_change": Key(TABLE),
    "cutoff": Key(TABLE),
    "norms": Key(TABLE),
    "bands": Key(BANDS),
}
RELIABILITY = {
    "value": Key(NUMBER, True),
    "type": Key(TEXT, True),
    "sd": Key(NUMBER),
    "source": Key(TEXT, True),
}
NORMS = {
    "clinical_mean": Key(NUMBER),
    "clinical_sd": Key(NUMBER),
    "functional_mean": Key(NUMBER),
    "functional_sd": Key(NUMBER),
    "source": Key(TEXT, True),
}
FIGURE = {"value": Key(NUMBER, True), "source": Key(TEXT, True)}
BAND = {"label": Key(TEXT, True), "upto": Key(NUMBER), "meaning": Key(TEXT, True)}

_CHECKS: dict[str, Callable[[Any], bool]] = {
    TEXT: lambda v: isinstance(v, str),
    NUMBER: lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    BOOL: lambda v: isinstance(v, bool),
    TEXT_LIST: lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    TABLE: lambda v: isinstance(v, dict),
    TABLE_LIST: lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    BANDS: lambda v: (
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, dict) for x in v))
    ),
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


@dataclass
class _Problems:
    """Collects problems as "<file>: <where>: <what>." sentences."""

    origin: str
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{self.origin}: {where}: {what}.")

    def keys(self, table: dict[str, Any], spec: dict[str, Key], where: str) -> dict[str, Any]:
        """Report unknown keys, missing required keys and wrong types; return the good values."""
        good: dict[str, Any] = {}
        for key, value in table.items():
            if key not in spec:
                hint = difflib.get_close_matches(key, list(spec), n=1, cutoff=0.75)
                also = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.add(where, f"unknown key '{key}'{also}")
            elif not _CHECKS[spec[key].kind](value):
                self.add(where, f"'{key}' must be {spec[key].kind}, not {_describe(value)}")
            else:
                good[key] = value
        for key, rule in spec.items():
            if rule.required and key not in table:
                self.add(where, f"the required key '{key}' is missing")
        return good


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _formats(raw: dict[str, Any], p: _Problems) -> dict[str, ResponseFormat]:
    found: dict[str, ResponseFormat] = {}
    for code, table in raw.items():
        where = f"format '{code}'"
        if not isinstance(table, dict):
            p.add(where, f"must be a table, not {_describe(table)}")
            continue
        f = p.keys(table, FORMAT, where)
        if "type" in f and f["type"] not in FORMAT_TYPES:
            p.add(where, f"type '{f['type']}' is not one of {', '.join(FORMAT_TYPES)}")
            continue
        if not {"type", "min", "max"} <= f.keys():
            continue
        lo, hi = float(f["min"]), float(f["max"])
        if lo >= hi:
            p.add(where, f"the range is inverted or empty (min {lo:g}, max {hi:g})")
            continue
        if lo != int(lo) or hi != int(hi):
            p.add(where, "min and max must be whole numbers")
            continue
        labels = tuple(f.get("labels", ()))
        if labels and len(labels) != int(hi - lo) + 1:
            p.add(
                where,
                f"{len(labels)} labels for {int(hi - lo) + 1} answers ({lo:g} to {hi:g})",
            )
            continue
        if f["type"] == "yes_no" and (lo, hi) != (0, 1):
            p.add(where, "a yes/no format runs from 0 (no) to 1 (yes)")
            continue
        found[code] = ResponseFormat(code, f["type"], lo, hi, labels)
    return found


def _safety_problem(item: dict[str, Any], fmt: ResponseFormat) -> str | None:
    """Why a safety item's format or threshold would make its answers ambiguous, if it would."""
    threshold = item.get("threshold")
    if threshold is None:
        return "a safety item needs a threshold (the lowest answer that counts as positive)"
    threshold = float(threshold)
    if fmt.type == "agreement":
        midpoint = (fmt.min + fmt.max) / 2
        if threshold <= midpoint:
            return (
                f"its threshold {threshold:g} ({fmt.label(threshold)}) is on the disagree side "
                "of an agreement scale, so a denial would raise a safety flag"
            )
    if fmt.type not in SAFETY_FORMAT_TYPES:
        return (
            f"a safety item needs a frequency or yes/no format, where a positive answer is "
            f"unambiguous (format '{fmt.code}' is {fmt.type})"
        )
    if not fmt.min < threshold <= fmt.max:
        return (
            f"its threshold {threshold:g} must be above the lowest answer ({fmt.min:g}) and "
            f"no higher than the highest ({fmt.max:g})"
        )
    return None


def _items(
    raw: list[dict[str, Any]], formats: dict[str, ResponseFormat], p: _Problems
) -> list[Item]:
    found: list[Item] = []
    seen: set[str] = set()
    for position, table in enumerate(raw, start=1):
        code = table.get("code")
        where = f"item '{code}'" if isinstance(code, str) else f"item {position}"
        f = p.keys(table, ITEM, where)
        if "code" not in f:
            continue
        code = str(f["code"])
        if not ITEM_CODE.match(code):
            p.add(where, "an item code is 1-32 letters, digits or '_', starting with a letter")
            continue
        if code in seen:
            p.add(where, "two items share this code")
            continue
        seen.add(code)
        kind = f.get("kind", "scored")
        if kind not in KINDS:
            p.add(where, f"kind '{kind}' is not one of {', '.join(KINDS)}")
            continue
        fmt = None
        if kind == "text":
            for key in ("format", "reverse", "threshold"):
                if key in f:
                    p.add(where, f"a free-text item has no '{key}'")
        elif "format" not in f:
            p.add(where, "the required key 'format' is missing")
            continue
        else:
            fmt = formats.get(f["format"])
            if fmt is None:
                p.add(where, f"format '{f['format']}' is not defined under [formats]")
                continue
        if kind == "safety":
            assert fmt is not None
            problem = _safety_problem(f, fmt)
            if problem:
                p.add(where, problem)
                continue
            if f.get("reverse"):
                p.add(where, "a safety item cannot be reverse-keyed")
                continue
        elif "threshold" in f and kind != "text":
            p.add(where, "only safety items have a threshold")
            continue
        found.append(
            Item(
                code=code,
                kind=kind,
                position=position,
                text=f.get("text"),
                label=f.get("label"),
                format=fmt,
                reverse=bool(f.get("reverse", False)),
                threshold=_number(f.get("threshold")),
            )
        )
    return found


def _bands(raw: list[Any], where: str, low: float, high: float, p: _Problems) -> tuple[Band, ...]:
    bands: list[Band] = []
    for n, table in enumerate(raw, start=1):
        if not isinstance(table, dict):
            p.add(where, f"band {n} must be a table")
            return ()
        b = p.keys(table, BAND, f"{where} band {n}")
        if not {"label", "meaning"} <= b.keys():
            return ()
        bands.append(Band(b["label"], _number(b.get("upto")), b["meaning"]))
    if not bands:
        p.add(where, "a band list needs at least one band")
        return ()
    bounds = [b.upto for b in bands]
    if any(u is None for u in bounds[:-1]) or bounds[-1] is not None:
        p.add(where, "every band but the last needs 'upto' (where it ends); the last has none")
        return ()
    inner = [float(u) for u in bounds[:-1] if u is not None]
    if inner != sorted(set(inner)) or any(not low < u < high for u in inner):
        p.add(
            where,
            f"band limits must rise and lie inside the scale's range ({low:g} to {high:g})",
        )
        return ()
    return tuple(bands)


def _figures(s: dict[str, Any], where: str, p: _Problems) -> dict[str, Any]:
    """The optional psychometric tables of a scale, checked."""
    out: dict[str, Any] = {}
    if "reliability" in s:
        r = p.keys(s["reliability"], RELIABILITY, f"{where} reliability")
        if "value" in r and not 0 < r["value"] < 1:
            p.add(f"{where} reliability", "the value must lie between 0 and 1")
        elif "type" in r and r["type"] not in RELIABILITY_TYPES:
            p.add(
                f"{where} reliability",
                f"type '{r['type']}' is not one of {', '.join(RELIABILITY_TYPES)}",
            )
        elif "sd" in r and r["sd"] <= 0:
            p.add(f"{where} reliability", "the SD must be above 0")
        elif {"value", "type", "source"} <= r.keys():
            out.update(
                reliability=float(r["value"]),
                reliability_type=r["type"],
                reliability_source=r["source"],
                sd=_number(r.get("sd")),
            )
    if "norms" in s:
        n = p.keys(s["norms"], NORMS, f"{where} norms")
        pairs = (("clinical_mean", "clinical_sd"), ("functional_mean", "functional_sd"))
        for mean, sd in pairs:
            if (mean in n) != (sd in n):
                p.add(f"{where} norms", f"'{mean}' and '{sd}' go together")
            elif sd in n and n[sd] <= 0:
                p.add(f"{where} norms", f"'{sd}' must be above 0")
            elif mean in n and "source" in n:
                out[mean], out[sd] = float(n[mean]), float(n[sd])
        if "source" in n:
            out["norms_source"] = n["source"]
    for key, target in (("cutoff", "cutoff"), ("reliable_change", "reliable_change")):
        if key in s:
            v = p.keys(s[key], FIGURE, f"{where} {key.replace('_', ' ')}")
            if key == "reliable_change" and v.get("value", 1) <= 0:
                p.add(f"{where} reliable change", "the value must be above 0")
            elif {"value", "source"} <= v.keys():
                out[target], out[f"{target}_source"] = float(v["value"]), v["source"]
    return out


def _scales(
    raw: list[dict[str, Any]],
    items: list[Item],
    defaults: dict[str, Any],
    band_sets: dict[str, Any],
    p: _Problems,
) -> list[Scale]:
    by_code = {item.code: item for item in items}
    found: list[Scale] = []
    seen: set[str] = set()
    for position, table in enumerate(raw, start=1):
        code = table.get("code")
        where = f"scale '{code}'" if isinstance(code, str) else f"scale {position}"
        s = p.keys(table, SCALE, where)
        if not {"code", "label", "description", "items", "direction"} <= s.keys():
            continue
        code = str(s["code"])
        if not SCALE_CODE.match(code):
            p.add(where, "a scale code is 1-32 lower-case letters, digits or '_'")
            continue
        if code in seen:
            p.add(where, "two scales share this code")
            continue
        seen.add(code)
        ok = True
        if not s["items"]:
            p.add(where, "a scale needs at least one item")
            ok = False
        if len(set(s["items"])) != len(s["items"]):
            p.add(where, "an item is listed twice")
            ok = False
        for item_code in s["items"]:
            item = by_code.get(item_code)
            if item is None:
                p.add(where, f"names the unknown item '{item_code}'")
                ok = False
            elif item.kind != "scored":
                p.add(
                    where,
                    f"names the {item.kind} item '{item_code}' "
                    + (
                        "(safety answers are never averaged into a score)"
                        if item.kind == "safety"
                        else "(free-text answers have no score)"
                    ),
                )
                ok = False
        method = s.get("method", defaults.get("method"))
        if method not in METHODS:
            p.add(where, f"method must be one of {', '.join(METHODS)} (here or in [defaults])")
            ok = False
        if s["direction"] not in DIRECTIONS:
            p.add(where, f"direction '{s['direction']}' is not one of {', '.join(DIRECTIONS)}")
            ok = False
        prorate = s.get("prorate", defaults.get("prorate", False))
        min_answered = float(s.get("min_answered", defaults.get("min_answered", 1.0)))
        if not 0 < min_answered <= 1:
            p.add(where, "min_answered is a share of the items, above 0 and at most 1")
            ok = False
        elif not prorate and min_answered < 1:
            p.add(where, "min_answered below 1 needs prorate = true")
            ok = False
        figures = _figures(s, where, p)
        if not ok:
            continue
        members = [by_code[c] for c in s["items"]]
        low, high = _score_range(members, method)
        for key in ("cutoff", "clinical_mean", "functional_mean"):
            value = figures.get(key)
            if value is not None and not low <= value <= high:
                p.add(where, f"{key.replace('_', ' ')} {value:g} lies outside {low:g}-{high:g}")
        bands: tuple[Band, ...] = ()
        if "bands" in s:
            spec = s["bands"]
            if isinstance(spec, str):
                if spec not in band_sets:
                    p.add(where, f"band set '{spec}' is not defined under [band_sets]")
                    continue
                spec = band_sets[spec]
                if not isinstance(spec, list):
                    p.add(f"band set '{s['bands']}'", "must be a list of bands")
                    continue
            bands = _bands(spec, f"{where} bands", low, high, p)
        found.append(
            Scale(
                code=code,
                label=s["label"],
                description=s["description"],
                items=tuple(s["items"]),
                method=str(method),
                direction=s["direction"],
                min_answered=min_answered,
                prorate=bool(prorate),
                family=s.get("family", ""),
                bands=bands,
                **figures,
            )
        )
    return found


def _score_range(items: list[Item], method: str | None) -> tuple[float, float]:
    lows = [i.min for i in items]
    highs = [i.max for i in items]
    if method == "mean":
        return sum(lows) / len(lows), sum(highs) / len(highs)
    return float(sum(lows)), float(sum(highs))


def score_range(instrument: Instrument, scale: Scale) -> tuple[float, float]:
    """The lowest and highest score a scale can take."""
    return _score_range(instrument.items_of(scale.code), scale.method)


def parse(data: dict[str, Any], origin: str) -> Instrument:
    """Check a parsed instrument file and build the `Instrument`.

    Raises:
        InstrumentFileError: listing every problem found (unknown keys, wrong types, missing or
            unknown references, items in no scale, inverted ranges, unsafe safety items).
    """
    p = _Problems(origin)
    top = p.keys(data, TOP, "top level")
    code = top.get("code")
    if isinstance(code, str) and not INSTRUMENT_CODE.match(code):
        p.add("top level", "the code is 2-32 lower-case letters, digits or '_'")
    defaults = p.keys(top.get("defaults", {}), DEFAULTS, "[defaults]")
    if "method" in defaults and defaults["method"] not in METHODS:
        p.add("[defaults]", f"method must be one of {', '.join(METHODS)}")
    if "min_answered" in defaults and not 0 < defaults["min_answered"] <= 1:
        p.add("[defaults]", "min_answered is a share of the items, above 0 and at most 1")
    formats = _formats(top.get("formats", {}), p)
    items = _items(top.get("items", []), formats, p)
    scales = _scales(top.get("scales", []), items, defaults, top.get("band_sets", {}), p)
    if "items" in top and not top["items"]:
        p.add("top level", "an instrument needs at least one item")
    in_a_scale = {code for scale in scales for code in scale.items}
    scale_codes = {scale.code for scale in scales}
    for raw_scale in top.get("scales", []):
        for item_code in raw_scale.get("items", []) if isinstance(raw_scale, dict) else []:
            in_a_scale.add(item_code)  # a scale refused above still claims its items
    for item in items:
        if item.kind == "scored" and item.code not in in_a_scale:
            p.add(f"item '{item.code}'", "is in no scale (a scored item must count somewhere)")
    headline = top.get("headline")
    if isinstance(headline, str) and scales and headline not in scale_codes:
        p.add("top level", f"headline '{headline}' is not one of the scales")
    if p.items:
        raise InstrumentFileError(origin, p.items)
    return Instrument(
        code=top["code"],
        name=top["name"],
        version=top["version"],
        headline=top["headline"],
        items=tuple(items),
        scales=tuple(scales),
        formats=tuple(formats.values()),
        period=top.get("period", ""),
        source=top["source"],
        licence=top.get("licence", ""),
    )
