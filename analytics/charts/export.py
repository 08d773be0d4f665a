"""Chart files: a self-contained HTML page (no network needed to open it) and PNG/SVG images.

Images come from kaleido 1.5.0 driving Debian's Chromium (never a downloaded browser). Starting
Chromium costs 1.5-2.4 s, so one export server is started lazily, once per process, and every
image after that takes about a tenth of a second. MathJax is off: kaleido would otherwise load
it from a web host, and our charts hold no LaTeX.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Literal

import plotly.graph_objects as go

from analytics.errors import CaseloadError

ImageFormat = Literal["png", "svg"]
IMAGE_FORMATS: tuple[ImageFormat, ...] = ("png", "svg")
# Debian's package; `shutil.which("chromium")` is the fallback (tests point this elsewhere).
CHROMIUM = Path("/usr/bin/chromium")
MIME = {"png": "image/png", "svg": "image/svg+xml", "html": "text/html"}
RENDER_TIMEOUT = 30.0  # seconds for one image; a stuck browser becomes an error, not a hang

_lock = threading.Lock()  # one start, and one image at a time (the server's queues are shared)
_started: str | None = None  # the browser the running export server uses


class ChromiumMissing(CaseloadError):
    """No Chromium on this machine: images cannot be made, HTML still can."""

    def __init__(self) -> None:
        super().__init__(
            "PNG and SVG downloads need the Chromium browser, which is not installed on this"
            " machine.",
            hint="Install it with `sudo apt-get install chromium` and restart the dashboard."
            " The HTML download works without it.",
        )


def chromium_path() -> str | None:
    """The Chromium kaleido will drive, or None when there is none."""
    if CHROMIUM.is_file():
        return str(CHROMIUM)
    return shutil.which("chromium")


def images_available() -> bool:
    """Whether PNG and SVG exports can be made here (Chromium is installed)."""
    return chromium_path() is not None


def figure_html(fig: go.Figure) -> bytes:
    """The chart as one HTML file with plotly.js inlined: it opens with no network at all."""
    html: str = fig.to_html(
        include_plotlyjs=True,
        include_mathjax=False,
        full_html=True,
        config={"displaylogo": False},
    )
    return html.encode("utf-8")


def _server(path: str) -> None:
    """Start kaleido's export server on first use (caller holds `_lock`)."""
    global _started
    if _started == path:
        return
    import kaleido  # heavy; only loaded when an image is asked for

    if _started is not None:  # the browser moved (tests): start again on the new one
        kaleido.stop_sync_server(silence_warnings=True)
    kaleido.start_sync_server(
        path=path, mathjax=False, timeout=RENDER_TIMEOUT, silence_warnings=True
    )
    _started = path


def figure_image(
    fig: go.Figure,
    fmt: ImageFormat = "png",
    *,
    width: int = 1000,
    height: int = 560,
    scale: float = 1.0,
) -> bytes:
    """The chart as a PNG or SVG image of `width` x `height` (times `scale` pixels for PNG).

    Raises ChromiumMissing (a CaseloadError) when Chromium is not installed.
    """
    if fmt not in IMAGE_FORMATS:
        raise CaseloadError(f"Unknown image format {fmt!r}: choose png or svg.")
    path = chromium_path()
    if path is None:
        raise ChromiumMissing()
    import kaleido

    with _lock:
        _server(path)
        try:
            data = kaleido.calc_fig_sync(
                fig, opts={"format": fmt, "width": width, "height": height, "scale": scale}
            )
        except Exception as exc:  # kaleido's own errors name the browser; ours is readable
            raise CaseloadError(
                "The chart image could not be made.",
                hint="Try again; the HTML download works without Chromium.",
            ) from exc
    return bytes(data)


def figure_file(fig: go.Figure, fmt: str) -> bytes:
    """The chart as `fmt`: "html" (self-contained), "png" or "svg" (default size)."""
    if fmt == "html":
        return figure_html(fig)
    if fmt == "png":
        return figure_image(fig, "png")
    if fmt == "svg":
        return figure_image(fig, "svg")
    raise CaseloadError(f"Unknown chart format {fmt!r}: choose png, svg or html.")


def stop() -> None:
    """Stop the export server (tests; the process exit stops it too)."""
    global _started
    with _lock:
        if _started is not None:
            import kaleido

            kaleido.stop_sync_server(silence_warnings=True)
            _started = None
