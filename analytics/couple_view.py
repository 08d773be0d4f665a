"""Everything the couple page shows, assembled in one call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from analytics.charts import global_score_chart
from analytics.couples import Couple, get_couple
from analytics.db import Database
from analytics.instruments import default
from analytics.scoring import global_scores, safety_answers
from analytics.sessions import list_sessions
from analytics.therapists import Actor


@dataclass(frozen=True)
class PartnerProgress:
    label: str
    name: str
    first: float | None
    latest: float | None
    checkins: int

    @property
    def change(self) -> float | None:
        if self.first is None or self.latest is None:
            return None
        return self.latest - self.first


@dataclass(frozen=True)
class CoupleOverview:
    couple: Couple
    safety: pd.DataFrame
    scores: pd.DataFrame
    progress: tuple[PartnerProgress, PartnerProgress]
    sessions: pd.DataFrame
    chart: go.Figure


def _progress(scores: pd.DataFrame, label: str, name: str) -> PartnerProgress:
    part = scores[scores["label"] == label].sort_values("completed_at")
    if part.empty:
        return PartnerProgress(label, name, None, None, 0)
    return PartnerProgress(
        label, name, float(part["score"].iloc[0]), float(part["score"].iloc[-1]), len(part)
    )


def couple_overview(db: Database, actor: Actor, couple_id: int) -> CoupleOverview:
    """The couple, its positive safety answers (shown first), both partners' global-score
    progress, the sessions, and the progress chart. Refuses couples outside the caseload."""
    couple = get_couple(db, actor, couple_id)
    scores = global_scores(db, couple_ids=[couple_id])
    names = {p.label: f"{p.name} ({p.label})" for p in couple.partners}
    progress = (
        _progress(scores, "A", couple.partner("A").name),
        _progress(scores, "B", couple.partner("B").name),
    )
    return CoupleOverview(
        couple=couple,
        safety=safety_answers(db, couple_ids=[couple_id]),
        scores=scores,
        progress=progress,
        sessions=list_sessions(db, actor, couple_id),
        chart=global_score_chart(scores, names, default()),
    )
