"""Copy instrument definitions into the database so that scoring can be done in SQL.

Each (code, version) is its own row in `instruments`, with its items, scales, scale items and
bands; every response points at the version it answered. A version's definition may change
only while nothing has been answered under it: once responses (or queued unmatched rows) use
it, a changed file is refused until its version is bumped, and the stored definition stays in
force. The files stay the source of truth for new versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.instruments.catalog import InstrumentFile
from analytics.instruments.model import Instrument
from analytics.instruments.schema import score_range
from analytics.store.db import Database
from analytics.store.ids import next_id


@dataclass(frozen=True)
class SyncOutcome:
    """What a sync did: versions added or replaced, and files it refused (with reasons)."""

    added: list[str]
    refused: dict[str, str]  # file name -> reason


def _refusal(entry: InstrumentFile, used: int) -> str:
    ins = entry.instrument
    assert ins is not None
    return (
        f"{entry.file_name}: version {ins.version} of {ins.code} already has {used} "
        f"response{'s' if used != 1 else ''} and its definition has changed; give the file "
        "a new version to change it. The stored definition stays in use."
    )


def _uses(cur: duckdb.DuckDBPyConnection, instrument_id: int) -> int:
    row = cur.execute(
        "SELECT (SELECT count(*) FROM responses WHERE instrument_id = $id)"
        " + (SELECT count(*) FROM unmatched_responses WHERE instrument_id = $id)",
        {"id": instrument_id},
    ).fetchone()
    return int(row[0]) if row else 0


def _write_children(cur: duckdb.DuckDBPyConnection, instrument_id: int, ins: Instrument) -> None:
    """Items, scales, scale items and bands of one version (the rows must not exist yet)."""
    items = pd.DataFrame(
        [
            {
                "code": i.code,
                "position": i.position,
                "kind": i.kind,
                "label": i.label,
                "text": i.text,
                "format_type": i.format.type if i.format else None,
                "min_value": i.format.min if i.format else None,
                "max_value": i.format.max if i.format else None,
                "labels": list(i.format.labels) if i.format and i.format.labels else None,
                "reverse": i.reverse,
                "threshold": i.threshold,
            }
            for i in ins.items
        ]
    )
    cur.register("sync_items", items)
    cur.execute(
        "INSERT INTO items (instrument_id, code, position, kind, label, text, format_type,"
        " min_value, max_value, labels, reverse, threshold)"
        " SELECT ?, code, position, kind, label, text, format_type, min_value, max_value,"
        " CAST(labels AS VARCHAR[]), reverse, threshold FROM sync_items ORDER BY position",
        [instrument_id],
    )
    cur.unregister("sync_items")
    for position, s in enumerate(ins.scales, start=1):
        cur.execute(
            "INSERT INTO scales (instrument_id, code, position, label, description, family,"
            " method, direction, min_answered, prorate, sd, reliability, reliability_type,"
            " reliability_source, published_rc, published_rc_source, cutoff, cutoff_source,"
            " clinical_mean, clinical_sd, functional_mean, functional_sd, norms_source)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                instrument_id,
                s.code,
                position,
                s.label,
                s.description,
                s.family,
                s.method,
                s.direction,
                s.min_answered,
                s.prorate,
                s.sd,
                s.reliability,
                s.reliability_type,
                s.reliability_source,
                s.reliable_change,
                s.reliable_change_source,
                s.cutoff,
                s.cutoff_source,
                s.clinical_mean,
                s.clinical_sd,
                s.functional_mean,
                s.functional_sd,
                s.norms_source,
            ],
        )
        cur.execute(
            "INSERT INTO scale_items (instrument_id, scale_code, item_id)"
            " SELECT ?, ?, id FROM items WHERE instrument_id = ? AND list_contains(?, code)",
            [instrument_id, s.code, instrument_id, list(s.items)],
        )
        lower = score_range(ins, s)[0]
        for n, band in enumerate(s.bands, start=1):
            cur.execute(
                "INSERT INTO scale_bands (instrument_id, scale_code, position, label, lower,"
                " upper, meaning) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [instrument_id, s.code, n, band.label, lower, band.upto, band.meaning],
            )
            lower = band.upto if band.upto is not None else lower


def _delete_children(cur: duckdb.DuckDBPyConnection, instrument_id: int) -> None:
    for statement in (
        "DELETE FROM scale_bands WHERE instrument_id = ?",
        "DELETE FROM scale_items WHERE instrument_id = ?",
        "DELETE FROM scales WHERE instrument_id = ?",
        "DELETE FROM items WHERE instrument_id = ?",
    ):
        cur.execute(statement, [instrument_id])


def _store(cur: duckdb.DuckDBPyConnection, entry: InstrumentFile) -> tuple[int, str | None]:
    """Make sure this file's version is stored; returns (instrument id, refusal or None)."""
    ins = entry.instrument
    assert ins is not None
    row = cur.execute(
        "SELECT id, checksum FROM instruments WHERE code = ? AND version = ?",
        [ins.code, ins.version],
    ).fetchone()
    header = [ins.name, ins.headline, ins.period, ins.source, entry.origin, entry.file_name]
    definition = json.dumps(entry.definition, sort_keys=True, default=str)
    if row is None:
        new_id = next_id(cur, "instruments")
        cur.execute(
            "INSERT INTO instruments (id, code, version, name, headline, period, source, origin,"
            " file_name, checksum, definition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [new_id, ins.code, ins.version, *header, entry.checksum, definition],
        )
        _write_children(cur, new_id, ins)
        return new_id, None
    instrument_id, stored = int(row[0]), str(row[1])
    if stored == entry.checksum:
        return instrument_id, None
    used = _uses(cur, instrument_id)
    if used:
        return instrument_id, _refusal(entry, used)
    cur.execute(
        "UPDATE instruments SET name = ?, headline = ?, period = ?, source = ?, origin = ?,"
        " file_name = ?, checksum = ?, definition = ?, synced_at = current_timestamp"
        " WHERE id = ?",
        [*header, entry.checksum, definition, instrument_id],
    )
    _delete_children(cur, instrument_id)
    _write_children(cur, instrument_id, ins)
    return instrument_id, None


