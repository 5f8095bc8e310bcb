"""Periods (one calendar month each) and period membership of a staff row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Period:
    index: int
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return self.start.strftime("%b %Y")

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label": self.label,
        }


def month_periods(first_month: str, count: int) -> list[Period]:
    """`count` consecutive months starting at `first_month` ("YYYY-MM")."""
    year, month = (int(part) for part in first_month.split("-"))
    periods: list[Period] = []
    for index in range(count):
        start = dt.date(year + (month - 1 + index) // 12, (month - 1 + index) % 12 + 1, 1)
        following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        periods.append(Period(index, start, following - dt.timedelta(days=1)))
    return periods


def member_of(
    periods: list[Period], start: str, end: str | None, end_exclusive: bool = False
) -> list[int]:
    """Indices of the periods a member with these dates belongs to.

    A member belongs to a period when its start is not after the period's end and its
    end (if any) is not before the period's start. ISO dates compare as strings.
    `end_exclusive` is defect F22 (an end date on a period's first day leaves it out).
    """
    return [
        p.index
        for p in periods
        if start <= p.end.isoformat()
        and (
            end is None
            or (end > p.start.isoformat() if end_exclusive else end >= p.start.isoformat())
        )
    ]
