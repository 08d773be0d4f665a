"""Eight browser sessions at once on one server: the load test (tests/e2e/test_load.py) run
once per backend, its timings read back from test-artifacts/load/load.json and set against the
5 s target for every action (click to content)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import Row, failed

ROOT = Path(__file__).parents[1]
RESULT = ROOT / "test-artifacts" / "load" / "load.json"
LIMIT = "< 5 s"


def _run(backend: str) -> list[Row]:
    RESULT.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e/test_load.py"],
        cwd=ROOT,
        env={**os.environ, "CASELOAD_LOAD_BACKEND": backend},
        capture_output=True,
        text=True,
        check=False,
    )
    if not RESULT.exists():
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no result"]
        return [failed("load: 8 sessions, slowest action", backend, RuntimeError(tail[0]))]
    data = json.loads(RESULT.read_text(encoding="utf-8"))
    verdict = "test passed" if done.returncode == 0 else "test FAILED (see pytest)"
    cpu = data.get("cpu_s", {})
    rows = []
    for action in data["actions"]:
        rows.append(
            Row(
                f"load: 8 sessions, {action['action']} (slowest)",
                float(action["max_s"]),
                "s",
                LIMIT,
                f"median {action['median_s']:.2f} s of {action['count']}; {verdict}",
                backend,
            ).with_ratio()
        )
    rows.append(
        Row(
            "load: 8 sessions, CPU seconds (server / browsers)",
            float(cpu.get("server", float("nan"))),
            "s",
            "",
            f"browsers {cpu.get('chromium', 0):.1f} s, in {data['wall_s']:.0f} s on"
            f" {data['cores']} cores: the eight browsers share the server's machine",
            backend,
        )
    )
    lost = data.get("lost_sign_ins", [])
    rows.append(
        Row(
            "load: 8 sessions, sign-ins done again",
            float(len(lost)),
            "",
            "0",
            "a click on Sign in that signed nobody in" if lost else "none lost",
            backend,
        )
    )
    return rows


def run() -> list[Row]:
    """Rows for each backend chosen (BENCH_BACKENDS)."""
    chosen = os.environ.get("BENCH_BACKENDS", "duckdb,postgres").split(",")
    rows: list[Row] = []
    for backend in ("duckdb", "postgres"):
        if backend in chosen:
            rows.extend(_run(backend))
    return rows
