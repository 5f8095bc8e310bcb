"""The system under test: the embedded reference app, or a deployment given by --base-url."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from e2e.conditions.room import Room
from e2e.harness.app_process import AppProcess
from e2e.harness.options import SuiteConfig
from e2e.harness.oracle import Span, calendar_for_dataset, calendar_of_deployment
from e2e.harness.wire import WireClient


@dataclass
class Target:
    base_url: str  # where the suite's own protocol clients reach it (never shaped)
    app: AppProcess | None
    calendar: list[Span] | None = None  # the oracle's periods; None when not known
    page_url: str = ""  # where pages reach it: through the conditions' relay, if any

    def __post_init__(self) -> None:
        self.page_url = self.page_url or self.base_url

    @property
    def pid(self) -> int | None:
        """The embedded app's process id (its resources can be read from the process)."""
        return self.app.proc.pid if self.app is not None and self.app.proc is not None else None

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return f"{scheme}://{self.base_url.split('://', 1)[1].rstrip('/')}/staff-sync"

    def wire(self, query: str = "") -> WireClient:
        return WireClient(self.ws_url + query)

    def truth(self) -> dict[int, list[str]]:
        """What the server holds now: period -> staff ids, in the server's order."""
        with self.wire() as client:
            return client.period_ids()

    def rows(self) -> dict[int, list[dict[str, Any]]]:
        with self.wire() as client:
            return client.all_periods()

    def health(self) -> dict[str, Any]:
        """The target's /health body (for the run's environment); {} when unreadable."""
        try:
            with urllib.request.urlopen(self.base_url + "/health", timeout=5) as resp:
                body: dict[str, Any] = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            body = {}
        return body

    def require_app(self) -> AppProcess:
        """The embedded app process; tests that kill or freeze it skip on a deployment."""
        if self.app is None:
            pytest.skip(
                "needs the embedded app (it kills or restarts the server); --base-url given"
            )
        return self.app


def start_embedded(config: SuiteConfig, workdir: Path, **extra: str) -> AppProcess:
    """The reference app as the run configures it; `extra` adds app options."""
    options: dict[str, str] = {
        "db-latency-ms": str(config.db_latency_ms),
        "client": config.client,
    }
    if config.prefetch_rollout is not None:
        options["prefetch-rollout"] = str(config.prefetch_rollout)
    options |= extra
    if config.defect:
        options["defect"] = config.defect
    if config.dataset:
        options["dataset"] = str(config.dataset)
    if config.periods:
        options["periods"] = str(config.periods)
    app = AppProcess(data_dir=workdir / "data", log_path=workdir / "app.log", options=options)
    app.start()
    return app


def target_fixture(config: SuiteConfig, workdir: Path, room: Room) -> Iterator[Target]:
    if not config.embedded:
        assert config.base_url is not None
        base_url = config.base_url.rstrip("/")
        # pages keep the deployment's URL: Chromium's resolver rules send it to the relay
        yield Target(base_url, None, calendar_of_deployment(base_url))
        return
    app = start_embedded(config, workdir)
    try:
        yield embedded_target(config, app, room)
    finally:
        if app.proc is not None and app.proc.poll() is None:
            app.thaw()
        app.stop()


def embedded_target(config: SuiteConfig, app: AppProcess, room: Room) -> Target:
    """An app the suite started, reached by pages through the room's relay."""
    calendar = calendar_for_dataset(config.dataset, config.periods)
    return Target(app.base_url, app, calendar, room.front(app.base_url))
