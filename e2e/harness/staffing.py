"""Choosing staff and periods from the data, and moving a tab to a period."""

from __future__ import annotations

import re
from typing import Any

import pytest

from e2e.harness.users import User


def periods_of(rows: dict[int, list[dict[str, Any]]], staff_id: str) -> list[int]:
    return sorted(p for p, members in rows.items() if any(r["id"] == staff_id for r in members))


def pick_member(rows: dict[int, list[dict[str, Any]]], min_periods: int, skip: int = 0) -> str:
    """A staff member working in at least `min_periods` periods (the `skip`-th such)."""
    counts: dict[str, int] = {}
    for members in rows.values():
        for r in members:
            counts[r["id"]] = counts.get(r["id"], 0) + 1
    candidates = sorted(i for i, n in counts.items() if n >= min_periods)
    if len(candidates) <= skip:
        pytest.skip(f"the dataset has no {skip + 1} staff working in {min_periods}+ periods")
    return candidates[skip]


# A client may show a status value its own way: case, "_" or a space.
STATUS_SHOWN = {"active": "active", "on_leave": "on[ _]leave", "inactive": "inactive"}


def shown(field: str, value: str) -> str | re.Pattern[str]:
    if field == "status":
        return re.compile(rf"^\s*{STATUS_SHOWN[value]}\s*$", re.IGNORECASE)
    return value


def other_status(current: object) -> str:
    """A status other than `current` (the protocol's values)."""
    return "on_leave" if current != "on_leave" else "active"


def visit(user: User, period: int) -> None:
    if user.schedule.current_period() != period:
        user.schedule.go_to_period(period)
    user.schedule.wait_ready(period)
