"""Every demo couple's page, from app.py on the demo practice: no exception, safety first where
the demo has a disclosure, both partners on the progress chart, the barrier and trust profile,
the digest, and nothing drawn as "None"."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.demo.build import SUPERVISOR, build_demo
from analytics.practice.therapists import get_actor
from analytics.store.db import Database
from tests.test_pages import assert_no_none, choose, open_couple

pytestmark = pytest.mark.usefixtures("app_env")


def test_every_demo_couples_page_shows_the_couple_view(db: Database) -> None:
    build_demo(db, as_of=dt.date.today())
    supervisor = get_actor(db, SUPERVISOR)
    couples = db.query_rows("SELECT id, case_code FROM couples ORDER BY case_code")
    positive = {
        int(c)
        for (c,) in db.query_rows("SELECT DISTINCT couple_id FROM response_safety WHERE positive")
    }
    assert len(couples) >= 12 and positive
    for couple_id, code in couples:
        at = open_couple(supervisor, int(couple_id))
        assert at.title[-1].value.endswith(code), code
        charts = {
            json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
            for c in at.get("plotly_chart")
        }
        checked_in = db.query_value(
            "SELECT count(*) FROM responses r JOIN partners p ON p.id = r.partner_id"
            " WHERE p.couple_id = ?",
            [couple_id],
        )
        if not checked_in:
            assert not charts, code
            continue
        progress = next(spec for title, spec in charts.items() if title.endswith(" over time"))
        # One line per partner (every demo partner checks in), whatever else marks the axis.
        assert len([t for t in progress["data"] if t.get("mode") == "lines+markers"]) == 2, code
        assert any("most concerning first" in title for title in charts), code
        heatmaps = [
            json.loads(c.proto.spec)["layout"]["title"]["text"]
            for c in choose(at, "More detail", "Each check-in, scale by scale").get("plotly_chart")
        ]
        assert any("every check-in" in title for title in heatmaps), code
        texts = " ".join(str(t.value) for t in at.text)
        assert "None" not in texts and "nan" not in texts.split(), code
        if int(couple_id) in positive:
            assert at.error and "Safety screen" in at.error[0].value, code
        assert_no_none(at)
