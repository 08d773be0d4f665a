"""The caseload worked out a second, independent way: plain pandas and Python over the raw tables
and the instrument's definition (the model objects read from its file).

Nothing here reads the SQL views, macros or stored per-response facts (response_scores,
response_safety) of migration 002, nor analytics.clinical: it is the yardstick the SQL caseload
is checked against (tests/test_caseload_reference.py) and the "naive way" `make bench` times.
Deliberately simple and slow: every rule is written out once, in the order the issue states it.

Covers the built-in check-in (the instrument the demo practice answers); it refuses a database
holding responses to any other instrument rather than silently ignoring them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from analytics.instruments.model import Instrument, Scale
from analytics.store.db import Database

Z = 1.96  # a change is reliable when |change| / Sdiff > 1.96 (p < .05, two-sided)
# Flag kinds in the order the caseload ranks them: safety always first.
RANKS = {
    "safety": 1,
    "safety_unanswered": 2,
    "deterioration": 3,
    "gap": 4,
    "no_improvement": 5,
    "overdue": 6,
    "repair_stall": 7,
}
TABLES = (
    "couples",
    "partners",
    "responses",
    "answers",
    "items",
    "instruments",
    "safety_reviews",
    "practice_settings",
    "repair_cases",
    "repair_events",
)


@dataclass(frozen=True)
class Criteria:
    """A scale's reliable-change and cutoff figures (Jacobson & Truax 1991)."""

    better: int  # +1 when a higher score is better, -1 when it is worse
    sdiff: float | None  # standard error of the difference
    rc_points: float | None  # the smallest reliable change, in scale points
    cutoff: float | None


def load_tables(db: Database) -> dict[str, pd.DataFrame]:
    """Every raw table the caseload depends on, whole, as pandas frames."""
    return {name: db.query_df(f"SELECT * FROM {name}") for name in TABLES}


def criteria(scale: Scale) -> Criteria:
    """SE = sd * sqrt(1 - rel), Sdiff = sqrt(2) * SE (or a published figure / 1.96); the cutoff
    declared, else c, else a, else b from the norms."""
    better = 1 if scale.direction == "higher_better" else -1
    sd = scale.sd if scale.sd is not None else scale.clinical_sd
    sdiff: float | None = None
    if scale.reliable_change is not None:
        sdiff = scale.reliable_change / Z
    elif sd is not None and scale.reliability is not None:
        sdiff = math.sqrt(2) * sd * math.sqrt(1 - scale.reliability)
    rc_points = None if sdiff is None else Z * sdiff
    if scale.reliable_change is not None:
        rc_points = scale.reliable_change
    m_c, s_c = scale.clinical_mean, scale.clinical_sd
    m_f, s_f = scale.functional_mean, scale.functional_sd
    cutoff = scale.cutoff
    if cutoff is None and None not in (m_c, s_c, m_f, s_f):
        assert m_c is not None and s_c is not None and m_f is not None and s_f is not None
        cutoff = (s_c * m_f + s_f * m_c) / (s_c + s_f)
    if cutoff is None and m_c is not None and s_c is not None:
        cutoff = m_c + better * 2 * s_c  # a: two SDs from the clinical mean, towards better
    if cutoff is None and m_f is not None and s_f is not None:
        cutoff = m_f - better * 2 * s_f  # b: two SDs from the functional mean, towards worse
    return Criteria(better, sdiff, rc_points, cutoff)


def needed(scale: Scale) -> int:
    """How many of a scale's items must be answered for a score."""
    n = len(scale.items)
    if not scale.prorate:
        return n
    return max(1, math.ceil(scale.min_answered * n - 1e-9))


