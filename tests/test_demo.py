"""The synthetic demo practice: reproducible, complete, and every story visible in the data."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from analytics.cli.main import main
from analytics.clinical import flags
from analytics.clinical.flags import KINDS
from analytics.demo import build as demo_build
from analytics.demo.build import (
    ADMIN_USERNAME,
    DEMO_PASSWORDS,
    THERAPISTS,
    build_demo,
    case_code,
    demo_username,
    partner_email,
)
from analytics.demo.trajectories import (
    DEMO_NOTES,
    DEMO_TOPICS,
    FIRST_NAMES,
    NEW_COUPLE_WEEKS,
    SURNAMES,
)
from analytics.errors import CaseloadError
from analytics.instruments import lookup
from analytics.practice import accounts, passwords
from analytics.practice import kind as practice_kind
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice
from analytics.practice.responses import natural_key
from analytics.practice.safety import record_assessment
from analytics.practice.therapists import add_therapist
from analytics.store import paths
from analytics.store.db import Database
from analytics.store.migrate import apply_migrations

AS_OF = dt.date(2026, 11, 20)
MIDNIGHT = dt.datetime(2026, 11, 20)
WRITTEN = (
    "therapists", "couples", "partners", "sessions", "responses", "answers", "text_answers",
    "response_scores", "response_safety", "repair_cases", "repair_events", "audit_log",
)  # fmt: skip
PRACTICE_TABLES = (
    *WRITTEN, "import_batches", "unmatched_responses", "agenda_items", "safety_reviews",
)  # fmt: skip
# The one flag the demo never raises: its check-ins answer every safety question.
UNANSWERED = {"safety_unanswered"}
# What the demo practice (seed 7) flags as of AS_OF, and only that: most couples are fine.
DEMO_FLAGS = {
    "D-003": ["no_improvement"],
    "D-004": ["gap", "no_improvement"],
    "D-005": ["deterioration"],
    "D-010": ["safety", "no_improvement"],
    "D-011": ["overdue"],
    "D-007": ["repair_stall"],
}

# One row per check-in with family scores on 0-6 worked out here from the raw answers (reverse
# items flipped back), independently of the scores the database stores; safety is the highest
# safety answer.
SCORES = """
WITH keyed AS (
    SELECT a.response_id, a.item_id, i.kind, i.instrument_id,
           CASE WHEN i.reverse THEN i.min_value + i.max_value - a.value ELSE a.value END AS score
    FROM answers a JOIN items i ON i.id = a.item_id
)
SELECT c.case_code, c.status, p.label, r.id, r.completed_at,
  avg(v.score) FILTER (WHERE k.family = 'global') AS global,
  avg(v.score) FILTER (WHERE k.family = 'trust') AS trust,
  avg(v.score) FILTER (WHERE k.family = 'barrier') AS barrier,
  avg(v.score) FILTER (WHERE k.code = 'past_hurt') AS past_hurt,
  max(v.score) FILTER (WHERE v.kind = 'safety') AS safety
