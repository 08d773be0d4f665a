"""Who the demo couples are and how they answer: pure numpy, no database.

`plan_couples` gives every couple a story (archetype, course length, levels); `simulate` turns the
plans into weekly answer sheets; `plan_sessions` and `milestone_events` fill in the rest of the
record. `analytics.demo` writes the result. Every random draw comes from a generator seeded with
(seed, purpose), so one part can change without reshuffling the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from analytics.instruments import Instrument

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# The first twelve couples, in case-code order; the thirteenth (or the one added) is closed.
# fmt: off
STORY = (
    "improving", "improving_late", "stalled", "diverging", "deteriorating",
    "repair", "repair", "repair", "repair", "safety", "overdue", "new",
)
# fmt: on
# Couples after the thirteenth cycle through these, with random variation. Never "safety" or
# "overdue": those must stay unique so the dashboard's flags point at exactly one couple.
CYCLE = ("improving", "improving_late", "stalled", "diverging", "deteriorating", "repair", "new")
ATTENDANCE = ("both", "A", "B", "neither")
MILESTONES = ("acknowledgment", "apology and repair", "rebuilding time", "consistent reliability")
SESSION_NOTES = (
    "Demo note: practised a two-minute daily check-in.",
    "Demo note: mapped a recurring argument about chores.",
    "Demo note: each named one appreciation from the week.",
    "Demo note: planned a screen-free dinner.",
    "Demo note: talked through outside work stress.",
    "Demo note: slowed down a conversation that escalated.",
    "Demo note: reviewed the check-in scores together.",
    "Demo note: agreed a small shared goal for the month.",
    "Demo note: practised asking for a time-out kindly.",
    "Demo note: revisited last week's homework.",
)
# fmt: off
FIRST_NAMES = (
    "Ada", "Ben", "Cleo", "Dev", "Edie", "Finn", "Gus", "Hana", "Ivo", "June", "Kit", "Lena",
    "Milo", "Nora", "Otto", "Pia", "Quin", "Rosa", "Sami", "Tess", "Uma", "Vic", "Wren", "Yara",
)
SURNAMES = (
    "Testwood", "Mockridge", "Sampleton", "Dummersby", "Placeholm", "Fixturton", "Stubfield",
    "Pretendale", "Fauxley", "Examplewood", "Lorembury", "Mockingham",
)
# fmt: on


class Profile(NamedTuple):
    """Global satisfaction (0-6) of A and B at the first and last check-in, pace and length."""

    start_a: float
    end_a: float
    start_b: float
    end_b: float
    pace: float  # progress = fraction ** pace: < 1 early gains, > 1 late gains
    length: float  # course length as a share of `weeks` (0: set elsewhere)


# Wide first-to-last gaps on purpose: weekly noise must never hide the story a test checks.
PROFILES = {
    "improving": Profile(1.8, 5.0, 1.9, 5.1, 0.8, 1.0),
    "improving_late": Profile(2.2, 4.7, 2.0, 4.5, 1.8, 0.8),
    "stalled": Profile(2.7, 2.7, 2.9, 2.8, 1.0, 0.6),
    "diverging": Profile(1.6, 4.8, 3.0, 2.6, 1.0, 0.7),
    "deteriorating": Profile(4.5, 1.5, 4.4, 1.4, 1.2, 0.55),
    "repair": Profile(2.1, 2.1, 2.4, 2.4, 1.0, 0.0),
    "safety": Profile(3.0, 2.6, 2.8, 2.5, 1.0, 0.5),
    "overdue": Profile(2.8, 3.4, 2.6, 3.1, 1.0, 0.6),
    "new": Profile(3.2, 3.6, 3.4, 3.7, 1.0, 0.0),
    "closed": Profile(2.5, 4.8, 2.3, 4.6, 0.9, 0.75),
}
# Repair couples further along have had a longer course.
REPAIR_LENGTH = {1: 0.25, 2: 0.45, 3: 0.7, 4: 0.95}
NEW_COUPLE_WEEKS = 6
SKIP_RATE = 0.03


@dataclass(frozen=True)
class CouplePlan:
    """One demo couple's story; day offsets count back from as_of."""

    index: int
    kind: str
    checkins: int  # weekly check-ins per partner so far
    last_offset: int  # days from the last check-in to as_of
    intake_days: int  # days from start_date to the first check-in
    closed: bool
    milestone: int | None  # current repair milestone (1-4)
    hurt: int | None  # 0 = partner A, 1 = partner B
    levels: Profile
    safety_partner: int | None  # partner giving a positive safety answer in the last check-in

    @property
    def first_offset(self) -> int:
        return self.last_offset + 7 * (self.checkins - 1)

    @property
    def start_offset(self) -> int:
        return self.first_offset + self.intake_days