def score_responses(answers: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """One row per response and scale that can be scored: response_id, scale, score.

    `answers` has response_id, item (code) and value. Reverse keys are applied first; a mean
    scale averages the answered items, a sum scale prorates its sum (sum x items / answered).
    """
    rows = []
    for scale in instrument.scales:
        for code in scale.items:
            item = instrument.item(code)
            rows.append(
                {"scale": scale.code, "item": code, "reverse": item.reverse,
                 "low": item.min, "high": item.max}
            )  # fmt: skip
    membership = pd.DataFrame(rows)
    keyed = answers.merge(membership, on="item")
    keyed["keyed"] = keyed["value"].where(
        ~keyed["reverse"], keyed["low"] + keyed["high"] - keyed["value"]
    )
    sums = keyed.groupby(["response_id", "scale"], as_index=False).agg(
        total=("keyed", "sum"), answered=("keyed", "count")
    )
    scored = []
    for scale in instrument.scales:
        mine = sums[(sums["scale"] == scale.code) & (sums["answered"] >= needed(scale))].copy()
        if scale.method == "mean":
            mine["score"] = mine["total"] / mine["answered"]
        else:
            mine["score"] = mine["total"] * len(scale.items) / mine["answered"]
        scored.append(mine[["response_id", "scale", "score"]])
    return pd.concat(scored, ignore_index=True)


def category(n: int, baseline: float, latest: float, rule: Criteria) -> str:
    """Jacobson & Truax, direction-aware: recovered, improved, unchanged, deteriorated."""
    if n < 2:
        return "not_enough_data"
    if rule.sdiff is None:
        return "no_reliable_change_figure"
    improvement = rule.better * (latest - baseline) / rule.sdiff
    if improvement > Z:
        if rule.cutoff is not None and distressed(baseline, rule) and not distressed(latest, rule):
            return "recovered"
        return "improved"
    if improvement < -Z:
        return "deteriorated"
    return "unchanged"


def distressed(score: float, rule: Criteria) -> bool:
    """On the side of the cutoff away from better."""
    assert rule.cutoff is not None
    return rule.better * (score - rule.cutoff) < 0


def monday(moments: pd.Series) -> pd.Series:
    """The Monday (midnight) of each moment's ISO week."""
    mondays: pd.Series = moments.dt.normalize() - pd.to_timedelta(moments.dt.day_of_week, unit="D")
    return mondays


def caseload(
    tables: dict[str, pd.DataFrame],
    instrument: Instrument,
    *,
    as_of: dt.date,
    sees_all: bool,
    therapist: int | None,
    statuses: tuple[str, ...] = ("active", "paused"),
) -> pd.DataFrame:
    """The caseload rows, in the caseload's order: per couple both partners' headline baseline,
    latest, change, category, number of scores and trend, the last check-in, and the set of
    flag kinds raised."""
    couples = tables["couples"]
    partners = tables["partners"]
    responses = tables["responses"]
    settings = dict(
        zip(tables["practice_settings"]["key"], tables["practice_settings"]["value"], strict=True)
    )
    instruments = tables["instruments"]
    ours = set(instruments.loc[instruments["code"] == instrument.code, "id"])
    if not set(responses["instrument_id"]) <= ours:
        raise ValueError("the slow reference only knows the built-in check-in")

    # Who answered what, when.
    who = responses.merge(partners, left_on="partner_id", right_on="id", suffixes=("", "_p"))
    who = who[["id", "partner_id", "couple_id", "label", "completed_at"]].rename(
        columns={"id": "response_id", "label": "partner"}
    )
    items = tables["items"][["id", "code"]].rename(columns={"id": "item_id", "code": "item"})
    answers = tables["answers"].merge(items, on="item_id")

    scores = score_responses(answers, instrument).merge(who, on="response_id")
    scores = scores.sort_values(["couple_id", "partner", "scale", "completed_at"])
    rules = {scale.code: criteria(scale) for scale in instrument.scales}

    # Change per couple, partner and scale: first and last score.
    change: dict[tuple[int, str, str], dict[str, Any]] = {}
    for key, group in scores.groupby(["couple_id", "partner", "scale"]):
        couple, partner, scale = cast(tuple[int, str, str], key)
        values = list(group["score"])
        n, baseline, latest = len(values), values[0], values[-1]
        change[(int(couple), str(partner), str(scale))] = {
            "n": n,
            "baseline": baseline,
            "latest": latest,
            "change": latest - baseline if n >= 2 else None,  # one score is no change
            "category": category(n, baseline, latest, rules[str(scale)]),
            "trend": [round(v, 2) for v in values],
        }

    flags: dict[int, set[str]] = {int(c): set() for c in couples["id"]}

    # Safety: positive answers stored after the latest review's covered response.
    covers: dict[int, int] = {}
    for _, review in tables["safety_reviews"].iterrows():
        reviewed = int(review["couple_id"])
        covers[reviewed] = max(covers.get(reviewed, 0), int(review["covers_response_id"]))
    thresholds = pd.DataFrame(
        [(item.code, item.threshold) for item in instrument.safety_items],
        columns=["item", "threshold"],
    )
    safety = answers.merge(thresholds, on="item").merge(who, on="response_id")
    covered = safety["couple_id"].map(lambda c: covers.get(int(c), 0))
    positive = safety[(safety["value"] >= safety["threshold"]) & (safety["response_id"] > covered)]
    for couple in set(positive["couple_id"]):
        flags[int(couple)].add("safety")

    # Safety screen not answered: a response stored after the latest review's covered response
    # without an answer to one of the instrument's safety items (blank is never "no").
    given = answers[answers["item"].isin(thresholds["item"]) & answers["value"].notna()]
    n_given = who["response_id"].map(given.groupby("response_id")["item"].nunique()).fillna(0)
    later = who["response_id"] > who["couple_id"].map(lambda c: covers.get(int(c), 0))
    for couple in set(who.loc[(n_given < len(thresholds)) & later, "couple_id"]):
        flags[int(couple)].add("safety_unanswered")

    # Reliable deterioration on any scale of either partner.
    for (couple, _, _), result in change.items():
        if result["category"] == "deteriorated":
            flags[couple].add("deterioration")

    # Partner gap: the latest week both partners have a score for a scale (each partner's last
    # score that week), wider than the scale's smallest reliable change.
    weekly = scores.assign(week=monday(scores["completed_at"]))
    weekly = weekly.drop_duplicates(["couple_id", "scale", "week", "partner"], keep="last")
    pairs = weekly.pivot_table(
        index=["couple_id", "scale", "week"], columns="partner", values="score", aggfunc="last"
    ).reindex(columns=["A", "B"])
    pairs = pairs.dropna().reset_index().sort_values("week")
    for key, group in pairs.groupby(["couple_id", "scale"]):
        couple, scale = cast(tuple[int, str], key)
        gap = group["A"].iloc[-1] - group["B"].iloc[-1]
        rc_points = rules[str(scale)].rc_points
        if rc_points is not None and abs(gap) > rc_points:
            flags[int(couple)].add("gap")

    # No reliable improvement on the headline after enough check-ins, still distressed.
    headline = instrument.headline
    rule = rules[headline]
    for (couple, _, scale), result in change.items():
        if (
            scale == headline
            and result["category"] == "unchanged"
            and result["n"] >= settings["no_improvement_checkins"]
            and (rule.cutoff is None or distressed(result["latest"], rule))
        ):
            flags[couple].add("no_improvement")

    # Overdue: an active couple where a partner's last check-in (or the start, before any) is
    # longer ago than the setting.
    last_by_partner = dict(responses.groupby("partner_id")["completed_at"].max().items())
    starts = dict(zip(couples["id"], couples["start_date"], strict=True))
    status = dict(zip(couples["id"], couples["status"], strict=True))
    for _, person in partners.iterrows():
        couple = int(person["couple_id"])
        if status[couple] != "active":
            continue
        last = last_by_partner.get(person["id"])
        since = (
            pd.Timestamp(last).date() if last is not None else pd.Timestamp(starts[couple]).date()
        )
        if (as_of - since).days > settings["overdue_days"]:
            flags[couple].add("overdue")

    # Repair stalled: an open repair case of an active couple with a milestone in progress (or
    # revisited) for too long, a rebuilding pace not reviewed for too long, or consistent
    # reliability reached while the hurt partner's consistency or transparency got reliably
    # worse.
    for couple in repair_stalled(tables, change, settings, status, as_of):
        flags[couple].add("repair_stall")

    # One row per couple the actor sees, with the statuses asked for.
    last_checkin = dict(who.groupby("couple_id")["completed_at"].max().items())
    rows = []
    for _, case in couples.iterrows():
        couple = int(case["id"])
        if not (sees_all or case["therapist_id"] == therapist) or case["status"] not in statuses:
            continue
        row: dict[str, Any] = {"couple_id": couple, "case_code": case["case_code"]}
        for label in ("A", "B"):
            found = change.get((couple, label, headline))
            prefix = label.lower()
            for name in ("baseline", "latest", "change", "category", "n", "trend"):
                row[f"{prefix}_{name}"] = None if found is None else found[name]
        last = last_checkin.get(couple)
        row["last_checkin"] = last
        row["days_since"] = None if last is None else (as_of - pd.Timestamp(last).date()).days
        row["flag_kinds"] = frozenset(flags[couple])
        row["top_rank"] = min((RANKS[k] for k in flags[couple]), default=99)
        rows.append(row)
    # Flagged couples first (by their most urgent flag), then by how many flags, then by code.
    rows.sort(key=lambda r: (r["top_rank"], -len(r["flag_kinds"]), r["case_code"]))
    return pd.DataFrame(rows)


def _day(value: object) -> dt.date:
    return pd.Timestamp(cast(Any, value)).date()


def repair_stalled(
    tables: dict[str, pd.DataFrame],
    change: dict[tuple[int, str, str], dict[str, Any]],
    settings: dict[str, float],
    status: dict[int, str],
    as_of: dt.date,
) -> set[int]:
    """The couples with a stalled repair case as of a date (the three rules of issue 9)."""
    stalled: set[int] = set()
    events = tables["repair_events"]
    for _, case in tables["repair_cases"].iterrows():
        couple = int(case["couple_id"])
        closed = case["closed_on"]
        if (
            status[couple] != "active"
            or _day(case["started_on"]) > as_of
            or (not pd.isna(closed) and _day(closed) <= as_of)
        ):
            continue
        mine = events[events["case_id"] == case["id"]].copy()
        mine["day"] = [_day(d) for d in mine["effective_on"]]
        mine = mine[mine["day"] <= as_of].sort_values(["day", "entered_at", "id"])
        for milestone in (1, 2, 3, 4):
            history = mine[mine["milestone"] == milestone]
            statuses, days = list(history["status"]), list(history["day"])
            now = statuses[-1] if statuses else "not_started"
            since = _day(case["started_on"])
            for i in range(len(statuses) - 1, -1, -1):
                if statuses[i] != now:
                    break
                since = days[i]
            if now in ("in_progress", "revisited") and (
                (as_of - since).days > settings["repair_stall_days"]
            ):
                stalled.add(couple)
            if milestone == 3 and now in ("in_progress", "revisited", "reached"):
                reviews = [_day(d) for d in history["pace_reviewed_on"] if not pd.isna(d)]
                begun = [d for s, d in zip(statuses, days, strict=True) if s != "not_started"]
                last = max(reviews) if reviews else begun[0]
                if (as_of - last).days > settings["pace_review_days"]:
                    stalled.add(couple)
            hurt = case["hurt_partner"]
            if milestone == 4 and now == "reached" and isinstance(hurt, str):
                for scale in ("consistency", "transparency"):
                    found = change.get((couple, hurt, scale))
                    if found is not None and found["category"] == "deteriorated":
                        stalled.add(couple)
    return stalled


def reference_caseload(
    db: Database,
    instrument: Instrument,
    *,
    as_of: dt.date,
    sees_all: bool,
    therapist: int | None,
    statuses: tuple[str, ...] = ("active", "paused"),
) -> pd.DataFrame:
    """Read the raw tables, then work the caseload out in pandas and Python."""
    return caseload(
        load_tables(db),
        instrument,
        as_of=as_of,
        sees_all=sees_all,
        therapist=therapist,
        statuses=statuses,
    )
