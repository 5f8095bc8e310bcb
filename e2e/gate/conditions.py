"""A run judged under several conditions (the lab pass and its condition passes): every
KPI per profile, and the profiles side by side (the terminal and the report show the same
rows). A pass under other conditions lives in its run directory's `passes/<name>/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from e2e.gate.kpis import NOT_MEASURED, TAG, KpiResult
from e2e.gate.units import fmt, level_label, text_table
from e2e.harness.metrics import load

PASSES = "passes"  # inside a run directory: one folder per pass under other conditions


def pass_dir(run_dir: Path, conditions: str) -> Path:
    """Where the pass under `conditions` of the run in `run_dir` writes its figures."""
    return run_dir / PASSES / conditions.replace(",", "+")


def load_run(run_dir: Path) -> dict[str, Any]:
    """A run's metrics with those of its passes under other conditions: samples (each
    tagged with its conditions) side by side, tests and outcomes named with the pass."""
    run = load(run_dir)
    folder = run_dir / PASSES
    passes = (
        sorted(p for p in folder.iterdir() if (p / "metrics.json").is_file())
        if folder.is_dir()
        else []
    )
    if not passes:
        return run
    merged = dict(run)
    merged["samples"] = list(run["samples"])
    merged["tests"] = dict(run.get("tests") or {})
    merged["outcomes"] = dict(run.get("outcomes") or {})
    merged["notes"] = dict(run.get("notes") or {})
    environment = dict(run.get("environment") or {})
    environment["passes"] = []
    for path in passes:
        other = load(path)
        name = (other.get("environment") or {}).get(TAG, {}).get("name") or path.name
        merged["samples"] += other["samples"]
        for nodeid, test in (other.get("tests") or {}).items():
            merged["tests"][f"{nodeid} [{name}]"] = test
        for nodeid, outcome in (other.get("outcomes") or {}).items():
            merged["outcomes"][f"{nodeid} [{name}]"] = outcome
        for metric, note in (other.get("notes") or {}).items():
            merged["notes"].setdefault(metric, note)
        environment["passes"].append({"conditions": name, "runDir": str(path)})
    merged["environment"] = environment
    return merged


def side_by_side_rows(results: list[KpiResult]) -> list[tuple[str, ...]]:
    """Each KPI's value and level per profile; the first row names the columns. Empty when
    the run was judged under one set of conditions."""
    names = list(dict.fromkeys(r.conditions for r in results if r.conditions))
    if len(names) < 2:
        return []
    by = {(r.id, r.conditions): r for r in results if not r.cohort}
    ids = [i for i in dict.fromkeys(r.id for r in results if not r.cohort)
           if any(by.get((i, n)) and by[(i, n)].level != NOT_MEASURED for n in names)]  # fmt: skip
    head = ["KPI"]
    for name in names:
        head += [f"{name}: value", "level", "n"]
    rows = [tuple(head)]
    for kpi in ids:
        first = next(by[(kpi, n)] for n in names if (kpi, n) in by)
        row = [first.title]
        for name in names:
            r = by.get((kpi, name))
            if r is None or r.level == NOT_MEASURED:
                row += ["-", "not measured", "0"]
            else:
                row += [fmt(r.value, r.unit), level_label(r.level), str(r.samples)]
        rows.append(tuple(row))
    return rows


def side_by_side(results: list[KpiResult]) -> list[str]:
    """The side-by-side table as terminal lines (none for a run under one set)."""
    rows = side_by_side_rows(results)
    if not rows:
        return []
    lines = text_table(rows)
    notes = [f"  {r.id} [{r.conditions}]: {r.note}" for r in results
             if r.conditions and r.note and r.level not in (NOT_MEASURED, "pass")]  # fmt: skip
    return lines + notes


def main_pass(results: list[KpiResult]) -> list[KpiResult]:
    """The results of the run's own conditions (the first judged)."""
    first = next((r.conditions for r in results), "")
    return [r for r in results if r.conditions == first]
