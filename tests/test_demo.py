"""The synthetic demo practice: reproducible, complete, and every story visible in the data."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analytics.demo.build import build_demo, case_code, partner_email
from analytics.demo.trajectories import FIRST_NAMES, SURNAMES
from analytics.errors import CaseloadError
from analytics.instruments import definitions as instruments
from analytics.practice.opening import open_database
from analytics.practice.responses import natural_key
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database

AS_OF = dt.date(2026, 11, 20)
MIDNIGHT = dt.datetime(2026, 11, 20)
WRITTEN = (
    "therapists", "couples", "partners", "sessions", "responses", "answers",
    "repair_milestones", "audit_log",
)  # fmt: skip
PRACTICE = (*WRITTEN, "import_batches", "unmatched_responses", "agenda_items")

# One row per check-in with construct-family scores on 0-6, reverse items flipped back.
SCORES = """
SELECT c.case_code, c.status, p.label, r.id, r.completed_at,
  avg(v.score) FILTER (WHERE k.family = 'global') AS global,
  avg(v.score) FILTER (WHERE k.family = 'trust') AS trust,
  avg(v.score) FILTER (WHERE k.family = 'barrier') AS barrier,
  avg(v.score) FILTER (WHERE k.code = 'past_hurt') AS past_hurt,
  max(v.score) FILTER (WHERE k.family = 'safety') AS safety
FROM (SELECT a.response_id, i.construct, i.instrument_id,
        CASE WHEN i.reverse THEN i.min_value + i.max_value - a.value ELSE a.value END AS score
      FROM answers a JOIN items i ON i.id = a.item_id) v
JOIN constructs k ON k.instrument_id = v.instrument_id AND k.code = v.construct
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


def _table(db: Database, table: str) -> list[tuple[object, ...]]:
    return db.query_rows(f"SELECT * FROM {table} ORDER BY ALL")


@pytest.fixture
def demo(db: Database) -> Database:
    build_demo(db, as_of=AS_OF)
    return db


# --- reproducibility ---------------------------------------------------------------------------


def test_same_seed_and_day_give_identical_tables(tmp_path: Path) -> None:
    first, second = open_database(tmp_path / "a.duckdb"), open_database(tmp_path / "b.duckdb")
    try:
        build_demo(first, couples=20, weeks=20, seed=11, as_of=AS_OF)
        build_demo(second, couples=20, weeks=20, seed=11, as_of=AS_OF)
        for table in WRITTEN:
            assert _table(first, table) == _table(second, table), table
    finally:
        first.close()
        second.close()


def test_a_different_seed_gives_different_answers(tmp_path: Path) -> None:
    first, second = open_database(tmp_path / "a.duckdb"), open_database(tmp_path / "b.duckdb")
    try:
        build_demo(first, seed=1, as_of=AS_OF)
        build_demo(second, seed=2, as_of=AS_OF)
        assert _table(first, "answers") != _table(second, "answers")
        assert _table(first, "partners") != _table(second, "partners")
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


def test_as_of_defaults_to_today(db: Database) -> None:
    assert dt.date.today().isoformat() in build_demo(db, couples=2, weeks=6)
    assert db.query_value("SELECT max(completed_at) FROM responses").date() < dt.date.today()


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
    kept = {t: _table(demo, t) for t in ("instruments", "items", "constructs", "schema_migrations")}
    summary = build_demo(demo, couples=5, weeks=8, as_of=AS_OF, force=True)
    assert summary.startswith("Built demo practice: 3 therapists, 6 couples,")
    assert demo.query_value("SELECT count(*) FROM therapists WHERE name = 'Someone Real'") == 0
    assert demo.query_value("SELECT count(*) FROM import_batches") == 0
    assert demo.query_value("SELECT count(*) FROM couples") == 6
    assert demo.query_value("SELECT count(*) FROM audit_log") == 1
    for table, rows in kept.items():
        assert _table(demo, table) == rows, table


