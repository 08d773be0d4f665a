"""A session agenda as a one-page PDF (fpdf2), in the fonts of analytics.charts.pdf_fonts. Items
that do not fit on the page are counted at its foot rather than spilling onto a second page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF

from analytics.charts.pdf_fonts import latin1 as latin1  # re-exported: tests use it
from analytics.charts.pdf_fonts import setup_fonts
from analytics.practice.agendas import AgendaItem

BOTTOM = 272.0  # mm: below this the rest of the items are counted, not drawn (A4 is 297 mm)


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
    family, text = setup_fonts(pdf, fonts)
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
