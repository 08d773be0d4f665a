"""The SQL caseload equals the slow reference (tests/slow_reference.py), worked out independently
in pandas from the raw tables and the check-in's definition, on demo practices of two sizes, for
the whole practice and for one therapist, before and after a safety review and a settings change.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.demo.build import build_demo
from analytics.instruments.catalog import builtin
from analytics.practice import safety, settings
from analytics.practice.access import PRACTICE, Actor
from analytics.practice.opening import open_practice
from analytics.practice.therapists import get_actor
from analytics.store.db import Database
from analytics.views.caseload import caseload_rows
from tests import factories
from tests.slow_reference import reference_caseload

AS_OF = dt.date(2026, 11, 20)
EVERY_STATUS = ("active", "paused", "closed")
TOLERANCE = 1e-9
CHECKIN = builtin("checkin")
START = dt.date(2026, 10, 5)


def _demo(folder: Path, couples: int, seed: int) -> Database:
    db = open_practice(folder / "demo.duckdb", instruments_folder=folder)
    build_demo(db, couples=couples, seed=seed, as_of=AS_OF)
    return db


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Database]:
    """The demo practice: 12 active couples and one closed (seed 7)."""
    db = _demo(tmp_path, 12, 7)
    yield db
    db.close()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A larger demo practice (60 couples, seed 3); read only."""
    db = _demo(tmp_path_factory.mktemp("large"), 60, 3)
    yield db
    db.close()


def _missing(value: object) -> bool:
    """None, NaN or pandas' NA (a list, even an empty one, is a value)."""
    if isinstance(value, list | tuple | np.ndarray):
        return False
    return bool(pd.isna(value))  # type: ignore[call-overload]


def _same_number(sql: object, ref: object) -> bool:
    if _missing(sql) or _missing(ref):
        return _missing(sql) and _missing(ref)
    return abs(float(sql) - float(ref)) <= TOLERANCE  # type: ignore[arg-type]


def _same_trend(sql: object, ref: object) -> bool:
    sql_list = [] if _missing(sql) else list(sql)  # type: ignore[call-overload]
    ref_list = [] if _missing(ref) else list(ref)  # type: ignore[call-overload]
    return len(sql_list) == len(ref_list) and all(
        _same_number(a, b) for a, b in zip(sql_list, ref_list, strict=True)
    )


def _compare(db: Database, actor: Actor, statuses: tuple[str, ...]) -> pd.DataFrame:
    """Assert the SQL caseload equals the reference row by row; returns the reference."""
    sql = caseload_rows(db, actor, as_of=AS_OF, statuses=statuses)
    ref = reference_caseload(
        db,
        CHECKIN,
        as_of=AS_OF,
        sees_all=actor.sees_every_couple,
        therapist=actor.id,
        statuses=statuses,
    )
    assert len(ref) > 0
    # Same couples in the same order (flagged first, safety first, then by case code).
    assert sql["case_code"].tolist() == ref["case_code"].tolist()
    for (_, s), (_, r) in zip(sql.iterrows(), ref.iterrows(), strict=True):
        code = r["case_code"]
        kinds = frozenset(f["kind"] for f in s["flags"])
        assert kinds == r["flag_kinds"], code
        for p in ("a", "b"):
            assert _same_number(s[f"{p}_latest"], r[f"{p}_latest"]), (code, p)
            assert _same_number(s[f"{p}_change"], r[f"{p}_change"]), (code, p)
            assert _same_number(s[f"{p}_checkins"], r[f"{p}_n"]), (code, p)
            assert _same_trend(s[f"{p}_trend"], r[f"{p}_trend"]), (code, p)
            categories = [
                None if _missing(x) else x for x in (s[f"{p}_category"], r[f"{p}_category"])
            ]
            assert categories[0] == categories[1], (code, p)
        moments = (s["last_checkin"], r["last_checkin"])
        assert all(map(_missing, moments)) or moments[0] == moments[1], code
        assert _same_number(s["days_since"], r["days_since"]), code
    return ref


def _kinds(ref: pd.DataFrame) -> dict[str, set[str]]:
    return {str(r["case_code"]): set(r["flag_kinds"]) for _, r in ref.iterrows() if r["flag_kinds"]}


def test_reference_flags_exactly_the_couples_the_demo_was_designed_to_flag(
    small: Database,
) -> None:
    # The reference is checked against the demo's design, so it is not merely self-consistent.
    ref = reference_caseload(small, CHECKIN, as_of=AS_OF, sees_all=True, therapist=None)
    assert _kinds(ref) == {
        "D-003": {"no_improvement"},
        "D-004": {"gap", "no_improvement"},
        "D-005": {"deterioration"},
        "D-010": {"safety", "no_improvement"},
        "D-011": {"overdue"},
        "D-007": {"repair_stall"},
    }
    d005 = ref[ref["case_code"] == "D-005"].iloc[0]
    assert (d005["a_category"], d005["b_category"]) == ("deteriorated", "deteriorated")


@pytest.mark.parametrize("statuses", [("active", "paused"), EVERY_STATUS])
def test_demo_caseload_equals_reference_for_the_practice(
    small: Database, statuses: tuple[str, ...]
) -> None:
    ref = _compare(small, PRACTICE, statuses)
    assert len(ref) == (13 if "closed" in statuses else 12)


