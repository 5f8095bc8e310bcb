"""How the gate writes values and levels, in the terminal table and in the report alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

from e2e.gate.kpis import NOT_MEASURED


def fmt(value: float | None, unit: str) -> str:
    """`2.31 MiB`, `100.00 %`, `19.7 ms`, `0 writes`; `-` for no value."""
    if value is None or math.isnan(value):
        return "-"
    if unit == "bytes":
        if abs(value) >= 1024 * 1024:
            return f"{value / 1024 / 1024:.2f} MiB"
        return f"{value / 1024:.1f} KiB"
    if unit == "exponent":  # a growth exponent: 1 is linear
        return f"{value:.2f}"
    if unit == "score":  # layout shift: a unitless score, good at 0.1 or less
        return f"{value:.3f}"
    if unit == "ratio":
        return f"{value * 100:.2f} %"
    return f"{value:.1f} {unit}" if value % 1 else f"{value:.0f} {unit}"


def level_label(level: str) -> str:
    """PASS, WARN, FAIL, INSUFFICIENT, NOT MEASURED."""
    return "NOT MEASURED" if level == NOT_MEASURED else level.upper()


def text_table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Rows of text as aligned terminal lines, the first row its head, a rule under it."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines
