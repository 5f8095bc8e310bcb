"""Measurements as data: every sample with its unit and test, written to metrics.json.

Format (schema 1), documented in the README:
{"schema": 1, "runId", "startedAt", "finishedAt", "environment": {...},
 "outcomes": {nodeid: "passed"|"failed"|"skipped"},
 "tests": {nodeid: {"outcome", "measures": [metric], "tags": {...}, "reason"}},
 "samples": [{"metric", "value", "unit", "test", "tags": {...}}],
 "notes": {metric: {"unmeasured": reason} | {"short": what would give enough samples}}}

"tests" lists every selected test with the metrics it declares (`@pytest.mark.measures`),
so that the gate can tell a KPI nobody measured from one measured too little. "notes" says
why a declared metric has no samples on this target (the gate shows it NOT MEASURED with
that reason), or what would have given it enough (shown beside an INSUFFICIENT).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1


@dataclass(frozen=True)
class Sample:
    metric: str
    value: float
    unit: str
    test: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class MetricsRecorder:
    run_id: str
    started_at: float = field(default_factory=time.time)
    samples: list[Sample] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # on every sample (the conditions)

    def unmeasured(self, metric: str, reason: str) -> None:
        """`metric` cannot be measured on this target, for `reason`."""
        self.notes[metric] = {"unmeasured": reason}

    def short(self, metric: str, hint: str) -> None:
        """`metric` may get too few samples; `hint` says what would give it enough."""
        self.notes.setdefault(metric, {})["short"] = hint

    def record(self, metric: str, value: float, unit: str, test: str, **tags: object) -> None:
        self.samples.append(
            Sample(
                metric, float(value), unit, test, self.tags | {k: str(v) for k, v in tags.items()}
            )
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "runId": self.run_id,
            "startedAt": self.started_at,
            "finishedAt": time.time(),
            "environment": self.environment,
            "outcomes": self.outcomes,
            "tests": {
                nodeid: {**test, "tags": self.tags | test.get("tags", {})}
                for nodeid, test in self.tests.items()
            },
            "samples": [asdict(s) for s in self.samples],
            "notes": self.notes,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=1) + "\n", encoding="utf-8")


class UndeclaredMetric(RuntimeError):
    """A test recorded a metric it does not declare; the gate would misjudge its coverage."""


class TestMetrics:
    """The recorder bound to one test: `measure("navigation.latency_ms", 3.1, "ms")`.

    Only the metrics the test declares (`@pytest.mark.measures`, plus those its fixtures
    record) may be recorded, so that the declaration the gate reads stays true.
    """

    __test__ = False  # not a test class

    def __init__(
        self,
        recorder: MetricsRecorder,
        test: str,
        declared: frozenset[str] | None = None,
        tags: dict[str, object] | None = None,
    ) -> None:
        self.recorder = recorder
        self.test = test
        self.declared = declared
        self.tags = tags or {}

    def tagged(self, **tags: object) -> TestMetrics:
        """The same recorder, adding these tags to every sample (e.g. the load it ran under)."""
        return TestMetrics(self.recorder, self.test, self.declared, {**self.tags, **tags})

    def _declared(self, metric: str) -> None:
        if self.declared is not None and metric not in self.declared:
            raise UndeclaredMetric(
                f"{self.test} records {metric!r} but does not declare it: add it to the"
                " test's @pytest.mark.measures(...)"
            )

    def unmeasured(self, metric: str, reason: str) -> None:
        """`metric` cannot be measured on this target: the gate says NOT MEASURED, and why."""
        self._declared(metric)
        self.recorder.unmeasured(metric, reason)

    def short(self, metric: str, hint: str) -> None:
        """`metric` may get too few samples: an INSUFFICIENT verdict shows `hint`."""
        self._declared(metric)
        self.recorder.short(metric, hint)

    def __call__(self, metric: str, value: float, unit: str, **tags: object) -> None:
        self._declared(metric)
        self.recorder.record(metric, value, unit, self.test, **{**self.tags, **tags})


def load(path: Path) -> dict[str, Any]:
    """A metrics.json, or the one inside a run directory."""
    if path.is_dir():
        path = path / "metrics.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA or not isinstance(data.get("samples"), list):
        raise ValueError(f"{path} is not a staffsync metrics file (schema {SCHEMA})")
    return data
