"""The deterministic synthetic demo practice: `python -m analytics demo`.

Everything is fictional (the names say so) and reproducible: the same seed and as_of give the
same rows, timestamps and ids included (in a fresh database). The couples' stories live in
analytics/demo/trajectories.py; this module turns them into rows and writes them in bulk, in one
transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.demo.trajectories import (
    DEMO_AMENDS,
    DEMO_PACES,
    MILESTONES,
    REPAIR_DESCRIPTION,
    CouplePlan,
    IntArray,
    Simulation,
    display_names,
    milestone_events,
    plan_couples,
    plan_sessions,
    simulate,
)
from analytics.errors import CaseloadError
from analytics.instruments import lookup
from analytics.instruments.model import Instrument
from analytics.practice import audit, kind, responses
from analytics.practice.opening import open_practice
from analytics.store.db import Database
from analytics.store.ids import next_ids

# fmt: off
THERAPISTS = (
    "Avery Demo", "Jordan Demo", "Casey Demo", "Riley Demo",
    "Quinn Demo", "Rowan Demo", "Sage Demo", "Taylor Demo",
)
# fmt: on
SUPERVISOR = "Morgan Demo"
COUPLES_PER_THERAPIST = 20
Moments = npt.NDArray[np.datetime64]

# The demo's accounts: one per demo therapist (the first name, lower-case) and an administrator.
# Demo only: these passwords are published in the README. They follow the rules (12+ characters,
# never the username). Their hashes are made once, here, with argon2id at its cheapest cost: a
# published password gains nothing from a costly hash, and hashing ten passwords at the default
# cost would take seconds of every build (0.7 s each on a 2-core machine). The first sign-in
# rehashes a password at the product's cost (accounts.authenticate).
ADMIN_USERNAME = "admin"
DEMO_PASSWORDS = {
    "avery": "lantern-river-42",
    "jordan": "copper-meadow-17",
    "casey": "amber-canyon-26",
    "riley": "silver-thistle-31",
    "quinn": "maple-compass-64",
    "rowan": "cobalt-harvest-75",
    "sage": "willow-beacon-88",
    "taylor": "granite-sparrow-19",
    "morgan": "harbour-violet-58",
    ADMIN_USERNAME: "quiet-orchard-93",
}
_HASH_COST = "$argon2id$v=19$m=8,t=1,p=1$"  # then each hash's salt and digest
_HASHES = {
    "avery": "UqL9wWODWAFQyOwPIWPT1Q$dA9JhptPaS5P+K1np6kQMWDPpTibGX6P/KVwYY0odsE",
    "jordan": "KgluayItwNVt2fxJxsxdnw$0KVFIbBa4wOE1lL3PnG4IFUCoIO+qBXU14Exjhu0fok",
    "casey": "x+pCrFivGrBC48mOm4OdAg$OlIgc8Q3EaJ9JML6QKhEmuNtNhwyQa3Dvs0iCfSdJ5g",
    "riley": "49c71yxPGCtSsZ6tWOS5Xw$DLVP2h22wYZRkzRfiMc9JRkn5GRmiVOzsF8lVnxwAWk",
    "quinn": "a0wHWrvx6s8ff125SwhR3Q$jFMqX+NU9mqCd5Pn06l45eKEqHB6cWV/vJAvgdsMOro",
    "rowan": "78VxW1KtXI76NtGh7QVo+g$VModPMulD6oAilrWXXjZORPhVjnqWwkUnkKWXfD2NTA",
    "sage": "Ez1+tzdBcJqzCObtSTCMYg$t0PFGteYnwaMXXg2vZ9oq+uMFKQCupz84vvyBtgpD1A",
    "taylor": "2hPl9ORdvLKpJdsqouCpDQ$LzrmAMX5RFYW3bXll4DTwFvDv7fccjhWZ+8JiC8wHaA",
    "morgan": "etWhFI1hir3JQgUmlysB5A$raHviOo97SKM/N1Yqvmb46zufj50sFZjVFNpQw3jOVY",
    ADMIN_USERNAME: "jsTCZpy9wOGhGoVB/R9YBA$tgLdlTAxokLcz+daFvAdvq84tIYNJoRZWK2Pug7WpgE",
}
REFUSED = "This database holds a practice's records; the demo never replaces them."
REFUSED_HINT = (
    "Nothing was changed. Build the demo in its own file: `python -m analytics demo`"
    " writes data/demo.duckdb."
)

# Practice data, children first. Whole fixed statements: no table name is ever interpolated.
_CLEAR = (
    "DELETE FROM sign_ins",
    "DELETE FROM accounts",
    "DELETE FROM response_scores",
    "DELETE FROM response_safety",
    "DELETE FROM text_answers",
    "DELETE FROM safety_reviews",
    "DELETE FROM answers",
    "DELETE FROM responses",
    "DELETE FROM unmatched_responses",
    "DELETE FROM import_batches",
    "DELETE FROM repair_events",
    "DELETE FROM repair_cases",
    "DELETE FROM agenda_items",
    "DELETE FROM agendas",
    "DELETE FROM sessions",
    "DELETE FROM partners",
    "DELETE FROM couples",
    "DELETE FROM therapists",
    "DELETE FROM audit_log",
)


def case_code(index: int, total: int) -> str:
    """D-001, D-002, ... (four digits once there are more than 999 couples); index from 0."""
    return f"D-{index + 1:0{4 if total > 999 else 3}d}"


def partner_email(code: str, label: str) -> str:
    """The demo address of partner A or B: D-001 -> d001.a@example.org (sample exports use it)."""
    return f"{code.replace('-', '').lower()}.{label.lower()}@example.org"


def demo_username(therapist: str) -> str:
    """The demo account of a demo therapist: 'Avery Demo' -> 'avery'."""
    return therapist.split()[0].lower()


def discard_demo_file(path: str | Path, *, instruments_folder: str | Path | None = None) -> bool:
    """Make way for a fresh demo at `path`: delete the file (and its WAL) when it holds the demo
    practice; returns True when it did. An empty database is left for the demo to fill; one that
    holds a practice's records is refused, untouched (apart from bringing its schema up to date,
    as any opening does). Other files beside it (an encryption key) are not the demo's to delete.
    """
    path = Path(path)
    if not path.exists():
        return False
    db = open_practice(path, instruments_folder=instruments_folder)
    try:
        demo, empty = kind.is_demo(db), kind.is_empty(db)
    finally:
        db.close()
    if not demo:
        if empty:
            return False
        raise CaseloadError(REFUSED, hint=REFUSED_HINT)
    path.unlink()
    Path(f"{path}.wal").unlink(missing_ok=True)
    return True


def build_demo(
    db: Database,
    *,
    couples: int = 12,
    weeks: int = 30,
    seed: int = 7,
    as_of: dt.date,
    force: bool = False,
) -> str:
    """Fill a migrated database with the demo practice; returns a one-line summary.

    Refuses a database that holds any practice's records (therapists, couples, responses,
    accounts) and, unless `force`, an earlier demo; with `force` the earlier demo is deleted
    first (never the instruments or the schema). Marks the database as the demo and creates the
    demo accounts (DEMO_PASSWORDS).
    """
    if couples < 1 or weeks < 1:
        raise CaseloadError("The demo needs at least one couple and one week.")
    today = as_of
    instrument = lookup.get(db, "checkin")
    instrument_id = lookup.version_id(db, instrument.code)

    plans = plan_couples(couples, weeks, seed)
    simulation = simulate(plans, instrument, seed)
    names = display_names(len(plans), seed)
    therapist_names = [*THERAPISTS[: _therapist_count(len(plans))], SUPERVISOR]

    with db.transaction() as cur:
        _make_room(cur, force)
        writer = _Writer(cur, today, plans)
        therapist_ids = writer.therapists(therapist_names)
        writer.couples(therapist_ids[:-1], names)
        sessions = writer.sessions(seed)
        stored = writer.responses(simulation, instrument, instrument_id)
        repair_cases, repair_events = writer.repair()
        accounts = writer.accounts(therapist_names, therapist_ids)
        kind.mark_demo(cur, _midnight(today))
        counts = {
            "therapists": len(therapist_names),
            "couples": len(plans),
            "partners": 2 * len(plans),
            "sessions": sessions,
            "responses": stored,
            **_answer_counts(cur),
            "repair_cases": repair_cases,
            "repair_events": repair_events,
            "accounts": accounts,
        }
        # Dated as_of rather than now, so that the demo is reproducible byte for byte.
        audit.record(
            cur,
            actor_id=None,
            action="demo:build",
            entity="practice",
            detail=counts,
            logged_at=_midnight(today),
        )
    return (
        f"Built demo practice: {len(therapist_names)} therapists, {len(plans)} couples, "
        f"{stored} check-ins (seed {seed}, as of {today.isoformat()})."
    )


def _answer_counts(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many numeric and free-text answers the (otherwise empty) practice now holds."""
    row = cur.execute(
        "SELECT (SELECT count(*) FROM answers), (SELECT count(*) FROM text_answers)"
    ).fetchone()
    assert row is not None
    return {"answers": int(row[0]), "text_answers": int(row[1])}


