"""Architecture rules that must hold: the core runs without the UI and in layers that only
import downwards, pages hold no SQL, nothing in the core reads the clock, and no text is ever
rendered as HTML."""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import analytics

ROOT = Path(__file__).parents[1]
CORE = ROOT / "analytics"
# Every Python file of the project but the virtual environment's.
PYTHON_FILES = sorted(
    p for p in ROOT.rglob("*.py") if not {".venv", ".git"} & set(p.relative_to(ROOT).parts)
)


def _layers() -> list[str]:
    """The import-linter layers contract, highest layer first, as pyproject.toml declares it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [str(layer) for layer in contract["layers"]]


def _imported(path: Path) -> set[str]:
    """Every analytics.* module a file imports (`from analytics import x` counts as x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            module = node.module or ""
            if module == "analytics":
                found.update(f"analytics.{alias.name}" for alias in node.names)
            else:
                found.add(module)
    return {m for m in found if m == "analytics" or m.startswith("analytics.")}


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
    assert "2 kept, 0 broken" in done.stdout


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


def test_every_subpackage_is_a_layer() -> None:
    packages = {f"analytics.{p.name}" for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(_layers())


def test_layers_only_import_downwards() -> None:
    # The same rule as the import-linter contract, checked here in-process on the source, so a
    # broken layer shows the file and the import at fault.
    layers = _layers()
    rank = {layer: len(layers) - n for n, layer in enumerate(layers)}  # higher rank, higher layer
    offenders = []
    checked = 0
    for layer in layers:
        for path in sorted((CORE / layer.split(".")[1]).rglob("*.py")):
            for module in _imported(path):
                target = ".".join(module.split(".")[:2])
                checked += 1
                if target in rank and rank[target] > rank[layer]:
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
                elif target not in rank:
                    # Outside the layers, only the one project error may be imported.
                    assert target == "analytics.errors", f"{path.relative_to(ROOT)}: {module}"
    assert offenders == []
    assert checked > 100
    # The lowest layer imports nothing of the project but the error type.
    store = {m for p in (CORE / "store").rglob("*.py") for m in _imported(p)}
    assert {m for m in store if not m.startswith("analytics.store")} == {"analytics.errors"}


def test_nothing_in_the_core_reads_the_clock() -> None:
    # `today` and `now` are passed in; only the process entry point reads the clock.
    clock = re.compile(r"date\.today\(|datetime\.now\(|\.today\(\)|\.now\(|\btime\.time\(")
    sql_clock = re.compile(r"\b(current_date|today\(\)|now\(\))", re.I)
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 50
    offenders = [
        str(p.relative_to(ROOT))
        for p in files
        if p.name != "__main__.py" and clock.search(p.read_text("utf-8"))
    ]
    offenders += [
        str(p.relative_to(ROOT))
        for p in CORE.rglob("*.sql")
        if sql_clock.search(p.read_text("utf-8"))
    ]
    assert offenders == []
    assert clock.search((CORE / "__main__.py").read_text("utf-8"))  # the one place it is read


def test_no_html_is_ever_rendered_from_text() -> None:
    # Text people or files supply is shown as text; nothing may opt into raw HTML.
    flag = "unsafe_allow_html" + "=True"  # split, so this file does not match itself
    offenders = [
        str(p.relative_to(ROOT))
        for p in PYTHON_FILES
        if flag in re.sub(r"\s+", "", p.read_text("utf-8"))
    ]
    assert len(PYTHON_FILES) > 80 and (ROOT / "app.py") in PYTHON_FILES
    assert offenders == []
