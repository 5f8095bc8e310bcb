"""Fixtures of the project's own tests: a real app process and protocol clients."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from e2e.harness.app_process import AppProcess
from e2e.harness.browser import QUIET_FLAGS, find_chromium
from e2e.harness.options import environment_value
from e2e.harness.wire import WireClient

AppFactory = Callable[..., AppProcess]


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Starts apps on free ports with fresh databases; stops them all afterwards."""
    started: list[AppProcess] = []

    def start(**options: str) -> AppProcess:
        n = len(started)
        app = AppProcess(
            data_dir=tmp_path / f"data{n}", log_path=tmp_path / f"app{n}.log", options=options
        )
        app.start()
        started.append(app)
        return app

    yield start
    for app in started:
        if app.proc is not None and app.proc.poll() is None:
            app.thaw()
        app.stop()


@pytest.fixture
def app(start_app: AppFactory) -> AppProcess:
    return start_app()


@pytest.fixture
def connect(app: AppProcess) -> Iterator[Callable[..., WireClient]]:
    clients: list[WireClient] = []

    def open_client(query: str = "", origin: str | None = None) -> WireClient:
        client = WireClient(app.ws_url + query, origin=origin)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """Two staff in the first two periods only: every later period is empty."""
    path = tmp_path / "tiny.json"
    staff = [
        {"id": "a", "name": "Ann", "startPeriod": "2025-09-01", "endPeriod": "2025-10-15"},
        {"id": "b", "name": "Bo", "startPeriod": "2025-10-02", "endPeriod": "2025-10-20"},
    ]
    path.write_text(json.dumps({"firstMonth": "2025-09", "staff": staff}))
    return path


@pytest.fixture(scope="session")
def base_url() -> None:
    """The project's own tests start their apps themselves; no suite target here."""
    return None


@pytest.fixture(scope="session")
def chromium_executable() -> str | None:
    """The Chromium the suite would launch (None: Playwright's own). Found once, before any
    Playwright of these tests runs: finding it may start one of its own."""
    return find_chromium(environment_value("chromium"))


@pytest.fixture(scope="session")
def chromium(chromium_executable: str | None) -> Iterator[Browser]:
    """The suite's own Chromium, for tests that look at a page as a person would."""
    executable = chromium_executable
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=list(QUIET_FLAGS))
        yield browser
        browser.close()


# The longest tests first: with xdist processes, the one that
# takes the proof is busy with it while the other runs the rest, and steals what is left.
LONGEST_FIRST = (
    "tests/test_proof.py",
    "tests/test_hosts.py",
    "tests/test_load.py",
    "tests/test_react_client.py",
    "tests/test_explore_replay.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        where = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(where) if where in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order
