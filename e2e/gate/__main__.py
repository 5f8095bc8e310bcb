"""`python -m e2e.gate RUN_DIR`: evaluate a recorded run again (other KPIs, a baseline), with
the passes under other conditions it holds (RUN_DIR/passes/*) side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from e2e.gate.cohorts import cohort_table, rollback_line
from e2e.gate.conditions import side_by_side
from e2e.gate.runner import ROLLBACK, exit_status, run_gate, table
from e2e.gate.units import level_label
from e2e.harness.options import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.gate", description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a run directory holding metrics.json")
    parser.add_argument("--kpis", type=Path, default=ROOT / "fixtures" / "kpis.json")
    parser.add_argument("--baseline", type=Path, help="run directory or metrics.json to compare")
    parser.add_argument("--history", type=Path, help="history file (default: beside the run)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit as the strict gate of a suite run does: 0, 1 (--tests-failed), 10, 11, 12",
    )
    parser.add_argument(
        "--tests-failed", action="store_true", help="with --strict: the run's tests failed"
    )
    args = parser.parse_args(argv)
    if not (args.run_dir / "metrics.json").is_file():
        parser.error(f"{args.run_dir} has no metrics.json")
    outcome = run_gate(args.run_dir, args.kpis, args.baseline, args.history)
    print("\n".join(table(outcome.results)))
    if conditions := side_by_side(outcome.results):
        print("\nConditions, side by side:\n" + "\n".join(conditions))
    if cohorts := cohort_table(outcome.results):
        print("\nCohorts of the rollout, side by side:\n" + "\n".join(cohorts))
    for r in outcome.rollbacks:
        print(rollback_line(r))
    print(f"gate: {level_label(outcome.verdict)}; report: {outcome.report_path}")
    if args.strict:
        return exit_status(args.tests_failed, outcome.verdict, "strict", bool(outcome.rollbacks))
    if outcome.rollbacks:
        return ROLLBACK
    return 0 if outcome.verdict in ("pass", "warn") else 1


if __name__ == "__main__":
    sys.exit(main())
