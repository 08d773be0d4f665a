"""Text that people or files supply is never interpreted as Markdown, HTML or LaTeX, on any page.

One practice whose every supplied field is hostile (tests/hostile_text.py): therapists, partner
names, emails, client and case codes, session notes, a repair case, an agenda, free-text answers,
an import with a hostile file name and headers, and the practice's own instrument file with
hostile names and labels. Every page, and every view within a page, is opened and checked with
`assert_no_leaks` (Markdown-rendering elements, Plotly figures, table column types).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.instruments import catalog
from analytics.practice import agendas, repair, sessions, settings
from analytics.practice.access import Actor
from analytics.practice.agendas import AgendaItem
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.opening import open_practice, sync_instruments
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.store.keys import key_file_path
from tests import factories
from tests.hostile_text import (
    ANCHOR,
    BARE,
    EMAIL,
    HOSTILE,
    IMAGE,
    LINK,
    STYLED,
    TAGS,
    assert_no_leaks,
    figures,
    markdown_problems,
    markdown_texts,
    page_leaks,
    plotly_problems,
    recorded_downloads,
    unsafe_file_names,
)
from tests.test_pages import choose, frame, open_app, rerun

pytestmark = pytest.mark.usefixtures("app_env", "download_names")

TODAY = dt.date.today()
NOW = dt.datetime.combine(TODAY, dt.time(9, 0))
CHECKIN = catalog.builtin("checkin")
CODES = [item.code for item in CHECKIN.answer_items]
TOPICS = CHECKIN.item("TXT1").text or ""
EXTRA = CHECKIN.item("TXT2").text or ""
FILE_NAME = f"{LINK} {IMAGE} {STYLED}.csv"
BROKEN_FILE = "[help](https:evil.example) <img src=x onerror=alert(1)> **b** $x$.toml"


@dataclass(frozen=True)
class Practice:
    therapist: Actor
    supervisor: Actor
    h1: int  # built-in check-ins, safety answers, sessions, a repair case and an agenda
    h2: int  # the practice's own (hostile) instrument
    h3: int  # a repair case carried over without a hurt partner


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


def hostile_instrument() -> str:
    """The template instrument with every name, label, wording and description made hostile."""
    text = catalog.template_text()
    for old, new in [
        ('"My practice\'s scale"', f"{LINK} {STYLED}"),
        ('"I felt close to my partner."', ANCHOR),
        ('"We drifted apart."', IMAGE),
        ('"Time together"', f"{LINK} {TAGS}"),
        ('"Feeling unsafe at home"', ANCHOR),
        ('"Topics for next session"', f"{STYLED} {EMAIL}"),
        ('"Closeness"', f"{STYLED} {TAGS} {BARE}"),
        ('"How close the partner feels; higher is better."', f"{ANCHOR} {LINK}"),
        ('"connection"', IMAGE),
        ('"Strongly disagree"', TAGS),
        ('"Strongly agree"', LINK),
        ('"Low"', TAGS),
        ('"Feels distant most of the time."', f"{LINK} {IMAGE}"),
        ('"Middle"', STYLED),
        ('"High"', ANCHOR),
    ]:
        assert old in text, old
        text = text.replace(old, _toml(new))
    return text


def _build(db: Database, instruments_dir: Path) -> Practice:
    """A practice whose every supplied field is hostile."""
    supervisor = add_therapist(db, f"{ANCHOR} {LINK}", role="supervisor")
    therapist = add_therapist(db, f"{STYLED} {IMAGE}")
    settings.update_time_zone(db, supervisor, "Europe/Berlin")
    (instruments_dir / "hostile.toml").write_text(hostile_instrument(), encoding="utf-8")
    # A file that cannot be used, with a hostile name: the Instruments page lists its problems.
    broken = hostile_instrument().replace("clinical_mean", "clinical_mena")
    broken = broken.replace('code = "my_scale"', 'code = "broken_scale"')
    (instruments_dir / BROKEN_FILE).write_text(broken, encoding="utf-8")
    outcome = sync_instruments(db, instruments_dir)
    assert not outcome.refused, outcome.refused
    start = TODAY - dt.timedelta(days=60)
    h1 = add_couple(
        db,
        therapist,
        "WWW.EVIL.EXAMPLE",
        PartnerInput(f"{LINK} {TAGS}", "[x](https://evil.example)@evil.example", "X._IT_.A"),
        PartnerInput(ANCHOR, EMAIL, "Y._IT_.B"),
        start_date=start,
    )
    h2 = add_couple(
        db,
        therapist,
        "H2._IT_.",
        PartnerInput(STYLED, "**b**@evil.example"),
        PartnerInput(IMAGE, "www.evil.example@evil.example"),
        start_date=start,
    )
    for week, (a, b) in enumerate([(2, 4), (3, 3), (4, 2), (5, 1)]):
        when = NOW - dt.timedelta(weeks=4 - week)
        last = week == 3
        texts = {"TXT1": HOSTILE[week], "TXT2": HOSTILE[week + 3]}
        factories.checkin(db, h1, "A", when, a, texts=texts, safety=1 if last else 0)
        factories.checkin(db, h1, "B", when, b, texts=texts, safety=None if last else 0)
        for label, level in (("A", a), ("B", b)):
            factories.answers(
                db,
                h2,
                label,
                when,
                {"CLO1": level, "CLO2": 6 - level, "CLO3": level, "SAFE1": 0},
                instrument="my_scale",
                texts={"NOTE1": HOSTILE[week + 1]},
            )
    for days, note in ((30, f"{LINK} {STYLED}"), (10, f"{ANCHOR} {IMAGE} {EMAIL}")):
        sessions.add_session(
            db, therapist, h1, TODAY - dt.timedelta(days), "both", note, today=TODAY
        )
    case = repair.open_case(
        db,
        therapist,
        h1,
        hurt_partner="A",
        description=f"{LINK} {IMAGE}",
        started_on=start,
        today=TODAY,
    )
    for milestone, status, extra in (
        (1, "reached", {"evidence": f"{STYLED} {ANCHOR}"}),
        (2, "reached", {"amends": f"{LINK} {BARE}"}),
        (3, "in_progress", {"pace": f"{IMAGE} {TAGS}"}),
    ):
        repair.record_change(
            db,
            therapist,
            case,
            milestone=milestone,
            status=status,
            effective_on=start + dt.timedelta(days=10 * milestone),
            today=TODAY,
            **extra,
        )
    agendas.save_agenda(
        db,
        therapist,
        h1,
        TODAY,
        [
            AgendaItem(kind="own", text=LINK, suggestion=IMAGE, source="therapist"),
            AgendaItem(kind="own", text=f"{STYLED} {ANCHOR}", source="therapist"),
            AgendaItem(kind="own", text=f"{BARE} {EMAIL} {TAGS}", source="therapist"),
        ],
        today=TODAY,
    )
    h3 = add_couple(
        db,
        therapist,
        "Z.-_IT_-",
        PartnerInput(f"{IMAGE} {BARE}", "z.a@evil.example"),
        PartnerInput(f"{LINK} {STYLED}", "z.b@evil.example"),
        start_date=start,
    )
    carried = repair.open_case(
        db, therapist, h3, hurt_partner="A", description="", started_on=start, today=TODAY
    )
    with db.transaction() as cur:  # as the migration carries over a case without one
        cur.execute("UPDATE repair_cases SET hurt_partner = NULL WHERE id = ?", [carried])
    return Practice(therapist, supervisor, h1, h2, h3)


@pytest.fixture(scope="module")
def _prebuilt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Practice]:
    """The hostile practice, built once for the module (about 3 s) and copied for each test."""
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "instruments"
    folder.mkdir()
    db = open_practice(root / "hostile.duckdb", instruments_folder=folder)
    try:
        practice = _build(db, folder)
    finally:
        db.close()
    return root / "hostile.duckdb", folder, practice


@pytest.fixture
def hostile(
    _prebuilt: tuple[Path, Path, Practice], db_path: Path, instruments_dir: Path
) -> Practice:
    """A fresh copy of the hostile practice: the test's database and instruments folder."""
    path, folder, practice = _prebuilt
    shutil.copyfile(path, db_path)
    # The copy opens with the prebuilt practice's key (copied owner-only, as the app wants it).
    key_copy = key_file_path(db_path)
    shutil.copyfile(key_file_path(path), key_copy)
    key_copy.chmod(0o600)
    for file in folder.iterdir():
        shutil.copyfile(file, instruments_dir / file.name)
    return practice


