"""Caseload speed on 1,000 couples with a year of weekly check-ins (issue 6, item 9).

Times the product (`caseload_rows`, every clinical number from the SQL macros) against one
hand-written DuckDB query that produces the same rows (the engine's limit: straight over the
tables, free to skip generality such as instrument versions) and against the naive way (every
answer into pandas, grouped in Python: tests/slow_reference.py). Then a therapist who sees 100
couples, in a 100-couple practice and in a 1,000-couple one: the time should follow the
caseload, not the practice. Printed by `make bench`, never asserted in tests.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pandas as pd

from analytics.instruments.catalog import builtin
from analytics.practice.access import PRACTICE, Actor
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views.caseload import caseload_rows
from bench import Row, failed, growth, practices, ratio
from bench.practices import BACKENDS, wanted
from tests.slow_reference import reference_caseload

COUPLES = practices.COUPLES
SMALL = practices.SMALL  # the therapist's caseload, and the size of the small practice
WEEKS = practices.WEEKS
AS_OF = practices.AS_OF
RUNS = 9
PG_RUNS = 2
T = TypeVar("T")

# The same rows as caseload_rows(PRACTICE or one therapist, statuses active and paused), written
# by hand for the built-in check-in: headline "global", one version, criteria from its scales.
HAND_SQL = """
WITH chosen AS (
    SELECT c.id AS couple_id, c.case_code, t.name AS therapist, c.status, c.start_date,
           c.repair_focus,
           max(p.display_name) FILTER (WHERE p.label = 'A') AS partner_a,
           max(p.display_name) FILTER (WHERE p.label = 'B') AS partner_b
    FROM couples c
    JOIN therapists t ON t.id = c.therapist_id
    JOIN partners p ON p.couple_id = c.id
    WHERE c.status IN ('active', 'paused') AND ($therapist IS NULL OR c.therapist_id = $therapist)
    GROUP BY ALL
), settings AS (
    SELECT max(value) FILTER (WHERE key = 'overdue_days') AS overdue_days,
           max(value) FILTER (WHERE key = 'no_improvement_checkins') AS min_checkins
    FROM practice_settings
), criteria AS (
    SELECT k.code AS scale_code, k.label, k.position,
           CASE WHEN k.direction = 'higher_better' THEN 1 ELSE -1 END AS better,
           sqrt(2) * (k.sd * sqrt(1 - k.reliability)) AS sdiff,
           1.96 * (sqrt(2) * (k.sd * sqrt(1 - k.reliability))) AS rc_points,
           coalesce(k.cutoff,
                    (k.clinical_sd * k.functional_mean + k.functional_sd * k.clinical_mean)
                    / (k.clinical_sd + k.functional_sd)) AS cutoff,
           (SELECT avg(i.min_value) FROM scale_items si JOIN items i ON i.id = si.item_id
            WHERE si.instrument_id = k.instrument_id AND si.scale_code = k.code) AS score_min,
           (SELECT avg(i.max_value) FROM scale_items si JOIN items i ON i.id = si.item_id
            WHERE si.instrument_id = k.instrument_id AND si.scale_code = k.code) AS score_max
    FROM scales k JOIN instruments v ON v.id = k.instrument_id
    WHERE v.code = 'checkin' AND v.is_current
), sc AS (
    SELECT couple_id, partner, scale_code, completed_at, score FROM response_scores
    WHERE couple_id IN (SELECT couple_id FROM chosen)
), ends AS (
    SELECT couple_id, partner, scale_code, count(*) AS n, arg_min(score, completed_at) AS baseline,
           arg_max(score, completed_at) AS latest
    FROM sc GROUP BY ALL
), change AS (
    SELECT e.*, k.label, k.position, k.rc_points, k.score_min, k.score_max,
           e.latest - e.baseline AS change,
           k.better * (e.latest - e.baseline) / k.sdiff AS improvement,
           CASE WHEN n < 2 THEN 'not_enough_data'
                WHEN k.better * (latest - baseline) / k.sdiff > 1.96
                     AND k.better * (baseline - k.cutoff) < 0
                     AND k.better * (latest - k.cutoff) >= 0
                     THEN 'recovered'
                WHEN k.better * (latest - baseline) / k.sdiff > 1.96 THEN 'improved'
                WHEN k.better * (latest - baseline) / k.sdiff < -1.96 THEN 'deteriorated'
                ELSE 'unchanged' END AS category,
           k.better * (e.latest - k.cutoff) < 0 AS latest_distressed
    FROM ends e JOIN criteria k USING (scale_code)
), trend AS (
    SELECT couple_id, partner,
           list_transform(list_sort(list({'t': completed_at, 's': round(score, 2)})),
                          x -> x.s) AS trend
    FROM sc WHERE scale_code = 'global' GROUP BY ALL
), weekly AS (
    SELECT couple_id, scale_code, CAST(date_trunc('week', completed_at) AS DATE) AS week,
           arg_max(score, completed_at) FILTER (WHERE partner = 'A') AS a,
           arg_max(score, completed_at) FILTER (WHERE partner = 'B') AS b
    FROM sc GROUP BY ALL
), gaps AS (
    SELECT couple_id, scale_code, arg_max(a, week) AS a, arg_max(b, week) AS b, max(week) AS week
    FROM weekly WHERE a IS NOT NULL AND b IS NOT NULL GROUP BY ALL
), safety AS (
    SELECT r.couple_id, count(*) AS n,
           first(r.partner ORDER BY r.completed_at DESC, i.code) AS who,
           first(coalesce(i.labels[CAST(r.value - i.min_value AS INTEGER) + 1],
                          CAST(r.value AS VARCHAR)) ORDER BY r.completed_at DESC, i.code) AS answer,
           first(coalesce(i.label, i.text, i.code)
                 ORDER BY r.completed_at DESC, i.code) AS item_name,
           max(r.completed_at) AS answered_at
    FROM response_safety r JOIN items i ON i.id = r.item_id
    WHERE r.positive AND r.couple_id IN (SELECT couple_id FROM chosen)
      AND r.response_id > coalesce((SELECT max(covers_response_id) FROM safety_reviews w
                                    WHERE w.couple_id = r.couple_id), 0)
    GROUP BY r.couple_id
), unanswered AS (
    SELECT couple_id, count(*) AS n, arg_max(partner, (completed_at, partner)) AS who,
           arg_max(blank, (completed_at, partner)) AS blank,
           arg_max(items, (completed_at, partner)) AS items, max(completed_at) AS answered_at
    FROM (SELECT r.couple_id, r.response_id, any_value(r.partner) AS partner,
                 any_value(r.completed_at) AS completed_at, count(*) AS items,
                 count(*) FILTER (WHERE r.value IS NULL) AS blank
          FROM response_safety r
          WHERE r.couple_id IN (SELECT couple_id FROM chosen)
            AND r.response_id IN (SELECT response_id FROM response_safety WHERE value IS NULL)
            AND r.response_id > coalesce((SELECT max(covers_response_id) FROM safety_reviews w
                                          WHERE w.couple_id = r.couple_id), 0)
          GROUP BY r.couple_id, r.response_id)
    WHERE blank > 0 GROUP BY couple_id
), worse AS (
    SELECT couple_id, count(*) AS n,
           arg_min({'who': partner, 'label': label, 'baseline': baseline, 'latest': latest,
                    'rc': rc_points}, (improvement, position, partner)) AS w
    FROM change WHERE category = 'deteriorated' GROUP BY couple_id
), apart AS (
    SELECT g.couple_id, count(*) AS n,
           arg_max({'label': k.label, 'a': g.a, 'b': g.b, 'week': g.week,
                    'rc': k.rc_points}, (abs(g.a - g.b) / k.rc_points, -k.position)) AS g
    FROM gaps g JOIN criteria k USING (scale_code)
    WHERE abs(g.a - g.b) > k.rc_points GROUP BY g.couple_id
), flat AS (
    SELECT couple_id,
           string_agg('Partner ' || partner || ': no reliable improvement in ' || label
                      || ' after ' || n || ' check-ins (' || printf('%.1f', baseline)
                      || ' at the start, ' || printf('%.1f', latest) || ' now).', ' '
                      ORDER BY partner) AS reason
    FROM change
    WHERE scale_code = 'global' AND category = 'unchanged' AND latest_distressed
      AND n >= (SELECT min_checkins FROM settings)
    GROUP BY couple_id
), last_seen AS (
    SELECT p.couple_id, p.label AS partner, c.start_date, max(r.completed_at) AS last_at,
           date_diff('day', CAST(coalesce(max(r.completed_at), c.start_date) AS DATE),
                     CAST($as_of AS DATE)) AS days
    FROM chosen c JOIN partners p ON p.couple_id = c.couple_id
    LEFT JOIN responses r ON r.partner_id = p.id
    WHERE c.status = 'active'
    GROUP BY p.couple_id, p.label, c.start_date
), late AS (
    SELECT couple_id, count(*) AS n, min(days) AS days, max(last_at) AS last_at,
           any_value(start_date) AS start_date, min(partner) AS who
    FROM last_seen WHERE days > (SELECT overdue_days FROM settings) GROUP BY couple_id
), flags AS (
    SELECT couple_id, 1 AS rank, 'safety' AS kind, 'urgent' AS severity,
           CASE WHEN n > 1 THEN n || ' positive safety answers since safety was last assessed. '
                || 'The latest: p' ELSE 'P' END
           || 'artner ' || who || ' answered “' || answer || '” to “' || item_name || '” on '
           || strftime(answered_at, '%-d %b %Y') || '.' AS reason
    FROM safety
    UNION ALL
    SELECT couple_id, 2, 'safety_unanswered', 'high',
           CASE WHEN n > 1 THEN n || ' check-ins left safety questions unanswered since safety '
                || 'was last assessed. The latest: p' ELSE 'P' END
           || 'artner ' || who || ' left '
           || CASE WHEN items = 1 THEN 'the safety question'
                   WHEN blank = items THEN 'all ' || items || ' safety questions'
                   ELSE blank || ' of the ' || items || ' safety questions' END
           || ' unanswered on ' || strftime(answered_at, '%-d %b %Y') || '.'
    FROM unanswered
    UNION ALL
    SELECT couple_id, 3, 'deterioration', 'high',
           'Partner ' || w.who || ': ' || w.label
           || CASE WHEN w.latest < w.baseline THEN ' fell' ELSE ' rose' END
           || ' from ' || printf('%.1f', w.baseline) || ' to ' || printf('%.1f', w.latest)
           || ', by ' || printf('%.2f', abs(w.latest - w.baseline)) || ' points: more than the '
           || printf('%.2f', w.rc) || ' that measurement noise explains.'
           || CASE WHEN n > 1 THEN ' ' || (n - 1) || ' more scale result'
                   || CASE WHEN n > 2 THEN 's' ELSE '' END || ' also got worse beyond noise.'
                   ELSE '' END
    FROM worse
    UNION ALL
    SELECT couple_id, 4, 'gap', 'medium',
           'Partners see ' || g.label || ' differently: A ' || printf('%.1f', g.a) || ', B '
           || printf('%.1f', g.b) || ' in the week of ' || strftime(g.week, '%-d %b %Y') || ', '
           || printf('%.2f', abs(g.a - g.b)) || ' points apart: more than the '
           || printf('%.2f', g.rc) || ' that measurement noise explains.'
           || CASE WHEN n > 1 THEN ' ' || (n - 1) || ' more scale'
                   || CASE WHEN n > 2 THEN 's' ELSE '' END || ' also differ'
                   || CASE WHEN n > 2 THEN '' ELSE 's' END || ' beyond noise.'
                   ELSE '' END
    FROM apart
    UNION ALL
    SELECT couple_id, 5, 'no_improvement', 'medium', reason FROM flat
    UNION ALL
    SELECT couple_id, 6, 'overdue', 'low',
           CASE WHEN last_at IS NULL AND n = 2
                    THEN 'No check-ins yet, ' || days || ' days after the start on '
                         || strftime(start_date, '%-d %b %Y') || '.'
                WHEN n = 2
                    THEN 'No check-in from either partner for ' || days || ' days (the last on '
                         || strftime(last_at, '%-d %b %Y') || ').'
                WHEN last_at IS NULL
                    THEN 'Partner ' || who || ' has not checked in yet, ' || days
                         || ' days after the start on ' || strftime(start_date, '%-d %b %Y') || '.'
                ELSE 'No check-in from partner ' || who || ' for ' || days
                     || ' days (the last on ' || strftime(last_at, '%-d %b %Y') || ').' END
    FROM late
    UNION ALL
    -- Repair stalls come from the product's own macro here too: a handful of repair cases, not
    -- a year of answers, so they cost both sides the same.
    SELECT couple_id, 7, 'repair_stall', 'medium',
           string_agg(reason, ' ' ORDER BY rule_rank, milestone)
    FROM repair_stalls(TRUE, NULL, NULL, $as_of) GROUP BY couple_id
), flagged AS (
    SELECT couple_id, min(rank) AS top_rank,
           list({'kind': kind, 'severity': severity, 'reason': reason} ORDER BY rank) AS flags
    FROM flags GROUP BY couple_id
), seen AS (
    SELECT p.couple_id, max(r.completed_at) AS last_checkin
    FROM responses r JOIN partners p ON p.id = r.partner_id
    WHERE p.couple_id IN (SELECT couple_id FROM chosen) GROUP BY p.couple_id
)
SELECT c.couple_id, c.case_code, c.therapist, c.status, c.start_date, c.repair_focus,
       c.partner_a, c.partner_b,
       CASE WHEN s.couple_id IS NOT NULL THEN 'checkin' END AS instrument_code,
       coalesce(a.label, b.label) AS headline,
       coalesce(a.score_min, b.score_min) AS score_min,
       coalesce(a.score_max, b.score_max) AS score_max,
       a.latest AS a_latest, a.change AS a_change, a.category AS a_category,
       a.n AS a_checkins, ta.trend AS a_trend,
       b.latest AS b_latest, b.change AS b_change, b.category AS b_category,
       b.n AS b_checkins, tb.trend AS b_trend,
       s.last_checkin,
       date_diff('day', CAST(s.last_checkin AS DATE), CAST($as_of AS DATE)) AS days_since,
       coalesce(f.flags, []) AS flags, coalesce(f.top_rank, 99) AS top_rank
