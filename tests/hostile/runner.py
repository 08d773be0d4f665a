"""Feed the hostile corpus through the import pipeline and measure what happens (`make fuzz`).

    .venv/bin/python -m tests.hostile.runner [--jobs 2] [--kind date ...] [--subset] [--show 20]

Each file goes through `service.prepare` and, when the preview is importable, `commit_import`,
against a small practice whose partners match the samples (the demo practice). Outcomes:

- refused: a CaseloadError, or a preview with nothing importable. The database must be exactly
  as before (every table's row count and a hash of its contents, compared in SQL).
- accepted: committed. The database is then restored from a prepared copy before the next file,
  and what was stored is checked: no answer outside its item's range, no safety answer in the
  derived table without the same answer stored, and the file's own expectation (corpus.Expect).
- crash: any other exception, a worker that dies, or a file over the time limit (killed).

Files run in worker processes (spawned, one database copy each), one file at a time each. The
parent kills a worker that passes the time limit or a memory guard (resident size polled, plus
an address-space limit set in the worker) so that no file can take the machine down. Each
worker resets its peak resident size (/proc/self/clear_refs) before a file and reads it after,
so the peak reported for a file is the whole worker's peak while handling it (the interpreter,
pandas and DuckDB included, about 200 MB before any file); a worker that has grown by more than
RECYCLE_GROWTH_MB since it started is replaced, so every file is measured from about that size.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import gc
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from analytics.demo.build import build_demo
from analytics.errors import CaseloadError
from analytics.importing import service
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice, practice_key
from analytics.store.db import Database
from tests.hostile.corpus import KINDS, Expect, HostileFile, Spec, specs, subset

NOW = dt.datetime(2026, 11, 20, 12, 0)  # naive UTC, after every sample's times
LIMIT_SECONDS = 10.0
LIMIT_MB = 500.0
GUARD_MB = 2048.0  # the parent kills a worker whose resident size passes this
ADDRESS_SPACE_MB = 8192  # RLIMIT_AS of a worker (about 1.7 GB of it is mapped before any file)
STARTUP_SECONDS = 120.0  # a worker not ready by then (starting, restoring its copy) is a fault
# A worker that has grown by this much since it started (caches, fragmentation) is replaced, so
# that every file's peak is measured from about the same starting size.
RECYCLE_GROWTH_MB = 64.0

# Checks on what an accepted file stored (each must count 0).
_OUT_OF_RANGE = (
    "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
    " WHERE i.kind = 'text' OR a.value < i.min_value OR a.value > i.max_value"
    " OR a.value <> round(a.value) OR isnan(a.value)"
)
_SAFETY_WITHOUT_ANSWER = (
    "SELECT count(*) FROM response_safety s LEFT JOIN answers a"
    " ON a.response_id = s.response_id AND a.item_id = s.item_id"
    " WHERE s.value IS NOT NULL AND (a.value IS NULL OR a.value <> s.value)"
)
SAFETY_OF = (
    "SELECT r.id, i.code, a.value, s.value FROM responses r"
    " JOIN partners p ON p.id = r.partner_id"
    " JOIN items i ON i.instrument_id = r.instrument_id AND i.kind = 'safety'"
    " LEFT JOIN answers a ON a.response_id = r.id AND a.item_id = i.id"
    " LEFT JOIN response_safety s ON s.response_id = r.id AND s.item_id = i.id"
    " WHERE r.batch_id IS NOT NULL"
    " AND (lower(p.email) = lower(?) OR upper(p.client_code) = upper(?))"
    " ORDER BY r.id, i.code"
)


@dataclass
class Outcome:
    """What one file did."""

    name: str
    kind: str
    outcome: str  # refused | accepted | crash
    seconds: float
    peak_mb: float
    changed_on_refusal: bool = False
    broken: list[str] = field(default_factory=list)  # checks on stored rows that failed
    detail: str = ""  # the refusal message, or what crashed
    traceback: str = ""


@dataclass
class Summary:
    """Every file's outcome and the totals `make fuzz` prints."""

    outcomes: list[Outcome]
    seconds: float
    jobs: int
    limit_seconds: float = LIMIT_SECONDS
    limit_mb: float = LIMIT_MB
    restarts: int = 0  # workers replaced (after a kill, or grown too big)

    def count(self, outcome: str) -> int:
        return sum(o.outcome == outcome for o in self.outcomes)

    @property
    def crashes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == "crash"]

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.changed_on_refusal]

    @property
    def broken(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.broken]

    @property
    def over_time(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.seconds > self.limit_seconds]

    @property
    def over_memory(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.peak_mb > self.limit_mb]

    @property
    def failed(self) -> bool:
        """True when any file crashed, changed the database on refusal, stored something
        wrong, or went over the time or memory limit."""
        return bool(
            self.crashes or self.changed or self.broken or self.over_time or self.over_memory
        )

    def table(self, *, show: int = 20) -> str:
        """The report: totals, one line per kind, then every failure (up to `show` each)."""
        if not self.outcomes:
            return "No files were run."
        slowest = max(self.outcomes, key=lambda o: o.seconds)
        biggest = max(self.outcomes, key=lambda o: o.peak_mb)
        lines = [
            f"Hostile corpus: {len(self.outcomes)} files in {self.seconds:.0f} s"
            f" ({self.jobs} worker{'s' if self.jobs > 1 else ''}, {self.restarts} restarted)",
            "",
            f"  {'files':<42}{len(self.outcomes):>8}",
            f"  {'refused':<42}{self.count('refused'):>8}",
            f"  {'accepted':<42}{self.count('accepted'):>8}",
            f"  {'crashes (must be 0)':<42}{len(self.crashes):>8}",
            f"  {'database changed on refusal (must be 0)':<42}{len(self.changed):>8}",
            f"  {'stored wrongly (must be 0)':<42}{len(self.broken):>8}",
            f"  {f'over {self.limit_seconds:g} s (must be 0)':<42}{len(self.over_time):>8}",
            f"  {f'over {self.limit_mb:g} MB (must be 0)':<42}{len(self.over_memory):>8}",
            f"  {'slowest file':<42}{slowest.seconds:>8.2f} s  {slowest.name}",
            f"  {'peak memory':<42}{biggest.peak_mb:>8.0f} MB {biggest.name}",
            "",
            f"  {'kind':<16}{'files':>6}{'refused':>9}{'accepted':>9}{'crashes':>8}"
            f"{'slowest s':>11}{'peak MB':>9}",
        ]
        for kind in [*KINDS, *sorted({o.kind for o in self.outcomes} - set(KINDS))]:
            mine = [o for o in self.outcomes if o.kind == kind]
            if not mine:
                continue
            counts = Counter(o.outcome for o in mine)
            lines.append(
                f"  {kind:<16}{len(mine):>6}{counts['refused']:>9}{counts['accepted']:>9}"
                f"{counts['crash']:>8}{max(o.seconds for o in mine):>11.2f}"
                f"{max(o.peak_mb for o in mine):>9.0f}"
            )
        sections: list[tuple[str, list[Outcome], Callable[[Outcome], str]]] = [
            ("Crashes", self.crashes, _crash_text),
            ("Database changed on refusal", self.changed, lambda o: o.detail),
            ("Stored wrongly", self.broken, lambda o: "; ".join(o.broken)),
            (f"Over {self.limit_seconds:g} s", self.over_time, lambda o: f"{o.seconds:.1f} s"),
            (f"Over {self.limit_mb:g} MB", self.over_memory, lambda o: f"{o.peak_mb:.0f} MB"),
        ]
        for title, found, describe in sections:
            if not found:
                continue
            lines += ["", f"{title} ({len(found)}):"]
            for o in found[:show]:
                lines.append(f"- {o.name} [{o.kind}, {o.outcome}, {o.seconds:.2f} s]: "
                             f"{describe(o)}")  # fmt: skip
            if len(found) > show:
                lines.append(f"  ... and {len(found) - show} more")
        return "\n".join(lines)


