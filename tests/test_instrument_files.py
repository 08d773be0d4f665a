"""Instrument files are data, validated strictly: every problem named with its file, its part
and what is wrong; the shipped files are valid; the folder may not clash with them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from analytics.instruments import catalog
from analytics.instruments.schema import InstrumentFileError, parse, score_range

# A small valid instrument; each test breaks one thing in a copy of it.
VALID = """
code = "mini"
name = "Mini scale"
version = "1.0"
headline = "close"
source = "Test file."

[formats.agree]
type = "agreement"
min = 0
max = 4
labels = ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"]

[formats.times]
type = "frequency"
min = 0
max = 2
labels = ["Never", "Once", "More than once"]

[[items]]
code = "C1"
text = "Close."
format = "agree"

[[items]]
code = "C2"
text = "Apart."
format = "agree"
reverse = true

[[items]]
code = "S1"
kind = "safety"
label = "Harm"
format = "times"
threshold = 1

[[items]]
code = "T1"
kind = "text"
label = "Topics"

[[scales]]
code = "close"
label = "Closeness"
description = "How close."
items = ["C1", "C2"]
method = "mean"
direction = "higher_better"
reliability = { value = 0.8, type = "cronbach_alpha", sd = 1.0, source = "Test." }
norms = { clinical_mean = 1.5, clinical_sd = 0.8, functional_mean = 3.0, functional_sd = 0.6, \
source = "Test." }
bands = [
  { label = "Low", upto = 2.0, meaning = "Distant." },
  { label = "High", meaning = "Close." },
]
"""


def problems_of(text: str, name: str = "mini.toml") -> list[str]:
    """The problems a file's text produces (empty when valid)."""
    try:
        parse(tomllib.loads(text), name)
    except InstrumentFileError as exc:
        assert exc.origin == name
        return exc.problems
    return []


