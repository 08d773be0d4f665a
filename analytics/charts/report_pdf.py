"""The client report as a PDF (fpdf2): A4, short, in plain words, charts embedded as PNG images
the caller made (this module draws no chart itself, so it needs no browser), a page number at
each page's foot. The report's content, and every privacy rule, is decided by
analytics.views.report; this module only lays it out."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from analytics.charts.pdf_fonts import setup_fonts

WIDTH = 180.0  # mm: the text and chart width on A4 (210 mm) with 15 mm margins
CHART_WIDTH = 170.0  # mm


@dataclass(frozen=True)
class ReportChart:
    """One chart of the report: the figure to render and the key its PNG comes back under."""

    key: str
    figure: go.Figure
    caption: str = ""


@dataclass(frozen=True)
class ReportSection:
    """A heading, its sentences (plain words) and the charts drawn after them."""

    heading: str
    sentences: list[str] = field(default_factory=list)
    charts: list[ReportChart] = field(default_factory=list)


@dataclass(frozen=True)
class ClientReport:
    """Everything the client report shows, already filtered by its privacy rules."""

    title: str
    subtitle: str
    footer: str  # the case code: identifies the report without naming anyone
    sections: list[ReportSection]
    partner: str | None  # None: the joint report
    deidentified: bool
    scales: list[str] = field(default_factory=list)  # "instrument:scale" codes shown

    @property
    def charts(self) -> list[ReportChart]:
        """Every chart of the report, in order."""
        return [c for s in self.sections for c in s.charts]


def png_size(png: bytes) -> tuple[int, int]:
    """A PNG's width and height in pixels, from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


class _ReportPDF(FPDF):
    family = "Helvetica"
    foot = ""

    def footer(self) -> None:
        """The case code and "Page n of N" at each page's foot."""
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.cell(0, 5, f"{self.foot}   Page {self.page_no()} of {{nb}}", align="C")


def _lines(pdf: FPDF, height: float, text: str) -> None:
    # fpdf2 justifies and leaves x at the right by default: left-aligned, one under another.
    pdf.multi_cell(WIDTH, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def report_pdf(
    report: ClientReport, images: dict[str, bytes], *, fonts: Path | None = None
) -> bytes:
    """The report on A4 pages; `images` maps each chart's key to its PNG (a chart without one is
    left out); `fonts` overrides the font folder."""
    pdf = _ReportPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    family, text = setup_fonts(pdf, fonts)
    pdf.family, pdf.foot = family, text(report.footer)
    pdf.alias_nb_pages()
    pdf.set_title(text(report.title))
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    _lines(pdf, 8, text(report.title))
    pdf.set_font(family, "", 10)
    _lines(pdf, 6, text(report.subtitle))
    pdf.ln(3)
    for section in report.sections:
        pdf.set_font(family, "B", 12.5)
        _lines(pdf, 7, text(section.heading))
        pdf.ln(1)
        pdf.set_font(family, "", 10.5)
        for sentence in section.sentences:
            _lines(pdf, 5.4, text(sentence))
            pdf.ln(1.2)
        for chart in section.charts:
            png = images.get(chart.key)
            if png is None:
                continue
            width, height = png_size(png)
            tall = CHART_WIDTH * height / max(width, 1)
            if pdf.get_y() + tall + 8 > pdf.page_break_trigger:
                pdf.add_page()
            pdf.image(io.BytesIO(png), x=15 + (WIDTH - CHART_WIDTH) / 2, w=CHART_WIDTH, h=tall)
            if chart.caption:
                pdf.set_font(family, "", 9)
                _lines(pdf, 4.6, text(chart.caption))
                pdf.set_font(family, "", 10.5)
            pdf.ln(2)
        pdf.ln(2)
    return bytes(pdf.output())
