"""Scenario 1, initial load: first render, every period's staff, zero traffic while visiting."""

from __future__ import annotations

import time

import pytest

from e2e.harness.catalogue import explain
from e2e.harness.checks import (
    assert_membership_by_the_rule,
    assert_no_console_errors,
    assert_one_socket,
    assert_shows_truth,
)
from e2e.harness.metrics import TestMetrics
from e2e.harness.plugin import OpenUser
from e2e.harness.target import Target

# quiet: the first render is timed
pytestmark = pytest.mark.quiet


@pytest.mark.smoke
@pytest.mark.measures(
    "initial_load.fcp_ms",
    "initial_load.sync_all_bytes",
    "initial_load.sync_period_bytes",
    "initial_load.ws_bytes_received",
)
@pytest.mark.core
def test_initial_load_should_render_staff_and_record_timings(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    user = open_user("A")  # records its first-row time and heap after load
    fcp = user.probe.fcp_ms()
    if fcp is not None:
        measure("initial_load.fcp_ms", fcp, "ms")
    truth = target.truth()
    assert_shows_truth(user, truth, user.schedule.current_period())
    for size in user.network.bytes_received("SYNC_ALL_PERIODS_RESPONSE"):
        measure("initial_load.sync_all_bytes", size, "bytes")
    for size in user.network.bytes_received("SYNC_RESPONSE"):
        measure("initial_load.sync_period_bytes", size, "bytes")
    received = sum(s.bytes(sent=False) for s in user.network.sockets)
    measure("initial_load.ws_bytes_received", received, "bytes")
    assert_no_console_errors(user)


@pytest.mark.smoke
@pytest.mark.measures(
    "navigation.frames_per_visit",
    "navigation.sockets_per_navigation",
    "navigation.bytes_per_navigation",
    "navigation.latency_ms",
)
@pytest.mark.core
def test_every_period_should_show_exactly_the_servers_staff_without_traffic(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    user = open_user("A")
    assert_membership_by_the_rule(user, target)
    truth = target.truth()
    periods = user.schedule.period_count()
    assert periods == len(truth), explain(
        f"{len(truth)} periods in the strip", periods, ("F6",), user.evidence
    )
    start = time.monotonic()
    for period in range(periods):
        if period != user.schedule.current_period():
            user.probe.expect_navigation(period)
            user.schedule.go_to_period(period)
            user.schedule.wait_ready(period)
        assert_shows_truth(user, truth, period)
    frames = user.network.frames_since(start)
    requests = user.network.requests_since(start)
    sockets = user.network.sockets_opened_since(start)
    measure("navigation.frames_per_visit", len(frames) / max(1, periods - 1), "frames")
    measure("navigation.sockets_per_navigation", len(sockets) / max(1, periods - 1), "sockets")
    bytes_moved = sum(f.size for f in frames)
    measure("navigation.bytes_per_navigation", bytes_moved / max(1, periods - 1), "bytes")
    for nav in user.probe.navigations():
        if nav.latency_ms is not None:
            measure("navigation.latency_ms", nav.latency_ms, "ms", kind="visit")
    assert not frames and not requests and not sockets, explain(
        "no WebSocket frame, HTTP request or new socket while visiting prefetched periods",
        f"{len(frames)} frames ({sorted({f.type for f in frames})}), {len(requests)} requests,"
        f" {len(sockets)} sockets",
        ("F1", "F11"),
        user.evidence,
    )
    has_data = user.schedule.strip_has_data()
    expected = {p: str(bool(ids)).lower() for p, ids in truth.items()}
    assert has_data == expected, explain(
        "the strip to mark which periods have data", has_data, ("F1", "F6"), user.evidence
    )
    assert_one_socket(user)