FROM keyed v
LEFT JOIN scale_items si ON si.item_id = v.item_id
LEFT JOIN scales k ON k.instrument_id = si.instrument_id AND k.code = si.scale_code
JOIN responses r ON r.id = v.response_id
JOIN partners p ON p.id = r.partner_id
JOIN couples c ON c.id = p.couple_id
GROUP BY ALL ORDER BY c.case_code, p.label, r.completed_at
"""


def _scores(db: Database) -> pd.DataFrame:
    return db.query_df(SCORES)


def _series(scores: pd.DataFrame, code: str, label: str, column: str = "global") -> list[float]:
    rows = scores[(scores.case_code == code) & (scores.label == label)]
    return [float(x) for x in rows[column]]


def _change(values: list[float], window: int = 1) -> float:
    """Mean of the last `window` minus mean of the first `window` values."""
    return sum(values[-window:]) / window - sum(values[:window]) / window


def _early(values: list[float]) -> float:
    """The mean of the first three values."""
    return sum(values[:3]) / len(values[:3])


def _table(db: Database, table: str) -> list[tuple[object, ...]]:
    return db.query_rows(f"SELECT * FROM {table} ORDER BY ALL")


@pytest.fixture
def demo(db: Database) -> Database:
    build_demo(db, as_of=AS_OF)
    return db


# --- reproducibility ---------------------------------------------------------------------------


def test_same_seed_and_day_give_identical_tables(tmp_path: Path) -> None:
    first, second = open_practice(tmp_path / "a.duckdb"), open_practice(tmp_path / "b.duckdb")
    try:
        build_demo(first, couples=20, weeks=20, seed=11, as_of=AS_OF)
        build_demo(second, couples=20, weeks=20, seed=11, as_of=AS_OF)
        for table in WRITTEN:
            rows = _table(first, table)
            assert rows, table
            assert rows == _table(second, table), table
    finally:
        first.close()
        second.close()


def test_a_different_seed_gives_different_answers(tmp_path: Path) -> None:
    first, second = open_practice(tmp_path / "a.duckdb"), open_practice(tmp_path / "b.duckdb")
    try:
        build_demo(first, seed=1, as_of=AS_OF)
        build_demo(second, seed=2, as_of=AS_OF)
        for table in ("answers", "text_answers", "partners"):
            assert _table(first, table) != _table(second, table), table
    finally:
        first.close()
        second.close()


def test_a_later_day_moves_every_date_and_nothing_else(tmp_path: Path) -> None:
    later = AS_OF + dt.timedelta(days=10)
    first, second = open_practice(tmp_path / "a.duckdb"), open_practice(tmp_path / "b.duckdb")
    sql = (
        "SELECT r.id, r.partner_id, r.completed_at, r.created_at, i.code, a.value"
        " FROM responses r JOIN answers a ON a.response_id = r.id"
        " JOIN items i ON i.id = a.item_id ORDER BY ALL"
    )
    try:
        build_demo(first, seed=3, as_of=AS_OF)
        build_demo(second, seed=3, as_of=later)
        shifted = [
            (rid, pid, done + dt.timedelta(days=10), made + dt.timedelta(days=10), code, value)
            for rid, pid, done, made, code, value in first.query_rows(sql)
        ]
        assert shifted == second.query_rows(sql)
        assert _table(first, "text_answers") == _table(second, "text_answers")
        starts = "SELECT case_code, start_date FROM couples ORDER BY case_code"
        assert [(c, d + dt.timedelta(days=10)) for c, d in first.query_rows(starts)] == (
            second.query_rows(starts)
        )
    finally:
        first.close()
        second.close()


def test_summary_line(db: Database) -> None:
    summary = build_demo(db, as_of=AS_OF)
    responses = db.query_value("SELECT count(*) FROM responses")
    assert summary == (
        f"Built demo practice: 3 therapists, 13 couples, {responses} check-ins"
        " (seed 7, as of 2026-11-20)."
    )


def test_as_of_is_required() -> None:
    # The demo's "today" is always given (the command line passes the date it was run on):
    # nothing inside analytics/ reads the clock.
    parameter = inspect.signature(build_demo).parameters["as_of"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty


# --- refusing and replacing --------------------------------------------------------------------


def test_refuses_an_existing_practice_without_force(demo: Database) -> None:
    before = {t: _table(demo, t) for t in WRITTEN}
    with pytest.raises(CaseloadError, match="already holds a practice"):
        build_demo(demo, as_of=AS_OF)
    assert {t: _table(demo, t) for t in WRITTEN} == before


def test_force_replaces_the_practice_but_not_instruments(demo: Database) -> None:
    add_therapist(demo, "Someone Real")
    demo.execute(
        "INSERT INTO import_batches (file_name, checksum, source) VALUES ('x.csv', 'abc', 'csv')"
    )
    d010 = demo.query_value("SELECT id FROM couples WHERE case_code = 'D-010'")
    record_assessment(
        demo, PRACTICE, d010, note="Seen alone; safety plan made.", assessed_on=AS_OF, today=AS_OF
    )
    assert demo.query_value("SELECT count(*) FROM safety_reviews") == 1
    instrument_tables = ("instruments", "items", "scales", "scale_items", "scale_bands")
    kept = {t: _table(demo, t) for t in (*instrument_tables, "schema_migrations")}

    summary = build_demo(demo, couples=5, weeks=8, as_of=AS_OF, force=True)
    assert summary.startswith("Built demo practice: 3 therapists, 6 couples,")
    assert demo.query_value("SELECT count(*) FROM therapists WHERE name = 'Someone Real'") == 0
    assert demo.query_value("SELECT count(*) FROM import_batches") == 0
    assert demo.query_value("SELECT count(*) FROM couples") == 6
    assert demo.query_value("SELECT count(*) FROM audit_log") == 1
    assert demo.query_value("SELECT count(*) FROM safety_reviews") == 0
    # Every derived and free-text row belongs to the new practice's responses: none left over.
    responses = {r[0] for r in demo.query_rows("SELECT id FROM responses")}
    for table in ("answers", "text_answers", "response_scores", "response_safety"):
        ids = {r[0] for r in demo.query_rows(f"SELECT DISTINCT response_id FROM {table}")}
        assert ids and ids <= responses, table
    assert _table(demo, "response_scores") == demo.query_rows(
        "SELECT * FROM scale_scores_from_answers ORDER BY ALL"
    )
    assert demo.query_value("SELECT count(*) FROM response_safety") == 4 * len(responses)
    for table, rows in kept.items():
        assert _table(demo, table) == rows, table


def test_refuses_when_demo_therapists_exist(db: Database) -> None:
    add_therapist(db, "Avery Demo")
    with pytest.raises(CaseloadError, match="never replaces"):
        build_demo(db, as_of=AS_OF)
    assert db.query_value("SELECT count(*) FROM couples") == 0


def test_refuses_nonsense_sizes(db: Database) -> None:
    with pytest.raises(CaseloadError):
        build_demo(db, couples=0, as_of=AS_OF)


# --- the practice ------------------------------------------------------------------------------


def test_therapists_and_spread(demo: Database) -> None:
    rows = demo.query_rows("SELECT name, role FROM therapists ORDER BY id")
    assert rows == [
        ("Avery Demo", "therapist"),
        ("Jordan Demo", "therapist"),
        ("Morgan Demo", "supervisor"),
    ]
    per = demo.query_rows(
        "SELECT t.role, count(c.id) FROM therapists t LEFT JOIN couples c ON c.therapist_id = t.id"
        " GROUP BY t.id, t.role ORDER BY t.id"
    )
    assert [n for _, n in per] == [7, 6, 0]


def test_case_codes_emails_and_client_codes(demo: Database) -> None:
    rows = demo.query_rows(
        "SELECT c.case_code, p.label, p.email, p.client_code, p.display_name"
        " FROM partners p JOIN couples c ON c.id = p.couple_id ORDER BY c.case_code, p.label"
    )
    assert [r[0] for r in rows[::2]] == [f"D-{i:03d}" for i in range(1, 14)]
    assert rows[0][:4] == ("D-001", "A", "d001.a@example.org", "D-001A")
    assert rows[1][:4] == ("D-001", "B", "d001.b@example.org", "D-001B")
    for code, label, email, client_code, name in rows:
        assert email == f"{code.replace('-', '').lower()}.{label.lower()}@example.org"
        assert client_code == f"{code}{label}"
        first, surname = name.split(" ")
        assert first in FIRST_NAMES and surname in SURNAMES


def test_code_and_email_helpers() -> None:
    assert case_code(0, 13) == "D-001"
    assert case_code(0, 1000) == "D-0001"
    assert case_code(999, 1000) == "D-1000"
    assert partner_email("D-0042", "B") == "d0042.b@example.org"


def test_check_ins_are_complete_and_keyed(demo: Database) -> None:
    checkin = lookup.get(demo, "checkin")
    rows = demo.query_rows(
        "SELECT r.partner_id, r.completed_at, r.natural_key, r.batch_id, count(a.item_id),"
        " min(a.value), max(a.value), bool_and(a.value = round(a.value)),"
        " any_value(s.code), any_value(s.version), r.created_at"
        " FROM responses r JOIN instruments s ON s.id = r.instrument_id"
        " LEFT JOIN answers a ON a.response_id = r.id GROUP BY ALL"
    )
    assert rows
    for partner_id, completed, key, batch, n, lo, hi, whole, code, version, created in rows:
        assert (code, version) == ("checkin", "2.0")
        assert key == natural_key(partner_id, "checkin", completed)
        assert batch is None
        assert n == len(checkin.answer_items)  # every scored and safety item; text apart
        assert 0 <= lo <= hi <= 6 and whole
        assert 18 <= completed.hour <= 21  # in the evening
        assert created == completed
    seconds = {r[1].second for r in rows}
    minutes = {r[1].minute for r in rows}
    assert len(seconds) > 30 and len(minutes) > 30  # jittered, not on the hour
    # Each answer within its own item's range (safety items: 0 "Never" to 2 "More than once").
    outside = demo.query_value(
        "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
        " WHERE a.value < i.min_value OR a.value > i.max_value OR i.kind = 'text'"
    )
    assert outside == 0


def test_every_check_in_has_its_scores_and_safety_facts(demo: Database) -> None:
    # Stored by the one writer, from the one SQL definition.
    assert _table(demo, "response_scores") == demo.query_rows(
        "SELECT * FROM scale_scores_from_answers ORDER BY ALL"
    )
    per_response = demo.query_rows(
        "SELECT count(*) FROM response_scores GROUP BY response_id"
        " UNION SELECT count(*) FROM response_safety GROUP BY response_id"
    )
    assert sorted({n for (n,) in per_response}) == [4, 13]  # 13 scales, 4 safety items
    assert demo.query_value(
        "SELECT count(DISTINCT response_id) FROM response_scores"
    ) == demo.query_value("SELECT count(*) FROM responses")


def test_free_text_answers_are_stored(demo: Database) -> None:
    rows = demo.query_rows(
        "SELECT i.code, t.text, r.completed_at FROM text_answers t"
        " JOIN items i ON i.id = t.item_id JOIN responses r ON r.id = t.response_id"
    )
    by_item: dict[str, list[str]] = {}
    for code, text, _ in rows:
        by_item.setdefault(code, []).append(text)
    assert set(by_item) == {"TXT1", "TXT2"}
    assert set(by_item["TXT1"]) <= set(DEMO_TOPICS) and set(by_item["TXT2"]) <= set(DEMO_NOTES)
    assert all(text.startswith("Demo:") for texts in by_item.values() for text in texts)
    responses = demo.query_value("SELECT count(*) FROM responses")
    # Now and then a topic for the next session (about 1 in 5), a note more rarely (1 in 20).
    assert 0.1 * responses < len(by_item["TXT1"]) < 0.3 * responses
    assert 0 < len(by_item["TXT2"]) < len(by_item["TXT1"])
    assert max(when for _, _, when in rows) <= MIDNIGHT


def test_weekly_rhythm_with_a_few_skips(db: Database) -> None:
    build_demo(db, couples=40, weeks=30, as_of=AS_OF)
    gaps = db.query_rows(
        "SELECT datediff('day', lag(completed_at) OVER w, completed_at) AS gap FROM responses r"
        " WINDOW w AS (PARTITION BY partner_id ORDER BY completed_at) QUALIFY gap IS NOT NULL"
    )
    days = [int(g[0]) for g in gaps]
    assert all(d % 7 == 0 and d <= 28 for d in days)  # weekly, now and then a skipped week
    skipped = sum(d > 7 for d in days) / len(days)
    assert 0.005 < skipped < 0.08
    sessions = db.query_rows("SELECT attendance, count(*) FROM sessions GROUP BY 1 ORDER BY 2 DESC")
    assert sessions[0][0] == "both" and {a for a, _ in sessions} == {"both", "A", "B", "neither"}
    per_week = db.query_value(
        "SELECT count(*) FROM (SELECT couple_id, session_number FROM sessions"
        " GROUP BY ALL HAVING count(*) > 1)"
    )
    assert per_week == 0
    notes = db.query_rows("SELECT DISTINCT notes FROM sessions")
    assert all(str(n[0]).startswith("Demo note:") for n in notes)


def test_weeks_in_therapy_vary(demo: Database) -> None:
    starts = demo.query_rows("SELECT DISTINCT start_date FROM couples")
    assert len(starts) == 13
    lengths = demo.query_rows("SELECT DISTINCT count(*) FROM sessions GROUP BY couple_id")
    assert len(lengths) >= 8
    # From the new couple's first few weeks to the longest course.
    assert max(n for (n,) in lengths) <= 30 and min(n for (n,) in lengths) == NEW_COUPLE_WEEKS


# --- the stories -------------------------------------------------------------------------------


def test_d001_improves_steadily(demo: Database) -> None:
    scores = _scores(demo)
    for label in "AB":
        assert _change(_series(scores, "D-001", label)) > 1.3
        assert _change(_series(scores, "D-001", label, "trust"), 3) > 1.0
        assert _change(_series(scores, "D-001", label, "barrier"), 3) < -1.0
        assert _change(_series(scores, "D-002", label), 3) > 1.0


def test_d001_reverse_items_are_stored_raw(demo: Database) -> None:
    rows = dict(
        demo.query_rows(
            "SELECT i.code, a.value FROM answers a JOIN items i ON i.id = a.item_id"
            " WHERE a.response_id = (SELECT r.id FROM responses r JOIN partners p"
            " ON p.id = r.partner_id WHERE p.client_code = 'D-001A'"
            " ORDER BY r.completed_at DESC LIMIT 1)"
        )
    )
    # Satisfied at the end: agrees with SAT1, disagrees with the reverse-keyed SAT3.
    assert rows["SAT1"] >= 4 and rows["SAT3"] <= 2


def test_d003_is_stalled_in_distress(demo: Database) -> None:
    scores = _scores(demo)
    for label in "AB":
        values = _series(scores, "D-003", label)
        assert 2.3 <= sum(values) / len(values) <= 3.2
        assert abs(_change(values, 3)) < 1.0


def test_d004_partners_diverge(demo: Database) -> None:
    scores = _scores(demo)
    assert _change(_series(scores, "D-004", "A")) > 1.5
    b = _series(scores, "D-004", "B")
    assert _change(b) <= 0.5 and _change(b, 3) <= 0.3


def test_d005_deteriorates(demo: Database) -> None:
    scores = _scores(demo)
    for label in "AB":
        assert _change(_series(scores, "D-005", label)) < -1.3
        assert _change(_series(scores, "D-005", label, "barrier"), 3) > 1.0


def test_repair_couples_and_their_milestones(demo: Database) -> None:
    couples = demo.query_rows(
        "SELECT case_code, repair_focus, hurt_partner FROM couples ORDER BY case_code"
    )
    repair = {code: hurt for code, focus, hurt in couples if focus}
    assert sorted(repair) == ["D-006", "D-007", "D-008", "D-009"]
    assert set(repair.values()) <= {"A", "B"}
    # One open case per repair couple, its hurt partner the couple's.
    cases = demo.query_rows(
        "SELECT c.case_code, k.hurt_partner, k.closed_on, k.started_on >= c.start_date"
        " FROM repair_cases k JOIN couples c ON c.id = k.couple_id ORDER BY c.case_code"
    )
    assert [(code, hurt, None, True) for code, hurt in repair.items()] == cases
    state = {
        (code, m): (status, days)
        for code, m, status, days in demo.query_rows(
            "SELECT c.case_code, s.milestone, s.status, s.days_in_status"
            " FROM repair_milestone_state(TRUE, NULL, NULL, ?) s"
            " JOIN couples c ON c.id = s.couple_id",
            [AS_OF],
        )
    }
    expected = {
        "D-006": ["in_progress", "not_started", "not_started", "not_started"],
        "D-007": ["reached", "in_progress", "not_started", "not_started"],
        "D-008": ["reached", "reached", "in_progress", "not_started"],
        # Moved back: rebuilding time revisited while consistent reliability is under way.
        "D-009": ["reached", "reached", "revisited", "in_progress"],
    }
    for code, statuses in expected.items():
        assert [state[(code, m)][0] for m in range(1, 5)] == statuses, code
    # The current milestone began at most seven weeks ago, but D-007's stalled (over 56 days).
    current = {
        code: state[(code, statuses.index("in_progress") + 1)][1]
        for code, statuses in expected.items()
    }
    assert current["D-007"] > 56
    assert all(days <= 49 for code, days in current.items() if code != "D-007"), current
    # D-009 reached rebuilding time, then went back to it.
    moves = demo.query_rows(
        "SELECT e.status FROM repair_events e JOIN repair_cases k ON k.id = e.case_id"
        " JOIN couples c ON c.id = k.couple_id WHERE c.case_code = 'D-009' AND e.milestone = 3"
        " ORDER BY e.effective_on, e.entered_at"
    )
    statuses = [s for (s,) in moves]
    assert statuses.index("reached") < statuses.index("revisited")
    spread = demo.query_rows(
        "SELECT count(DISTINCT e.effective_on) FROM repair_events e JOIN repair_cases k"
        " ON k.id = e.case_id JOIN couples c ON c.id = k.couple_id WHERE c.case_code = 'D-009'"
    )
    assert spread[0][0] >= 4  # dated over the course, not all at once
    stamps = demo.query_rows(
        "SELECT count(*), count(DISTINCT (case_id, entered_at)) FROM repair_events"
    )
    assert stamps[0][0] == stamps[0][1]  # "latest" is never a tie
    # Apology and repair reached with its amends; rebuilding time with the pace, reviewed.
    assert not demo.query_value(
        "SELECT count(*) FROM repair_events WHERE milestone = 2 AND status = 'reached'"
        " AND amends IS NULL"
    )
    assert not demo.query_value(
        "SELECT count(*) FROM repair_events WHERE milestone = 3"
        " AND status IN ('in_progress', 'revisited') AND (pace IS NULL OR pace_reviewed_on IS NULL)"
    )

    # The hurt partner starts with less trust and more unresolved hurt than the other (each
    # judged on the first three check-ins: one week is noisy); the hurt eases as milestones are
    # reached, and is still there for the couple at the first milestone.
    scores = _scores(demo)
    for code, hurt in repair.items():
        other = "B" if hurt == "A" else "A"
        trust = _early(_series(scores, code, hurt, "trust"))
        assert trust < 2.5
        assert trust < _early(_series(scores, code, other, "trust"))
        past_hurt = _series(scores, code, hurt, "past_hurt")
        assert _early(past_hurt) >= 4.3
        assert _early(past_hurt) > _early(_series(scores, code, other, "past_hurt"))
        if code == "D-006":
            assert past_hurt[-1] >= 4.0
        else:
            assert past_hurt[-1] < _early(past_hurt) - 1.5


def test_only_d010_has_a_positive_safety_answer(demo: Database) -> None:
    scores = _scores(demo)
    positive = scores[scores.safety > 0]
    assert list(positive.case_code) == ["D-010"]
    flagged = positive.iloc[0]
    assert flagged.label == "B"  # seed 7
    mine = scores[(scores.case_code == "D-010") & (scores.label == flagged.label)]
    assert flagged.id == mine.iloc[-1].id  # the partner's most recent check-in
    # The lowest positive answer ("Once") to fear of the partner; every other answer "Never".
    answers = demo.query_rows(
        "SELECT i.code, a.value, i.threshold, i.labels[CAST(a.value AS INTEGER) + 1]"
        " FROM answers a JOIN items i ON i.id = a.item_id"
        " WHERE a.response_id = ? AND i.kind = 'safety' ORDER BY i.code",
        [int(flagged.id)],
    )
    assert answers == [
        ("SAF1", 0.0, 1.0, "Never"),
        ("SAF2", 1.0, 1.0, "Once"),
        ("SAF3", 0.0, 1.0, "Never"),
        ("SAF4", 0.0, 1.0, "Never"),
    ]


def test_no_safety_noise_in_a_bigger_practice(db: Database) -> None:
    build_demo(db, couples=60, weeks=20, as_of=AS_OF)
    scores = _scores(db)
    assert list(scores[scores.safety > 0].case_code) == ["D-010"]


def test_d011_is_overdue_and_everyone_else_current(demo: Database) -> None:
    last = dict(
        demo.query_rows(
            "SELECT c.case_code, max(r.completed_at)::DATE FROM responses r"
            " JOIN partners p ON p.id = r.partner_id JOIN couples c ON c.id = p.couple_id"
            " WHERE c.status = 'active' GROUP BY 1"
        )
    )
    assert 28 <= (AS_OF - last.pop("D-011")).days <= 35
    assert all((AS_OF - day).days <= 8 for day in last.values())


def test_d012_is_new_with_moderate_scores(demo: Database) -> None:
    scores = _scores(demo)
    for label in "AB":
        values = _series(scores, "D-012", label)
        # Fewer check-ins than "no reliable improvement after 6": too early to be flagged.
        assert len(values) == NEW_COUPLE_WEEKS == 4
        assert 2.5 <= sum(values) / len(values) <= 4.5
    start = demo.query_value("SELECT start_date FROM couples WHERE case_code = 'D-012'")
    assert 3 <= (AS_OF - start).days // 7 <= 4


def test_one_closed_case_with_a_finished_course(demo: Database) -> None:
    rows = demo.query_rows(
        "SELECT case_code, status, closed_at FROM couples WHERE status <> 'active'"
        " OR closed_at IS NOT NULL"
    )
    assert len(rows) == 1
    code, status, closed_at = rows[0]
    assert (code, status) == ("D-013", "closed")
    last = demo.query_value(
        "SELECT max(s.session_date) FROM sessions s JOIN couples c ON c.id = s.couple_id"
        " WHERE c.case_code = 'D-013'"
    )
    assert last < closed_at <= AS_OF


@pytest.mark.parametrize(("couples", "closed"), [(3, "D-004"), (12, "D-013"), (30, "D-013")])
def test_exactly_one_closed_case_at_any_size(db: Database, couples: int, closed: str) -> None:
    build_demo(db, couples=couples, weeks=12, as_of=AS_OF)
    total = db.query_value("SELECT count(*) FROM couples")
    assert total == (couples + 1 if couples <= 12 else couples)
    assert db.query_rows("SELECT case_code FROM couples WHERE status = 'closed'") == [(closed,)]


def test_extra_couples_cycle_through_the_stories(db: Database) -> None:
    build_demo(db, couples=40, weeks=30, as_of=AS_OF)
    scores = _scores(db)
    changes = [_change(_series(scores, f"D-{i:03d}", "A"), 3) for i in range(14, 41)]
    assert max(changes) > 1.0 and min(changes) < -1.0  # both improving and worsening ones
    repair = db.query_value("SELECT count(*) FROM couples WHERE repair_focus")
    assert repair > 4


# --- the flags it is designed to raise ----------------------------------------------------------


def _flags(db: Database) -> dict[str, list[str]]:
    """Case code -> the kinds of flag raised as of AS_OF, safety first."""
    raised = flags.couple_flags(db, PRACTICE, as_of=AS_OF)
    codes = {int(i): str(c) for i, c in db.query_rows("SELECT id, case_code FROM couples")}
    found: dict[str, list[str]] = {}
    for couple_id, kind in zip(raised["couple_id"], raised["kind"], strict=True):
        found.setdefault(codes[int(couple_id)], []).append(str(kind))
    return found


def test_exactly_the_designed_couples_are_flagged(demo: Database) -> None:
    found = _flags(demo)
    assert found == DEMO_FLAGS
    # Every kind of flag is raised for someone, and most active couples need no attention. The
    # demo's check-ins answer every safety question, so none is left unanswered.
    assert {kind for kinds in found.values() for kind in kinds} == set(KINDS) - UNANSWERED
    active = demo.query_value("SELECT count(*) FROM couples WHERE status = 'active'")
    assert (active, active - len(found)) == (12, 6)


def test_the_safety_flag_is_partner_bs_last_answer_until_assessed(demo: Database) -> None:
    d010 = int(demo.query_value("SELECT id FROM couples WHERE case_code = 'D-010'"))
    (answer,) = flags.safety_answers(demo, PRACTICE, d010).to_dict("records")
    latest_b = demo.query_value(
        "SELECT arg_max(r.id, r.completed_at) FROM responses r"
        " JOIN partners p ON p.id = r.partner_id WHERE p.client_code = 'D-010B'"
    )
    assert (answer["partner"], answer["item"], answer["item_name"], answer["answer"]) == (
        "B",
        "SAF2",
        "Fear of the partner",
        "Once",
    )
    assert answer["response_id"] == latest_b and not answer["acknowledged"]
    raised = flags.couple_flags(demo, PRACTICE, as_of=AS_OF, couple_ids=[d010])
    assert raised["reason"].iloc[0] == (
        f"Partner B answered “Once” to “Fear of the partner” on {answer['completed_at']:%-d %b %Y}."
    )

    record_assessment(
        demo, PRACTICE, d010, note="Seen alone; safety plan made.", assessed_on=AS_OF, today=AS_OF
    )
    assert _flags(demo)["D-010"] == ["no_improvement"]


@pytest.mark.parametrize("seed", [1, 2, 11])
def test_other_seeds_keep_the_design(db: Database, seed: int) -> None:
    build_demo(db, seed=seed, as_of=AS_OF)
    found = _flags(db)
    assert {kind for kinds in found.values() for kind in kinds} == set(KINDS) - UNANSWERED
    assert [code for code, kinds in found.items() if "safety" in kinds] == ["D-010"]
    assert [code for code, kinds in found.items() if "overdue" in kinds] == ["D-011"]
    assert len(found) <= 6 and "D-013" not in found  # of 12 active couples; the closed one never
    assert [code for code, kinds in found.items() if "repair_stall" in kinds] == ["D-007"]


def test_a_big_practice_builds_quickly(db: Database) -> None:
    # `make bench` times the 1,000-couple practice; this keeps a 200-couple year in check.
    started = time.perf_counter()
    summary = build_demo(db, couples=200, weeks=52, as_of=AS_OF)
    elapsed = time.perf_counter() - started
    assert summary.startswith("Built demo practice: 9 therapists, 200 couples,")
    assert elapsed < 20, f"{elapsed:.1f} s"
    responses = db.query_value("SELECT count(*) FROM responses")
    assert responses > 8000
    assert db.query_value("SELECT count(DISTINCT response_id) FROM response_scores") == responses
    found = _flags(db)
    # Extra couples repeat the stories, never the safety disclosure or the silence.
    assert [code for code, kinds in found.items() if "safety" in kinds] == ["D-010"]
    assert [code for code, kinds in found.items() if "overdue" in kinds] == ["D-011"]


# --- integrity ---------------------------------------------------------------------------------


def test_nothing_lies_in_the_future(demo: Database) -> None:
    columns = demo.query_rows(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE data_type IN ('DATE', 'TIMESTAMP') ORDER BY ALL"
    )
    checked = 0
    for table, column in columns:
        if table not in PRACTICE_TABLES:
            continue
        latest = demo.query_value(f"SELECT max({column}) FROM {table}")
        if latest is None:
            continue
        checked += 1
        if isinstance(latest, dt.datetime):
            assert latest <= MIDNIGHT, (table, column)
        else:
            assert latest <= AS_OF, (table, column)
    assert checked == 17  # every date and timestamp column the demo fills


def test_no_orphans(db: Database) -> None:
    build_demo(db, couples=20, weeks=12, as_of=AS_OF)
    orphans = {
        "answers": "SELECT count(*) FROM answers a LEFT JOIN responses r ON r.id = a.response_id"
        " WHERE r.id IS NULL",
        "answer items": "SELECT count(*) FROM answers a LEFT JOIN items i ON i.id = a.item_id"
        " WHERE i.id IS NULL",
        "responses": "SELECT count(*) FROM responses r LEFT JOIN partners p"
        " ON p.id = r.partner_id WHERE p.id IS NULL",
        "partners": "SELECT count(*) FROM partners p LEFT JOIN couples c ON c.id = p.couple_id"
        " WHERE c.id IS NULL",
        "couples": "SELECT count(*) FROM couples c LEFT JOIN therapists t"
        " ON t.id = c.therapist_id WHERE t.id IS NULL",
        "sessions": "SELECT count(*) FROM sessions s LEFT JOIN couples c ON c.id = s.couple_id"
        " WHERE c.id IS NULL",
        "repair cases": "SELECT count(*) FROM repair_cases k LEFT JOIN couples c"
        " ON c.id = k.couple_id WHERE c.id IS NULL",
        "repair events": "SELECT count(*) FROM repair_events e LEFT JOIN repair_cases k"
        " ON k.id = e.case_id WHERE k.id IS NULL",
    }
    for name, sql in orphans.items():
        assert db.query_value(sql) == 0, name
    pairs = db.query_rows("SELECT count(*) FROM partners GROUP BY couple_id")
    assert {n for (n,) in pairs} == {2}


def test_sequences_stay_ahead_of_the_demo_rows(demo: Database) -> None:
    actor = add_therapist(demo, "Later Addition")
    assert actor.id == 4
    demo.execute(
        "INSERT INTO responses (partner_id, instrument_id, completed_at, natural_key)"
        " VALUES (1, 1, TIMESTAMP '2026-11-19 10:00:00', 'later')"
    )
    assert demo.query_value("SELECT id FROM responses WHERE natural_key = 'later'") == (
        demo.query_value("SELECT count(*) FROM responses")
    )


def test_audit_entry_counts_only(demo: Database) -> None:
    rows = demo.query_rows("SELECT logged_at, therapist_id, action, entity, detail FROM audit_log")
    assert len(rows) == 1
    logged_at, therapist_id, action, entity, detail = rows[0]
    assert (logged_at, therapist_id, action, entity) == (MIDNIGHT, None, "demo:build", "practice")
    counts = json.loads(detail)
    assert counts["couples"] == 13
    assert counts["responses"] == demo.query_value("SELECT count(*) FROM responses")
    assert counts["answers"] == demo.query_value("SELECT count(*) FROM answers")
    assert counts["text_answers"] == demo.query_value("SELECT count(*) FROM text_answers") > 0
    assert all(isinstance(v, int) for v in counts.values())
    assert not re.search(r"[A-Za-z]+ [A-Z][a-z]+", detail)  # no names


# --- a file of its own, marked, with its accounts (issue 11) ----------------------------------

NOW = dt.datetime(2026, 11, 22, 9, 0)
COUNTED = ("therapists", "couples", "partners", "responses", "accounts", "audit_log")


def _counts(path: Path) -> dict[str, int]:
    db = open_practice(path)
    try:
        return {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in COUNTED}
    finally:
        db.close()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), today=AS_OF, now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_demo_is_marked_and_a_practice_is_not(db: Database) -> None:
    assert not practice_kind.is_demo(db) and practice_kind.is_empty(db)
    build_demo(db, couples=2, weeks=4, as_of=AS_OF)
    assert practice_kind.is_demo(db) and not practice_kind.is_empty(db)
    assert db.query_rows("SELECT kind, marked_at FROM practice_kind") == [("demo", MIDNIGHT)]


def test_a_demo_built_before_the_mark_is_recognised_by_the_migration(db: Database) -> None:
    build_demo(db, couples=2, weeks=4, as_of=AS_OF)
    # As a release-10 demo stood: no accounts yet, no practice_kind table, 010 not applied.
    db.execute("DELETE FROM accounts")
    db.execute("DROP TABLE practice_kind")
    db.execute("DELETE FROM schema_migrations WHERE version = 10")
    assert apply_migrations(db) == [10]
    assert practice_kind.is_demo(db)


def test_a_practice_is_never_marked_by_the_migration(db: Database) -> None:
    build_demo(db, couples=2, weeks=4, as_of=AS_OF)
    add_therapist(db, "Someone Real")  # a demo someone started using for real
    db.execute("DELETE FROM accounts")
    db.execute("DROP TABLE practice_kind")
    db.execute("DELETE FROM schema_migrations WHERE version = 10")
    apply_migrations(db)
    assert not practice_kind.is_demo(db)


def test_demo_accounts_sign_in_with_their_roles(demo: Database) -> None:
    names = {name: tid for tid, name in demo.query_rows("SELECT id, name FROM therapists")}
    expected = {
        "avery": ("Avery Demo", "therapist", False),
        "jordan": ("Jordan Demo", "therapist", False),
        "morgan": ("Morgan Demo", "supervisor", False),
    }
    for username, (name, role, admin) in expected.items():
        found = accounts.authenticate(demo, username, DEMO_PASSWORDS[username], now=NOW)
        assert (found.name, found.clinical_role, found.is_admin) == (name, role, admin)
        assert found.therapist_id == names[name]
        assert found.actor().id == names[name]
    admin = accounts.authenticate(demo, ADMIN_USERNAME, DEMO_PASSWORDS[ADMIN_USERNAME], now=NOW)
    assert admin.is_admin and admin.therapist_id is None
    assert admin.actor().role == "administrator"
    assert accounts.count_accounts(demo) == 4
    with pytest.raises(CaseloadError, match="Sign-in failed"):
        accounts.authenticate(demo, "avery", DEMO_PASSWORDS["jordan"], now=NOW)


def test_every_demo_password_follows_the_rules_and_matches_its_hash() -> None:
    usernames = [demo_username(n) for n in (*THERAPISTS, demo_build.SUPERVISOR)]
    assert set(DEMO_PASSWORDS) == {*usernames, ADMIN_USERNAME} == set(demo_build._HASHES)
    for username, password in DEMO_PASSWORDS.items():
        passwords.check_rules(password, username=username)
        stored = demo_build._HASH_COST + demo_build._HASHES[username]
        assert passwords.verify_password(stored, password), username
        assert not passwords.verify_password(stored, password + "x"), username


def test_a_bigger_demo_has_an_account_for_every_therapist(db: Database) -> None:
    build_demo(db, couples=41, weeks=3, as_of=AS_OF)
    rows = db.query_rows(
        "SELECT a.username, t.name FROM accounts a JOIN therapists t ON t.id = a.therapist_id"
    )
    assert len(rows) == 4 and all(demo_username(name) == user for user, name in rows)
    for user, _ in rows:
        accounts.authenticate(db, user, DEMO_PASSWORDS[user], now=NOW)


def test_force_refuses_a_practice_and_changes_nothing(db: Database, therapist: object) -> None:
    before = {t: _table(db, t) for t in PRACTICE_TABLES}
    with pytest.raises(CaseloadError, match="holds a practice's records; the demo never replaces"):
        build_demo(db, as_of=AS_OF, force=True)
    assert {t: _table(db, t) for t in PRACTICE_TABLES} == before
    assert not practice_kind.is_demo(db)


def test_force_fills_an_empty_database(db: Database) -> None:
    build_demo(db, couples=2, weeks=4, as_of=AS_OF, force=True)
    assert practice_kind.is_demo(db)


def test_cli_force_refuses_a_practice_file(
    capsys: pytest.CaptureFixture[str], db: Database, therapist: object, db_path: Path
) -> None:
    db.close()
    before = _counts(db_path)
    code, out, err = _cli(capsys, "demo", "--db", str(db_path), "--force")
    assert code == 1 and out == ""
    assert "holds a practice's records; the demo never replaces them" in err
    assert db_path.exists()
    assert _counts(db_path) == before == {
        "therapists": 1, "couples": 0, "partners": 0, "responses": 0, "accounts": 0,
        "audit_log": before["audit_log"],
    }  # fmt: skip


def test_cli_force_replaces_an_earlier_demo_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "demo.duckdb"
    assert _cli(capsys, "demo", "--db", str(path), "--couples", "2", "--weeks", "4")[0] == 0
    db = open_practice(path)
    add_therapist(db, "Added While Trying It")  # still the demo file: replaced all the same
    db.close()
    code, out, err = _cli(capsys, "demo", "--db", str(path))  # without --force: refused
    assert code == 1 and "already holds a practice (the demo, 3 couples)" in err
    code, out, err = _cli(capsys, "demo", "--db", str(path), "--force", "--couples", "3")
    assert code == 0, err
    assert f"Replaced the earlier demo practice in {path}." in out
    assert "Built demo practice: 3 therapists, 4 couples" in out
    # A fresh file: the earlier demo's rows, audit log included, are gone; ids start again.
    counts = _counts(path)
    assert counts == {
        "therapists": 3, "couples": 4, "partners": 8, "responses": counts["responses"],
        "accounts": 4, "audit_log": 1,
    }  # fmt: skip
    assert not Path(f"{path}.wal").exists()
    db = open_practice(path)
    try:
        assert practice_kind.is_demo(db)
        assert db.query_value("SELECT min(id) FROM therapists") == 1
    finally:
        db.close()


def test_default_files_are_the_demos_own_and_the_practices(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Relative paths, resolved in a scratch folder: never the repository's data/.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(paths.ENV_VAR)
    assert Path("data/demo.duckdb") == paths.DEMO_PATH
    assert paths.resolve_path() == paths.DEFAULT_PATH == Path("data/caseload.duckdb")
    assert paths.serve_path() == paths.DEMO_PATH  # no practice yet: the dashboard shows the demo
    code, out, err = _cli(capsys, "serve-path", "--build-demo")
    assert (code, out) == (0, "data/demo.duckdb\n"), err
    assert "Built demo practice" in err
    assert (tmp_path / "data" / "demo.duckdb").exists()
    assert not (tmp_path / "data" / "caseload.duckdb").exists()
    # `demo --force` without --db replaces the demo's file, never the practice's.
    code, out, _ = _cli(capsys, "demo", "--force", "--couples", "2", "--weeks", "4")
    assert code == 0 and "Replaced the earlier demo practice in data/demo.duckdb." in out
    assert not (tmp_path / "data" / "caseload.duckdb").exists()
    # Once the practice's file exists, it is served; explicit values and $CASELOAD_DB win.
    (tmp_path / "data" / "caseload.duckdb").touch()
    assert paths.serve_path() == paths.DEFAULT_PATH
    assert _cli(capsys, "serve-path", "--build-demo")[1] == "data/caseload.duckdb\n"
    assert paths.serve_path("x.duckdb") == Path("x.duckdb")
    monkeypatch.setenv(paths.ENV_VAR, "elsewhere.duckdb")
    assert paths.serve_path() == Path("elsewhere.duckdb")
