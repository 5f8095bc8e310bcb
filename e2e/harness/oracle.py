"""An oracle of period membership that does not ask the server under test.

Written from the protocol's text alone ("a staff member belongs to period i when its start
is not after the period's end and its end, if any, is not before the period's start"), with
its own calendar arithmetic: a server that computes membership wrongly (a boundary day, an
end date taken as exclusive) cannot also be the judge of it.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.harness.options import ROOT

DEFAULT_DATASET = ROOT / "fixtures" / "staff.json"
DEFAULT_PERIODS = 17


@dataclass(frozen=True)
class Span:
    index: int
    start: dt.date
    end: dt.date


def months(first: str, count: int) -> list[Span]:
    """`count` calendar months from `first` ("YYYY-MM"), each from its 1st to its last day."""
    year, month = (int(part) for part in first.split("-"))
    spans = []
    for index in range(count):
        y, m = divmod(month - 1 + index, 12)
        start = dt.date(year + y, m + 1, 1)
        ny, nm = divmod(m + 1, 12)
        spans.append(Span(index, start, dt.date(year + y + ny, nm + 1, 1) - dt.timedelta(days=1)))
    return spans


def calendar_for_dataset(dataset: Path | None, periods: int | None) -> list[Span]:
    """The embedded app's calendar: the dataset's first month, the configured count."""
    seed = json.loads((dataset or DEFAULT_DATASET).read_text(encoding="utf-8"))
    return months(str(seed["firstMonth"]), periods or DEFAULT_PERIODS)


def calendar_of_deployment(base_url: str) -> list[Span] | None:
    """A deployment's calendar as its /config.json states it, when it serves one."""
    try:
        with urllib.request.urlopen(base_url + "/config.json", timeout=5) as resp:
            stated = json.loads(resp.read())["periods"]
        return [
            Span(
                int(p["index"]), dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"])
            )
            for p in stated
        ]
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError):
        return None


def belongs(row: dict[str, Any], span: Span) -> bool:
    start = dt.date.fromisoformat(str(row["startPeriod"]))
    end = row.get("endPeriod")
    return start <= span.end and (end is None or dt.date.fromisoformat(str(end)) >= span.start)


def expected_members(calendar: list[Span], rows: Iterable[dict[str, Any]]) -> dict[int, set[str]]:
    """Period index -> the ids that belong to it, by the protocol's rule."""
    live = list(rows)
    return {span.index: {str(r["id"]) for r in live if belongs(r, span)} for span in calendar}
