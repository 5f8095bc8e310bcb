"""A run's KPI values and levels in the OpenMetrics text format (metrics.prom), for a
nightly job to hand to Prometheus: node_exporter's textfile collector reads the file as it
is; a Pushgateway takes it by `curl --data-binary @metrics.prom URL/metrics/job/staffsync`.

    staffsync_kpi_value{kpi="navigation_p95",unit="ms",cohort="",conditions="lab"} 12.9
    staffsync_kpi_target / staffsync_kpi_fail   the levels it was judged by
    staffsync_kpi_samples                        how many samples it had
    staffsync_kpi_level{kpi=...,staffsync_kpi_level="pass"} 1   (a state set: one is 1)
    staffsync_gate_verdict{staffsync_gate_verdict="pass"} 1
    staffsync_run_info{run_id="..."} 1, staffsync_run_finished_timestamp_seconds
A KPI that was not measured has no value sample; its level says so."""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector

from e2e.gate.kpis import LEVELS, KpiResult

VERDICTS = ("pass", "warn", "fail", "insufficient", "not_measured")
LABELS = ["kpi", "unit", "cohort", "conditions"]


class GateCollector(Collector):
    def __init__(
        self, run_id: str, finished: float, verdict: str, results: list[KpiResult]
    ) -> None:
        self.run_id, self.finished, self.verdict, self.results = run_id, finished, verdict, results

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("staffsync_run", "The run these figures come from")
        info.add_metric([], {"run_id": self.run_id})
        yield info
        yield GaugeMetricFamily(
            "staffsync_run_finished_timestamp_seconds",
            "When the run's gate was judged (epoch seconds)",
            value=self.finished,
        )
        verdict = StateSetMetricFamily("staffsync_gate_verdict", "The gate's verdict")
        verdict.add_metric([], {v: v == self.verdict for v in VERDICTS})
        yield verdict
        families = {
            "value": GaugeMetricFamily(
                "staffsync_kpi_value", "The KPI's value in its unit", labels=LABELS
            ),
            "target": GaugeMetricFamily(
                "staffsync_kpi_target", "At or better than this the KPI passes", labels=LABELS
            ),
            "fail": GaugeMetricFamily(
                "staffsync_kpi_fail", "Worse than this the KPI fails", labels=LABELS
            ),
            "samples": GaugeMetricFamily(
                "staffsync_kpi_samples", "Samples the KPI was judged on", labels=LABELS
            ),
        }
        levels = StateSetMetricFamily(
            "staffsync_kpi_level", "The KPI's level", labels=["kpi", "conditions"]
        )
        for r in self.results:
            labels = [r.id, r.unit, r.cohort, r.conditions]
            if r.value is not None and not math.isnan(r.value):
                families["value"].add_metric(labels, r.value)
            families["target"].add_metric(labels, r.target)
            families["fail"].add_metric(labels, r.fail)
            families["samples"].add_metric(labels, r.samples)
            levels.add_metric([r.id, r.conditions], {level: level == r.level for level in LEVELS})
        yield from families.values()
        yield levels


def render(run_id: str, finished: float, verdict: str, results: list[KpiResult]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GateCollector(run_id, finished, verdict, results))
    text: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]
    return text.decode("utf-8")