FROM chosen c
LEFT JOIN seen s ON s.couple_id = c.couple_id
LEFT JOIN change a ON a.couple_id = c.couple_id AND a.partner = 'A' AND a.scale_code = 'global'
LEFT JOIN change b ON b.couple_id = c.couple_id AND b.partner = 'B' AND b.scale_code = 'global'
LEFT JOIN trend ta ON ta.couple_id = c.couple_id AND ta.partner = 'A'
LEFT JOIN trend tb ON tb.couple_id = c.couple_id AND tb.partner = 'B'
LEFT JOIN flagged f ON f.couple_id = c.couple_id
ORDER BY top_rank, len(coalesce(f.flags, [])) DESC, c.case_code
"""


def best_of(runs: int, **calls: Callable[[], T]) -> dict[str, tuple[float, T]]:
    """Each call's fastest time of `runs` (seconds) and its last result; the calls take turns,
    so a busy moment on the machine does not fall on one of them only."""
    best = dict.fromkeys(calls, float("inf"))
    results: dict[str, T] = {}
    for _ in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            results[name] = call()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: (best[name], results[name]) for name in calls}


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """Empty when the frames are equal (same order, numbers within 1e-9), else what differs."""
    try:
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True),
            b.reset_index(drop=True),
            check_dtype=False,
            check_exact=False,
            rtol=0,
            atol=1e-9,
        )
    except AssertionError as exc:
        return str(exc).splitlines()[0][:80]
    return ""


def flag_kinds(rows: pd.DataFrame) -> list[frozenset[str]]:
    """Each caseload row's flag kinds."""
    return [frozenset(str(f["kind"]) for f in flags) for flags in rows["flags"]]


