"""Scenario 5, memory: heap after load, after many navigations, growth per 100 navigations
at the same period after GC (what is still alive when back at the baseline)."""

from __future__ import annotations

import json

import pytest

from e2e.gate.kpis import load_kpis
from e2e.harness.catalogue import explain
from e2e.harness.metrics import TestMetrics
from e2e.harness.navigation import lasting_growth_per, slope_per, sweep
from e2e.harness.options import SuiteConfig
from e2e.harness.plugin import OpenUser
from e2e.harness.target import Target
from e2e.harness.users import User
from e2e.probes import heap_snapshot
from e2e.probes.memory import renderer_rss_bytes

# quiet: navigation times and heap readings between them
pytestmark = pytest.mark.quiet

# Growth that counts as a leak: 1 MiB per 100 navigations (the healthy client measures a few
# KB either way). Judged on the least-squares slope over every checkpoint, not one pair.
LEAK_BYTES_PER_100 = 1024 * 1024
MIN_CHECKPOINTS = 4
# Counts a leak too small for the heap figure still moves, by CDP metric name: listeners
# and documents must not grow at all; DOM nodes (after GC, back at the same period) neither.
# Judged on what lasts: the least of the last third of readings above the greatest of the
# first. Healthy runs read listeners in no order, up to 4 apart in one run (75-79, 80-83):
# two more in the last third than in the first, over the 192 navigations between them, is
# 1.0 per 100, and one default run in about ten failed on it; F21 adds 100 per 100.
COUNTS = {"JSEventListeners": "dom.listeners", "Nodes": "dom.nodes", "Documents": "dom.documents"}
MAX_COUNT_GROWTH_PER_100 = {"dom.listeners": 2.5, "dom.nodes": 10.0, "dom.documents": 0.5}
HEAP_METRICS = (
    "heap.used_bytes",
    "heap.growth_per_100_nav_bytes",
    "heap.after_navigations_bytes",
    "heap.after_soak_bytes",
    *COUNTS.values(),
    *(f"{m}_per_100_nav" for m in COUNTS.values()),
)


TRIAGE_NAVIGATIONS = 64  # two sweeps of the default 17 periods, about 100 on fewer


def triage_threshold(config: SuiteConfig) -> float:
    """Growth that asks for heap snapshots: the target of the growth KPI (a warning)."""
    for kpi in load_kpis(config.kpis):
        if kpi.metric == "heap.growth_per_100_nav_bytes":
            return kpi.target
    return LEAK_BYTES_PER_100 / 4


def triage(user: User, config: SuiteConfig, name: str) -> list[str]:
    """Heap snapshots around two rounds of navigations; what the first round made and the
    second did not free is written to the run's heap-triage-<name>.json. Returns its
    summary lines."""
    periods = user.schedule.period_count()
    snapshots: list[heap_snapshot.Heap] = []
    done = 0
    for _ in range(3):
        if snapshots:
            start = done
            while done - start < TRIAGE_NAVIGATIONS:
                done += sweep(user, periods)
        snapshots.append(heap_snapshot.Heap(heap_snapshot.take(user.heap.cdp)))
    result = {
        "test": name,
        "navigations": done // 2,
        **heap_snapshot.leaked(snapshots[0], snapshots[1], snapshots[2]),
    }
    path = config.run_dir / f"heap-triage-{name}.json"
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return [*heap_snapshot.summary_lines(result), f"  details: {path}"]


def heap_run(
    user: User, navigations: int, measure: TestMetrics, kind: str, config: SuiteConfig
) -> float:
    periods = user.schedule.period_count()
    user.probe.stop_recording()
    if user.schedule.current_period() != 0:
        user.schedule.go_to_period(0)
        user.schedule.wait_ready(0)
    sweep(user, periods)  # warm-up: code paths compiled, caches filled
    done, xs, ys = 0, [], []
    counts: dict[str, list[float]] = {metric: [] for metric in COUNTS.values()}
    while True:
        after_gc = user.heap.lasting(tuple(COUNTS))  # always measured back at period 0
        heap = after_gc["JSHeapUsedSize"]
        xs.append(float(done))
        ys.append(float(heap))
        measure("heap.used_bytes", heap, "bytes", navigations=done, kind=kind)
        for name, metric in COUNTS.items():
            counts[metric].append(after_gc[name])
            measure(metric, after_gc[name], "count", navigations=done, kind=kind)
        if done >= navigations:
            break
        done += sweep(user, periods)
    growth = slope_per(xs, ys, 100)
    measure("heap.growth_per_100_nav_bytes", growth, "bytes", kind=kind)
    grown = {}
    for metric, series in counts.items():
        per_100 = lasting_growth_per(xs, series, 100)
        measure(f"{metric}_per_100_nav", per_100, "count", kind=kind)
        if per_100 >= MAX_COUNT_GROWTH_PER_100[metric]:
            grown[metric] = f"{per_100:+.1f} per 100 ({series[0]:.0f} -> {series[-1]:.0f})"
    measure(f"heap.after_{kind}_bytes", ys[-1], "bytes")
    assert len(xs) >= MIN_CHECKPOINTS, f"only {len(xs)} heap checkpoints; raise the navigations"
    grew: list[str] = []
    if config.heap_snapshots or growth >= triage_threshold(config):
        grew = triage(user, config, kind)
    assert growth < LEAK_BYTES_PER_100, explain(
        f"heap growth under {LEAK_BYTES_PER_100 // 1024} KiB per 100 navigations",
        f"{growth / 1024:.0f} KiB per 100 over {done} navigations"
        f" (heap {ys[0] / 1e6:.1f} MB -> {ys[-1] / 1e6:.1f} MB); what grew:\n" + "\n".join(grew),
        ("F12",),
        user.evidence,
    )
    assert not grown, explain(
        "no event listener, DOM node or document left behind by navigating",
        f"over {done} navigations: {grown}",
        ("F21", "F12"),
        user.evidence,
    )
    return growth


@pytest.mark.measures(*HEAP_METRICS, "renderer.rss_bytes", "server.rss_bytes")
def test_heap_should_not_grow_with_navigation(
    open_user: OpenUser, target: Target, suite_config: SuiteConfig, measure: TestMetrics
) -> None:
    user = open_user("A")  # records the heap after load
    heap_run(user, suite_config.memory_navigations, measure, "navigations", suite_config)
    for rss in renderer_rss_bytes():
        measure("renderer.rss_bytes", rss, "bytes")
    if target.app is not None:
        measure("server.rss_bytes", target.app.rss_bytes(), "bytes")


@pytest.mark.soak
@pytest.mark.measures(*HEAP_METRICS)
def test_soak_navigation_should_keep_the_heap_flat(
    open_user: OpenUser, suite_config: SuiteConfig, measure: TestMetrics
) -> None:
    user = open_user("A")
    heap_run(user, suite_config.soak_navigations, measure, "soak", suite_config)