def sync(db: Database, files: list[InstrumentFile]) -> SyncOutcome:
    """Store every valid file's version and mark it current for its code, in one transaction.

    Codes whose only file is invalid keep the version they had; codes with no file at all stop
    being current (their versions stay, for the responses that used them).
    """
    added: list[str] = []
    refused: dict[str, str] = {}
    current: dict[str, int] = {}
    invalid_codes = {
        str(f.definition.get("code")) for f in files if not f.ok and f.definition.get("code")
    }

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        added.clear()
        refused.clear()
        current.clear()
        before = {int(r[0]) for r in cur.execute("SELECT id FROM instruments").fetchall()}
        for entry in files:
            if entry.instrument is None:
                continue
            instrument_id, problem = _store(cur, entry)
            if problem:
                refused[entry.file_name] = problem
            if instrument_id not in before:
                added.append(f"{entry.instrument.code} {entry.instrument.version}")
            current[entry.instrument.code] = instrument_id
        # Only rows whose flag changes: servers starting together (PostgreSQL) then write nothing
        # when the files are the same, instead of updating the same rows at once.
        cur.execute(
            "UPDATE instruments SET is_current = list_contains(?, id)"
            " WHERE NOT list_contains(?, code) AND is_current <> list_contains(?, id)",
            [
                list(current.values()),
                sorted(invalid_codes - current.keys()),
                list(current.values()),
            ],
        )

    # Retried when another server syncs the same files at the same moment.
    db.atomic(work)
    return SyncOutcome(added, refused)


def refusals(db: Database, files: list[InstrumentFile]) -> dict[str, str]:
    """Which valid files a sync would refuse (changed under a version that has responses), and
    why. Reads only."""
    found: dict[str, str] = {}
    with db.cursor() as cur:
        for entry in files:
            ins = entry.instrument
            if ins is None:
                continue
            row = cur.execute(
                "SELECT id, checksum FROM instruments WHERE code = ? AND version = ?",
                [ins.code, ins.version],
            ).fetchone()
            if row is not None and str(row[1]) != entry.checksum:
                used = _uses(cur, int(row[0]))
                if used:
                    found[entry.file_name] = _refusal(entry, used)
    return found
