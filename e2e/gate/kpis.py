"""KPI definitions (fixtures/kpis.json) and their evaluation on a run's samples."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from e2e.gate.stats import compare, median, percentile

LEVELS = ("pass", "warn", "fail", "insufficient", "not_measured")
NOT_MEASURED = "not_measured"
TAG = "conditions"  # the sample and test tag naming the profile they were measured under


@dataclass(frozen=True)
class Kpi:
    id: str
    title: str
    metric: str
    statistic: str
    unit: str
    target: float
    fail: float
    min_samples: int
    source: str = ""
    also: tuple[str, ...] = ()
    denominator: str | None = None
    filter: dict[str, str] = field(default_factory=dict)
    higher_is_better: bool = False
    rollback: float | None = None  # the plan's automatic rollback trigger, when it has one
    trigger: str = ""  # the trigger in the plan's words: "navigation time > 500 ms"
    cohort: str = ""  # the rollout cohort the KPI judges (its samples' `cohort` tag)

    @property
    def metrics(self) -> set[str]:
        """Every metric the KPI reads."""
        return {self.metric, *self.also, *([self.denominator] if self.denominator else [])}

    @property
    def method(self) -> str:
        if self.statistic == "ratio_of_sums":
            return f"sum({self.metric}) / sum({self.denominator})"
        names = ", ".join((self.metric, *self.also))
        return f"{self.statistic} of {names}"


@dataclass(frozen=True)
class KpiResult:
    id: str
    title: str
    value: float | None
    unit: str
    target: float
    fail: float
    level: str
    samples: int
    method: str
    note: str = ""
    baseline: dict[str, float | bool] | None = None
    rollback: float | None = None
    trigger: str = ""
    cohort: str = ""
    tripped: bool = False  # the value is beyond the rollback trigger
    conditions: str = ""  # the profile the KPI was judged under (its samples' tag)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.value is not None and math.isnan(self.value):
            data["value"] = None
        return data


def load_kpis(path: Path) -> list[Kpi]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    kpis = []
    for k in raw["kpis"]:
        kpis.append(
            Kpi(
                id=k["id"],
                title=k["title"],
                metric=k["metric"],
                statistic=k["statistic"],
                unit=k["unit"],
                target=float(k["target"]),
                fail=float(k["fail"]),
                min_samples=int(k["minSamples"]),
                source=k.get("source", ""),
                also=tuple(k.get("also", ())),
                denominator=k.get("denominator"),
                filter=dict(k.get("filter", {})),
                higher_is_better=bool(k.get("higherIsBetter", False)),
                rollback=float(k["rollback"]) if k.get("rollback") is not None else None,
                trigger=k.get("trigger", ""),
                cohort=k.get("cohort", ""),
            )
        )
    if not kpis:
        raise ValueError(f"{path} defines no KPI")
    return kpis


def values(
    samples: list[dict[str, Any]], metrics: tuple[str, ...], where: dict[str, str]
) -> list[float]:
    """The samples of `metrics` whose tags match `where`; tags are flags, so a sample
    without the tag matches the value "no" (a sample not under load has no `load` tag)."""
    return [
        float(s["value"])
        for s in samples
        if s["metric"] in metrics
        and all(s.get("tags", {}).get(k, "no") == v for k, v in where.items())
    ]


STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "p95": lambda v: percentile(v, 0.95),
    "p75": lambda v: percentile(v, 0.75),  # Web Vitals judge the 75th percentile
    "p50": lambda v: percentile(v, 0.5),
    "median": median,
    "mean": lambda v: sum(v) / len(v),
    "max": lambda v: max(v),
    "min": lambda v: min(v),
    "sum": lambda v: float(sum(v)),
}


def statistic(kpi: Kpi, samples: list[dict[str, Any]]) -> tuple[float | None, int]:
    xs = values(samples, (kpi.metric, *kpi.also), kpi.filter)
    if kpi.statistic == "ratio_of_sums":
        assert kpi.denominator is not None
        den = values(samples, (kpi.denominator,), kpi.filter)
        total = sum(den)
        return (sum(xs) / total if total else None), len(den)
    if not xs:
        return None, 0
    return STATISTICS[kpi.statistic](xs), len(xs)


def trips(kpi: Kpi, value: float | None, samples: int) -> bool:
    """Whether a measured value (with enough samples) is beyond the KPI's rollback trigger."""
    if kpi.rollback is None or value is None or math.isnan(value) or samples < kpi.min_samples:
        return False
    sign = -1.0 if kpi.higher_is_better else 1.0
    return sign * (value - kpi.rollback) > 0


def level(kpi: Kpi, value: float) -> str:
    sign = -1.0 if kpi.higher_is_better else 1.0
    if sign * (value - kpi.fail) > 0:
        return "fail"
    if sign * (value - kpi.target) > 0:
        return "warn"
    return "pass"


