"""Everything the couple page draws when it opens, read in one pass: the overview (safety first),
the digest of what changed since the last session, the progress chart on the headline scale and
the barrier and trust profile. They share one read of the couple's clinical rows
(`couple_facts`), so opening a couple asks DuckDB for each of them once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.couple import CoupleOverview, ProgressChart, couple_overview, progress_chart
from analytics.views.couple_facts import couple_facts
from analytics.views.digest import Digest, couple_digest
from analytics.views.focus import about_couple
from analytics.views.profile import CoupleProfile, couple_profile


@dataclass(frozen=True)
class CouplePage:
    overview: CoupleOverview
    digest: Digest
    progress: ProgressChart | None  # on the headline scale; None before the first check-in
    profile: CoupleProfile


@about_couple
def couple_page(db: Database, actor: Actor, couple_id: int, *, as_of: dt.date) -> CouplePage:
    """The couple page as it opens. Refuses couples outside the actor's caseload."""
    facts = couple_facts(db, actor, couple_id, as_of=as_of)
    overview = couple_overview(db, actor, couple_id, as_of=as_of, facts=facts)
    progress = None
    if overview.chart_scales:
        progress = progress_chart(
            db,
            actor,
            couple_id,
            overview.chart_instrument,
            overview.headline_code,
            as_of=as_of,
            facts=facts,
        )
    return CouplePage(
        overview=overview,
        digest=couple_digest(db, actor, couple_id, as_of=as_of, facts=facts),
        progress=progress,
        profile=couple_profile(db, actor, couple_id, as_of=as_of, facts=facts),
    )