def _crash_text(outcome: Outcome) -> str:
    """What crashed, with the last frames of the traceback when there is one."""
    if not outcome.traceback:
        return outcome.detail
    frames = outcome.traceback.rstrip().splitlines()[-12:]
    return outcome.detail + "\n" + "\n".join("    " + line for line in frames)


# --- Memory -------------------------------------------------------------------------------------


def _status_mb(field_name: str, pid: int | str = "self") -> float | None:
    """A size line of /proc/<pid>/status (VmRSS, VmHWM) in MB; None when unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident size (Linux: "5" to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _peak_mb(reset_worked: bool) -> float:
    """This process's peak resident size since the last reset (else since it started)."""
    peak = _status_mb("VmHWM") if reset_worked else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def _trim() -> None:
    """Give freed memory back to the system so the next file's peak starts low."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# --- The worker ---------------------------------------------------------------------------------


def build_practice(path: Path) -> None:
    """The demo practice (partners D-001 .. D-012 match the samples), as of NOW's date."""
    db = open_practice(path)
    try:
        build_demo(db, as_of=NOW.date())
    finally:
        db.close()


def fingerprint(db: Database) -> list[tuple[Any, ...]]:
    """Every table's name, row count and an order-independent hash of its rows."""
    tables = [
        str(r[0])
        for r in db.query_rows(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            " AND database_name = current_database() ORDER BY schema_name, table_name"
        )
    ]
    sql = " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n, coalesce(sum(hash(x)::HUGEINT), 0) AS h FROM \"{t}\" x"
        for t in tables
    )
    return list(db.query_rows(sql + " ORDER BY t")) if tables else []