def unmeasured_reason(kpi: Kpi, tests: dict[str, dict[str, Any]] | None) -> str | None:
    """Why no test could have measured `kpi` in this run, or None when one ran.

    `tests` is the run's "tests" table (selected tests, the metrics each declares, static
    tags such as fault, outcome and skip reason). A KPI whose feeding tests were not
    selected, or were all skipped by design, was not measured; one whose tests ran and
    still gave too few samples is insufficient. Runs recorded without the table (None)
    are judged on their samples alone.
    """
    if tests is None:
        return None
    feeding = [
        t
        for t in tests.values()
        if kpi.metrics & set(t.get("measures", ()))
        and all(t.get("tags", {}).get(k, v) == v for k, v in kpi.filter.items())
    ]
    if not feeding:
        where = ", ".join(f"{k}={v}" for k, v in kpi.filter.items())
        return "no selected test measures it" + (f" ({where})" if where else "")
    if any(t.get("outcome") in ("passed", "failed") for t in feeding):
        return None
    reasons = sorted({t.get("reason") or "skipped" for t in feeding})
    if all(t.get("outcome") == "skipped" for t in feeding):
        return "its tests were skipped for this target: " + "; ".join(reasons)
    return "its tests did not run"


def groups(samples: Iterable[dict[str, Any]], tests: dict[str, dict[str, Any]] | None) -> list[str]:
    """The conditions a run was measured under, in the order first met (the run's own
    first): one, or none for a run recorded without the tag."""
    found: dict[str, None] = {}
    for test in (tests or {}).values():
        if name := test.get("tags", {}).get(TAG):
            found.setdefault(name)
    for sample in samples:
        if name := sample.get("tags", {}).get(TAG):
            found.setdefault(name)
    return list(found)


def evaluate(
    kpis: list[Kpi],
    samples: list[dict[str, Any]],
    baseline: list[dict[str, Any]] | None = None,
    regression_level: str = "warn",
    tests: dict[str, dict[str, Any]] | None = None,
    notes: dict[str, dict[str, str]] | None = None,
) -> list[KpiResult]:
    """Each KPI judged on the samples, once per set of conditions the run was measured
    under (samples and tests tagged `conditions`); `notes` (a run's "notes") says why a
    metric could not be measured on this target, or what would have given it enough."""
    names = groups(samples, tests)
    results = []
    for name in names or [""]:
        judged = kpis
        if len(names) > 1:
            judged = [replace(k, filter={**k.filter, TAG: name}) for k in kpis]
        results += [
            replace(r, conditions=name)
            for r in _evaluate(judged, samples, baseline, regression_level, tests, notes)
        ]
    return results


def _evaluate(
    kpis: list[Kpi],
    samples: list[dict[str, Any]],
    baseline: list[dict[str, Any]] | None,
    regression_level: str,
    tests: dict[str, dict[str, Any]] | None,
    notes: dict[str, dict[str, str]] | None,
) -> list[KpiResult]:
    notes = notes or {}
    results = []
    for kpi in kpis:
        value, n = statistic(kpi, samples)
        note = ""
        said = [notes[m] for m in sorted(kpi.metrics) if m in notes]
        unmeasured = unmeasured_reason(kpi, tests) if n == 0 else None
        if n == 0 and unmeasured is None:
            unmeasured = next((s["unmeasured"] for s in said if "unmeasured" in s), None)
        if unmeasured is not None:
            results.append(
                KpiResult(
                    kpi.id,
                    kpi.title,
                    None,
                    kpi.unit,
                    kpi.target,
                    kpi.fail,
                    NOT_MEASURED,
                    0,
                    kpi.method,
                    unmeasured,
                    rollback=kpi.rollback,
                    trigger=kpi.trigger,
                    cohort=kpi.cohort,
                )
            )
            continue
        if value is None or n < kpi.min_samples:
            lvl = "insufficient"
            note = f"{n} samples; the {kpi.statistic} needs {kpi.min_samples}"
            note += "".join(f"; {s['short']}" for s in said if "short" in s)
        else:
            lvl = level(kpi, value)
        compared = None
        if baseline is not None and kpi.statistic not in ("ratio_of_sums", "sum"):
            metrics = (kpi.metric, *kpi.also)
            cmp = compare(
                values(baseline, metrics, kpi.filter),
                values(samples, metrics, kpi.filter),
                kpi.higher_is_better,
            )
            if cmp is not None:
                compared = {
                    "baselineMedian": cmp.baseline_median,
                    "currentMedian": cmp.current_median,
                    "pValue": cmp.p_value,
                    "regression": cmp.worse,
                }
                if cmp.worse:
                    note = (note + "; " if note else "") + (
                        f"significant regression against the baseline (Mann-Whitney U,"
                        f" p={cmp.p_value:.3g}; median {cmp.baseline_median:.4g} ->"
                        f" {cmp.current_median:.4g})"
                    )
                    if lvl == "pass" or (lvl == "warn" and regression_level == "fail"):
                        lvl = regression_level
        results.append(
            KpiResult(
                kpi.id,
                kpi.title,
                value,
                kpi.unit,
                kpi.target,
                kpi.fail,
                lvl,
                n,
                kpi.method,
                note,
                compared,
                kpi.rollback,
                kpi.trigger,
                kpi.cohort,
                trips(kpi, value, n),
            )
        )
    return results


def verdict(results: list[KpiResult]) -> str:
    """The worst level of the measured KPIs; "not_measured" when none was measured (a gate
    that measured nothing cannot approve a deploy)."""
    levels = {r.level for r in results if r.level != NOT_MEASURED}
    if not levels:
        return NOT_MEASURED
    for worst in ("fail", "insufficient", "warn"):
        if worst in levels:
            return worst
    return "pass"
