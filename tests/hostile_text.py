"""Hostile text, and a checker that no element of an AppTest page interprets it.

`HOSTILE` holds strings a person or a file could supply (names, notes, answers, labels) that
Streamlit would turn into links, images, emphasis, colours, icons or LaTeX, and Plotly into
links and bold. `page_leaks(at)` walks every element of a page (main area and sidebar) and
returns each place where such syntax reaches something that renders it:

- Markdown: markdown/caption/title/header/subheader bodies, alerts, exceptions, toasts, metric
  labels, values and deltas, progress texts, every widget's label and help, the labels of
  expanders, tabs, popovers and dialogs, and the option labels of the widgets that render
  Markdown in them (radio and its captions, segmented control and pills, select slider).
  Selectbox and multiselect options are plain text in Streamlit 1.67 and are not checked.
- Plotly: every string anywhere in a chart's figure (traces, hover texts, custom data shown by
  hover templates, titles, annotations, tick texts) may hold no HTML tag but the few the charts
  themselves write (<br>, <b>, <i>, <sup>, <sub>, <extra>), and none of those brought by a
  hostile string either (its "<b>bold").
- Tables: no column configured as a link, Markdown or image column (cells are data otherwise).
- Downloads: `recorded_downloads()` collects the file names handed to download buttons, and
  `unsafe_file_names` picks those that are not a plain stem and extension.

Escaped text passes: a backslash before Markdown syntax, the invisible word joiner (U+2060)
inside bare addresses and shortcodes (ui.escape_markdown), `&lt;` for Plotly (charts/text.py).
The app's own deliberate Markdown (**bold** words of ours, `code`) is allowed; what is refused
is syntax a hostile string brings: links, raw HTML, colour and icon directives, LaTeX, bare
addresses, and the emphasis markers of the hostile strings themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.test_pages import MARKDOWN_TYPES

LINK = "[help](https://evil.example/login)"
ANCHOR = '<a href="https://evil.example">x</a>'
STYLED = "**bold** _it_ $x^2$ :red[alert] :material/home:"
IMAGE = "<img src=x onerror=alert(1)>"
BARE = "www.evil.example"
EMAIL = "x@evil.example"
TAGS = "<b>bold</b><br>evil"
HOSTILE = (LINK, ANCHOR, STYLED, IMAGE, BARE, EMAIL, TAGS)

# Case and client codes allow letters, digits, '.', '_' and '-' only (analytics.practice.couples):
# a bare address, and emphasis made of underscores between punctuation.
HOSTILE_CODES = ("WWW.EVIL.EXAMPLE", "X._IT_.A", "Y._IT_.B", "H2._IT_.")

# Syntax "unescaped": not preceded by an odd number of backslashes.
_RAW = r"(?<!\\)(?:\\\\)*"
_MARKDOWN_SYNTAX = {
    "link": re.compile(_RAW + r"\[[^\]\n]*" + _RAW + r"\]\("),
    "raw HTML": re.compile(_RAW + r"<(?:[A-Za-z!/])"),
    "HTML entity": re.compile(_RAW + r"&#?\w+;"),
    "colour directive": re.compile(_RAW + r":[a-z]+(?:-background)?" + _RAW + r"\["),
    "shortcode": re.compile(r"(?<![\w:])(?<!\d):[a-z][a-z0-9_+-]*(?:/[a-z0-9_]+)?:"),
    "LaTeX": re.compile(_RAW + r"\$"),
    "bare link": re.compile(r"(?i)(?:https?:/|\bwww\.)"),
    "bare email": re.compile(r"\w@\w"),
    "hostile bold": re.compile(_RAW + r"\*\*bold"),
    "hostile italic": re.compile(r"(?<![\\\w])_(?:it|IT)" + _RAW + r"_(?!\w)"),
}
# Tags the charts write themselves; any other tag in a figure came from somewhere else.
_PLOTLY_TAGS = {"br", "b", "i", "sup", "sub", "extra", "em"}
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)")
_PLOTLY_HOSTILE = re.compile(r"(?i)<b>bold")  # a tag the charts write, brought by a name
# Element types whose value Streamlit renders as Markdown (an exception shows our own words).
_MARKDOWN_BODIES = MARKDOWN_TYPES - {"exception"}
# Widgets whose option labels Streamlit renders as Markdown.
_MARKDOWN_OPTIONS = {"radio", "button_group", "select_slider"}
_UNSAFE_COLUMNS = {"link", "markdown", "image", "html"}


@dataclass(frozen=True)
class Leak:
    """One place where text reaches a renderer unescaped."""

    where: str  # element type and field
    problem: str  # the kind of syntax found
    text: str  # the text as handed to Streamlit

    def __str__(self) -> str:
        return f"{self.where}: {self.problem} in {self.text!r}"


def markdown_problems(text: str) -> list[str]:
    """The kinds of syntax in `text` that Markdown would interpret (empty when none)."""
    return [name for name, pattern in _MARKDOWN_SYNTAX.items() if pattern.search(text)]


def plotly_problems(text: str) -> list[str]:
    """What in `text` Plotly would render as more than text (empty when none)."""
    found = [f"<{tag}>" for tag in _TAG.findall(text) if tag.lower() not in _PLOTLY_TAGS]
    found += [m.group(0) for m in _PLOTLY_HOSTILE.finditer(text)]
    return found


def _nodes(node: Any) -> Iterator[Any]:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield child
            yield from _nodes(child)


def _field(proto: Any, name: str) -> Any:
    """A proto's field if the message has it (None otherwise)."""
    if proto is None or name not in proto.DESCRIPTOR.fields_by_name:
        return None
    return getattr(proto, name)


