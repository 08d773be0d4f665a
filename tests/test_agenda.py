"""The session agenda: each drafting rule raises its item and skips it, carry-over of unfinished
items, saving (reorder, edit, drop, add) as new versions, marking done, the audit holding counts
only, another therapist refused, the practice library (built-in, a therapist's override, a
malformed file refused), Markdown, the one-page PDF read back with pdftotext, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pytest

from analytics.charts.agenda_pdf import agenda_pdf, latin1
from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import agendas, audit, repair
from analytics.practice.access import Actor
from analytics.practice.agendas import AgendaItem
from analytics.practice.library import builtin, load_library
from analytics.practice.safety import record_assessment
from analytics.practice.sessions import add_session
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views.agenda import (
    KIND_WORDS,
    agenda_inputs,
    agenda_markdown,
    agenda_view,
    draft_agenda,
)
from tests import factories
from tests.cli_users import password_env, user

pytestmark = pytest.mark.both_backends

TODAY = dt.date(2026, 3, 2)
D = dt.datetime


def draft(db: Database, actor: Actor, couple_id: int, session: dt.date = TODAY) -> list[AgendaItem]:
    return draft_agenda(
        agenda_inputs(db, actor, couple_id, as_of=TODAY, session_date=session, library_folder=None)
    )


def kinds(items: list[AgendaItem]) -> list[str]:
    return [i.kind for i in items]


@pytest.fixture
def cid(db: Database, therapist: Actor) -> int:
    return factories.couple(db, therapist, "C-1")


def steady(db: Database, cid: int, when: D, level: int = 4, **kw: object) -> None:
    """Both partners check in at the same level (no gap, no change)."""
    factories.checkin(db, cid, "A", when, level, **kw)  # type: ignore[arg-type]
    factories.checkin(db, cid, "B", when, level, **kw)  # type: ignore[arg-type]


# --- the rules, each both ways --------------------------------------------------------------------


def test_quiet_couple_has_an_empty_draft(db: Database, therapist: Actor, cid: int) -> None:
    steady(db, cid, D(2026, 1, 6, 9))
    steady(db, cid, D(2026, 2, 6, 9))
    assert draft(db, therapist, cid) == []


def test_safety_first_without_the_answer(db: Database, therapist: Actor, cid: int) -> None:
    steady(db, cid, D(2026, 1, 6, 9))
    factories.checkin(db, cid, "A", D(2026, 2, 6, 9), 1, safety=2)  # also a deterioration
    factories.checkin(db, cid, "B", D(2026, 2, 6, 9), 4, safety=None)
    items = draft(db, therapist, cid)
    assert kinds(items)[:2] == ["safety", "safety_unanswered"]
    first = items[0]
    assert first.text.startswith("Assess safety first with partner A")
    assert "Physical harm or threats" in first.text
    assert first.numbers["partner"] == "A" and first.numbers["dates"] == ["2026-02-06"]
    # The answer given ("More than once") is never quoted.
    assert all("More than once" not in i.text + i.why for i in items)
    assert items[1].numbers["partner"] == "B" and "unanswered" in items[1].text
    assert "deterioration" in kinds(items)[2:]
    # Assessed: both skipped.
    record_assessment(db, therapist, cid, note="Seen alone.", assessed_on=TODAY, today=TODAY)
    assert not {"safety", "safety_unanswered"} & set(kinds(draft(db, therapist, cid)))


def test_deterioration_raised_and_skipped(db: Database, therapist: Actor, cid: int) -> None:
    steady(db, cid, D(2026, 1, 6, 9), 5)
    steady(db, cid, D(2026, 2, 6, 9), 5)
    assert "deterioration" not in kinds(draft(db, therapist, cid))
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 1)
    items = [i for i in draft(db, therapist, cid) if i.kind == "deterioration"]
    assert items and all(i.numbers["partner"] == "A" for i in items)
    g = next(i for i in items if i.numbers["scale"] == "global")
    assert g.numbers["values"] == [5.0, 1.0]
    assert g.numbers["dates"] == ["2026-01-06", "2026-02-20"]
    assert g.text == "Partner A's Global satisfaction is worse: 5.0 → 1.0."
    assert g.suggestion == builtin().scales["global"][0]


def test_widest_two_gaps_beyond_noise(db: Database, therapist: Actor, cid: int) -> None:
    factories.checkin(db, cid, "A", D(2026, 2, 6, 9), 4)
    factories.checkin(db, cid, "B", D(2026, 2, 6, 9), 4)
    assert "gap" not in kinds(draft(db, therapist, cid))
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 1)
    factories.checkin(db, cid, "B", D(2026, 2, 20, 9), 6)
    gaps = [i for i in draft(db, therapist, cid) if i.kind == "gap"]
    assert len(gaps) == 2
    assert gaps[0].numbers["values"] == {"A": 1.0, "B": 6.0}
    assert "wider than noise" in gaps[0].why


def test_barrier_rise_since_the_last_session(db: Database, therapist: Actor, cid: int) -> None:
    # Partner A: barriers 4 at the start, 1 before the session, 4 after: back where they began
    # (no deterioration since the first check-in) but up by 3 since the session.
    factories.checkin(db, cid, "A", D(2026, 1, 6, 9), 4, barriers=4)
    factories.checkin(db, cid, "A", D(2026, 2, 1, 9), 4, barriers=1)
    assert "barrier_rise" not in kinds(draft(db, therapist, cid))  # no session yet
    add_session(db, therapist, cid, dt.date(2026, 2, 3), "both", today=TODAY)
    assert "barrier_rise" not in kinds(draft(db, therapist, cid))  # nothing after it
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 4, barriers=2)  # up 1: within noise
    assert "barrier_rise" not in kinds(draft(db, therapist, cid))
    factories.checkin(db, cid, "A", D(2026, 2, 27, 9), 4, barriers=4)
    items = [i for i in draft(db, therapist, cid) if i.kind == "barrier_rise"]
    assert {i.numbers["scale"] for i in items} == {
        "fear_of_vulnerability",
        "past_hurt",
        "communication_gaps",
        "stressors",
    }
    comm = next(i for i in items if i.numbers["scale"] == "communication_gaps")
    assert comm.numbers["values"] == [1.0, 4.0]
    assert comm.numbers["dates"] == ["2026-02-01", "2026-02-27"]
    assert "since the session of 03 Feb 2026" in comm.why
    assert comm.suggestion is not None and "“I” statements" not in comm.suggestion
    assert "'I' statements" in comm.suggestion


def test_repair_items(db: Database, therapist: Actor, cid: int) -> None:
    assert not [k for k in kinds(draft(db, therapist, cid)) if k.startswith("repair")]
    start = TODAY - dt.timedelta(days=80)
    case = repair.open_case(
        db, therapist, cid, hurt_partner="B", description="x", started_on=start, today=TODAY
    )
    assert not [k for k in kinds(draft(db, therapist, cid)) if k.startswith("repair")]
    repair.record_change(
        db, therapist, case, milestone=1, status="reached", effective_on=start, today=TODAY
    )
    repair.record_change(
        db,
        therapist,
        case,
        milestone=2,
        status="reached",
        effective_on=start,
        today=TODAY,
        amends="Agreed amends.",
    )
    repair.record_change(
        db,
        therapist,
        case,
        milestone=3,
        status="in_progress",
        effective_on=start,
        today=TODAY,
        pace="Slowly.",
    )
    items = [i for i in draft(db, therapist, cid) if i.kind.startswith("repair")]
    assert kinds(items) == ["repair", "repair_stall", "repair_pace"]
    assert items[0].numbers["milestone"] == 3 and items[0].numbers["days"] == 80
    assert items[0].suggestion == builtin().milestones[3][0]
    assert "80 days" in items[1].why and "review" in items[2].why


def test_topics_since_the_session(db: Database, therapist: Actor, cid: int) -> None:
    factories.checkin(db, cid, "A", D(2026, 1, 6, 9), 4, texts={"TXT1": "Old worry"})
    add_session(db, therapist, cid, dt.date(2026, 1, 10), "both", today=TODAY)
    assert "topics" not in kinds(draft(db, therapist, cid))  # before the session
    factories.checkin(db, cid, "B", D(2026, 2, 6, 9), 4, texts={"TXT1": "Money <b>worries</b>"})
    topics = [i for i in draft(db, therapist, cid) if i.kind == "topics"]
    assert len(topics) == 1
    assert topics[0].numbers == {"partner": "B", "answers": 1, "dates": ["2026-02-06"]}
    assert "Money <b>worries</b>" in topics[0].text and "Old worry" not in topics[0].text
    assert topics[0].why == "1 free-text answer from partner B since the session of 10 Jan 2026."


def test_improvement_named(db: Database, therapist: Actor, cid: int) -> None:
    steady(db, cid, D(2026, 1, 6, 9), 1)
    steady(db, cid, D(2026, 2, 6, 9), 1)
    assert "improvement" not in kinds(draft(db, therapist, cid))
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 5)
    items = draft(db, therapist, cid)
    assert "improvement" in kinds(items)
    g = next(i for i in items if i.kind == "improvement" and i.numbers["scale"] == "global")
    assert g.text == "Name with the couple: partner A's Global satisfaction recovered, 1.0 → 5.0."
    assert g.numbers["partner"] == "A" and g.suggestion is None


# --- saving, carry-over, marking done, audit, access ----------------------------------------------


def test_save_edit_reorder_drop_add_round_trip(db: Database, therapist: Actor, cid: int) -> None:
    steady(db, cid, D(2026, 1, 6, 9), 5)
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 1, texts={"TXT1": "Secret topic"})
    items = draft(db, therapist, cid)
    assert len(items) >= 3
    first = agendas.save_agenda(db, therapist, cid, TODAY, items, today=TODAY)
    saved = agendas.agenda_for(db, therapist, cid, TODAY)
    assert saved is not None and saved.id == first and saved.version == 1
    assert [(i.kind, i.text, i.numbers) for i in saved.items] == [
        (i.kind, i.text, i.numbers) for i in items
    ]
    # Reorder (last first), edit one, drop one, add one of the therapist's own.
    edited = [
        items[-1],
        AgendaItem(**{**items[0].__dict__, "text": "Edited words"}),
        AgendaItem(**{**items[1].__dict__, "status": "dropped"}),
        AgendaItem(kind="own", text="Plan the holidays", source="therapist"),
    ]
    agendas.save_agenda(db, therapist, cid, TODAY, edited, today=TODAY)
    again = agendas.agenda_for(db, therapist, cid, TODAY)
    assert again is not None and again.version == 2
    assert [i.text for i in again.items] == [
        items[-1].text,
        "Edited words",
        items[1].text,
        "Plan the holidays",
    ]
    assert [i.status for i in again.items] == ["open", "open", "dropped", "open"]
    assert again.items[3].source == "therapist"
    hist = agendas.history(db, therapist, cid)
    assert hist["version"].tolist() == [2, 1]
    assert hist["latest"].tolist() == [True, False]
    assert hist.iloc[0][["items", "open", "dropped"]].tolist() == [4, 3, 1]
    # The page shows the saved agenda for the date, not a new draft.
    view = agenda_view(db, therapist, cid, as_of=TODAY, session_date=TODAY, library_folder=None)
    assert view.saved is not None and [i.text for i in view.items][1] == "Edited words"
    # The audit holds counts, never an item's words.
    log = audit.entries(db, couple_id=cid)
    saves = log[log["entity"] == "agenda"]
    assert len(saves) == 2
    assert json.loads(saves.iloc[0]["detail"])["items"] == 4
    everything = " ".join(str(v) for v in log.to_numpy().ravel())
    for words in ("Edited words", "Plan the holidays", "Secret topic", items[0].text):
        assert words not in everything


def test_empty_text_refused(db: Database, therapist: Actor, cid: int) -> None:
    with pytest.raises(CaseloadError, match="no text"):
        agendas.save_agenda(
            db, therapist, cid, TODAY, [AgendaItem(kind="own", text="  ")], today=TODAY
        )


def test_unfinished_items_carry_over(db: Database, therapist: Actor, cid: int) -> None:
    last = dt.date(2026, 2, 2)
    agendas.save_agenda(
        db,
        therapist,
        cid,
        last,
        [
            AgendaItem(kind="own", text="Still to do", source="therapist"),
            AgendaItem(kind="own", text="Done already", source="therapist"),
            AgendaItem(kind="own", text="Not wanted", source="therapist", status="dropped"),
            # A data item the fresh draft says again: not carried twice.
            AgendaItem(
                kind="deterioration", text="Old words", numbers={"scale": "global", "partner": "A"}
            ),
        ],
        today=TODAY,
    )
    saved = agendas.last_agenda(db, therapist, cid)
    assert saved is not None
    done = agendas.mark_items(db, therapist, [saved.items[1].id or 0])
    assert done == 1
    assert agendas.mark_items(db, therapist, [saved.items[1].id or 0]) == 0  # already done
    steady(db, cid, D(2026, 1, 6, 9), 5)
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 1)
    items = draft(db, therapist, cid)
    carried = [i for i in items if i.carried_from is not None]
    assert [i.text for i in carried] == ["Still to do"]
    assert carried[0].carried_from == saved.items[0].id
    assert carried[0].why == "Carried over from the agenda of 02 Feb 2026 (not done)."
    assert items[-1] is carried[0]  # last in priority
    # An agenda for the same or a later date is not "the last one" for this draft.
    assert [i.text for i in draft(db, therapist, cid, session=last) if i.carried_from] == []
    # Marked done: not carried.
    agendas.mark_items(db, therapist, [saved.items[0].id or 0])
    assert not [i for i in draft(db, therapist, cid) if i.carried_from is not None]


def test_another_therapist_is_refused(db: Database, therapist: Actor, cid: int) -> None:
    agendas.save_agenda(
        db, therapist, cid, TODAY, [AgendaItem(kind="own", text="Mine")], today=TODAY
    )
    saved = agendas.last_agenda(db, therapist, cid)
    assert saved is not None
    other = add_therapist(db, "Other Therapist")
    for call in (
        lambda: agendas.save_agenda(db, other, cid, TODAY, [], today=TODAY),
        lambda: agendas.mark_items(db, other, [saved.items[0].id or 0]),
        lambda: agendas.last_agenda(db, other, cid),
        lambda: agendas.history(db, other, cid),
        lambda: agendas.get_agenda(db, other, saved.id),
        lambda: draft(db, other, cid),
    ):
        with pytest.raises(CaseloadError):
            call()
    assert agendas.get_agenda(db, therapist, saved.id).items[0].text == "Mine"


# --- the practice library ---


def test_library_covers_every_scale_and_milestone() -> None:
    lib = builtin()
    assert set(lib.scales) == {
        "fear_of_vulnerability", "past_hurt", "communication_gaps", "stressors", "consistency",
        "transparency", "accountability", "boundaries", "vulnerability", "intimacy", "rituals",
        "goals", "global",
    }  # fmt: skip
    assert set(lib.milestones) == {1, 2, 3, 4}
    assert all(2 <= len(v) <= 3 for v in [*lib.scales.values(), *lib.milestones.values()])
    assert "weekly check-in" in lib.scales["rituals"][0]


def test_therapist_library_overrides_and_malformed_is_refused(instruments_dir: Path) -> None:
    assert load_library(instruments_dir) == builtin()
    (instruments_dir / "library.toml").write_text(
        '[scales]\nrituals = ["Our own ritual"]\nnew_scale = ["Something new"]\n', "utf-8"
    )
    lib = load_library(instruments_dir)
    assert lib.for_scale("rituals") == "Our own ritual"
    assert lib.for_scale("new_scale") == "Something new"
    assert lib.for_scale("goals") == builtin().for_scale("goals")
    for bad, words in (
        ("[scales\n", "not valid TOML"),
        ('[scales]\nrituals = "one string"\n', "scales.rituals must be a list"),
        ("[milestones]\n7 = ['x']\n", "numbered 1 to 4"),
        ("[other]\n", "unknown sections"),
    ):
        (instruments_dir / "library.toml").write_text(bad, "utf-8")
        with pytest.raises(CaseloadError, match=words):
            load_library(instruments_dir)


# --- Markdown, PDF, CLI ---

ITEMS = [
    AgendaItem(kind="safety", text="Assess safety first with partner A, alone: Fear.", why="W1"),
    AgendaItem(kind="gap", text="Partners see *Intimacy* differently", suggestion="Walk together"),
    AgendaItem(kind="own", text="Zoë & 李 😀 plan", source="therapist", status="done"),
    AgendaItem(kind="own", text="Dropped one", status="dropped"),
]


def test_markdown_escapes_and_leaves_out_dropped() -> None:
    md = agenda_markdown("C-1", TODAY, ITEMS)
    assert md.startswith("# Session agenda: C\\-1, 02 Mar 2026")
    assert "\\*Intimacy\\*" in md and "Dropped one" not in md
    assert "3. [x] **Therapist's item**: Zoë & 李 😀 plan" in md


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    if not Path("/usr/bin/pdftotext").exists():
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "agenda.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["/usr/bin/pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    pages = subprocess.run(
        ["/usr/bin/pdfinfo", str(path)], capture_output=True, text=True, check=False
    ).stdout
    if pages:
        assert re.search(r"^Pages:\s+1$", pages, re.M)
    return " ".join(done.stdout.split())


def test_pdf_holds_the_items(tmp_path: Path) -> None:
    text = _pdf_text(agenda_pdf("C-1", TODAY, ITEMS, kind_words=KIND_WORDS), tmp_path)
    assert "Session agenda: C-1, 02 Mar 2026" in text
    assert "Assess safety first with partner A" in text
    assert "Try: Walk together" in text and "Why: W1" in text
    assert "Zoë & ?" in text  # DejaVu has no CJK glyph: a "?" rather than a failure
    assert "Dropped one" not in text


def test_pdf_without_a_unicode_font_folds_text(tmp_path: Path) -> None:
    data = agenda_pdf("C-1", TODAY, ITEMS, kind_words=KIND_WORDS, fonts=tmp_path / "none")
    text = _pdf_text(data, tmp_path)
    assert "Zoe & ? ? plan" in text or "Zoë & ? ? plan" in text
    assert latin1("Zoë 李 😀") == "Zoë ? ?"


def test_pdf_stays_on_one_page(tmp_path: Path) -> None:
    many = [
        AgendaItem(kind="own", text=f"Item number {n} " + "word " * 40, why="w") for n in range(40)
    ]
    text = _pdf_text(agenda_pdf("C-1", TODAY, many, kind_words=KIND_WORDS), tmp_path)
    assert "Item number 0" in text and "more item(s): see the dashboard" in text


def test_cli_prints_the_draft(
    db: Database,
    practice_path: Path | None,
    cli_db: list[str],
    therapist: Actor,
    cid: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steady(db, cid, D(2026, 1, 6, 9), 5)
    factories.checkin(db, cid, "A", D(2026, 2, 20, 9), 1, safety=1)
    db.close()
    password_env(monkeypatch)
    own = [*cli_db, *user(practice_path, therapist.name)]
    now = dt.datetime(2026, 3, 2, 12)
    code = main(["agenda", "c-1", "--json", *own], today=TODAY, now=now)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["case_code"] == "C-1" and out["saved"] is False and out["safety_waiting"] == 4
    assert out["items"][0]["kind"] == "safety"
    assert "Once" not in json.dumps(out)
    code = main(["agenda", "C-1", *own], today=TODAY, now=now)
    text = capsys.readouterr().out
    assert code == 0 and "(draft)" in text and "assess safety first" in text
    assert main(["agenda", "NOPE", *own], today=TODAY, now=now) == 1
