"""Fonts for the PDFs fpdf2 builds (the agenda, the client report): DejaVu Sans from Debian's
fonts when present (any character it lacks, an emoji say, becomes "?"); without it, the PDF core
font with the text folded to Latin-1, so no name or answer can make a build fail."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"


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


def setup_fonts(pdf: FPDF, fonts: Path | None) -> tuple[str, Callable[[str], str]]:
    """The font family to use and the function making text drawable in it; `fonts` overrides
    the font folder (a folder without DejaVu falls back to the core font)."""
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
    pdf.set_font("Helvetica", size=10)
    return "Helvetica", latin1