def check_stored(db: Database, expect: Expect | None) -> list[str]:
    """What is wrong with what an accepted file stored (nothing: an empty list)."""
    broken: list[str] = []
    try:
        if int(db.query_value(_OUT_OF_RANGE)):
            broken.append("an answer is stored outside its item's range")
        if int(db.query_value(_SAFETY_WITHOUT_ANSWER)):
            broken.append("a safety answer is screened that is not the answer stored")
        if expect is None:
            return broken
        rows = db.query_rows(SAFETY_OF, [expect.respondent, expect.respondent])
    except Exception as exc:  # a check that cannot run is itself a finding
        return [*broken, f"the check on stored rows failed: {type(exc).__name__}: {exc}"]
    if expect.stored is False and rows:
        broken.append("a row that must be refused was stored")
    for safety in [expect.safety] if expect.safety is not None else []:
        for _, code, answered, screened in rows:
            if code not in safety:
                continue
            want = safety[code]
            for where, got in (("answers", answered), ("response_safety", screened)):
                if got != want:
                    shown = "NULL" if got is None else f"{got:g}"
                    wanted = "NULL" if want is None else f"{want:g}"
                    broken.append(f"{code} stored as {shown} in {where}, expected {wanted}")
    return sorted(set(broken))


def _import(db: Database, name: str, data: bytes) -> tuple[str, str, str]:
    """(outcome, detail, traceback) of preparing and committing one file."""
    try:
        preview = service.prepare(db, PRACTICE, name, data, now=NOW)
        if not preview.importable:
            return "refused", "; ".join(preview.problems) or "nothing importable", ""
        service.commit_import(db, PRACTICE, preview)
    except CaseloadError as error:
        return "refused", error.message, ""
    except Exception as exc:  # MemoryError and RecursionError included
        return "crash", f"{type(exc).__name__}: {str(exc)[:300]}", traceback.format_exc()
    return "accepted", "", ""


def _worker(conn: Connection, pristine: str, folder: str) -> None:
    """Serve files from the parent until it sends None."""
    with contextlib.suppress(ValueError, OSError):
        limit = ADDRESS_SPACE_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    work = Path(folder) / "work.duckdb"

    def fresh() -> Database:
        for stale in Path(folder).glob("work.duckdb*"):
            stale.unlink()
        shutil.copyfile(pristine, work)
        # The copy is encrypted with the pristine practice's key (its key file stays there).
        return open_practice(work, key=practice_key(Path(pristine)))

    db = fresh()
    baseline = fingerprint(db)
    conn.send(("ready", _status_mb("VmRSS") or 0.0))
    while True:
        message = conn.recv()
        if message is None:
            break
        name, kind, data, expect = message
        reset = _reset_peak()
        started = time.perf_counter()
        outcome, detail, trace = _import(db, name, data)
        seconds = time.perf_counter() - started
        peak = _peak_mb(reset)
        del data
        changed = False
        broken: list[str] = []
        if outcome == "refused":
            changed = fingerprint(db) != baseline
            if changed:
                detail = f"refused ({detail}) but the database changed"
        elif outcome == "accepted":
            broken = check_stored(db, expect)
        result = Outcome(name, kind, outcome, seconds, peak, changed, broken, detail, trace)
        conn.send(("result", asdict(result)))
        if outcome != "refused" or changed:
            db.close()
            db = fresh()
        _trim()
        conn.send(("ready", _status_mb("VmRSS") or 0.0))
    db.close()


