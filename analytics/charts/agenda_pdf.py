"""A session agenda as a one-page PDF (fpdf2). Text is drawn with DejaVu Sans from Debian's fonts
when present (any character it lacks, an emoji say, becomes "?"); without it, with the PDF core
font and the text folded to Latin-1, so no name or answer can make the build fail. Items that do
not fit on the page are counted at its foot rather than spilling onto a second page."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF

from analytics.practice.agendas import AgendaItem

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
BOTTOM = 272.0  # mm: below this the rest of the items are counted, not drawn (A4 is 297 mm)


def latin1(text: str) -> str:
    """Text the PDF core fonts can draw: accents folded away, anything else as "?"."""
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


def _setup(pdf: FPDF, fonts: Path | None) -> tuple[str, Callable[[str], str]]:
    """The font family to use and the function making text drawable in it."""
    regular = (fonts / REGULAR.name) if fonts else REGULAR
    bold = (fonts / BOLD.name) if fonts else BOLD
    if regular.is_file() and bold.is_file():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        pdf.set_font("DejaVu", size=10)
        cmap = getattr(pdf.current_font, "cmap", {})

        def drawable(text: str) -> str:
            return "".join(ch if ord(ch) in cmap or ch in "\n" else "?" for ch in text)

        return "DejaVu", drawable
    return "Helvetica", latin1


def agenda_pdf(
    case_code: str,
    session_date: dt.date,
    items: list[AgendaItem],
    *,
    kind_words: dict[str, str],
    fonts: Path | None = None,
) -> bytes:
    """The agenda (dropped items left out) on one A4 page; `fonts` overrides the font folder."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    family, text = _setup(pdf, fonts)
    pdf.set_title(text(f"Session agenda {case_code}"))
    pdf.set_font(family, "B", 15)
    pdf.multi_cell(0, 8, text(f"Session agenda: {case_code}, {session_date:%d %b %Y}"))
    pdf.ln(2)
    shown = [i for i in items if i.status != "dropped"]
    size = 10 if len(shown) <= 10 else 9 if len(shown) <= 16 else 8
    left = 0
    for n, item in enumerate(shown, start=1):
        if pdf.get_y() > BOTTOM - 12:
            left = len(shown) - n + 1
            break
        box = "[x]" if item.status == "done" else "[  ]"
        pdf.set_font(family, "B", size)
        pdf.multi_cell(
            0,
            size * 0.5,
            text(f"{n}. {box} {kind_words.get(item.kind, item.kind)}: {item.text}"),
        )
        pdf.set_font(family, "", size - 1)
        for label, value in (("Why", item.why), ("Try", item.suggestion)):
            if value and pdf.get_y() < BOTTOM:
                pdf.set_x(22)
                pdf.multi_cell(0, (size - 1) * 0.5, text(f"{label}: {value}"))
        pdf.ln(1.5)
    if not shown:
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 5, "No items.")
    if left:
        pdf.set_y(BOTTOM + 4)
        pdf.set_font(family, "", 9)
        pdf.multi_cell(0, 5, f"... and {left} more item(s): see the dashboard.")
    return bytes(pdf.output())
