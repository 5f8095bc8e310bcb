"""Nightly history: one line per run in artifacts/history.jsonl, KPI values and levels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from e2e.gate.conditions import main_pass
from e2e.gate.kpis import KpiResult


def append(path: Path, run: dict[str, Any], results: list[KpiResult], gate_verdict: str) -> None:
    own = main_pass(results)
    entry: dict[str, Any] = {
        "runId": run.get("runId"),
        "finishedAt": run.get("finishedAt"),
        "mode": run.get("environment", {}).get("mode"),
        "defect": run.get("environment", {}).get("defect"),
        "verdict": gate_verdict,
        "kpis": {r.id: {"value": r.value, "level": r.level} for r in own},
    }
    others = [r for r in results if r.conditions != own[0].conditions] if own else []
    if others:  # the passes under other conditions, each KPI named with its profile
        entry["underConditions"] = {
            f"{r.id} [{r.conditions}]": {"value": r.value, "level": r.level} for r in others
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def read(path: Path, last: int = 30) -> list[dict[str, Any]]:
    """The newest `last` entries, oldest first; unreadable lines are skipped."""
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries[-last:]
