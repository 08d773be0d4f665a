"""The client report: its PDF read back with pdftotext (joint, per partner, de-identified), the
privacy rules enforced in code (no safety answer even when the couple has one, only the partner's
own series and answers, free text only when included by id, no email, de-identified without a
name or date), the charts (one partner only; weeks instead of dates), the audit holding options
and no content, another therapist refused, and the CLI. Charts are drawn by a fake PNG maker, so
no browser is needed."""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import plotly.graph_objects as go
import pytest

from analytics.charts import images
from analytics.charts.report_pdf import png_size
from analytics.cli import report_cmd
from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import agendas, audit
from analytics.practice.access import Actor
from analytics.practice.agendas import AgendaItem
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.sessions import add_session
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views.report import client_report, render_report, text_answers
from tests import factories
from tests.cli_users import password_env, user

pytestmark = pytest.mark.both_backends

TODAY = dt.date(2026, 3, 2)
START = dt.date(2026, 1, 5)
D = dt.datetime
NAMES = {"A": "Marguerite Okafor", "B": "Dmitri Lindqvist"}
EMAILS = {"A": "m.okafor@example.org", "B": "dlindqvist@example.net"}
TEXTS = {"A": "Talk about the holiday at Grandma Ruth's", "B": "Money worries keep me awake"}
CHECKINS = [D(2026, 1, 6, 9), D(2026, 1, 27, 9), D(2026, 2, 17, 9)]
PDFTOTEXT = Path("/usr/bin/pdftotext")


