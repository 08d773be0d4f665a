"""Text that people or files supply, made safe for Plotly. Plotly renders a subset of HTML in
titles, legends and hovers (<a href>, <b>, <br>): escaping & < > shows the text as written."""

from __future__ import annotations

import html


def plain(text: object) -> str:
    """Text shown literally by Plotly (a name like "<a href=...>" is not a link)."""
    return html.escape(str(text), quote=False)
