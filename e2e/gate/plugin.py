"""The gate as a pytest plugin: after the suite has written the run's metrics.json, judge
it, set the exit status, write gate.json, the history line and the report, and print the
KPI table with the verdict. Registered by the suite's plugin when the gate is on."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.gate.cohorts import cohort_table, rollback_line
from e2e.gate.conditions import side_by_side
from e2e.gate.runner import GateOutcome, exit_status, run_gate, table
from e2e.gate.units import level_label
from e2e.harness.options import SuiteConfig


class GatePlugin:
    def __init__(self, suite: SuiteConfig) -> None:
        self.suite = suite
        self.outcome: GateOutcome | None = None
        self.exit: int | None = None

    @pytest.hookimpl(trylast=True)  # after the suite's plugin has written metrics.json
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus not in (0, 1) or not (self.suite.run_dir / "metrics.json").is_file():
            return  # interrupted, or pytest could not run the suite: nothing to judge
        self.outcome = run_gate(self.suite.run_dir, self.suite.kpis, self.suite.baseline)
        self.exit = exit_status(
            exitstatus == 1, self.outcome.verdict, self.suite.gate, bool(self.outcome.rollbacks)
        )
        session.exitstatus = self.exit

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.outcome is None:
            return
        terminalreporter.section(f"staffsync gate ({self.suite.gate})")
        for line in table(self.outcome.results):
            terminalreporter.write_line(line)
        if conditions := side_by_side(self.outcome.results):
            terminalreporter.write_line("")
            terminalreporter.write_line("Conditions, side by side:")
            for line in conditions:
                terminalreporter.write_line(line)
        cohorts = cohort_table(self.outcome.results)
        if cohorts:
            terminalreporter.write_line("")
            terminalreporter.write_line("Cohorts of the rollout, side by side:")
            for line in cohorts:
                terminalreporter.write_line(line)
        for r in self.outcome.rollbacks:
            terminalreporter.write_line(rollback_line(r))
        effect = {"strict": "decides the exit status", "warn": "reported only"}[self.suite.gate]
        terminalreporter.write_line(
            f"GATE VERDICT: {level_label(self.outcome.verdict)} ({effect}); exit status {self.exit}"
        )
        terminalreporter.write_line(f"report: {self.outcome.report_path}")
