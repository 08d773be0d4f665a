"""The clinical rows one couple's page is built from, read once per page: the couple (access
checked), its flags, each partner's change per scale, the gaps between them, every scale score,
the safety answers and unanswered safety screens, the sessions and the repair milestones. The
overview, the digest, the profile and the progress chart all read these same rows, so the page
asks DuckDB for each of them once (they are the clinical SQL's own output; nothing is
re-derived here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analytics.clinical import change, flags, gaps, scores
from analytics.practice import repair
from analytics.practice.access import Actor
from analytics.practice.couples import Couple, get_couple
from analytics.practice.sessions import list_sessions
from analytics.store.db import Database


@dataclass(frozen=True)
class CoupleFacts:
    couple: Couple
    flags: pd.DataFrame  # clinical.flags.couple_flags: safety first
    changes: pd.DataFrame  # clinical.change.partner_change: per partner, instrument and scale
    gaps: pd.DataFrame  # clinical.gaps.scale_gaps: per instrument and scale
    scores: pd.DataFrame  # clinical.scores.scale_scores: every scored response and scale
    safety: pd.DataFrame  # clinical.flags.safety_answers: newest first
    unanswered: pd.DataFrame  # clinical.flags.safety_unanswered: newest first
    sessions: pd.DataFrame  # practice.sessions.list_sessions: newest first
    milestones: pd.DataFrame  # practice.repair.milestone_changes: repair milestone changes


def couple_facts(db: Database, actor: Actor, couple_id: int, *, as_of: dt.date) -> CoupleFacts:
    """Every clinical row of one couple's page. Refuses couples outside the actor's caseload."""
    couple = get_couple(db, actor, couple_id)  # the access check comes before any read
    return CoupleFacts(
        couple=couple,
        flags=flags.couple_flags(db, actor, as_of=as_of, couple_ids=[couple_id]),
        changes=change.partner_change(db, actor, [couple_id]),
        gaps=gaps.scale_gaps(db, actor, [couple_id]),
        scores=scores.scale_scores(db, actor, [couple_id]),
        safety=flags.safety_answers(db, actor, couple_id),
        unanswered=flags.safety_unanswered(db, actor, couple_id),
        sessions=list_sessions(db, actor, couple_id),
        milestones=repair.milestone_changes(db, actor, couple_id),
    )
