"""What changed since the last session: a short plain-language digest for the top of the couple
page. Every number comes from the clinical SQL (partner_scale_change, couple_flags,
couple_scale_gaps), the couple's sessions and one count of the check-ins and free-text answers
stored since then; this module only picks the rows and words them.

Rules (each documented where it is applied):
- "Since the last session" means completed on a later day than the latest recorded session's
  date. A check-in on the session day counts as before it: the session's time of day is not
  recorded, and check-ins are usually filled in before the session. Before the first session,
  everything so far counts (nothing has been discussed yet), and the digest says so.
- A flag counts as raised or renewed since the session when a check-in after it is part of the
  evidence behind the flag (see `_flag_is_new`). "Check-in overdue" is about check-ins that did
  not come, so no check-in can renew it: the digest leaves it to "Needs attention".
- Safety is never worded here: the digest only points to the safety section at the top.
- Free-text answers are counted, never quoted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.clinical.flags import flag_label
from analytics.practice import access
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.couple_facts import CoupleFacts, couple_facts

# At most this many changes are named on the changes line; the rest are counted.
CHANGES_NAMED = 3
# The change categories that are beyond measurement noise, worse first, with their words here.
RELIABLE = {"deteriorated": "worse", "recovered": "recovered", "improved": "improved"}
SAFETY_KINDS = ("safety", "safety_unanswered")


@dataclass(frozen=True)
class Digest:
    since: dt.date | None  # the last session's date; None before the first session
    lines: list[str]  # plain text (scale labels come from instrument files): never Markdown


def _day(value: Any) -> dt.date:
    """The calendar day of a stored timestamp or date (naive UTC, as stored)."""
    return pd.Timestamp(value).date()


def _after(value: Any, since: dt.date | None) -> bool:
    """Whether a stored time falls on a later day than `since` (always, before any session)."""
    return since is None or (not pd.isna(value) and _day(value) > since)


def _fmt(value: Any) -> str:
    return f"{float(value):.1f}"


def _counts(
    db: Database, actor: Actor, couple_id: int, since: dt.date | None
) -> dict[str, tuple[int, int]]:
    """Per partner label: (check-ins, free-text answers) completed after `since` (all of them
    when None). Partners with none are absent."""
    start = None if since is None else since + dt.timedelta(days=1)
    rows = db.query_rows(
        "SELECT p.label, count(DISTINCT r.id), count(t.response_id)"
        " FROM responses r JOIN partners p ON p.id = r.partner_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = p.couple_id"
        " LEFT JOIN text_answers t ON t.response_id = r.id"
        " WHERE p.couple_id = ? AND (CAST(? AS DATE) IS NULL OR r.completed_at >= CAST(? AS DATE))"
        " GROUP BY p.label ORDER BY p.label",
        [*access.params(actor), couple_id, start, start],
    )
    return {str(label): (int(n), int(t)) for label, n, t in rows}


def _latest_at(changes: pd.DataFrame) -> dict[tuple[str, str, str], Any]:
    """(partner, instrument, scale) -> that partner's latest scored check-in on the scale."""
    return {
        (str(p), str(i), str(s)): at
        for p, i, s, at in zip(
            changes["partner"],
            changes["instrument_code"],
            changes["scale_code"],
            changes["latest_at"],
            strict=True,
        )
    }


def _flag_is_new(
    kind: str, details: list[dict[str, Any]], latest: dict[tuple[str, str, str], Any], since: Any
) -> bool:
    """Whether a check-in after the session is part of the evidence behind a raised flag.

    Safety answer / safety screen not answered: one of the (unassessed) answers behind it is
    after the session. Worse beyond noise / no reliable improvement: the latest check-in of one
    of the partner-scales behind it is. Partners far apart: the gap is measured in the latest
    week both partners checked in; it counts when that week began after the session, or when a
    partner's latest check-in on that scale falls in that week and after the session (a week
    that straddles the session with no later check-in in it does not count).
    """
    if kind in SAFETY_KINDS:
        return any(_after(d["completed_at"], since) for d in details)
    if kind in ("deterioration", "no_improvement"):
        return any(
            _after(latest.get((d["partner"], d["instrument"], d["scale"])), since) for d in details
        )
    if kind == "gap":
        for d in details:
            week = _day(d["week"])
            if since is None or week > since:
                return True
            for label in ("A", "B"):
                at = latest.get((label, d["instrument"], d["scale"]))
                if at is not None and not pd.isna(at):
                    day = _day(at)
                    if week <= day < week + dt.timedelta(days=7) and day > since:
                        return True
        return False
    return False  # overdue: raised by check-ins that did not come


def _checkins_line(
    counts: dict[str, tuple[int, int]], since: dt.date | None, start: dt.date
) -> str:
    """The opening line: since when, and how many check-ins came from each partner."""
    each = ", ".join(
        f"{n} from partner {label}" if n else f"none from partner {label}"
        for label in ("A", "B")
        for n in [counts.get(label, (0, 0))[0]]
    )
    if since is None:
        return (
            f"No session recorded yet. Check-ins since therapy started on {start:%d %b %Y}: {each}."
        )
    return f"Since the last session on {since:%d %b %Y}: check-ins {each}."


