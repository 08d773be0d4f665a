"""Architecture rules that must hold: the core runs without the UI, pages hold no SQL."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import analytics

ROOT = Path(__file__).parents[1]


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(analytics.__path__, prefix="analytics.")
        if m.name != "analytics.__main__"
    )


def test_import_linter_contract_is_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_no_analytics_module_loads_streamlit() -> None:
    modules = _modules()
    assert "analytics.views.caseload" in modules and "analytics.importing.readers" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_pages_hold_no_sql() -> None:
    sql = re.compile(r"\.execute\(|\.sql\(|\bselect\b.+\bfrom\b|\binsert into\b", re.I)
    offenders = [p.name for p in (ROOT / "pages").glob("*.py") if sql.search(p.read_text())]
    assert offenders == []


def test_nothing_loads_from_the_web() -> None:
    web = re.compile(r"https?://(cdn|fonts|unpkg|cdnjs)\.", re.I)
    files = [*ROOT.glob("*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("analytics/**/*.py")]
    assert [p.name for p in files if web.search(p.read_text())] == []
