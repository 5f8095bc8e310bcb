"""A server runs for weeks between deploys, and every page load, legacy navigation and
reconnect opens a connection: once a connection has closed, the server must hold nothing
of it. Many connections are opened and closed the ways pages do it (a tab closed, a legacy
navigation, a socket lost without a close), and the server's connections, descriptors,
tasks and memory must come back to where they were."""

from __future__ import annotations

import pytest
from scipy.stats import theilslopes

from e2e.harness.catalogue import explain
from e2e.harness.cycles import cycle
from e2e.harness.metrics import TestMetrics
from e2e.harness.target import Target
from e2e.probes.server_resources import LEFT_METRICS, Resources, Unreadable, read, settle, warm

CONNECTIONS = 500  # a cycle, opened and closed in a few seconds
WARM_UP = 1  # cycles before anything is judged (allocator arenas, thread pools, caches)
MEASURED = 3  # cycles whose memory makes the slope: the heap after a garbage collection
# where the server gives it (/metrics?gc=1), else RSS, a saw of cyclic garbage and allocator
# arenas; the slope is Theil-Sen's (the median of the slopes between every two cycles)
METRICS = (
    "server.memory_left_per_connection_bytes",
    "server.connections_left",
    "server.fds_left",
    "server.tasks_left",
)
KEPT = ("F37", "F38", "F39")


@pytest.mark.measures(*METRICS, "server.rss_bytes")
def test_closed_connections_should_leave_nothing_on_the_server(
    target: Target, measure: TestMetrics
) -> None:
    pid = target.pid
    try:
        first = read(target.base_url, pid)
    except Unreadable as exc:
        for metric in METRICS:
            measure.unmeasured(metric, str(exc))
        pytest.skip(f"the server's resources cannot be read: {exc}")
    periods = len(target.rows())
    for _ in range(WARM_UP):
        cycle(target.ws_url, CONNECTIONS, periods)
    counts = warm(target.base_url, first, pid)  # what the warm server holds with no page
    opened, memory = [0.0], [counts.memory[0]]
    kept: dict[str, float] = {}
    for _ in range(MEASURED):
        done = cycle(target.ws_url, CONNECTIONS, periods)
        after = settle(target.base_url, counts, pid)
        _same_process(after, counts)
        opened.append(opened[-1] + done.opened)
        memory.append(after.memory[0])
        measure("server.rss_bytes", after.rss_bytes, "bytes", source=after.source)
        left = after.left_over(counts)
        for kind, metric in LEFT_METRICS.items():
            if kind in left:
                measure(metric, left[kind], "count")
        kept = {k: v for k, v in left.items() if v > 0}
        if kept:
            break
    if len(opened) >= 2:  # judged by the gate: server_memory_per_closed_connection
        slope = float(theilslopes(memory, opened)[0])
        gauge = counts.memory[1]
        measure("server.memory_left_per_connection_bytes", slope, "bytes", gauge=gauge)
    assert not kept, explain(
        f"the server to hold no more connections, descriptors or tasks once"
        f" {CONNECTIONS} connections closed than before them ({_counts(counts)})",
        f"{kept} left over after {int(opened[-1])} connections, {SETTLE_HINT}",
        KEPT,
    )


SETTLE_HINT = "read through /metrics until they came back or 10 s passed"


def _counts(r: Resources) -> str:
    return f"{r.clients} connected, {r.open_fds} descriptors, {r.tasks} tasks ({r.source})"


def _same_process(now: Resources, baseline: Resources) -> None:
    assert now.started == baseline.started, explain(
        "the server to live through the connections (the same process)",
        f"a process started at {now.started}, not {baseline.started}",
        ("F15",),
    )
