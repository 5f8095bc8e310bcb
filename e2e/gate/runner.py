"""Runs the gate on a run directory: gate.json, history, report, table, exit status."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from e2e.gate import history, openmetrics, report
from e2e.gate.cohorts import rollback_line, tripped
from e2e.gate.conditions import load_run, main_pass
from e2e.gate.kpis import NOT_MEASURED, KpiResult, evaluate, load_kpis, verdict
from e2e.gate.units import fmt, level_label, text_table
from e2e.harness.metrics import load

# Exit statuses: pytest's own for test failures (1), these for the gate.
GATE_FAILED = 10
TESTS_AND_GATE_FAILED = 11
ROLLBACK = 12  # a cohort KPI is beyond one of the plan's automatic rollback triggers


@dataclass(frozen=True)
class GateOutcome:
    verdict: str
    results: list[KpiResult]
    gate_path: Path
    report_path: Path

    @property
    def rollbacks(self) -> list[KpiResult]:
        return tripped(self.results)


def run_gate(
    run_dir: Path,
    kpis_path: Path,
    baseline: Path | None = None,
    history_path: Path | None = None,
    regression_level: str = "warn",
) -> GateOutcome:
    run = load_run(run_dir)
    base = load(baseline)["samples"] if baseline is not None else None
    results = evaluate(
        load_kpis(kpis_path),
        run["samples"],
        base,
        regression_level,
        run.get("tests"),
        run.get("notes"),
    )
    chosen = selection(run)
    if chosen:
        results = [
            replace(r, note=f"{r.note} ({chosen})")
            if r.level == NOT_MEASURED and r.note.startswith("no selected test")
            else r
            for r in results
        ]
    outcome_verdict = verdict(results)
    gate_path = run_dir / "gate.json"
    gate_path.write_text(
        json.dumps(
            {
                "runId": run["runId"],
                "verdict": outcome_verdict,
                "kpis": [r.as_json() for r in results],
                "rollback": [rollback_line(r) for r in tripped(results)],
                "kpiFile": str(kpis_path),
                "baseline": str(baseline) if baseline else None,
                "tests": run.get("outcomes", {}),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    (run_dir / "metrics.prom").write_text(
        openmetrics.render(run["runId"], time.time(), outcome_verdict, results), encoding="utf-8"
    )
    history_path = history_path or run_dir.parent / "history.jsonl"
    history.append(history_path, run, results, outcome_verdict)
    report_path = report.render(run_dir, run, results, outcome_verdict, history.read(history_path))
    return GateOutcome(outcome_verdict, results, gate_path, report_path)


def selection(run: dict[str, Any]) -> str:
    """How the run chose its tests, as pytest was told: `-m "smoke" -k "cut"`."""
    chosen = run.get("environment", {}).get("selection", {})
    parts = [f'-m "{chosen["markers"]}"'] if chosen.get("markers") else []
    parts += [f'-k "{chosen["keywords"]}"'] if chosen.get("keywords") else []
    return "selection: " + " ".join(parts) if parts else ""


def table(results: list[KpiResult]) -> list[str]:
    """The KPIs of the run's own conditions; the cohort KPIs of a rollout run, and the
    other conditions a run was judged under, have their own tables."""
    results = [r for r in main_pass(results) if not r.cohort]
    rows = [("KPI", "value", "target", "fail beyond", "level", "n", "method")]
    for r in results:
        rows.append(
            (
                r.title,
                fmt(r.value, r.unit),
                fmt(r.target, r.unit),
                fmt(r.fail, r.unit),
                level_label(r.level),
                str(r.samples),
                r.method,
            )
        )
    lines = text_table(rows)
    for r in results:
        if r.note:
            lines.append(f"  {r.id}: {r.note}")
    return lines


def exit_status(tests_failed: bool, gate_verdict: str, mode: str, rollback: bool = False) -> int:
    """0, 1 (tests failed), 10 (gate failed), 11 (both); 12 when the gate is strict and a
    rollback trigger tripped, whatever else failed (the deploy is to be rolled back)."""
    if rollback and mode == "strict":
        return ROLLBACK
    gate_failed = mode == "strict" and gate_verdict in ("fail", "insufficient", NOT_MEASURED)
    if tests_failed and gate_failed:
        return TESTS_AND_GATE_FAILED
    if gate_failed:
        return GATE_FAILED
    return 1 if tests_failed else 0
