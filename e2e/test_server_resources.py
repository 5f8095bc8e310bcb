"""A server runs for weeks between deploys, and every page load, legacy navigation and
reconnect opens a connection: once a connection has closed, the server must hold nothing
of it. Many connections are opened and closed the ways pages do it (a tab closed, a legacy
navigation, a socket lost without a close), and the server's connections, descriptors,
tasks and memory must come back to where they were."""

from __future__ import annotations

import pytest

from e2e.harness.catalogue import explain
from e2e.harness.cycles import cycle
from e2e.harness.metrics import TestMetrics
from e2e.harness.target import Target
from e2e.probes.server_resources import Resources, Unreadable, read, settle

CONNECTIONS = 500  # a cycle; the first warms the server up (allocator arenas, caches)
MEASURED = 3  # cycles measured after it
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
    pid = target.app.proc.pid if target.app is not None and target.app.proc else None
    try:
        counts = read(target.base_url, pid)
    except Unreadable as exc:
        for metric in METRICS:
            measure.unmeasured(metric, str(exc))
        pytest.skip(f"the server's resources cannot be read: {exc}")
    periods = len(target.rows())
    counts = settle(target.base_url, counts, pid)
    cycle(target.ws_url, CONNECTIONS, periods)
    before = settle(target.base_url, counts, pid)
    kept: dict[str, float] = {}
    for _ in range(MEASURED):
        done = cycle(target.ws_url, CONNECTIONS, periods)
        after = settle(target.base_url, counts, pid)
        _same_process(after, counts)
        left = after.left_over(counts)
        per_connection = (after.rss_bytes - before.rss_bytes) / done.opened
        measure("server.memory_left_per_connection_bytes", per_connection, "bytes")
        measure("server.rss_bytes", after.rss_bytes, "bytes", source=after.source)
        for kind, metric in (
            ("connections", "server.connections_left"),
            ("descriptors", "server.fds_left"),
            ("tasks", "server.tasks_left"),
        ):
            if kind in left:
                measure(metric, left[kind], "count")
        kept = {k: v for k, v in left.items() if v > 0}
        if kept:
            break
        before = after
    assert not kept, explain(
        f"the server to hold no more connections, descriptors or tasks once {CONNECTIONS}"
        f" connections closed than before ({_counts(counts)})",
        f"{kept} left over, {SETTLE_HINT}",
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
