"""`python -m e2e.gate RUN_DIR`: evaluate a recorded run again (other KPIs, a baseline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from e2e.gate.cohorts import cohort_table, rollback_line
from e2e.gate.runner import ROLLBACK, run_gate, table
from e2e.harness.options import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e.gate", description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a run directory holding metrics.json")
    parser.add_argument("--kpis", type=Path, default=ROOT / "fixtures" / "kpis.json")
    parser.add_argument("--baseline", type=Path, help="run directory or metrics.json to compare")
    parser.add_argument("--history", type=Path, help="history file (default: beside the run)")
    args = parser.parse_args(argv)
    if not (args.run_dir / "metrics.json").is_file():
        parser.error(f"{args.run_dir} has no metrics.json")
    outcome = run_gate(args.run_dir, args.kpis, args.baseline, args.history)
    print("\n".join(table(outcome.results)))
    if cohorts := cohort_table(outcome.results):
        print("\nCohorts of the rollout, side by side:\n" + "\n".join(cohorts))
    for r in outcome.rollbacks:
        print(rollback_line(r))
    print(f"gate: {outcome.verdict.upper()}; report: {outcome.report_path}")
    if outcome.rollbacks:
        return ROLLBACK
    return 0 if outcome.verdict in ("pass", "warn") else 1


if __name__ == "__main__":
    sys.exit(main())
