"""The caseload: one row per couple the actor may see, with both partners' headline score, change
and change category, and the flags that need attention, safety first.

One SQL statement computes it all in DuckDB (after a lookup of the instruments' headline scale
codes): the filters (status, search, therapist) pick the couples first, and every clinical macro
then works on those couples only. pandas only shapes the result for display.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.clinical.change import category_label
from analytics.clinical.flags import flag_label
from analytics.practice import access
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.focus import about_caseload

STATUSES = ("active", "paused", "closed")

_CHOSEN = """
chosen AS (
    SELECT c.id AS couple_id, c.case_code, t.name AS therapist, c.status, c.start_date,
           c.repair_focus,
           max(p.display_name) FILTER (WHERE p.label = 'A') AS partner_a,
           max(p.display_name) FILTER (WHERE p.label = 'B') AS partner_b
    FROM couples c
    JOIN visible_couples($sees_all, $therapist) v ON v.couple_id = c.id
    JOIN therapists t ON t.id = c.therapist_id
    JOIN partners p ON p.couple_id = c.id
    WHERE list_contains($statuses, c.status)
      AND ($assigned IS NULL OR c.therapist_id = $assigned)
    GROUP BY c.id, c.case_code, t.name, c.status, c.start_date, c.repair_focus
    HAVING $search = '' OR contains(lower(c.case_code), $search)
        OR contains(lower(max(p.display_name) FILTER (WHERE p.label = 'A')), $search)
        OR contains(lower(max(p.display_name) FILTER (WHERE p.label = 'B')), $search)
)"""

# The couples the filters pick (with the practice's size and every headline scale, in the same
# round trip); the clinical macros then work on `$couples` (their ids, or NULL for every couple
# the actor may see - see `_scope`). Both statements are built from constant
# text only; every value is a bound parameter.
_PICK_SQL = (
    "WITH "  # noqa: S608 (constant text)
    + _CHOSEN
    + " SELECT coalesce(list(couple_id ORDER BY couple_id), []),"
    " (SELECT count(*) FROM couples), (SELECT list(DISTINCT headline) FROM instruments)"
    " FROM chosen"
)

_CASELOAD_SQL = (
    "WITH "  # noqa: S608 (constant text)
    + _CHOSEN
    + """, seen AS (
    -- Each couple's latest response: its instrument gives the headline; its time the last
    -- check-in.
    SELECT p.couple_id, arg_max(v.code, r.completed_at) AS instrument_code,
           max(r.completed_at) AS last_checkin
    FROM responses r
    JOIN partners p ON p.id = r.partner_id
    JOIN instruments v ON v.id = r.instrument_id
    WHERE p.couple_id IN (SELECT couple_id FROM chosen)
    GROUP BY p.couple_id
), headline AS (
    SELECT x.couple_id, x.partner, x.scale_label, x.latest, x.baseline, x.change, x.category,
           x.n_scores, x.latest_at, x.score_min, x.score_max
    -- $headlines (every instrument's headline scale) only narrows the work to those scales
    -- before aggregating; the joins below still pick each couple's own headline.
    FROM scale_change($sees_all, $therapist, $couples, scales := $headlines) x
    JOIN seen s ON s.couple_id = x.couple_id AND s.instrument_code = x.instrument_code
    JOIN instruments v ON v.id = x.instrument_id AND v.headline = x.scale_code
), trend AS (
    -- Sorting (time, score) pairs and keeping the scores orders them by time, much faster than
    -- an ordered aggregate.
    SELECT r.couple_id, r.partner,
           list_transform(list_sort(list({'t': r.completed_at, 's': round(r.score, 2)})),
                          x -> x.s) AS trend
    FROM scope_scores($sees_all, $therapist, $couples) r
    JOIN seen s ON s.couple_id = r.couple_id AND s.instrument_code = r.instrument_code
    JOIN instruments v ON v.id = r.instrument_id AND v.headline = r.scale_code
    WHERE list_contains($headlines, r.scale_code)  -- narrows the scan, as above
    GROUP BY r.couple_id, r.partner
), flagged AS (
    SELECT couple_id, min(rank) AS top_rank,
           list({'kind': kind, 'severity': severity, 'reason': reason} ORDER BY rank) AS flags
    FROM couple_flags($sees_all, $therapist, $couples, $as_of)
    GROUP BY couple_id
)
SELECT c.couple_id, c.case_code, c.therapist, c.status, c.start_date, c.repair_focus,
       c.partner_a, c.partner_b, s.instrument_code,
       coalesce(a.scale_label, b.scale_label) AS headline,
       coalesce(a.score_min, b.score_min) AS score_min,
       coalesce(a.score_max, b.score_max) AS score_max,
       a.latest AS a_latest, a.change AS a_change, a.category AS a_category,
       a.n_scores AS a_checkins, ta.trend AS a_trend,
       b.latest AS b_latest, b.change AS b_change, b.category AS b_category,
       b.n_scores AS b_checkins, tb.trend AS b_trend,
       s.last_checkin,
       date_diff('day', CAST(s.last_checkin AS DATE), CAST($as_of AS DATE)) AS days_since,
       coalesce(f.flags, []) AS flags, coalesce(f.top_rank, 99) AS top_rank
FROM chosen c
LEFT JOIN seen s ON s.couple_id = c.couple_id
LEFT JOIN headline a ON a.couple_id = c.couple_id AND a.partner = 'A'
LEFT JOIN headline b ON b.couple_id = c.couple_id AND b.partner = 'B'
LEFT JOIN trend ta ON ta.couple_id = c.couple_id AND ta.partner = 'A'
LEFT JOIN trend tb ON tb.couple_id = c.couple_id AND tb.partner = 'B'
LEFT JOIN flagged f ON f.couple_id = c.couple_id
ORDER BY top_rank, len(coalesce(f.flags, [])) DESC, c.case_code
"""
)


@about_caseload
def caseload_rows(
    db: Database,
    actor: Actor,
    *,
    as_of: dt.date,
    statuses: tuple[str, ...] = ("active", "paused"),
    search: str = "",
    therapist_id: int | None = None,
) -> pd.DataFrame:
    """The caseload as numbers, one row per couple, flagged couples first (safety first).

    `flags` holds {kind, severity, reason} per raised flag in order; `a_*` and `b_*` are each
    partner's headline latest score, change since baseline, change category, number of scored
    check-ins and trend; `score_min`/`score_max` the headline scale's range.
    """
    sees_all, me = access.params(actor)
    params: dict[str, object] = {
        "sees_all": sees_all,
        "therapist": me,
        "statuses": [s for s in statuses if s in STATUSES],
        "assigned": therapist_id,
        "search": " ".join(search.split()).lower(),
    }
    ((ids, total, headlines),) = db.query_rows(_PICK_SQL, params)
    picked = [int(i) for i in ids]
    return db.query_df(
        _CASELOAD_SQL,
        {
            **params,
            "couples": _scope(actor, picked, int(total)),
            "as_of": as_of,
            # A bound list (not a subquery) lets DuckDB filter the scores before aggregating.
            "headlines": headlines,
        },
    )


def _scope(actor: Actor, picked: list[int], total: int) -> list[int] | None:
    """The couples the clinical macros work on: the picked ones, or None (every couple the
    actor may see) when the picked ones are nearly all of the practice's `total`. Both give the
    same rows, since the caseload keeps only the picked couples; None lets the macros skip
    their scope filter."""
    if not actor.sees_every_couple:
        return picked
    return None if len(picked) >= 0.9 * total else picked


def _partner_text(latest: object, change: object, category: object) -> str:
    if pd.isna(latest):  # type: ignore[call-overload]
        return "No check-ins"
    text = f"{float(latest):.1f}"  # type: ignore[arg-type]
    if not pd.isna(change):  # type: ignore[call-overload]
        text += f" ({float(change):+.1f})"  # type: ignore[arg-type]
    return f"{text} · {category_label(str(category))}"


def _trend(values: object) -> list[float]:
    # DuckDB hands list columns to pandas as numpy arrays (None when a partner has no scores).
    if isinstance(values, list | tuple | np.ndarray):
        return [float(v) for v in values]
    return []


@about_caseload
def caseload_table(
    db: Database,
    actor: Actor,
    *,
    as_of: dt.date,
    statuses: tuple[str, ...] = ("active", "paused"),
    search: str = "",
    therapist_id: int | None = None,
) -> pd.DataFrame:
    """The caseload shaped for the page: text columns (never a bare None), flags as icon and
    words, each partner's headline as "latest (change) · category", trends as lists."""
    rows = caseload_rows(
        db, actor, as_of=as_of, statuses=statuses, search=search, therapist_id=therapist_id
    )
    table = pd.DataFrame(
        {
            "couple_id": rows["couple_id"].astype("int64"),
            "case_code": rows["case_code"],
            "flags": [" · ".join(flag_label(f["kind"]) for f in flags) for flags in rows["flags"]],
            "reasons": ["\n".join(f["reason"] for f in flags) for flags in rows["flags"]],
            "partner_a": rows["partner_a"],
            "a_now": [
                _partner_text(*v)
                for v in zip(rows["a_latest"], rows["a_change"], rows["a_category"], strict=True)
            ],
            "a_trend": [_trend(t) for t in rows["a_trend"]],
            "partner_b": rows["partner_b"],
            "b_now": [
                _partner_text(*v)
                for v in zip(rows["b_latest"], rows["b_change"], rows["b_category"], strict=True)
            ],
            "b_trend": [_trend(t) for t in rows["b_trend"]],
            "headline": rows["headline"].fillna("").astype("str"),
            "last_checkin": [
                "Never" if pd.isna(t) else f"{t:%-d %b %Y}" for t in rows["last_checkin"]
            ],
            "therapist": rows["therapist"],
            "status": rows["status"].str.capitalize(),
            "flag_kinds": [[f["kind"] for f in flags] for flags in rows["flags"]],
            "score_min": rows["score_min"],
            "score_max": rows["score_max"],
        }
    )
    return table.reset_index(drop=True)
