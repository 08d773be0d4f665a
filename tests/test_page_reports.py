"""AppTest of client reports from the pages: the couple page's report (joint, per partner,
de-identified; made and audited only when downloaded) and the caseload's zip of every active
couple's report with its progress bar. Chart images are faked (no browser needed here; the real
ones are tested in tests/test_report.py and tests/test_exports.py)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from analytics.charts import images
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_page_exports import _click, _downloads, _keep_deferred  # noqa: F401
from tests.test_pages import TODAY, choose, open_app, open_couple, rerun
from tests.test_report import fake_png, pdf_text

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]
RECORDS = "Sessions, case details and reports"


@pytest.fixture(autouse=True)
def _fake_images(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "chart_png", lambda _fig: fake_png(900, 430))


@pytest.fixture
def couple(db: Database, therapist: Actor) -> int:
    couple_id = factories.couple(db, therapist, "R-1")
    for week, level in enumerate([2, 4, 5]):
        when = TODAY - dt.timedelta(weeks=3 - week)
        factories.checkin(db, couple_id, "A", when, level, safety=1 if week == 2 else 0)
        factories.checkin(db, couple_id, "B", when, 3)
    return couple_id


def _reports(db: Database) -> int:
    log = audit.entries(db)
    return int(log["detail"].str.contains('"kind": "report"').sum())


def test_report_is_made_only_when_downloaded_and_holds_what_was_chosen(
    db: Database, therapist: Actor, couple: int, tmp_path: Path
) -> None:
    at = choose(open_couple(therapist, couple), RECORDS, "📄 Client report")
    assert _reports(db) == 0  # nothing is made while the options are shown
    at.radio(key=f"report_for_{couple}").set_value("B")
    rerun(at.checkbox(key=f"report_deid_{couple}").check())
    name, pdf = _click(_downloads(at)[f"report_download_{couple}"])
    assert name == "report-R-1-B.pdf" and pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    assert "R-1" in text
    for leak in ("R-1 Alpha", "R-1 Beta", "@example.org", f"{TODAY:%Y}", "Once"):
        assert leak not in text
    assert _reports(db) == 1


def test_every_active_couples_report_in_one_zip(
    db: Database, therapist: Actor, couple: int
) -> None:
    factories.couple(db, therapist, "R-2")  # active, no check-ins yet: a one-page report
    at = open_app(therapist, "pages/caseload.py")
    assert not [b for b in at.get("download_button") if "batch" in b.proto.id]
    at = rerun(next(b for b in at.button if b.label == "Make the reports").click())
    (bar,) = at.get("progress")
    assert bar.proto.text == "2 of 2 reports"
    (download,) = [b for b in at.get("download_button") if "batch_download" in b.proto.id]
    archive = zipfile.ZipFile(io.BytesIO(at.session_state["_reports_zip"]))
    assert sorted(archive.namelist()) == ["report-R-1.pdf", "report-R-2.pdf"]
    assert all(archive.read(n).startswith(b"%PDF") for n in archive.namelist())
    assert download.proto.label == "Download the zip"
    assert _reports(db) == 2
