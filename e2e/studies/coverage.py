"""Print the coverage matrix (fixtures/coverage.json): operations x conditions, each cell
with the tests that fill it, or why it is open or cannot apply.

    python -m e2e.studies.coverage           # the grid
    python -m e2e.studies.coverage --cells   # every cell with its tests and observers
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from e2e.harness.options import ROOT

MARK = {"open": "open", "n/a": "n/a"}


def load() -> dict[str, Any]:
    matrix: dict[str, Any] = json.loads(
        (ROOT / "fixtures" / "coverage.json").read_text(encoding="utf-8")
    )
    return matrix


def mark(cell: dict[str, Any]) -> str:
    if "tests" in cell:
        return f"{len(cell['tests'])} test" + ("s" if len(cell["tests"]) > 1 else "")
    return MARK[cell["status"]]


def grid(matrix: dict[str, Any]) -> str:
    cells = {(c["operation"], c["condition"]): c for c in matrix["cells"]}
    head = ["operation", *matrix["conditions"]]
    rows = [
        [op, *(mark(cells[(op, cond)]) for cond in matrix["conditions"])]
        for op in matrix["operations"]
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    filled = sum(1 for c in matrix["cells"] if "tests" in c)
    opened = sum(1 for c in matrix["cells"] if c.get("status") == "open")
    lines.append(f"\n{filled} cells filled, {opened} open, {len(cells) - filled - opened} n/a")
    return "\n".join(lines)


def listing(matrix: dict[str, Any]) -> str:
    out = []
    for c in matrix["cells"]:
        where = f"{c['operation']} / {c['condition']}"
        if "tests" in c:
            how = f" ({c['how']})" if c.get("how") else ""
            out.append(
                f"{where}: {', '.join(c['tests'])}; observers: {', '.join(c['observers'])}{how}"
            )
        else:
            out.append(f"{where}: {c['status']}: {c['why']}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser("python -m e2e.studies.coverage", description=__doc__)
    cli.add_argument("--cells", action="store_true", help="list every cell")
    args = cli.parse_args(argv)
    matrix = load()
    print(listing(matrix) if args.cells else grid(matrix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
