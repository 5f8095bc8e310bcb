"""The run's environment in metrics.json: what was tested, with what, on what machine.
Facts are collected as the session learns them; `snapshot` builds the whole record once."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import psutil

from e2e.harness.options import SuiteConfig


@dataclass
class RunFacts:
    health: dict[str, Any] = field(default_factory=dict)  # the target's /health at start
    base_url: str = ""
    dataset: dict[str, int] = field(default_factory=dict)
    browser: str | None = None
    selection: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)  # what the figures were taken under


def snapshot(suite: SuiteConfig, facts: RunFacts) -> dict[str, Any]:
    env: dict[str, Any] = {
        "target": suite.base_url or "embedded",
        "client": suite.client if suite.embedded else "deployment",
        "mode": suite.app_mode,
        "defect": suite.defect,
        "dbLatencyMs": suite.db_latency_ms,
        "navSeed": suite.nav_seed,
        "gate": suite.gate,
        "reconnectLimitMs": suite.reconnect_limit_ms,
        "browserHost": suite.browser_endpoint or "local",
        "selection": facts.selection,
        "cores": psutil.cpu_count(),
        "memoryBytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if facts.health or facts.base_url:
        env["app"] = {
            "version": facts.health.get("version"),
            "periods": facts.health.get("periods"),
            "defect": facts.health.get("defect"),
            "client": facts.health.get("client"),
            "baseUrl": facts.base_url,
        }
    if facts.conditions:
        env["conditions"] = facts.conditions
    if facts.dataset:
        env["dataset"] = facts.dataset
    if facts.browser:
        env["browser"] = facts.browser
        env["playwright"] = version("playwright")
    return env