def rng_for(seed: int, purpose: int) -> np.random.Generator:
    """An independent random stream per purpose, all from one seed."""
    return np.random.default_rng([seed & 0xFFFFFFFF, purpose])


def total_couples(couples: int) -> int:
    """Couples built: the closed case is added after the twelve stories, or taken from extras."""
    return couples if couples > len(STORY) else couples + 1


def plan_couples(couples: int, weeks: int, seed: int) -> list[CouplePlan]:
    """Every couple's story, in case-code order."""
    rng = rng_for(seed, 0)
    total = total_couples(couples)
    closed_index = min(couples, len(STORY))
    shortest = min(NEW_COUPLE_WEEKS, weeks)
    plans = []
    for index in range(total):
        if index == closed_index:
            kind, milestone = "closed", None
        elif index < len(STORY):
            kind = STORY[index]
            milestone = index - STORY.index("repair") + 1 if kind == "repair" else None
        else:
            kind = CYCLE[(index - len(STORY) - 1) % len(CYCLE)]
            milestone = int(rng.integers(1, 5)) if kind == "repair" else None
        levels = PROFILES[kind]
        if kind == "repair":
            assert milestone is not None
            gain = 0.5 * (milestone - 1)  # further along, a little more satisfied
            levels = levels._replace(
                end_a=levels.start_a + gain,
                end_b=levels.start_b + gain,
                length=REPAIR_LENGTH[milestone],
            )
        extra = index > len(STORY)
        if extra:
            levels = _vary(levels, rng)
        if kind == "new":
            checkins = shortest + (int(rng.integers(0, 3)) if extra else 0)
        elif extra and kind != "repair":  # repair: the further along, the longer the course
            checkins = int(rng.integers(shortest, weeks + 1))
        else:
            checkins = round(levels.length * weeks) + int(rng.integers(-1, 2))
        if kind == "closed":
            last_offset = 7 * int(rng.integers(3, 11)) + int(rng.integers(0, 7))
        elif kind == "overdue":
            last_offset = int(rng.integers(29, 35))  # 4-5 weeks without a check-in
        else:
            last_offset = int(rng.integers(2, 8))  # the session the day after is still past
        plans.append(
            CouplePlan(
                index=index,
                kind=kind,
                checkins=min(max(checkins, shortest), weeks),
                last_offset=last_offset,
                intake_days=int(rng.integers(0, 7)),
                closed=kind == "closed",
                milestone=milestone,
                hurt=int(rng.integers(0, 2)) if kind == "repair" else None,
                levels=levels,
                safety_partner=int(rng.integers(0, 2)) if kind == "safety" else None,
            )
        )
    return plans


def _vary(levels: Profile, rng: np.random.Generator) -> Profile:
    """Random variation for the couples after the first thirteen."""
    shift = rng.normal(0.0, 0.3, 4)
    a0, a1, b0, b1 = np.clip(np.array(levels[:4]) + shift, 0.8, 5.3)
    if rng.random() < 0.5:  # e.g. which partner of a diverging couple improves
        a0, a1, b0, b1 = b0, b1, a0, a1
    pace = levels.pace * math.exp(rng.normal(0.0, 0.3))
    return Profile(float(a0), float(a1), float(b0), float(b1), pace, levels.length)


def display_names(total: int, seed: int) -> list[tuple[str, str]]:
    """Plainly fictional names for partners A and B of each couple."""
    rng = rng_for(seed, 1)
    names = []
    for _ in range(total):
        first_a, first_b = rng.choice(len(FIRST_NAMES), 2, replace=False)
        surname_a = SURNAMES[int(rng.integers(len(SURNAMES)))]
        surname_b = surname_a if rng.random() < 0.4 else SURNAMES[int(rng.integers(len(SURNAMES)))]
        names.append((f"{FIRST_NAMES[first_a]} {surname_a}", f"{FIRST_NAMES[first_b]} {surname_b}"))
    return names


