"""Who the demo couples are and how they answer: pure numpy, no database.

`plan_couples` gives every couple a story (archetype, course length, levels); `simulate` turns the
plans into weekly answer sheets; `plan_sessions` and `milestone_events` fill in the rest of the
record. `analytics.demo.build` writes the result. Every random draw comes from a generator seeded
with (seed, purpose), so one part can change without reshuffling the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from analytics.instruments.model import Instrument

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
# Repair couples' milestone stories: the current milestone began at most RECENT_WEEKS ago (well
# inside the default 56 days of the stall setting); the stalled couple's STALLED_WEEKS ago.
RECENT_WEEKS = 6
STALLED_WEEKS = 10
PACE_REVIEW_WEEKS = 3  # inside the default 28 days of the pace-review setting
# Among the first twelve couples: D-007 (apology and repair) stalls, D-009 (consistent
# reliability) moves back to rebuilding time.
REPAIR_STORIES = {6: "stalled", 8: "moved_back"}
# What the therapist writes about a demo repair case (synthetic, and says so).
REPAIR_DESCRIPTION = "Demo: a broken promise about shared money came to light before therapy."
DEMO_AMENDS = "Demo: a weekly budget review together; no separate hidden accounts."
DEMO_PACES = (
    "Demo: one evening a week to talk about it; no questions at bedtime.",
    "Demo: two evenings a week; a pause word either can use.",
    "Demo: talk when asked; a weekend away is not yet on the table.",
)
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
# What partners write in the check-in's free-text questions (first: topics for next session).
DEMO_TOPICS = (
    "Demo: how we share the chores when work gets busy.",
    "Demo: planning the holidays with both families.",
    "Demo: the argument we had about money last weekend.",
    "Demo: finding time for each other in the evenings.",
    "Demo: how to talk when one of us is tired.",
    "Demo: what we each need after a hard day.",
)
DEMO_NOTES = (
    "Demo: work has been very stressful this month.",
    "Demo: we managed two screen-free dinners this week.",
    "Demo: I may miss the next session because of travel.",
)
TEXT_RATES = (0.2, 0.05)  # how often each free-text question gets an answer
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
    "safety": Profile(3.0, 2.8, 2.8, 2.6, 1.0, 0.5),
    # Doing well, but has stopped checking in: the only thing that needs attention is the silence.
    "overdue": Profile(2.4, 4.6, 2.5, 4.4, 1.0, 0.6),
    "new": Profile(3.2, 3.6, 3.4, 3.7, 1.0, 0.0),
    "closed": Profile(2.5, 4.8, 2.3, 4.6, 0.9, 0.75),
}
# Repair couples further along have had a longer course (the first only a few weeks: too early to
# expect reliable improvement) and are more satisfied by now.
REPAIR_LENGTH = {1: 0.15, 2: 0.45, 3: 0.7, 4: 0.95}
REPAIR_GAIN = {1: 0.0, 2: 2.0, 3: 2.3, 4: 2.6}
# Fewer check-ins than the default "no reliable improvement after 6" setting: new couples are
# never flagged for not having improved yet.
NEW_COUPLE_WEEKS = 4
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
    repair_story: str = "steady"  # steady | stalled | moved_back (see milestone_events)

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
            gain = REPAIR_GAIN[milestone]
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
                repair_story=REPAIR_STORIES.get(index, "steady") if kind == "repair" else "steady",
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
    answers: npt.NDArray[np.int8]  # raw answers, one column per `instrument.answer_items`
    texts: npt.NDArray[np.object_]  # free text (or None), one column per `instrument.text_items`


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
            column, value = safety_disclosure(instrument)
            answers[row, column] = value

    # A few skipped weeks, never the first or the last (trends and overdue dates stay exact).
    keep = (rng.random(series.size) >= SKIP_RATE) | (week == 0) | last_week
    last_offset = np.array([p.last_offset for p in plans], dtype=np.int64)
    day_offset = last_offset[couple] + 7 * (checkins[couple] - 1 - week)
    seconds = rng.integers(0, 4 * 3600, series.size)
    texts = _free_text(instrument, series.size, rng_for(seed, 4))
    return Simulation(
        couple[keep],
        label[keep],
        week[keep],
        day_offset[keep],
        seconds[keep],
        answers[keep],
        texts[keep],
    )


def _free_text(instrument: Instrument, rows: int, rng: np.random.Generator) -> npt.NDArray[Any]:
    """Now and then a topic for the next session, more rarely a note for the therapist."""
    texts = np.full((rows, len(instrument.text_items)), None, dtype=object)
    for k, (pool, rate) in enumerate(zip((DEMO_TOPICS, DEMO_NOTES), TEXT_RATES, strict=False)):
        if k >= texts.shape[1]:
            break
        chosen = rng.random(rows) < rate
        picks = rng.integers(0, len(pool), rows)
        texts[chosen, k] = [pool[i] for i in picks[chosen]]
    return texts


def _weekly_drift(rng: np.random.Generator, series: int, weeks: int) -> FloatArray:
    """Small autocorrelated week-to-week ups and downs: mostly shared by the two partners of a
    couple (a hard week is hard for both), a little of each partner's own."""
    drift = np.zeros((series, weeks))
    shared = np.repeat(rng.normal(0.0, 0.11, (series // 2, weeks)), 2, axis=0)
    shocks = shared + rng.normal(0.0, 0.05, (series, weeks))
    drift[:, 0] = shocks[:, 0]
    for k in range(1, weeks):
        drift[:, k] = 0.5 * drift[:, k - 1] + shocks[:, k]
    return drift


def _scale_of(instrument: Instrument) -> dict[str, int]:
    """Scored item code -> index of the (first) scale it belongs to."""
    found: dict[str, int] = {}
    for k, scale in enumerate(instrument.scales):
        for code in scale.items:
            found.setdefault(code, k)
    return found


def _construct_levels(
    instrument: Instrument,
    plans: list[CouplePlan],
    overall: FloatArray,
    series: IntArray,
    fraction: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Latent level of every scale: trust and connection follow global satisfaction, barriers
    mirror it; each partner has a small fixed profile of their own."""
    scales = instrument.scales
    lo, hi = _answer_range(instrument)
    profile = rng.normal(0.0, 0.2, (2 * len(plans), len(scales)))

    # Repair: the hurt partner's trust starts lower and their past hurt higher; both ease with
    # the milestones reached (none yet at milestone 1).
    trust_cut, hurt_load, recovery = (np.zeros(2 * len(plans)) for _ in range(3))
    for plan in plans:
        if plan.milestone is not None and plan.hurt is not None:
            hurt, other = 2 * plan.index + plan.hurt, 2 * plan.index + 1 - plan.hurt
            trust_cut[hurt], hurt_load[hurt], hurt_load[other] = 0.4, 1.2, 0.4
            recovery[[hurt, other]] = 0.25 * (plan.milestone - 1)
    unresolved = 1.0 - recovery[series] * fraction

    levels = np.empty((overall.size, len(scales)))
    for k, scale in enumerate(scales):
        if scale.family == "global":
            level = overall.copy()
        elif scale.family == "trust":
            level = overall + 0.2 + profile[series, k] - trust_cut[series] * unresolved
        elif scale.family == "barrier":
            level = lo + hi - 0.2 - overall + profile[series, k]
            if scale.code == "past_hurt":
                level += hurt_load[series] * unresolved
        else:  # connection
            level = overall - 0.1 + profile[series, k]
        levels[:, k] = np.clip(level, lo, hi)
    return levels


def _answer_range(instrument: Instrument) -> tuple[float, float]:
    """The scored items' common answer range (the check-in's 0-6)."""
    scored = instrument.scored_items
    return min(i.min for i in scored), max(i.max for i in scored)


def _answer_sheets(
    instrument: Instrument, levels: FloatArray, rng: np.random.Generator
) -> npt.NDArray[np.int8]:
    """Whole-number raw answers, one column per `instrument.answer_items`: latent + item noise,
    rounded at random (so the mean stays unbiased), clipped to the item's range, reverse-keyed
    items stored as min + max - level. Safety items are always "Never" (their minimum) here:
    they are never noise."""
    items = instrument.answer_items
    answers = np.zeros((levels.shape[0], len(items)), dtype=np.int8)
    for k, item in enumerate(items):
        if item.kind == "safety":
            answers[:, k] = int(item.min)
    scale_of = _scale_of(instrument)
    scored = [k for k, item in enumerate(items) if item.kind == "scored"]
    columns = [scale_of[items[k].code] for k in scored]
    latent = levels[:, columns] + rng.normal(0.0, 0.15, (levels.shape[0], len(scored)))
    low = np.array([items[k].min for k in scored])
    high = np.array([items[k].max for k in scored])
    given = np.clip(np.floor(latent + rng.random(latent.shape)), low, high)
    reverse = np.array([items[k].reverse for k in scored])
    answers[:, scored] = np.where(reverse, low + high - given, given).astype(np.int8)
    return answers


def safety_disclosure(instrument: Instrument) -> tuple[int, int]:
    """(column in the answer sheet, value) of the demo's one positive safety answer: the
    lowest positive answer to fear of the partner (the second safety item) if present."""
    items = instrument.answer_items
    safety = [k for k, item in enumerate(items) if item.kind == "safety"]
    column = safety[1] if len(safety) > 1 else safety[0]
    threshold = items[column].threshold
    assert threshold is not None
    return column, int(threshold)


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

    All four start as not_started at the first session; each milestone before the current one
    is begun and reached in turn, spread over the course, and the current one began at most
    RECENT_WEEKS ago (STALLED_WEEKS ago for the stalled story). Once rebuilding time has begun,
    the pace the hurt partner set is reviewed every PACE_REVIEW_WEEKS (the same status recorded
    again). The moved-back story revisits rebuilding time two weeks before the end, after
    consistent reliability began: trust is lost faster than it is built.
    """
    if plan.milestone is None:
        return []
    last, current = plan.checkins - 1, plan.milestone
    recent = STALLED_WEEKS if plan.repair_story == "stalled" else RECENT_WEEKS
    begin_current = max(1, last - recent)
    begins = [
        begin_current if current == 1 else 1 + (m - 1) * (begin_current - 1) // (current - 1)
        for m in range(1, current + 1)
    ]
    # (week, order within the week, milestone, status): at one session a milestone is reached
    # before the next one begins, and a review comes after both.
    events = [(0, 0, m, "not_started") for m in range(1, 5)]
    for m, week in enumerate(begins, start=1):
        events.append((week, 1, m, "in_progress"))
        if m < current:
            events.append((begins[m], 0, m, "reached"))
    moved_back = plan.repair_story == "moved_back" and current == 4 and last - 2 > begins[3]
    revisit = last - 2 if moved_back else None
    if revisit is not None:
        events.append((revisit, 2, 3, "revisited"))
    if current >= 3:
        reached_3 = begins[3] if current > 3 else None
        for week in range(begins[2] + PACE_REVIEW_WEEKS, last + 1, PACE_REVIEW_WEEKS):
            if week in (reached_3, revisit):
                continue  # that session's change already records the pace
            status = "in_progress" if reached_3 is None or week < reached_3 else "reached"
            if revisit is not None and week > revisit:
                status = "revisited"
            events.append((week, 3, 3, status))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    # Short courses squeeze several changes into one week; never past the last session.
    return [(min(max(week, 0), last), m, status) for week, _, m, status in events]