def _therapist_count(total: int) -> int:
    """Two therapists for a small demo, more for a big one (about 20 couples each)."""
    return min(max(2, math.ceil(total / COUPLES_PER_THERAPIST)), len(THERAPISTS))


def _make_room(cur: duckdb.DuckDBPyConnection, force: bool) -> None:
    """Never mix the demo into a practice's records; with `force`, delete an earlier demo."""
    records = kind.record_count(cur)
    if records == 0:
        return
    if not kind.demo_in(cur):
        raise CaseloadError(REFUSED, hint=REFUSED_HINT)
    if force:
        for statement in _CLEAR:
            cur.execute(statement)
        return
    row = cur.execute("SELECT count(*) FROM couples").fetchone()
    couples = 0 if row is None else int(row[0])
    raise CaseloadError(
        f"This database already holds a practice (the demo, {couples} couples);"
        " the demo was not built.",
        hint="Use --force to build the demo afresh (`make demo`).",
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _insert(cur: duckdb.DuckDBPyConnection, sql: str, frame: pd.DataFrame) -> None:
    """Run one INSERT ... SELECT ... FROM demo_rows over a whole DataFrame."""
    cur.register("demo_rows", frame)
    try:
        cur.execute(sql)
    finally:
        cur.unregister("demo_rows")


class _Writer:
    """Turns the plans into rows, table by table, inside the caller's transaction."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, as_of: dt.date, plans: list[CouplePlan]):
        self.cur = cur
        self.plans = plans
        self.midnight = np.datetime64(_midnight(as_of), "s")
        self.codes = [case_code(p.index, len(plans)) for p in plans]
        self.couple_ids: IntArray = np.zeros(0, dtype=np.int64)
        self.couple_therapist: IntArray = np.zeros(0, dtype=np.int64)
        self.partner_ids: IntArray = np.zeros(0, dtype=np.int64)
        self.session_week_offset: dict[tuple[int, int], int] = {}

    def moments(self, day_offset: IntArray, seconds: IntArray | int = 0) -> Moments:
        """Timestamps `day_offset` days before as_of, `seconds` after midnight."""
        epoch = self.midnight.astype(np.int64) - 86_400 * np.asarray(day_offset, dtype=np.int64)
        return (epoch + np.asarray(seconds, dtype=np.int64)).astype("datetime64[s]")

    def therapists(self, names: list[str]) -> list[int]:
        """The therapists (the supervisor last), set up a month before the oldest case."""
        oldest = max(p.start_offset for p in self.plans) + 30
        frame = pd.DataFrame(
            {
                "id": np.asarray(next_ids(self.cur, "therapists", len(names)), dtype=np.int64),
                "name": names,
                "role": ["therapist"] * (len(names) - 1) + ["supervisor"],
                "created_at": self.moments(np.full(len(names), oldest), 9 * 3600),
            }
        )
        _insert(
            self.cur,
            "INSERT INTO therapists (id, name, role, active, created_at)"
            " SELECT id, name, role, TRUE, created_at FROM demo_rows",
            frame,
        )
        return [int(i) for i in frame["id"]]

    def accounts(self, therapist_names: list[str], therapist_ids: list[int]) -> int:
        """One account per demo therapist, signing in as that therapist, and an administrator
        (administration only); made when the therapists were. Returns how many."""
        usernames = [demo_username(name) for name in therapist_names]
        oldest = max(p.start_offset for p in self.plans) + 30
        frame = pd.DataFrame(
            {
                "username": [*usernames, ADMIN_USERNAME],
                "therapist_id": pd.array([*therapist_ids, None], dtype="Int64"),
                "is_admin": [False] * len(usernames) + [True],
                "password_hash": [_HASH_COST + _HASHES[u] for u in [*usernames, ADMIN_USERNAME]],
                "created_at": self.moments(np.full(len(usernames) + 1, oldest), 9 * 3600),
            }
        )
        frame["id"] = np.asarray(next_ids(self.cur, "accounts", len(frame)), dtype=np.int64)
        _insert(
            self.cur,
            "INSERT INTO accounts (id, username, therapist_id, is_admin, password_hash,"
            " password_changed_at, created_at) SELECT id, username, therapist_id, is_admin,"
            " password_hash, created_at, created_at FROM demo_rows",
            frame,
        )
        return len(frame)

    def couples(self, therapist_ids: list[int], names: list[tuple[str, str]]) -> None:
        """Couples spread round-robin over the therapists, and both partners of each."""
        n = len(self.plans)
        self.couple_ids = np.asarray(next_ids(self.cur, "couples", n), dtype=np.int64)
        self.couple_therapist = np.array([therapist_ids[i % len(therapist_ids)] for i in range(n)])
        start = np.array([p.start_offset for p in self.plans])
        # Closed a week after the last session (which is the day after the last check-in).
        closed = np.array([p.last_offset - 8 if p.closed else -1 for p in self.plans])
        created = self.moments(start, 9 * 3600)
        closed_at = self.moments(np.maximum(closed, 0), 9 * 3600)
        frame = pd.DataFrame(
            {
                "id": self.couple_ids,
                "case_code": self.codes,
                "therapist_id": self.couple_therapist,
                "status": ["closed" if p.closed else "active" for p in self.plans],
                "start_date": created,
                "repair_focus": [p.milestone is not None for p in self.plans],
                "hurt_partner": [None if p.hurt is None else "AB"[p.hurt] for p in self.plans],
                "closed_at": pd.Series(closed_at).where(closed >= 0),
                "created_at": created,
                "updated_at": np.where(closed >= 0, closed_at, created),
            }
        )
        _insert(
            self.cur,
            "INSERT INTO couples (id, case_code, therapist_id, status, start_date,"
            " repair_focus, hurt_partner, closed_at, created_at, updated_at)"
            " SELECT id, case_code, therapist_id, status, CAST(start_date AS DATE),"
            " repair_focus, hurt_partner, CAST(closed_at AS DATE), created_at, updated_at"
            " FROM demo_rows",
            frame,
        )

        # Partner ids in couple order, A before B: partner_ids[2 * couple + label].
        self.partner_ids = np.asarray(next_ids(self.cur, "partners", 2 * n), dtype=np.int64)
        labels = ["A", "B"] * n
        codes = np.repeat(self.codes, 2)
        partners = pd.DataFrame(
            {
                "id": self.partner_ids,
                "couple_id": np.repeat(self.couple_ids, 2),
                "label": labels,
                "display_name": [name for pair in names for name in pair],
                "email": [partner_email(c, lb) for c, lb in zip(codes, labels, strict=True)],
                "client_code": [f"{c}{lb}" for c, lb in zip(codes, labels, strict=True)],
            }
        )
        _insert(
            self.cur,
            "INSERT INTO partners (id, couple_id, label, display_name, email,"
            " client_code) SELECT id, couple_id, label, display_name, email, client_code"
            " FROM demo_rows",
            partners,
        )

    def sessions(self, seed: int) -> int:
        """One session a week, entered by the couple's therapist that afternoon."""
        plan = plan_sessions(self.plans, seed)
        for couple, number, offset in zip(plan.couple, plan.number, plan.day_offset, strict=True):
            self.session_week_offset[(int(couple), int(number) - 1)] = int(offset)
        dates = self.moments(plan.day_offset)
        frame = pd.DataFrame(
            {
                "id": np.asarray(
                    next_ids(self.cur, "sessions", int(plan.couple.size)), dtype=np.int64
                ),
                "couple_id": self.couple_ids[plan.couple],
                "session_date": dates,
                "session_number": plan.number,
                "attendance": plan.attendance,
                "notes": plan.note,
                "created_by": self.couple_therapist[plan.couple],
                "created_at": dates + np.timedelta64(17, "h"),
            }
        )
        _insert(
            self.cur,
            "INSERT INTO sessions (id, couple_id, session_date, session_number,"
            " attendance, notes, created_by, created_at) SELECT id, couple_id,"
            " CAST(session_date AS DATE), session_number, attendance, notes, created_by,"
            " created_at FROM demo_rows",
            frame,
        )
        return int(plan.couple.size)

    def responses(self, sim: Simulation, instrument: Instrument, instrument_id: int) -> int:
        """The check-ins, through the one writer of responses, ids in completion order."""
        order = np.lexsort((sim.label, sim.couple, sim.seconds, -sim.day_offset))
        completed = self.moments(sim.day_offset, 18 * 3600 + sim.seconds)[order]
        sheets = pd.DataFrame(
            {
                "partner_id": self.partner_ids[2 * sim.couple[order] + sim.label[order]],
                "completed_at": completed,
                "created_at": completed,  # reproducible, unlike the clock
            }
        )
        answers = pd.DataFrame(
            sim.answers[order].astype(np.float64),
            columns=[item.code for item in instrument.answer_items],
        )
        texts = pd.DataFrame(
            sim.texts[order], columns=[item.code for item in instrument.text_items]
        )
        stored = responses.write(
            self.cur,
            instrument_id=instrument_id,
            instrument_code=instrument.code,
            sheets=sheets,
            answers=answers,
            texts=texts,
        )
        return len(stored)

    def repair(self) -> tuple[int, int]:
        """One open repair case per repair couple, from its first session, and the history of
        its milestones, each change dated at a session of the course and entered that evening.
        Returns (cases, events)."""
        plans = [p for p in self.plans if p.milestone is not None and p.hurt is not None]
        if not plans:
            return 0, 0
        case_ids = next_ids(self.cur, "repair_cases", len(plans))
        case_rows: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for k, plan in enumerate(plans):
            case_id = case_ids[k]
            therapist = int(self.couple_therapist[plan.index])
            case_rows.append(
                {
                    "id": case_id,
                    "couple_id": int(self.couple_ids[plan.index]),
                    "hurt_partner": "AB"[plan.hurt or 0],
                    "description": REPAIR_DESCRIPTION,
                    "offset": self.session_week_offset[(plan.index, 0)],
                    "created_by": therapist,
                }
            )
            reviews = 0
            for n, (week, milestone, status) in enumerate(milestone_events(plan)):
                words = f"{MILESTONES[milestone - 1]} {status.replace('_', ' ')}"
                pace = None
                if milestone == 3 and status != "not_started":
                    pace = DEMO_PACES[reviews % len(DEMO_PACES)]
                    reviews += 1
                rows.append(
                    {
                        "case_id": case_id,
                        "milestone": milestone,
                        "status": status,
                        "offset": self.session_week_offset[(plan.index, week)],
                        # Minutes keep the order of changes made at the same session.
                        "minute": 17 * 60 + 30 + n,
                        "entered_by": therapist,
                        "evidence": f"Demo: {words}.",
                        "amends": DEMO_AMENDS if milestone == 2 and status == "reached" else None,
                        "pace": pace,
                    }
                )
        cases = pd.DataFrame(case_rows)
        cases["started_on"] = self.moments(cases["offset"].to_numpy(dtype=np.int64))
        cases["created_at"] = self.moments(cases["offset"].to_numpy(dtype=np.int64), 17 * 3600)
        _insert(
            self.cur,
            "INSERT INTO repair_cases (id, couple_id, hurt_partner, description, started_on,"
            " created_by, created_at) SELECT id, couple_id, hurt_partner, description,"
            " CAST(started_on AS DATE), created_by, created_at FROM demo_rows",
            cases,
        )
        frame = pd.DataFrame(rows)
        frame["id"] = np.asarray(next_ids(self.cur, "repair_events", len(frame)), dtype=np.int64)
        offsets = frame["offset"].to_numpy(dtype=np.int64)
        frame["effective_on"] = self.moments(offsets)
        frame["entered_at"] = self.moments(offsets, 60 * frame["minute"].to_numpy(dtype=np.int64))
        _insert(
            self.cur,
            "INSERT INTO repair_events (id, case_id, milestone, status, effective_on, entered_at,"
            " entered_by, evidence, amends, pace, pace_reviewed_on) SELECT id, case_id,"
            " milestone, status, CAST(effective_on AS DATE), entered_at, entered_by, evidence,"
            " amends, pace, CASE WHEN pace IS NOT NULL THEN CAST(effective_on AS DATE) END"
            " FROM demo_rows",
            frame,
        )
        return len(cases), len(frame)