@dataclass(frozen=True)
class Simulation:
    """One row per check-in, in no particular order."""

    couple: IntArray  # plan index
    label: IntArray  # 0 = partner A, 1 = partner B
    week: IntArray  # check-in number within the course, from 0
    day_offset: IntArray  # days before as_of
    seconds: IntArray  # seconds after 18:00 that evening
    answers: npt.NDArray[np.int8]  # raw answers, one column per instrument item


def simulate(plans: list[CouplePlan], instrument: Instrument, seed: int) -> Simulation:
    """Weekly answer sheets for both partners of every couple."""
    rng = rng_for(seed, 2)
    checkins = np.array([p.checkins for p in plans], dtype=np.int64)
    per_series = np.repeat(checkins, 2)  # series s = partner s % 2 of couple s // 2
    series = np.repeat(np.arange(per_series.size), per_series)
    week = np.arange(series.size) - (np.cumsum(per_series) - per_series)[series]
    couple, label = series // 2, series % 2
    fraction = week / np.maximum(per_series[series] - 1, 1)

    start = np.array([[p.levels.start_a, p.levels.start_b] for p in plans]).ravel()
    end = np.array([[p.levels.end_a, p.levels.end_b] for p in plans]).ravel()
    pace = np.repeat([p.levels.pace for p in plans], 2)
    drift = _weekly_drift(rng, per_series.size, int(checkins.max()))
    overall = start[series] + (end - start)[series] * fraction ** pace[series]
    overall = overall + drift[series, week]

    levels = _construct_levels(instrument, plans, overall, series, fraction, rng)
    answers = _answer_sheets(instrument, levels, rng)

    last_week = week == per_series[series] - 1
    for plan in plans:
        if plan.safety_partner is not None:
            row = (couple == plan.index) & (label == plan.safety_partner) & last_week
            answers[row, _safety_column(instrument)] = 2  # "Somewhat disagree": still positive

    # A few skipped weeks, never the first or the last (trends and overdue dates stay exact).
    keep = (rng.random(series.size) >= SKIP_RATE) | (week == 0) | last_week
    last_offset = np.array([p.last_offset for p in plans], dtype=np.int64)
    day_offset = last_offset[couple] + 7 * (checkins[couple] - 1 - week)
    seconds = rng.integers(0, 4 * 3600, series.size)
    return Simulation(
        couple[keep], label[keep], week[keep], day_offset[keep], seconds[keep], answers[keep]
    )


def _weekly_drift(rng: np.random.Generator, series: int, weeks: int) -> FloatArray:
    """Small autocorrelated week-to-week ups and downs, per partner."""
    drift = np.zeros((series, weeks))
    shocks = rng.normal(0.0, 0.12, (series, weeks))
    drift[:, 0] = shocks[:, 0]
    for k in range(1, weeks):
        drift[:, k] = 0.5 * drift[:, k - 1] + shocks[:, k]
    return drift


