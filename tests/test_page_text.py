"""ui.escape_markdown: text shown literally where Streamlit only offers Markdown (a title, an
error message). Each case below was also checked in Chromium against Streamlit's renderer: the
escaped text is drawn exactly as written, with no link, image, emphasis, emoji or icon."""

from __future__ import annotations

import pytest

import ui
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests.test_pages import open_app, open_couple

JOIN = "\u2060"  # the invisible word joiner that splits bare addresses and shortcodes


@pytest.mark.parametrize(
    "text",
    [
        "The file is empty.",
        "D-010",
        "Partner B: 3.5 points, check-in (weekly); 80% answered?",
        "Export a shorter period, or raise the limit.",
    ],
)
def test_ordinary_sentences_are_unchanged(text: str) -> None:
    assert ui.escape_markdown(text) == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("[help](https://evil.example/login)", f"\\[help\\](https:{JOIN}//evil.example/login)"),
        ("<a href='x'>y</a>", "\\<a href='x'\\>y\\</a\\>"),
        ("www.evil.example", f"www{JOIN}.evil.example"),
        ("WWW.EVIL.EXAMPLE", f"WWW{JOIN}.EVIL.EXAMPLE"),
        ("x@evil.example", f"x@{JOIN}evil.example"),
        (
            ":smile: :material/home: :red[x]",
            f":{JOIN}smile: :{JOIN}material/home: :{JOIN}red\\[x\\]",
        ),
        ("**b** _i_ `c` ~~s~~ $x$", "\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\~\\~s\\~\\~ \\$x\\$"),
        ("# head | cell", "\\# head \\| cell"),
        ("a &lt; b", "a \\&lt; b"),
        ("back\\slash", "back\\\\slash"),
        ("- item\n1. first\n2) second\n===", "\\- item\n1\\. first\n2\\) second\n\\==="),
    ],
)
def test_markdown_syntax_is_escaped(text: str, escaped: str) -> None:
    assert ui.escape_markdown(text) == escaped


@pytest.mark.usefixtures("app_env")
def test_a_case_code_that_looks_like_an_address_is_not_a_link(
    db: Database, therapist: Actor
) -> None:
    at = open_app(therapist, "pages/new_couple.py")
    at.text_input[0].input("www.evil.example")
    at.text_input(key="new_name_A").input("Nora Example")
    at.text_input(key="new_name_B").input("Ned Example")
    next(b for b in at.button if b.label == "Add couple").click().run()
    assert at.success[0].value == f"Added WWW{JOIN}.EVIL.EXAMPLE."
    couple_id = db.query_value("SELECT id FROM couples")
    assert isinstance(couple_id, int)
    page = open_couple(therapist, couple_id)
    assert page.title[0].value == f"👫 WWW{JOIN}.EVIL.EXAMPLE"


@pytest.mark.usefixtures("app_env")
def test_errors_quote_values_literally() -> None:
    """A project error that quotes a value from a file is escaped like any other text."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import ui
        from analytics.errors import CaseloadError

        ui.show_error(CaseloadError("No item [x](https://evil.example).", hint="Try **this**."))

    at = AppTest.from_function(script).run()
    assert at.error[0].value == f"No item \\[x\\](https:{JOIN}//evil.example)."
    assert at.caption[0].value == "Try \\*\\*this\\*\\*."