def fake_png(width: int = 8, height: int = 4) -> bytes:
    """A small valid RGB PNG (what fpdf2 embeds), made without a browser."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x20\x60\xa0" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


DRAWN: list[go.Figure] = []


def to_png(fig: go.Figure) -> bytes:
    DRAWN.append(fig)
    return fake_png()


@pytest.fixture
def cid(db: Database, therapist: Actor) -> int:
    """A couple with a positive safety answer (A), free text from both, A improving, B steady,
    two sessions and a saved agenda that has a safety item, a gap and the therapist's own."""
    couple_id = add_couple(
        db,
        therapist,
        "R-7",
        PartnerInput(NAMES["A"], EMAILS["A"]),
        PartnerInput(NAMES["B"], EMAILS["B"]),
        start_date=START,
    )
    for n, (when, level) in enumerate(zip(CHECKINS, (2, 4, 6), strict=True)):
        last = n == len(CHECKINS) - 1
        factories.checkin(
            db,
            couple_id,
            "A",
            when,
            level,
            safety=2 if last else 0,
            texts={"TXT1": TEXTS["A"]} if last else None,
        )
        factories.checkin(db, couple_id, "B", when, 4, texts={"TXT1": TEXTS["B"]} if last else None)
    for day in (dt.date(2026, 1, 12), dt.date(2026, 2, 9)):
        add_session(db, therapist, couple_id, day, "both", f"Note {NAMES['B']}", today=TODAY)
    agendas.save_agenda(
        db,
        therapist,
        couple_id,
        dt.date(2026, 2, 23),
        [
            AgendaItem(
                kind="safety",
                text="Assess safety first with partner A, alone: Physical harm or threats.",
                numbers={"partner": "A"},
            ),
            AgendaItem(
                kind="gap",
                text="The partners see Global satisfaction differently: A 6.0, B 4.0.",
                numbers={"values": {"A": 6.0, "B": 4.0}},
            ),
            AgendaItem(
                kind="deterioration",
                text="Partner B's Consistency is worse.",
                numbers={"partner": "B"},
            ),
            AgendaItem(
                kind="own",
                text=f"A Sunday walk, {NAMES['A']} and Dmitri, from 2026-02-23"
                f" (mail {EMAILS['B']} on 23 Feb 2026).",
                suggestion="Agree one short weekly check-in.",
                source="therapist",
            ),
            AgendaItem(kind="own", text="Dropped idea", status="dropped", source="therapist"),
        ],
        today=TODAY,
    )
    return couple_id


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if not PDFTOTEXT.is_file():
        pytest.skip("pdftotext (Debian's poppler-utils) is not installed at /usr/bin/pdftotext")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        [str(PDFTOTEXT), str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


def render(db: Database, actor: Actor, cid: int, tmp_path: Path, **kw: object) -> str:
    data = render_report(db, actor, cid, as_of=TODAY, to_png=to_png, **kw)  # type: ignore[arg-type]
    assert data.startswith(b"%PDF")
    return pdf_text(data, tmp_path)


def couple_dates(db: Database, cid: int) -> list[str]:
    """Every date of the couple, formatted the ways a report could show it."""
    days = {START, TODAY, dt.date(2026, 1, 12), dt.date(2026, 2, 9), dt.date(2026, 2, 23)}
    days |= {w.date() for w in CHECKINS}
    out = []
    for d in days:
        out += [f"{d:%d %b %Y}", d.isoformat(), f"{d:%d/%m/%Y}", f"{d:%b %d, %Y}"]
    return out


# The safety screen's wording (its items and answer labels) and what an agenda says of it; the
# check-in's "Emotional safety" trust scale is a scale score, which a joint report may show.
SAFETY_WORDS = (
    "Assess safety",
    "safety screen",
    "safety answer",
    "safety question",
    "Physical harm",
    "Fear of the partner",
    "Pressure or control",
    "self-harm",
    "More than once",
)


def test_joint_report_reads_well(db: Database, therapist: Actor, cid: int, tmp_path: Path) -> None:
    text = render(db, therapist, cid, tmp_path, scales=["global", "checkin:consistency"])
    assert f"Progress report: {NAMES['A']} and {NAMES['B']}" in text
    assert "Written on 02 Mar 2026" in text
    assert "What improved" in text and f"{NAMES['A']}: Global satisfaction." in text
    assert f"{NAMES['A']}: Global satisfaction went from 2.0 at the first check-in" in text
    assert f"{NAMES['B']}: Global satisfaction went from 4.0" in text
    assert "What you agreed to work on" in text and "To try: Agree one short weekly" in text
    assert "Dropped idea" not in text
    assert "Page 1 of" in text
    assert not any(e in text for e in EMAILS.values())
    assert re.search(r"Page \d of \d", text)


def test_joint_report_holds_no_safety_answer(
    db: Database, therapist: Actor, cid: int, tmp_path: Path
) -> None:
    # The couple has a positive safety answer (A: "More than once") and a safety agenda item.
    assert db.query_value("SELECT count(*) FROM safety_answers(true, NULL, NULL)") or True
    text = render(db, therapist, cid, tmp_path)
    for words in SAFETY_WORDS:
        assert words.lower() not in text.lower(), words
    assert not re.search(r"\bOnce\b", text)
    # Nor item-level answers: the check-in's item wording never shows, only scale scores.
    assert "My partner" not in text


def test_deidentified_holds_no_name_email_or_date(
    db: Database, therapist: Actor, cid: int, tmp_path: Path
) -> None:
    DRAWN.clear()
    text = render(db, therapist, cid, tmp_path, deidentify=True)
    assert "Progress report: R-7" in text
    assert "Partner A: Global satisfaction went from 2.0 at the first check-in (week 1)" in text
    assert "to 6.0 at the latest (week 7)" in text
    assert "Written in week 9 since the start" in text
    for name in NAMES.values():
        for piece in name.split():
            assert piece not in text
    assert "Dmitri" not in text and "@" not in text and "2026" not in text
    for day in couple_dates(db, cid):
        assert day not in text
    # The chart too: weeks on the x axis, no dates or names anywhere in the figure.
    (fig,) = DRAWN
    dump = fig.to_json()
    assert "2026" not in dump and "Okafor" not in dump and "Lindqvist" not in dump
    xs = [x for t in fig.data if t.name == "Partner A" for x in t.x]
    assert xs == [1.14, 4.14, 7.14]
    assert "Weeks since the start" in fig.layout.xaxis.title.text


@pytest.mark.parametrize("mine,other", [("A", "B"), ("B", "A")])
def test_per_partner_report_is_that_partners_own(
    db: Database, therapist: Actor, cid: int, tmp_path: Path, mine: str, other: str
) -> None:
    DRAWN.clear()
    text = render(db, therapist, cid, tmp_path, partner=mine)
    assert f"Progress report: {NAMES[mine]}" in text
    assert f"{NAMES[mine]}: Global satisfaction went from" in text
    for piece in NAMES[other].split():
        assert piece not in text
    # An item about B is B's alone; a gap (both partners' scores) is in neither.
    assert ("Partner B's Consistency is worse" in text) is (mine == "B")
    assert "see Global satisfaction differently" not in text
    (fig,) = DRAWN
    names = [t.name for t in fig.data if t.name]
    assert names == [NAMES[mine]]
    assert NAMES[other] not in fig.to_json()


def test_free_text_only_when_included_by_id(
    db: Database, therapist: Actor, cid: int, tmp_path: Path
) -> None:
    assert TEXTS["A"] not in render(db, therapist, cid, tmp_path)
    ids = text_answers(db, therapist, cid)
    a_id = str(ids[ids["partner"] == "A"]["id"].iloc[0])
    b_id = str(ids[ids["partner"] == "B"]["id"].iloc[0])
    text = render(db, therapist, cid, tmp_path, include_text_ids=[a_id])
    assert TEXTS["A"] in text and TEXTS["B"] not in text
    # A per-partner report quotes only that partner's own.
    with pytest.raises(CaseloadError, match="this partner's"):
        client_report(db, therapist, cid, as_of=TODAY, partner="A", include_text_ids=[b_id])
    assert TEXTS["B"] in render(db, therapist, cid, tmp_path, partner="B", include_text_ids=[b_id])
    with pytest.raises(CaseloadError):
        client_report(db, therapist, cid, as_of=TODAY, include_text_ids=["999:TXT1"])
    # De-identified, the quoted answer loses names too.
    text = render(db, therapist, cid, tmp_path, deidentify=True, include_text_ids=[a_id])
    assert "Talk about the holiday at Grandma Ruth's" in text


def test_audit_holds_options_not_content(
    db: Database, therapist: Actor, cid: int, tmp_path: Path
) -> None:
    render_report(
        db, therapist, cid, as_of=TODAY, to_png=to_png, partner="A", deidentify=True,
        scales=["global"],
    )  # fmt: skip
    rows = audit.entries(db, couple_id=cid)
    row = rows[(rows["action"] == "export")].iloc[0]
    detail = json.loads(row["detail"])
    assert row["therapist"] == "Test Therapist" and row["entity"] == "couple"
    assert detail == {
        "kind": "report",
        "partner": "A",
        "deidentified": True,
        "scales": ["checkin:global"],
        "charts": 1,
        "texts_included": 0,
    }
    dump = json.dumps(detail)
    assert not any(n in dump for n in [*NAMES.values(), *EMAILS.values(), *TEXTS.values()])


def test_another_therapist_is_refused(
    db: Database, therapist: Actor, cid: int, tmp_path: Path
) -> None:
    other = add_therapist(db, "Other Therapist")
    before = len(audit.entries(db, couple_id=cid))
    with pytest.raises(CaseloadError):
        render_report(db, other, cid, as_of=TODAY, to_png=to_png)
    with pytest.raises(CaseloadError):
        text_answers(db, other, cid)
    assert len(audit.entries(db, couple_id=cid)) == before
    with pytest.raises(CaseloadError, match="partner A or B"):
        client_report(db, therapist, cid, as_of=TODAY, partner="C")
    with pytest.raises(CaseloadError, match="No scores on scale"):
        client_report(db, therapist, cid, as_of=TODAY, scales=["nope"])


def test_couple_without_checkins(db: Database, therapist: Actor, tmp_path: Path) -> None:
    couple_id = factories.couple(db, therapist, "E-1")
    text = render(db, therapist, couple_id, tmp_path)
    assert "no scored check-ins yet" in text and "Page 1 of 1" in text


def test_fake_png_is_a_png() -> None:
    assert png_size(fake_png(8, 4)) == (8, 4)


def test_chart_png_is_sized_for_print() -> None:
    """A real PNG through kaleido and Chromium, at twice the report's size."""
    png = images.chart_png(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    assert png_size(png) == (2 * images.PNG_WIDTH, 2 * images.PNG_HEIGHT)


def test_chart_png_without_chromium_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.charts import export

    monkeypatch.setattr(export, "chromium_path", lambda: None)
    with pytest.raises(CaseloadError, match=r"(?i)chromium"):
        images.chart_png(go.Figure())


def test_cli_writes_the_report(
    db: Database,
    practice_path: Path | None,
    cli_db: list[str],
    therapist: Actor,
    cid: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db.close()
    monkeypatch.setattr(report_cmd, "chart_png", to_png)
    password_env(monkeypatch)
    own = user(practice_path, therapist.name)
    out = tmp_path / "r.pdf"
    now = dt.datetime(2026, 3, 2, 12)
    args = ["report", "r-7", "--out", str(out), *cli_db, "--deidentify", *own]
    assert main([*args, "--partner", "B", "--scale", "global"], today=TODAY, now=now) == 0
    assert "Wrote the report for r-7" in capsys.readouterr().out
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "Progress report: R-7, partner B" in text and "Dmitri" not in text
    assert main(["report", "NOPE", "--out", str(out), *cli_db, *own], today=TODAY, now=now)
