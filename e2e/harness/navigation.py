"""Driving and measuring a run of period switches."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from e2e.harness.metrics import TestMetrics
from e2e.harness.pacing import Pacer
from e2e.harness.users import User

SWITCHES = 10  # a run of switches: 10 in 1 s
SWITCH_METRICS = (
    "navigation.latency_ms",
    "navigation.superseded",
    "navigation.sequence_wall_s",
    "navigation.rapid_p50_ms",
    "navigation.long_task_ms",
    "navigation.janky_switches",
)


@dataclass(frozen=True)
class SwitchRun:
    targets: list[int]
    latencies_ms: list[float]  # of every switch that reached its frame
    superseded: int  # switches overtaken before they rendered
    windows: list[tuple[float, float]]  # (input, frame) of each measured switch, page clock
    probe_started_at: float  # performance.now() in the page
    wall_s: float


def jump_sequence(rng: random.Random, periods: int, start: int, count: int) -> list[int]:
    targets, current = [], start
    for _ in range(count):
        current = rng.choice([p for p in range(periods) if p != current])
        targets.append(current)
    return targets


def run_switches(
    user: User,
    targets: list[int],
    action: Callable[[int], None],
    interval_s: float = 0.1,
    settle_timeout_ms: float = 20_000,
) -> SwitchRun:
    """Perform `action(target)` for each target at `interval_s`, then wait for the last."""
    pacer = Pacer(interval_s)
    started = time.monotonic()
    probe_start = user.probe.now()
    already = len(user.probe.navigations())
    for target in targets:
        pacer.next_turn()
        user.probe.expect_navigation(target)
        action(target)
    wall = time.monotonic() - started
    user.schedule.wait_ready(targets[-1], timeout_ms=settle_timeout_ms)
    user.probe.wait_measured(settle_timeout_ms)
    navs = user.probe.navigations()[already:]
    latencies = [n.latency_ms for n in navs if n.latency_ms is not None]
    return SwitchRun(
        targets=targets,
        latencies_ms=latencies,
        superseded=sum(1 for n in navs if n.latency_ms is None),
        windows=[
            (n.input_at, n.frame_at)
            for n in navs
            if n.input_at is not None and n.frame_at is not None
        ],
        probe_started_at=probe_start,
        wall_s=wall,
    )


def record(run: SwitchRun, measure: TestMetrics, kind: str) -> None:
    for value in run.latencies_ms:
        measure("navigation.latency_ms", value, "ms", kind=kind)
    measure("navigation.superseded", run.superseded, "count", kind=kind)
    measure("navigation.sequence_wall_s", run.wall_s, "s", kind=kind)


def sweep(user: User, periods: int) -> int:
    """Next to the last period, then previous back to the first, waiting for each.
    Returns the number of navigations made."""
    start = user.schedule.current_period()
    count = 0
    for target in [*range(start + 1, periods), *range(periods - 2, -1, -1)]:
        if target > user.schedule.current_period():
            user.schedule.next()
        else:
            user.schedule.previous()
        user.schedule.wait_ready(target)
        count += 1
    return count


def slope_per(xs: list[float], ys: list[float], per: float) -> float:
    """Least-squares slope of ys over xs, scaled to `per` units of x."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return per * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def lasting_growth_per(xs: list[float], ys: list[float], per: float) -> float:
    """Growth that stays, scaled to `per` units of x: the least reading of the last third
    above the greatest of the first third, over the distance between them; 0 when the end
    holds no more than the start did. For counts that wander by a few between readings
    (listeners a probe or the browser holds for a while): the wander is no growth, a count
    that climbs with every navigation is."""
    k = max(1, len(xs) // 3)
    span = sum(xs[-k:]) / k - sum(xs[:k]) / k
    if span <= 0:
        return 0.0
    return max(0.0, per * (min(ys[-k:]) - max(ys[:k])) / span)


def forward_targets(user: User, periods: int) -> list[int]:
    """SWITCHES steps forward (fewer on a short calendar), from the period shown if that
    leaves room, else from an earlier one the page is moved to first."""
    start = min(user.schedule.current_period(), max(0, periods - 1 - SWITCHES))
    if start != user.schedule.current_period():
        user.schedule.go_to_period(start)
        user.schedule.wait_ready(start)
    targets = [start + i + 1 for i in range(min(SWITCHES, periods - 1 - start))]
    if not targets:
        pytest.skip("a calendar of one period: nothing to switch to")
    return targets