def _changes_line(changes: pd.DataFrame, since: dt.date | None) -> str:
    """Reliable changes (first check-in to latest) whose latest check-in came after `since`."""
    reliable = changes[changes["category"].isin(list(RELIABLE))]
    reliable = reliable[[_after(at, since) for at in reliable["latest_at"]]]
    if reliable.empty:
        return "No change beyond measurement noise in the check-ins since then."
    # Worse first; then the largest change relative to noise (the SQL's improvement index).
    reliable = reliable.assign(
        _order=[list(RELIABLE).index(c) for c in reliable["category"]],
        _size=reliable["improvement_index"].abs(),
    ).sort_values(["_order", "_size", "position", "partner"], ascending=[True, False, True, True])
    named = [
        f"partner {x.partner} {x.scale_label} {_fmt(x.baseline)} → {_fmt(x.latest)}"
        f" ({RELIABLE[str(x.category)]})"
        for x in reliable.head(CHANGES_NAMED).itertuples()
    ]
    more = len(reliable) - len(named)
    return (
        "Changed beyond measurement noise since the first check-in: "
        + "; ".join(named)
        + (f"; and {more} more (see “Every scale, both partners”)." if more else ".")
    )


def _flags_line(raised: pd.DataFrame, changes: pd.DataFrame, since: dt.date | None) -> str:
    """The flags raised or renewed by check-ins after `since`, safety only as a pointer."""
    latest = _latest_at(changes)
    new = [
        str(kind)
        for kind, details in zip(raised["kind"], raised["details"], strict=True)
        if _flag_is_new(str(kind), json.loads(str(details)), latest, since)
    ]
    if not new:
        return "No flag raised or renewed by the check-ins since then."
    words = [flag_label(k) for k in new if k not in SAFETY_KINDS]
    if any(k in SAFETY_KINDS for k in new):
        words.insert(0, "new safety answers: see the safety section at the top of this page")
    return "Flags raised or renewed since then: " + "; ".join(words) + "."


def _gap_line(gap_rows: pd.DataFrame) -> str:
    """The widest gap between the partners in the latest week both checked in.

    Widest relative to the scale's smallest reliable change, so scales on different ranges
    compare fairly; scales without that figure come after, by points.
    """
    if gap_rows.empty:
        return "The partners have not yet checked in in the same week: no gap to compare yet."
    week = gap_rows["latest_week"].max()
    rows = gap_rows[gap_rows["latest_week"] == week]
    rows = rows.assign(_relative=rows["latest_gap_size"] / rows["rc_points"]).sort_values(
        ["_relative", "latest_gap_size", "position"],
        ascending=[False, False, True],
        na_position="last",
    )
    x = rows.iloc[0]
    if pd.isna(x["rc_points"]):
        noise = "no measurement-noise figure for this scale"
    elif bool(x["exceeds_noise"]):
        noise = "beyond measurement noise"
    else:
        noise = "within measurement noise"
    return (
        f"Widest gap between the partners (week of {_day(week):%d %b %Y}): {x['scale_label']},"
        f" A {_fmt(x['latest_a'])}, B {_fmt(x['latest_b'])}, {_fmt(x['latest_gap_size'])}"
        f" apart, {noise}."
    )


def _texts_line(counts: dict[str, tuple[int, int]]) -> str:
    """How many free-text answers came since then, from whom; never what they say."""
    per = {label: counts.get(label, (0, 0))[1] for label in ("A", "B")}
    total = sum(per.values())
    if not total:
        return "No free-text answers since then."
    who = ", ".join(f"partner {label} {n}" for label, n in per.items() if n)
    noun = "answer" if total == 1 else "answers"
    return f"{total} free-text {noun} since then ({who}): read them under “In their own words”."


def couple_digest(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    facts: CoupleFacts | None = None,
) -> Digest:
    """What changed since the couple's last recorded session (or, before one, since therapy
    started), in at most five plain-text lines (from `facts` when given). Refuses couples
    outside the actor's caseload."""
    facts = facts or couple_facts(db, actor, couple_id, as_of=as_of)
    couple, recorded = facts.couple, facts.sessions
    since = None if recorded.empty else _day(recorded["session_date"].max())
    counts = _counts(db, actor, couple_id, since)
    new_checkins = sum(n for n, _ in counts.values())
    if not new_checkins:
        if since is None:
            return Digest(
                since,
                [
                    "No session recorded yet, and no check-ins since therapy started on"
                    f" {couple.start_date:%d %b %Y}."
                ],
            )
        lines = [f"No new check-ins since the last session on {since:%d %b %Y}."]
        if not facts.gaps.empty:
            lines.append(_gap_line(facts.gaps))
        return Digest(since, lines)
    changes, raised = facts.changes, facts.flags
    return Digest(
        since,
        [
            _checkins_line(counts, since, couple.start_date),
            _changes_line(changes, since),
            _flags_line(raised, changes, since),
            _gap_line(facts.gaps),
            _texts_line(counts),
        ],
    )
