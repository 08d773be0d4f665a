"""AppTest of the Instruments page from app.py: every instrument with its scales, each invalid
file's problems naming the file, and the template download."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.instruments import catalog, lookup
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests.test_pages import assert_no_none, frame, open_app

pytestmark = pytest.mark.usefixtures("app_env")
PAGE = "pages/instruments.py"


def test_lists_every_instrument_with_its_scales(db: Database, therapist: Actor) -> None:
    at = open_app(therapist, PAGE)
    assert not at.error
    versions = frame(at, "version")
    assert versions["code"].tolist() == ["checkin", "csi16", "csi4"]
    assert versions["is_current"].tolist() == [True, True, True]
    scales = frame(at, "missing_rule")
    for code in ("checkin", "csi4", "csi16"):
        listed = scales[scales["instrument"] == code]["scale"].tolist()
        assert listed == lookup.scales_of(db, code)["label"].tolist()
    assert (scales["instrument"] == "checkin").sum() == 13
    csi4 = scales[scales["instrument"] == "csi4"].iloc[0]
    assert (csi4["range"], csi4["cutoff"]) == ("0–21", "13.50")
    assert_no_none(at)


def test_template_can_be_downloaded(therapist: Actor) -> None:
    at = open_app(therapist, PAGE)
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download the template"]
    assert catalog.template_text().startswith("# A template for your own instrument.")


def test_an_invalid_file_shows_each_problem_with_its_file(
    db: Database, therapist: Actor, instruments_dir: Path
) -> None:
    broken = (
        catalog.template_text()
        .replace("clinical_mean", "clinical_mena")
        .replace("threshold = 1\n", "")
    )
    (instruments_dir / "our_scale.toml").write_text(broken, encoding="utf-8")
    at = open_app(therapist, PAGE)
    assert at.error[0].value.startswith("1 instrument file(s) cannot be used")
    problems = frame(at, "problem")
    assert set(problems["file"]) == {"our_scale.toml"}
    assert all(p.startswith("our_scale.toml: ") for p in problems["problem"])
    joined = "\n".join(problems["problem"])
    assert "unknown key 'clinical_mena' (did you mean 'clinical_mean'?)" in joined
    assert "item 'SAFE1': a safety item needs a threshold" in joined
    # The broken file is not in use; the built-in instruments are.
    assert "my_scale" not in frame(at, "version")["code"].tolist()
    assert_no_none(at)