def give_caseload(db: Database, every: int) -> Actor:
    """A new therapist who takes over every `every`-th couple (spread through the practice,
    as a real caseload is)."""
    therapist = add_therapist(db, "Bench Therapist")
    with db.transaction() as cur:
        cur.execute("UPDATE couples SET therapist_id = ? WHERE id % ? = 0", [therapist.id, every])
    return therapist


def run() -> list[Row]:
    """Time the caseload every way on copies of the shared practices (the therapist rows change
    them), then on PostgreSQL, and how the time grows with the practice."""
    rows: list[Row] = []
    seconds: dict[str, dict[int, float]] = {b: {} for b in BACKENDS}
    if wanted("duckdb"):
        with tempfile.TemporaryDirectory(prefix="caseload-bench-") as tmp:
            big_p, small_p = practices.practice(COUPLES), practices.practice(SMALL)
            big = open_practice(
                practices.copy_file(big_p, Path(tmp) / "big"),
                key=big_p.key,
                instruments_folder=big_p.instruments,
            )
            small = open_practice(
                practices.copy_file(small_p, Path(tmp) / "small"),
                key=small_p.key,
                instruments_folder=small_p.instruments,
            )
            try:
                seconds["duckdb"][SMALL] = summary_seconds(small, RUNS)
                rows += measure(big, small)
                seconds["duckdb"][COUPLES] = rows[0].value
            finally:
                big.close()
                small.close()
    if wanted("postgres"):
        rows += postgres_rows(rows[0].value if rows else float("nan"), seconds["postgres"])
    for size in practices.sizes():
        if size in (SMALL, COUPLES) or not wanted("duckdb"):
            continue
        db = practices.open_db(practices.practice(size), "duckdb")
        try:
            seconds["duckdb"][size] = summary_seconds(db, 3)
        finally:
            db.close()
    for backend in BACKENDS:
        rows += growth("caseload summary", backend, seconds[backend])
    return rows


