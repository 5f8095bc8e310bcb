"""The cohorts of a rollout run: their KPIs side by side, and the plan's rollback triggers
they tripped (the terminal and the report show the same lines)."""

from __future__ import annotations

from e2e.gate.kpis import NOT_MEASURED, KpiResult
from e2e.gate.units import fmt, level_label, text_table


def tripped(results: list[KpiResult]) -> list[KpiResult]:
    return [r for r in results if r.tripped]


def rollback_line(r: KpiResult) -> str:
    """`ROLLBACK: navigation time > 500 ms (prefetch cohort, 612.0 ms, threshold 500 ms)`."""
    assert r.rollback is not None
    where = f"{r.cohort} cohort, " if r.cohort else ""
    return (
        f"ROLLBACK: {r.trigger or r.title} ({where}{fmt(r.value, r.unit)},"
        f" threshold {fmt(r.rollback, r.unit)})"
    )


def cohort_rows(results: list[KpiResult]) -> list[tuple[str, ...]]:
    """The cohorts of a rollout run side by side: each measure's value, level and rollback
    trigger in the new (prefetch) and the legacy cohort; the first row names the columns.
    Empty when no cohort KPI was measured."""
    cohorts = [r for r in results if r.cohort]
    if all(r.level == NOT_MEASURED for r in cohorts):
        return []
    names = sorted({r.cohort for r in cohorts}, key=lambda c: (c != "prefetch", c))
    titles = list(dict.fromkeys(r.title for r in cohorts))
    by = {(r.title, r.cohort): r for r in cohorts}
    head = ["measure"]
    for name in names:
        head += [f"{name}: value", "level", "n", "rollback beyond"]
    rows = [tuple(head)]
    for title in titles:
        row = [title]
        for name in names:
            r = by.get((title, name))
            if r is None:
                row += ["", "", "", ""]
                continue
            trigger = "-" if r.rollback is None else fmt(r.rollback, r.unit)
            shown = level_label(r.level) + (" ROLLBACK" if r.tripped else "")
            row += [fmt(r.value, r.unit), shown, str(r.samples), trigger]
        rows.append(tuple(row))
    return rows


def cohort_notes(results: list[KpiResult]) -> list[str]:
    return [f"{r.id}: {r.note}" for r in results if r.cohort and r.note and r.level != NOT_MEASURED]


def cohort_table(results: list[KpiResult]) -> list[str]:
    """The side-by-side table as terminal lines (none when no cohort was measured)."""
    rows = cohort_rows(results)
    if not rows:
        return []
    return text_table(rows) + [f"  {note}" for note in cohort_notes(results)]
