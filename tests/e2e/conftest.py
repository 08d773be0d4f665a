"""Real-browser fixtures: a `streamlit run` server on 127.0.0.1 and Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic is refused by this closed network; keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_app(env: Mapping[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Serve app.py on a free loopback port with `env` over this process's environment (the
    practice's whole configuration is in it); wait until it answers."""
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    command += ["--server.fileWatcherType", "none"]
    log = log_path.open("wb")
    proc = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not answer within 60 s; see {log_path}")


def start_server(
    db_path: Path, log_path: Path, instruments_folder: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Serve app.py against `db_path` and the test's own instruments folder (never the
    developer's); wait until it answers."""
    env = {"CASELOAD_DB": str(db_path), "CASELOAD_INSTRUMENTS": str(instruments_folder)}
    return serve_app(env, log_path)


# The demo practice's accounts (demo only; listed in README.md).
DEMO_USERS = {"Morgan Demo": "morgan", "Avery Demo": "avery", "Jordan Demo": "jordan"}


def sign_in(page: Any, url: str, username: str = "morgan", password: str | None = None) -> None:
    """Open `url` and sign in on the sign-in page (a demo account: its README password)."""
    from analytics.demo.build import DEMO_PASSWORDS

    page.context.clear_cookies()  # a fresh sign-in, whoever was signed in before
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password or DEMO_PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=30_000)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is required for browser tests: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