def summary_seconds(db: Database, runs: int) -> float:
    """The best of `runs` caseload summaries (the supervisor's: the whole practice)."""
    return best_of(runs, s=lambda: caseload_rows(db, PRACTICE, as_of=AS_OF))["s"][0]


def postgres_rows(duckdb_s: float, seconds: dict[int, float]) -> list[Row]:
    """The caseload summary on the PostgreSQL copies, against the DuckDB file's."""
    name = f"caseload: product ({COUPLES} couples x {WEEKS} weeks)"
    try:
        for size in practices.sizes():
            db = practices.open_db(practices.practice(size), "postgres")
            try:
                seconds[size] = summary_seconds(db, PG_RUNS)
            finally:
                db.close()
    except Exception as exc:
        return [failed(name, "postgres", exc, "<= 1.3x duckdb")]
    return [
        Row(
            name,
            seconds[COUPLES],
            "s",
            "",
            f"best of {PG_RUNS}; DuckDB's postgres scanner",
            "postgres",
            ratio(seconds[COUPLES], duckdb_s),
            "duckdb row",
        )
    ]


def measure(big: Database, small: Database) -> list[Row]:
    """Every timing row, from the two practices."""
    answers = int(big.query_value("SELECT count(*) FROM answers"))
    timed = best_of(
        RUNS,
        product=lambda: caseload_rows(big, PRACTICE, as_of=AS_OF),
        hand=lambda: big.query_df(HAND_SQL, {"therapist": None, "as_of": AS_OF}),
    )
    (product_s, product), (hand_s, hand) = timed["product"], timed["hand"]
    hand_diff = same_rows(hand, product)
    naive_s, naive = best_of(
        2,
        naive=lambda: reference_caseload(
            big, builtin("checkin"), as_of=AS_OF, sees_all=True, therapist=None
        ),
    )["naive"]
    naive_agrees = naive["case_code"].tolist() == product["case_code"].tolist() and list(
        naive["flag_kinds"]
    ) == flag_kinds(product)

    mine_small = give_caseload(small, 1)
    mine_big = give_caseload(big, COUPLES // SMALL)
    seen = [
        int(db.query_value("SELECT count(*) FROM couples WHERE therapist_id = ?", [me.id]))
        for db, me in ((small, mine_small), (big, mine_big))
    ]
    therapist = best_of(
        RUNS * 2,
        small=lambda: caseload_rows(small, mine_small, as_of=AS_OF),
        big=lambda: caseload_rows(big, mine_big, as_of=AS_OF),
    )
    small_s, big_s = therapist["small"][0], therapist["big"][0]

    n = len(product)
    rows = [
        Row(
            f"caseload: product ({COUPLES} couples x {WEEKS} weeks)",
            product_s,
            "s",
            note=f"{n} rows from {answers:,} answers; best of {RUNS}",
        ),
        Row(
            "caseload: hand-written DuckDB query",
            hand_s,
            "s",
            note="same rows as the product" if not hand_diff else f"ROWS DIFFER: {hand_diff}",
        ),
        Row("caseload: product / hand-written", product_s / hand_s, "x", "<= 1.3x"),
        Row(
            "caseload: naive pandas (slow reference)",
            naive_s,
            "s",
            note="agrees with the product" if naive_agrees else "DISAGREES with the product",
        ),
        Row("caseload: naive / product", naive_s / product_s, "x", ">= 7x"),
        Row(
            f"therapist's caseload in a {SMALL}-couple practice",
            small_s,
            "s",
            note=f"{seen[0]} couples; best of {RUNS * 2}",
        ),
        Row(
            f"therapist's caseload in a {COUPLES}-couple practice",
            big_s,
            "s",
            note=f"{seen[1]} couples (every {COUPLES // SMALL}th); best of {RUNS * 2}",
        ),
        Row(
            f"therapist: {COUPLES}- / {SMALL}-couple practice",
            big_s / small_s,
            "x",
            "<= 1.5x",
            note=f"the practice is {COUPLES // SMALL}x larger; the caseload the same",
        ),
    ]
    rows[0] = replace(rows[0], ratio=product_s / hand_s, reference="hand-written", target="<= 1.3x")
    return [replace(r, backend="duckdb") for r in rows]