# --- The parent ---------------------------------------------------------------------------------


@dataclass
class _Slot:
    """One worker process and the file it is handling."""

    number: int
    folder: Path
    process: BaseProcess | None = None
    conn: Connection | None = None
    ready: bool = False
    file: HostileFile | None = None
    started: float = 0.0
    peak_seen: float = 0.0
    rss: float = 0.0
    start_rss: float = 0.0  # resident size when the worker was first ready
    waiting: float = 0.0  # since when the parent waits for "ready"
    deaths: int = 0  # in a row without handling a file


class Runner:
    """Worker processes sharing out files; the parent enforces the limits."""

    def __init__(self, jobs: int, folder: Path, pristine: Path, limit_seconds: float) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.pristine = pristine
        self.limit_seconds = limit_seconds
        self.slots = [_Slot(n, folder / f"worker{n}") for n in range(jobs)]
        self.restarts = 0
        for slot in self.slots:
            slot.folder.mkdir(parents=True, exist_ok=True)
            self._start(slot)

    def _start(self, slot: _Slot) -> None:
        parent_end, child_end = self.context.Pipe()
        process = self.context.Process(
            target=_worker, args=(child_end, str(self.pristine), str(slot.folder)), daemon=True
        )
        process.start()
        child_end.close()
        slot.process, slot.conn, slot.ready, slot.file = process, parent_end, False, None
        slot.start_rss = 0.0
        slot.waiting = time.perf_counter()

    def _stop(self, slot: _Slot, *, kill: bool) -> None:
        process, conn = slot.process, slot.conn
        if process is not None:
            if kill:
                process.kill()
            else:
                with contextlib.suppress(OSError, ValueError):
                    if conn is not None:
                        conn.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        if conn is not None:
            conn.close()
        slot.process, slot.conn = None, None

    def _restart(self, slot: _Slot, *, kill: bool) -> None:
        self.restarts += 1
        self._stop(slot, kill=kill)
        self._start(slot)

    def close(self) -> None:
        for slot in self.slots:
            self._stop(slot, kill=slot.file is not None)

    def run(self, files: Iterator[HostileFile], report: Callable[[Outcome], None]) -> None:
        """Hand out every file; call `report` with each outcome as it arrives."""
        exhausted = False
        while True:
            for slot in self.slots:
                if slot.ready and slot.file is None and not exhausted:
                    file = next(files, None)
                    if file is None:
                        exhausted = True
                        break
                    assert slot.conn is not None
                    slot.file, slot.ready, slot.peak_seen = file, False, slot.rss
                    slot.started = time.perf_counter()
                    slot.conn.send((file.name, file.kind, file.data, file.expect))
            if exhausted and all(s.file is None for s in self.slots):
                return
            conns = [s.conn for s in self.slots if s.conn is not None]
            for conn in wait(conns, timeout=0.05):
                slot = next(s for s in self.slots if s.conn is conn)
                self._receive(slot, report)
            for slot in self.slots:
                self._police(slot, report)

    def _receive(self, slot: _Slot, report: Callable[[Outcome], None]) -> None:
        assert slot.conn is not None
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            code = slot.process.exitcode if slot.process is not None else None
            self._crash(slot, report, f"the worker process died (exit code {code})")
            return
        if message[0] == "ready":
            slot.ready, slot.rss = True, float(message[1])
            if not slot.start_rss:
                slot.start_rss = slot.rss
            elif slot.rss > slot.start_rss + RECYCLE_GROWTH_MB and slot.file is None:
                self._restart(slot, kill=False)
            return
        outcome = Outcome(**message[1])
        assert slot.file is not None
        slot.deaths, slot.waiting = 0, time.perf_counter()
        outcome.seconds = max(outcome.seconds, time.perf_counter() - slot.started)
        outcome.peak_mb = max(outcome.peak_mb, slot.peak_seen)
        slot.file = None
        report(outcome)

    def _police(self, slot: _Slot, report: Callable[[Outcome], None]) -> None:
        """Kill a worker whose file runs over time or whose memory passes the guard."""
        waited = time.perf_counter() - slot.waiting
        if slot.file is None and not slot.ready and waited > STARTUP_SECONDS:
            raise RuntimeError(f"worker {slot.number} is not ready after {waited:.0f} s")
        if slot.file is None or slot.process is None:
            return
        elapsed = time.perf_counter() - slot.started
        rss = _status_mb("VmRSS", slot.process.pid or 0) or 0.0
        slot.peak_seen = max(slot.peak_seen, rss)
        if elapsed > self.limit_seconds:
            self._crash(slot, report, f"killed: over the {self.limit_seconds:g} s limit")
        elif rss > GUARD_MB:
            self._crash(slot, report, f"killed: resident memory passed {GUARD_MB:g} MB")

    def _crash(self, slot: _Slot, report: Callable[[Outcome], None], detail: str) -> None:
        file, seconds = slot.file, time.perf_counter() - slot.started
        if file is None:
            slot.deaths += 1
            if slot.deaths > 3:
                raise RuntimeError(f"worker {slot.number} keeps dying: {detail}")
        self._restart(slot, kill=True)
        if file is not None:
            report(Outcome(file.name, file.kind, "crash", seconds, slot.peak_seen, detail=detail))