def test_the_small_file_is_valid_and_reads_every_fact() -> None:
    ins = parse(tomllib.loads(VALID), "mini.toml")
    assert [i.kind for i in ins.items] == ["scored", "scored", "safety", "text"]
    assert ins.item("C2").reverse and ins.item("S1").threshold == 1
    assert ins.item("T1").format is None and ins.item("S1").format.labels[1] == "Once"  # type: ignore[union-attr]
    scale = ins.scale("close")
    assert (scale.method, scale.min_answered, scale.prorate) == ("mean", 1.0, False)
    assert (scale.reliability, scale.reliability_type, scale.sd) == (0.8, "cronbach_alpha", 1.0)
    assert (scale.clinical_mean, scale.functional_sd) == (1.5, 0.6)
    assert [b.upto for b in scale.bands] == [2.0, None]
    assert score_range(ins, scale) == (0.0, 4.0)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "clinical_sd = 0.8",
            "clinical_sd = 0.8, clinical_mena = 1",
            "mini.toml: scale 'close' norms: unknown key 'clinical_mena' "
            "(did you mean 'clinical_mean'?).",
        ),
        (
            'sd = 1.0, source = "Test." }',
            'sd = "one", source = "Test." }',
            "mini.toml: scale 'close' reliability: 'sd' must be a number, not text.",
        ),
        ('items = ["C1", "C2"]', 'items = ["C1"]', "mini.toml: item 'C2': is in no scale"),
        (
            'items = ["C1", "C2"]',
            'items = ["C1", "C2", "C9"]',
            "mini.toml: scale 'close': names the unknown item 'C9'.",
        ),
        (
            "min = 0\nmax = 4\n",
            "min = 4\nmax = 0\n",
            "mini.toml: format 'agree': the range is inverted or empty (min 4, max 0).",
        ),
        (
            'format = "times"\nthreshold = 1',
            'format = "times"',
            "mini.toml: item 'S1': a safety item needs a threshold",
        ),
        (
            'items = ["C1", "C2"]',
            'items = ["C1", "C2", "S1"]',
            "mini.toml: scale 'close': names the safety item 'S1' (safety answers are never "
            "averaged into a score).",
        ),
        ('headline = "close"', 'headline = "far"', "headline 'far' is not one of the scales"),
        (
            'labels = ["Never", "Once", "More than once"]',
            'labels = ["Never", "Once"]',
            "mini.toml: format 'times': 2 labels for 3 answers (0 to 2).",
        ),
        ('name = "Mini scale"\n', "", "mini.toml: top level: the required key 'name' is missing."),
        (
            'code = "C2"',
            'code = "C1"',
            "mini.toml: item 'C1': two items share this code.",
        ),
        (
            "upto = 2.0",
            "upto = 9.0",
            "band limits must rise and lie inside the scale's range (0 to 4)",
        ),
        (
            'direction = "higher_better"',
            'direction = "up"',
            "direction 'up' is not one of higher_better, higher_worse",
        ),
        ("value = 0.8", "value = 1.3", "scale 'close' reliability: the value must lie between 0"),
        (
            'format = "agree"\nreverse = true',
            'format = "agree"\nreverse = "yes"',
            "mini.toml: item 'C2': 'reverse' must be true or false, not text.",
        ),
    ],
)
def test_each_problem_is_named_with_file_part_and_reason(old: str, new: str, expected: str) -> None:
    assert old in VALID
    found = problems_of(VALID.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_safety_threshold_rule() -> None:
    """A positive safety answer must be unambiguous: a frequency or yes/no format with an
    explicit threshold above the lowest answer; never the disagree side of an agreement."""
    on_agreement = VALID.replace(
        'format = "times"\nthreshold = 1', 'format = "agree"\nthreshold = 1'
    )
    (problem,) = problems_of(on_agreement)
    assert (
        "item 'S1': its threshold 1 (Disagree) is on the disagree side of an agreement" in problem
    )
    agree_side = on_agreement.replace("threshold = 1", "threshold = 3")
    (problem,) = problems_of(agree_side)
    assert "a safety item needs a frequency or yes/no format" in problem
    at_bottom = VALID.replace('format = "times"\nthreshold = 1', 'format = "times"\nthreshold = 0')
    (problem,) = problems_of(at_bottom)
    assert "must be above the lowest answer (0)" in problem
    yes_no = VALID.replace(
        '[[items]]\ncode = "S1"',
        '[formats.yn]\ntype = "yes_no"\nmin = 0\nmax = 1\nlabels = ["No", "Yes"]\n\n'
        '[[items]]\ncode = "S1"',
    ).replace('format = "times"\nthreshold = 1', 'format = "yn"\nthreshold = 1')
    assert problems_of(yes_no) == []


def test_every_problem_is_reported_at_once() -> None:
    broken = (
        VALID.replace("clinical_sd = 0.8", "clinical_sd = 0.8, clinical_mena = 1")
        .replace('format = "times"\nthreshold = 1', 'format = "times"')
        .replace('items = ["C1", "C2"]', 'items = ["C1", "C9"]')
    )
    found = problems_of(broken)
    assert len(found) == 4, found  # the typo, the threshold, the unknown item, C2 in no scale
    with pytest.raises(InstrumentFileError, match=r"mini\.toml is invalid \(4 problems\)\.$"):
        parse(tomllib.loads(broken), "mini.toml")


def test_text_items_take_no_format_and_scales_no_text_items() -> None:
    found = problems_of(
        VALID.replace('kind = "text"\nlabel = "Topics"', 'kind = "text"\nformat = "agree"')
    )
    assert found == ["mini.toml: item 'T1': a free-text item has no 'format'."]
    found = problems_of(VALID.replace('items = ["C1", "C2"]', 'items = ["C1", "C2", "T1"]'))
    assert "(free-text answers have no score)" in found[0]


def test_defaults_are_checked_where_they_are_declared() -> None:
    text = VALID.replace(
        'source = "Test file."', 'source = "Test file."\n\n[defaults]\nmethod = "avg"'
    )
    found = problems_of(text.replace('method = "mean"\n', ""))
    assert found == [
        "mini.toml: [defaults]: method must be one of sum, mean.",
        "mini.toml: scale 'close': method must be one of sum, mean (here or in [defaults]).",
    ]


def test_min_answered_below_one_needs_proration() -> None:
    found = problems_of(VALID.replace('method = "mean"', 'method = "mean"\nmin_answered = 0.5'))
    assert found == ["mini.toml: scale 'close': min_answered below 1 needs prorate = true."]


def test_unreadable_toml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('code = "x"\nname = ', "utf-8")
    entry = catalog.read_file(path)
    assert not entry.ok and entry.problems[0].startswith("bad.toml: not valid TOML")


def test_shipped_files_are_valid_and_licensed_ones_carry_no_wording() -> None:
    files = {f.file_name: f for f in catalog.builtin_files()}
    assert set(files) == {"checkin.toml", "csi4.toml", "csi16.toml"}
    assert all(f.ok for f in files.values()), [f.problems for f in files.values()]
    checkin = catalog.builtin("checkin")
    assert checkin.version == "2.0" and checkin.headline == "global"
    assert [i.code for i in checkin.safety_items] == ["SAF1", "SAF2", "SAF3", "SAF4"]
    assert {i.format.type for i in checkin.safety_items} == {"frequency"}  # type: ignore[union-attr]
    assert {i.threshold for i in checkin.safety_items} == {1.0}
    assert [i.code for i in checkin.text_items] == ["TXT1", "TXT2"]
    assert len(checkin.scales) == 13 and checkin.scales[-1].code == "global"
    for code, total in (("csi4", (0.0, 21.0)), ("csi16", (0.0, 81.0))):
        ins = catalog.builtin(code)
        assert all(item.text is None for item in ins.items)  # codes and scoring facts only
        assert score_range(ins, ins.scale("total")) == total
        assert (ins.items[0].min, ins.items[0].max) == (0, 6)
        assert {(i.min, i.max) for i in ins.items[1:]} == {(0, 5)}
    assert catalog.builtin("csi4").scale("total").cutoff == 13.5
    assert catalog.builtin("csi16").scale("total").cutoff == 51.5


def test_the_template_is_itself_a_valid_file() -> None:
    entry = catalog.read_text(catalog.template_text(), "template.toml")
    assert entry.ok, entry.problems
    assert entry.instrument is not None and entry.instrument.code == "my_scale"


def test_folder_files_may_not_reuse_a_builtin_code_or_repeat_a_version(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(VALID, "utf-8")
    (tmp_path / "b.toml").write_text(VALID, "utf-8")
    (tmp_path / "c.toml").write_text(VALID.replace('code = "mini"', 'code = "checkin"'), "utf-8")
    (tmp_path / "notes.txt").write_text("not an instrument", "utf-8")
    files = {f.file_name: f for f in catalog.load_all(tmp_path) if f.origin == catalog.FOLDER}
    assert set(files) == {"a.toml", "b.toml", "c.toml"}
    assert files["a.toml"].ok
    assert files["b.toml"].problems == (
        "b.toml: top level: a.toml already declares mini version 1.0.",
    )
    assert "belongs to a built-in instrument" in files["c.toml"].problems[0]


def test_checksum_ignores_comments_and_layout() -> None:
    spaced = "# a comment\n" + VALID.replace('name = "Mini scale"', 'name   =   "Mini scale"')
    assert (
        catalog.read_text(spaced, "x.toml").checksum == catalog.read_text(VALID, "y.toml").checksum
    )
    changed = VALID.replace('name = "Mini scale"', 'name = "Mini scales"')
    assert (
        catalog.read_text(changed, "x.toml").checksum != catalog.read_text(VALID, "y.toml").checksum
    )
