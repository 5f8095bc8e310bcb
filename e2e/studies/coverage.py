"""Print the coverage matrix (fixtures/coverage.json): operations x conditions, each cell
with the tests that fill it, or why it is open or cannot apply.

    python -m e2e.studies.coverage                    # the grid
    python -m e2e.studies.coverage --cells            # every cell, its tests and observers
    python -m e2e.studies.coverage --run artifacts/latest   # each cell's result in a run
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from e2e.harness.options import ROOT


def load() -> dict[str, Any]:
    matrix: dict[str, Any] = json.loads(
        (ROOT / "fixtures" / "coverage.json").read_text(encoding="utf-8")
    )
    return matrix


def _is(operation: str, param: str) -> bool:
    """Whether a test parameter names the operation ("update" names every update)."""
    return operation == param or operation.startswith(param + " ")


def fills(cell: dict[str, Any], case: str, operations: list[str]) -> bool:
    """Whether a test case (a JUnit name: test_x[chromium-create]) fills the cell: its test
    is the cell's, and a parameter naming an operation names the cell's."""
    test = case.split("[")[0]
    if test not in [t.split("::")[-1] for t in cell.get("tests", [])]:
        return False
    params = case.split("[", 1)[1].rstrip("]").split("-") if "[" in case else []
    named = [p for p in params if any(_is(o, p) for o in operations)]
    return not named or any(_is(cell["operation"], p) for p in named)


Outcomes = dict[str, bool]  # JUnit case name -> passed


def outcomes(run_dir: Path) -> Outcomes:
    """Every case that ran (not skipped) and whether it passed, from junit.xml."""
    found: Outcomes = {}
    for case in ET.parse(run_dir / "junit.xml").iter("testcase"):
        if case.find("skipped") is None:
            ok = case.find("failure") is None and case.find("error") is None
            found[case.get("name", "")] = ok
    return found


def result(cell: dict[str, Any], run: Outcomes, operations: list[str]) -> str:
    cases = [ok for name, ok in run.items() if fills(cell, name, operations)]
    if not cases:
        return "not run"
    return "pass" if all(cases) else f"FAIL ({cases.count(False)} of {len(cases)})"


def mark(cell: dict[str, Any], run: Outcomes | None, operations: list[str]) -> str:
    if "tests" in cell and run is not None:
        return result(cell, run, operations)
    if "tests" in cell:
        return f"{len(cell['tests'])} test" + ("s" if len(cell["tests"]) > 1 else "")
    return str(cell["status"])  # open or n/a


def grid(matrix: dict[str, Any], run: Outcomes | None = None) -> str:
    cells = {(c["operation"], c["condition"]): c for c in matrix["cells"]}
    head = ["operation", *matrix["conditions"]]
    rows = [
        [op, *(mark(cells[(op, cond)], run, matrix["operations"]) for cond in matrix["conditions"])]
        for op in matrix["operations"]
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    filled = sum(1 for c in matrix["cells"] if "tests" in c)
    opened = sum(1 for c in matrix["cells"] if c.get("status") == "open")
    lines.append(f"\n{filled} cells filled, {opened} open, {len(cells) - filled - opened} n/a")
    return "\n".join(lines)


def listing(matrix: dict[str, Any], run: Outcomes | None = None) -> str:
    out = []
    for c in matrix["cells"]:
        where = f"{c['operation']} / {c['condition']}"
        if "tests" in c:
            how = f" ({c['how']})" if c.get("how") else ""
            outcome = f" -> {result(c, run, matrix['operations'])}" if run is not None else ""
            out.append(
                f"{where}: {', '.join(c['tests'])}; observers: {', '.join(c['observers'])}"
                f"{how}{outcome}"
            )
        else:
            out.append(f"{where}: {c['status']}: {c['why']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser("python -m e2e.studies.coverage", description=__doc__)
    cli.add_argument("--cells", action="store_true", help="list every cell")
    cli.add_argument("--run", type=Path, help="a run's directory: each cell's result in it")
    args = cli.parse_args(argv)
    if args.run is not None and not (args.run / "junit.xml").exists():
        cli.error(f"{args.run} has no junit.xml (a run directory under artifacts/)")
    matrix = load()
    run = outcomes(args.run) if args.run is not None else None
    print(listing(matrix, run) if args.cells else grid(matrix, run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