def run(
    chosen: Iterable[Spec],
    *,
    jobs: int = 2,
    limit_seconds: float = LIMIT_SECONDS,
    limit_mb: float = LIMIT_MB,
    progress: Callable[[Outcome], None] | None = None,
) -> Summary:
    """Run the given corpus files through the pipeline; every file is built only when a worker
    is free for it."""
    started = time.perf_counter()
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)

    folder = Path(tempfile.mkdtemp(prefix="hostile-corpus-"))
    try:
        pristine = folder / "pristine.duckdb"
        build_practice(pristine)
        runner = Runner(max(1, jobs), folder, pristine, limit_seconds)
        try:
            runner.run((spec.build() for spec in chosen), report)
        finally:
            runner.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - started
    return Summary(outcomes, seconds, max(1, jobs), limit_seconds, limit_mb, runner.restarts)


def main(argv: list[str] | None = None) -> int:
    """`make fuzz`: run the corpus, print the table, exit 1 when anything failed."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.hostile.runner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--kind", action="append", choices=sorted(KINDS), help="only this kind")
    parser.add_argument("--subset", action="store_true", help="only the fast subset (make test)")
    parser.add_argument("--show", type=int, default=20, help="failures listed per section")
    parser.add_argument("--json", type=Path, help="also write every file's outcome here")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    chosen: Iterable[Spec] = (
        [s for s in subset() if not args.kind or s.kind in args.kind]
        if args.subset
        else specs(args.kind)
    )
    done = Counter[str]()

    def progress(outcome: Outcome) -> None:
        done[outcome.outcome] += 1
        if not args.quiet and sys.stderr.isatty():
            print(f"\r{sum(done.values())} files: {dict(done)}", end="", file=sys.stderr)
        if outcome.outcome == "crash":
            print(f"\ncrash: {outcome.name}: {outcome.detail}", file=sys.stderr)

    summary = run(chosen, jobs=args.jobs, progress=progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    print(summary.table(show=args.show))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in summary.outcomes], indent=1))
    print("\nFAILED" if summary.failed else "\nOK: every file refused or accepted cleanly.")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    # Run the imported module, not this __main__ copy, so that what the workers send back
    # unpickles under the module's real name.
    from tests.hostile.runner import main as _main

    raise SystemExit(_main())