def _construct_levels(
    instrument: Instrument,
    plans: list[CouplePlan],
    overall: FloatArray,
    series: IntArray,
    fraction: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Latent level of every non-safety construct: trust and connection follow global
    satisfaction, barriers mirror it; each partner has a small fixed profile of their own."""
    constructs = [c for c in instrument.constructs if c.family != "safety"]
    lo, hi = instrument.scale_min, instrument.scale_max
    profile = rng.normal(0.0, 0.35, (2 * len(plans), len(constructs)))

    # Repair: the hurt partner's trust starts low and their past hurt high; both ease with the
    # milestones reached (none yet at milestone 1).
    trust_cut, hurt_load, recovery = (np.zeros(2 * len(plans)) for _ in range(3))
    for plan in plans:
        if plan.milestone is not None and plan.hurt is not None:
            hurt, other = 2 * plan.index + plan.hurt, 2 * plan.index + 1 - plan.hurt
            trust_cut[hurt], hurt_load[hurt], hurt_load[other] = 1.6, 2.0, 0.6
            recovery[[hurt, other]] = 0.25 * (plan.milestone - 1)
    unresolved = 1.0 - recovery[series] * fraction

    levels = np.empty((overall.size, len(constructs)))
    for k, construct in enumerate(constructs):
        if construct.family == "global":
            level = overall.copy()
        elif construct.family == "trust":
            level = overall + 0.2 + profile[series, k] - trust_cut[series] * unresolved
        elif construct.family == "barrier":
            level = lo + hi - 0.2 - overall + profile[series, k]
            if construct.code == "past_hurt":
                level += hurt_load[series] * unresolved
        else:  # connection
            level = overall - 0.1 + profile[series, k]
        levels[:, k] = np.clip(level, lo, hi)
    return levels


def _answer_sheets(
    instrument: Instrument, levels: FloatArray, rng: np.random.Generator
) -> npt.NDArray[np.int8]:
    """Whole-number raw answers: latent + item noise, rounded at random (so the mean stays
    unbiased), clipped to the scale, reverse-keyed items stored as min + max - level.
    Safety items are always 0 here: they are never noise."""
    codes = [c.code for c in instrument.constructs if c.family != "safety"]
    lo, hi = instrument.scale_min, instrument.scale_max
    answers = np.zeros((levels.shape[0], len(instrument.items)), dtype=np.int8)
    scored = [i for i, item in enumerate(instrument.items) if not item.is_safety]
    columns = [codes.index(instrument.items[i].construct) for i in scored]
    latent = levels[:, columns] + rng.normal(0.0, 0.25, (levels.shape[0], len(scored)))
    given = np.clip(np.floor(latent + rng.random(latent.shape)), lo, hi)
    reverse = np.array([instrument.items[i].reverse for i in scored])
    answers[:, scored] = np.where(reverse, lo + hi - given, given).astype(np.int8)
    return answers


def _safety_column(instrument: Instrument) -> int:
    """The safety item used for the demo's one positive answer (fear of the partner if present)."""
    safety = [i for i, item in enumerate(instrument.items) if item.is_safety]
    return safety[1] if len(safety) > 1 else safety[0]


@dataclass(frozen=True)
class SessionPlan:
    """One session per course week, the day after that week's check-in."""

    couple: IntArray
    number: IntArray  # 1-based
    day_offset: IntArray
    attendance: list[str]
    note: list[str]


def plan_sessions(plans: list[CouplePlan], seed: int) -> SessionPlan:
    """Weekly sessions: mostly both partners, now and then one or neither."""
    rng = rng_for(seed, 3)
    checkins = np.array([p.checkins for p in plans], dtype=np.int64)
    couple = np.repeat(np.arange(len(plans)), checkins)
    week = np.arange(couple.size) - (np.cumsum(checkins) - checkins)[couple]
    last_offset = np.array([p.last_offset for p in plans], dtype=np.int64)
    day_offset = last_offset[couple] + 7 * (checkins[couple] - 1 - week) - 1
    who = rng.choice(len(ATTENDANCE), couple.size, p=[0.88, 0.05, 0.05, 0.02])
    note = rng.integers(0, len(SESSION_NOTES), couple.size)
    return SessionPlan(
        couple,
        week + 1,
        day_offset,
        [ATTENDANCE[i] for i in who],
        [SESSION_NOTES[i] for i in note],
    )


def milestone_events(plan: CouplePlan) -> list[tuple[int, int, str]]:
    """(course week, milestone, status) in the order they happened, for a repair couple.

    All four start as not_started; each milestone before the current one is begun and reached
    in turn, spread over the course; the current one is left in progress.
    """
    if plan.milestone is None:
        return []
    events = [(0, m, "not_started") for m in range(1, 5)]
    last, current = plan.checkins - 1, plan.milestone
    for m in range(1, current + 1):
        events.append((min(last, max(1, (m - 1) * last // current)), m, "in_progress"))
        if m < current:
            events.append((m * last // current, m, "reached"))
    # Short courses squeeze several changes into one week; never let a later change go back.
    weeks = np.maximum.accumulate([week for week, _, _ in events])
    return [(int(w), m, status) for w, (_, m, status) in zip(weeks, events, strict=True)]