def test_demo_caseload_equals_reference_for_one_therapist(small: Database) -> None:
    jordan = get_actor(small, "Jordan Demo")
    ref = _compare(small, jordan, EVERY_STATUS)
    assert 0 < len(ref) < 13
    assert "D-010" in set(ref["case_code"])  # the couple with the safety answer


def test_larger_caseload_equals_reference(large: Database) -> None:
    ref = _compare(large, PRACTICE, EVERY_STATUS)
    assert len(ref) == 60
    # Every flag kind and every change category occurs, so each rule is really compared.
    kinds = Counter(k for flags in ref["flag_kinds"] for k in flags)
    assert set(kinds) == {
        "safety",
        "deterioration",
        "gap",
        "no_improvement",
        "overdue",
        "repair_stall",
    }
    categories = set(ref["a_category"]) | set(ref["b_category"])
    assert {"recovered", "improved", "unchanged", "deteriorated"} <= categories


def test_larger_caseload_equals_reference_for_one_therapist(large: Database) -> None:
    therapist = get_actor(large, "Casey Demo")
    ref = _compare(large, therapist, ("active", "paused"))
    assert 0 < len(ref) < 60


def test_equal_after_a_safety_review_and_a_new_positive_answer(small: Database) -> None:
    couple_id = int(small.query_value("SELECT id FROM couples WHERE case_code = 'D-010'"))
    safety.record_assessment(
        small, PRACTICE, couple_id, note="Seen alone; plan agreed.", assessed_on=AS_OF, today=AS_OF
    )
    ref = _compare(small, PRACTICE, EVERY_STATUS)
    assert "safety" not in _kinds(ref)["D-010"]

    # A positive answer stored after the review raises the flag again.
    factories.checkin(small, couple_id, "A", dt.datetime(2026, 11, 19, 20, 0), 3, safety=1)
    ref = _compare(small, PRACTICE, EVERY_STATUS)
    assert "safety" in _kinds(ref)["D-010"]
    assert ref.iloc[0]["case_code"] == "D-010"


def test_equal_after_a_blank_safety_screen_and_its_review(small: Database) -> None:
    couple_id = int(small.query_value("SELECT id FROM couples WHERE case_code = 'D-001'"))
    factories.checkin(small, couple_id, "B", dt.datetime(2026, 11, 19, 20, 0), 3, safety=None)
    factories.checkin(
        small, couple_id, "A", dt.datetime(2026, 11, 19, 21, 0), 3, skip=("SAF2",), safety=0
    )
    ref = _compare(small, PRACTICE, EVERY_STATUS)
    assert "safety_unanswered" in _kinds(ref)["D-001"]
    # Below the positive answer (D-010), above every other flag.
    assert ref["case_code"].tolist()[:2] == ["D-010", "D-001"]

    safety.record_assessment(
        small, PRACTICE, couple_id, note="Asked in session.", assessed_on=AS_OF, today=AS_OF
    )
    ref = _compare(small, PRACTICE, EVERY_STATUS)
    assert "safety_unanswered" not in _kinds(ref).get("D-001", set())


def test_equal_after_changing_the_settings(small: Database) -> None:
    before = _kinds(_compare(small, PRACTICE, EVERY_STATUS))
    settings.update(small, PRACTICE, "no_improvement_checkins", 4)
    settings.update(small, PRACTICE, "overdue_days", 4)
    after = _kinds(_compare(small, PRACTICE, EVERY_STATUS))
    assert after != before
    # D-006 (5 check-ins) and D-012 (4) now count; more couples are overdue.
    assert "no_improvement" in after["D-006"] and "no_improvement" in after["D-012"]
    assert sum("overdue" in k for k in after.values()) > sum(
        "overdue" in k for k in before.values()
    )
    _compare(small, get_actor(small, "Avery Demo"), ("active", "paused"))


def test_equal_when_a_partner_answers_twice_in_a_week(small: Database) -> None:
    cid = factories.couple(small, get_actor(small, "Avery Demo"), "T-001", start_date=START)
    for week in range(7):  # Mondays from 5 Oct to 16 Nov 2026
        monday = dt.datetime(2026, 10, 5, 19, 0) + dt.timedelta(weeks=week)
        factories.checkin(small, cid, "A", monday, 4)
        factories.checkin(small, cid, "B", monday + dt.timedelta(hours=1), 1 if week == 6 else 4)
    # Later in the latest week B answers again, back at 4: a partner's last answer of the week
    # is the one paired, so the partners agree and no gap is flagged.
    factories.checkin(small, cid, "B", dt.datetime(2026, 11, 18, 19, 0), 4)
    ref = _compare(small, PRACTICE, EVERY_STATUS)
    assert "T-001" not in _kinds(ref)


def test_equal_for_a_new_couple_with_a_single_checkin(small: Database) -> None:
    cid = factories.couple(
        small, get_actor(small, "Jordan Demo"), "T-002", start_date=dt.date(2026, 11, 1)
    )
    factories.checkin(small, cid, "A", dt.datetime(2026, 11, 16, 19, 0), 3)
    ref = _compare(small, PRACTICE, EVERY_STATUS)
    row = ref[ref["case_code"] == "T-002"].iloc[0]
    # One score is a baseline, not a change; B never checked in: overdue since the start.
    assert row["a_category"] == "not_enough_data"
    assert _missing(row["a_change"]) and _missing(row["b_n"]) and _missing(row["b_category"])
    assert row["flag_kinds"] == {"overdue"}