@pytest.fixture
def download_names() -> Iterator[list[str]]:
    """Every download file name drawn during the test; all plain stems (checked at the end)."""
    with recorded_downloads() as names:
        yield names
    assert not unsafe_file_names(names), names


def check(at: AppTest, what: str) -> AppTest:
    """No exception and no leak on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert_no_leaks(at, what)
    return at


# --- the checker itself ----------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_the_checker_finds_every_hostile_string_raw(text: str) -> None:
    assert markdown_problems(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_hostile_strings_pass(text: str) -> None:
    import ui
    from analytics.charts.text import plain

    assert not markdown_problems(ui.escape_markdown(text))
    assert not plotly_problems(plain(text))


def test_the_checker_allows_our_own_markdown() -> None:
    assert not markdown_problems("Add one on **Add a couple**; run `python -m analytics demo`.")
    assert not markdown_problems("Saved on 3 Mar 2026 10:21 (#4): 80% answered, C-1 · partner A")


def test_the_checker_finds_leaks_on_a_page() -> None:
    def script() -> None:
        import plotly.graph_objects as go
        import streamlit as st

        st.caption("[help](https://evil.example/login)")
        st.radio("Who", ["<img src=x onerror=alert(1)>"])
        st.segmented_control("Which", [":red[alert]"])
        with st.expander("**bold** _it_"):
            st.metric("www.evil.example", 1)
        st.plotly_chart(go.Figure(go.Scatter(x=[1], y=[1], name='<a href="x">y</a>')))
        st.dataframe({"a": ["x"]}, column_config={"a": st.column_config.LinkColumn()})

    at = AppTest.from_function(script).run()
    found = {(leak.where, leak.problem) for leak in page_leaks(at)}
    assert {
        ("caption.body", "link"),
        ("radio.option", "raw HTML"),
        ("button_group.option", "colour directive"),
        ("expander.label", "hostile bold"),
        ("metric.label", "bare link"),
        ("plotly_chart", "<a>"),
        ("dataframe column a", "link column"),
    } <= found, found


# --- every page ------------------------------------------------------------------------------


def test_caseload(hostile: Practice) -> None:
    for who in (hostile.therapist, hostile.supervisor):
        check(open_app(who), f"caseload as {who.role}")


def _couple_views(at: AppTest, what: str) -> None:
    """Every "More detail" option and every records section of the couple page. (Item answers
    open on one scale: the others differ only in built-in labels.)"""
    check(at, what)
    (detail,) = [c for c in at.segmented_control if c.label == "More detail"]
    for option in detail.options:
        check(choose(at, "More detail", option), f"{what}, {option}")
    (records,) = [c for c in at.segmented_control if c.label.startswith("Sessions, case")]
    for option in records.options:
        check(choose(at, records.label, option), f"{what}, {option}")


def test_couple_page_with_built_in_check_ins(hostile: Practice) -> None:
    at = open_app(hostile.therapist, "pages/couple.py", couple_id=hostile.h1)
    assert figures(at), "the couple page draws its charts"
    # The checker sees the page's text: the case code, escaped, in the title.
    assert ("title.body", "👫 WWW\u2060.EVIL.EXAMPLE") in list(markdown_texts(at))
    _couple_views(at, "couple page of H1")


def test_couple_page_with_the_practices_own_instrument(hostile: Practice) -> None:
    at = open_app(hostile.therapist, "pages/couple.py", couple_id=hostile.h2)
    # The scale's label from the instrument file is in the chart, escaped.
    assert "&lt;b&gt;bold&lt;/b&gt;" in json.dumps(figures(at))
    _couple_views(at, "couple page of H2")


def test_couple_page_as_supervisor(hostile: Practice) -> None:
    at = open_app(hostile.supervisor, "pages/couple.py", couple_id=hostile.h1)
    check(choose(at, "Sessions, case details and reports", "✏️ Case details"), "case details")


def test_repair_page(hostile: Practice) -> None:
    at = check(
        open_app(hostile.therapist, "pages/repair.py", repair_couple_id=hostile.h1),
        "repair page with a case",
    )
    assert figures(at), "the repair timeline is drawn"
    # A couple without a repair case: the form to open one names the partners.
    at = open_app(hostile.therapist, "pages/repair.py", repair_couple_id=hostile.h2)
    check(at, "repair page without a case")
    assert any(r.label.startswith("Hurt partner (") for r in at.radio)
    # A case without a hurt partner: the form to record one names them too.
    at = open_app(hostile.therapist, "pages/repair.py", repair_couple_id=hostile.h3)
    check(at, "repair case without a hurt partner")
    assert [r.label for r in at.radio] == ["Hurt partner"]
    check(open_app(hostile.supervisor, "pages/repair.py"), "repair page as supervisor")


def test_agenda_page(hostile: Practice, download_names: list[str]) -> None:
    for couple_id in (hostile.h1, hostile.h2):
        at = open_app(hostile.therapist, "pages/agenda.py", agenda_couple_id=couple_id)
        check(at, f"agenda of couple {couple_id}")
    day = TODAY.isoformat()
    assert {f"agenda-H2-_IT_-{day}.md", f"agenda-WWW-EVIL-EXAMPLE-{day}.pdf"} <= set(download_names)


def test_settings_instruments_and_audit(hostile: Practice) -> None:
    pages = {
        hostile.therapist: ("pages/settings.py", "pages/instruments.py", "pages/my_account.py"),
        # The audit page is in a supervisor's navigation only.
        hostile.supervisor: ("pages/settings.py", "pages/instruments.py", "pages/audit.py"),
    }
    for who in (hostile.therapist, hostile.supervisor):
        for page in pages[who]:
            at = check(open_app(who, page), f"{page} as {who.role}")
            if page == "pages/instruments.py":
                assert at.error, "the broken instrument file is reported"
                assert BROKEN_FILE in frame(at, "problem")["file"].tolist()


def test_new_couple_page(hostile: Practice) -> None:
    at = check(open_app(hostile.supervisor, "pages/new_couple.py"), "new couple page")
    at.text_input[0].input("WWW.EVIL.EXAMPLE.TWO")
    at.text_input(key="new_name_A").input(LINK)
    at.text_input(key="new_email_A").input("y@evil.example")
    at.text_input(key="new_name_B").input(ANCHOR)
    next(b for b in at.button if b.label == "Add couple").click().run()
    check(at, "new couple added")
    assert at.success


def _export() -> bytes:
    """A check-in export: one row for H1's partner A, one from an address nobody has; hostile
    free text, and a hostile extra column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "Completed", *CODES, TOPICS, EXTRA, LINK])
    when = (NOW - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    for email in ("[x](https://evil.example)@evil.example", "nobody@evil.example"):
        cells = ["Never" if c.startswith("SAF") else "Agree" for c in CODES]
        writer.writerow([email, when, *cells, STYLED, ANCHOR, IMAGE])
    return out.getvalue().encode()


def test_import_page(hostile: Practice) -> None:
    at = check(open_app(hostile.therapist, "pages/import_responses.py"), "import page")
    # A file that cannot be read: the message may quote it.
    at.file_uploader[0].upload(f"{LINK} {IMAGE}.xlsx", b"[x](https://evil.example)", "").run()
    check(at, "unreadable upload")
    assert at.error
    at = open_app(hostile.therapist, "pages/import_responses.py")
    at.file_uploader[0].upload(FILE_NAME, _export(), "text/csv").run()
    check(at, "import preview")
    (go,) = [b for b in at.button if b.label.startswith("Import ")]
    check(rerun(go.click()), "import done")
    assert at.success, "the import went through"
    # The unmatched row waits in the queue, with the file's name.
    check(open_app(hostile.therapist, "pages/import_responses.py"), "unmatched queue")