def test_refuses_when_demo_therapists_exist(db: Database) -> None:
    add_therapist(db, "Avery Demo")
    with pytest.raises(CaseloadError, match="already exist"):
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
    checkin = instruments.default()
    rows = demo.query_rows(
        "SELECT r.partner_id, r.completed_at, r.natural_key, r.batch_id, count(a.item_id),"
        " min(a.value), max(a.value), bool_and(a.value = round(a.value)),"
        " any_value(s.code), r.created_at"
        " FROM responses r JOIN instruments s ON s.id = r.instrument_id"
        " LEFT JOIN answers a ON a.response_id = r.id GROUP BY ALL"
    )
    assert rows
    for partner_id, completed, key, batch, n, lo, hi, whole, code, created in rows:
        assert code == "checkin"
        assert key == natural_key(partner_id, "checkin", completed)
        assert batch is None
        assert n == len(checkin.items)
        assert 0 <= lo <= hi <= 6 and whole
        assert 18 <= completed.hour <= 21  # in the evening
        assert created == completed
    seconds = {r[1].second for r in rows}
    minutes = {r[1].minute for r in rows}
    assert len(seconds) > 30 and len(minutes) > 30  # jittered, not on the hour


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
    assert max(n for (n,) in lengths) <= 30 and min(n for (n,) in lengths) >= 6


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
    latest = demo.query_rows(
        "SELECT c.case_code, m.milestone, arg_max(m.status, m.changed_at), count(*)"
        " FROM repair_milestones m JOIN couples c ON c.id = m.couple_id GROUP BY ALL"
    )
    state = {(code, m): status for code, m, status, _ in latest}
    for current, code in enumerate(["D-006", "D-007", "D-008", "D-009"], start=1):
        expected = [
            "reached" if m < current else "in_progress" if m == current else "not_started"
            for m in range(1, 5)
        ]
        assert [state[(code, m)] for m in range(1, 5)] == expected, code
    spread = demo.query_rows(
        "SELECT count(DISTINCT changed_at::DATE) FROM repair_milestones m JOIN couples c"
        " ON c.id = m.couple_id WHERE c.case_code = 'D-009'"
    )
    assert spread[0][0] >= 4  # dated over the course, not all at once
    stamps = demo.query_rows(
        "SELECT count(*), count(DISTINCT (couple_id, changed_at)) FROM repair_milestones"
    )
    assert stamps[0][0] == stamps[0][1]  # "latest" is never a tie

    scores = _scores(demo)
    for code, hurt in repair.items():
        other = "B" if hurt == "A" else "A"
        first_trust = _series(scores, code, hurt, "trust")[0]
        assert first_trust < 2.0
        assert first_trust < _series(scores, code, other, "trust")[0]
        assert _series(scores, code, hurt, "past_hurt")[0] >= 4.5


def test_only_d010_has_a_positive_safety_answer(demo: Database) -> None:
    scores = _scores(demo)
    positive = scores[scores.safety > 0]
    assert list(positive.case_code) == ["D-010"]
    flagged = positive.iloc[0]
    mine = scores[(scores.case_code == "D-010") & (scores.label == flagged.label)]
    assert flagged.id == mine.iloc[-1].id  # the partner's most recent check-in
    flag_at = demo.query_value("SELECT flag_at FROM constructs WHERE code = 'safety'")
    assert flag_at == 1
    assert flagged.safety >= flag_at


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
        assert len(values) == 6
        assert 2.5 <= sum(values) / len(values) <= 4.5
    start = demo.query_value("SELECT start_date FROM couples WHERE case_code = 'D-012'")
    assert 5 <= (AS_OF - start).days // 7 <= 7


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


# --- integrity ---------------------------------------------------------------------------------


def test_nothing_lies_in_the_future(demo: Database) -> None:
    columns = demo.query_rows(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE data_type IN ('DATE', 'TIMESTAMP') ORDER BY ALL"
    )
    checked = 0
    for table, column in columns:
        if table not in PRACTICE:
            continue
        latest = demo.query_value(f"SELECT max({column}) FROM {table}")
        if latest is None:
            continue
        checked += 1
        if isinstance(latest, dt.datetime):
            assert latest <= MIDNIGHT, (table, column)
        else:
            assert latest <= AS_OF, (table, column)
    assert checked == 11  # every date and timestamp column the demo fills


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
        "milestones": "SELECT count(*) FROM repair_milestones m LEFT JOIN couples c"
        " ON c.id = m.couple_id WHERE c.id IS NULL",
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
    assert all(isinstance(v, int) for v in counts.values())
    assert not re.search(r"[A-Za-z]+ [A-Z][a-z]+", detail)  # no names
