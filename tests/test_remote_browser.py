"""Browsers on another host: the suite connects to a Playwright browser server started with
`python -m playwright launch-server` (executable and flags pinned in its config, on the
browser host), here on loopback, and measures through it as through a local browser."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.harness.browser import QUIET_FLAGS
from e2e.harness.options import ROOT

TEST = "e2e/test_initial_load.py::test_initial_load_should_render_staff_and_record_timings"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def browser_server(tmp_path: Path, chromium_executable: str | None) -> Iterator[str]:
    config = {"headless": True, "port": free_port(), "wsPath": "/pw", "args": list(QUIET_FLAGS)}
    if chromium_executable:
        config["executablePath"] = chromium_executable
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    server = subprocess.Popen(
        [sys.executable, "-m", "playwright", "launch-server", "--browser", "chromium",
         "--config", str(tmp_path / "cfg.json")],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert server.stdout is not None
    endpoint = server.stdout.readline().strip()
    try:
        assert endpoint.startswith("ws://"), endpoint
        yield endpoint
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the launcher and the driver it started
        server.wait(timeout=30)


def suite(tmp_path: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider", "--gate", "off",
         "--browser-endpoint", endpoint, "--artifacts", str(tmp_path), "--run-id", "remote"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


@pytest.mark.timeout(300)
def test_suite_should_measure_through_a_browser_server(tmp_path: Path, browser_server: str) -> None:
    done = suite(tmp_path, browser_server)
    assert done.returncode == 0, done.stdout[-2000:]
    run = json.loads((tmp_path / "remote" / "metrics.json").read_text())
    assert run["environment"]["browserHost"] == browser_server
    assert any(s["metric"] == "initial_load.first_row_ms" for s in run["samples"])


def test_unreachable_browser_server_should_say_what_to_pin(tmp_path: Path) -> None:
    done = suite(tmp_path, f"ws://127.0.0.1:{free_port()}/pw")
    assert done.returncode != 0
    assert "cannot use the browser server" in done.stdout
    assert "the browser host must run the same major.minor" in done.stdout