def markdown_texts(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) for every text on the page that Streamlit renders as Markdown."""
    for node in _nodes(at._tree):
        kind = str(getattr(node, "type", ""))
        proto = getattr(node, "proto", None)
        if proto is not None and type(proto).__name__ == "Block":
            which = proto.WhichOneof("type")
            inner = getattr(proto, which) if which else None
            for name in ("label", "title", "help"):
                value = _field(inner, name)
                if isinstance(value, str) and value:
                    yield f"{which}.{name}", value
            continue
        for name in ("label", "help", "title"):
            value = _field(proto, name)
            if isinstance(value, str) and value:
                yield f"{kind}.{name}", value
        if kind in _MARKDOWN_BODIES:
            yield f"{kind}.body", str(_field(proto, "body") or getattr(node, "value", ""))
        elif kind == "metric":
            for name in ("body", "delta", "delta_description"):
                value = _field(proto, name)
                if value:
                    yield f"metric.{name}", str(value)
        elif kind == "progress":
            yield "progress.text", str(_field(proto, "text") or "")
        elif kind == "exception":
            yield "exception.message", str(_field(proto, "message") or "")
        if kind in _MARKDOWN_OPTIONS:
            for option in _field(proto, "options") or []:
                text = option if isinstance(option, str) else getattr(option, "content", "")
                yield f"{kind}.option", str(text)
            for caption in _field(proto, "captions") or []:
                yield f"{kind}.caption", str(caption)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def figures(at: AppTest) -> list[dict[str, Any]]:
    """Every Plotly figure on the page, as the JSON handed to the browser."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def column_configs(at: AppTest) -> list[dict[str, Any]]:
    """The column configuration of every table on the page (dataframes and data editors)."""
    configs = []
    for table in at.dataframe:
        raw = _field(table.proto, "columns")
        configs.append(json.loads(raw) if raw else {})
    return configs


def page_leaks(at: AppTest) -> list[Leak]:
    """Every place on the page where text would be interpreted as Markdown, HTML or LaTeX."""
    leaks = [
        Leak(where, problem, text)
        for where, text in markdown_texts(at)
        for problem in markdown_problems(text)
    ]
    for figure in figures(at):
        for text in _strings(figure):
            leaks += [Leak("plotly_chart", p, text) for p in plotly_problems(text)]
    for config in column_configs(at):
        for column, settings in config.items():
            kind = (settings.get("type_config") or {}).get("type")
            if kind in _UNSAFE_COLUMNS:
                leaks.append(Leak(f"dataframe column {column}", f"{kind} column", str(settings)))
    return leaks


_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.[a-z]+$")


def unsafe_file_names(names: list[str]) -> list[str]:
    """The download file names that are more than a stem of letters, digits, '-' and '_' and
    an extension (ui.file_stem)."""
    return [name for name in names if not _FILE_NAME.match(name)]


@contextmanager
def recorded_downloads() -> Iterator[list[str]]:
    """Inside: the file name of every download button drawn (the browser gets it with the
    file, so it is not in the page's elements)."""
    import streamlit as st
    from streamlit.delta_generator import DeltaGenerator

    names: list[str] = []
    original = DeltaGenerator.download_button

    def record(
        self: DeltaGenerator,
        label: str,
        data: Any,
        file_name: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        names.append(str(file_name))
        return original(self, label, data, file_name, *args, **kwargs)

    module_level = st.download_button
    DeltaGenerator.download_button = record  # type: ignore[method-assign,assignment]
    st.download_button = lambda *args, **kwargs: record(st._main, *args, **kwargs)
    try:
        yield names
    finally:
        DeltaGenerator.download_button = original  # type: ignore[method-assign]
        st.download_button = module_level


def assert_no_leaks(at: AppTest, what: str = "") -> None:
    """Fail with every leak found on the page."""
    leaks = page_leaks(at)
    assert not leaks, f"{what}: " + "\n".join(str(leak) for leak in leaks)
