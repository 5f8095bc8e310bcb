"""Scenario 6, under load: rapid switching, cross-tab propagation and a cut socket, first on
a quiet server and then while Locust users (--load-users, editing at --load-edit-rate) keep
it busy, in the same run; every browser sample carries `load` (quiet / yes) and `load_users`.
Run with `bin/verify -m load --load-users 200`.

The loaded phase is sized before it starts: long enough for every load KPI to reach its
minimum samples (e2e/load/sizing.py), at most --load-max-seconds. The app's gauges come
from its /metrics when it has them (cross-checked against psutil when it runs here)."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil
import pytest

from e2e.gate.kpis import load_kpis
from e2e.harness.catalogue import explain
from e2e.harness.checks import assert_one_socket, assert_shows_truth
from e2e.harness.metrics import MetricsRecorder, TestMetrics
from e2e.harness.navigation import SWITCH_METRICS, forward_targets, run_switches
from e2e.harness.navigation import record as record_switches
from e2e.harness.options import SuiteConfig
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import PROPAGATION_METRICS, Change, propagate
from e2e.harness.target import Target
from e2e.harness.users import User
from e2e.load import scrape
from e2e.load.runner import Load, Plan, crosscheck, is_loopback, reachable, record
from e2e.load.sizing import bounded, needs, rates

LOAD_METRICS = (
    "load.sync_all_ms",
    "load.edit_ack_ms",
    "load.broadcast_ms",
    "load.legacy_sync_ms",
    "load.errors",
    "load.delivery_lost",
    "load.users_connected",
    "load.server_cpu_percent",
    "load.server_rss_bytes",
    "load.generator_cpu_percent",
    "load.generator_busiest_percent",
    "load.generator_frames_per_core_s",
    "load.ramp_s",
    "load.users_held_ratio",
    "load.server_rss_per_100_users_bytes",
    "load.connections_per_user_minute",
    "load.bytes_per_user_minute",
    "load.server_cpu_s_per_user_minute",
)
EDITS = 6  # per phase and direction: 12 propagation samples a phase
CONNECT_TIMEOUT_S = 120
LOAD_LIFETIME_S = 900  # the users stop when the test stops them; this bounds them anyway

pytestmark = [
    pytest.mark.load,
    pytest.mark.measures(
        *SWITCH_METRICS, *PROPAGATION_METRICS, *LOAD_METRICS, "recovery.reconnect_ms"
    ),
]


def renaming(user: User, staff_id: str, name: str) -> Callable[[], None]:
    return lambda: user.schedule.rename_staff(staff_id, name)


def scenarios(writer: User, reader: User, target: Target, measure: TestMetrics, phase: str) -> None:
    """Rapid switching in the writer's page, then edits both ways between the two tabs."""
    truth = target.truth()
    targets = forward_targets(writer, len(truth))
    record_switches(
        run_switches(writer, targets, lambda _: writer.schedule.next()), measure, "rapid-forward"
    )
    assert_shows_truth(writer, truth, targets[-1])
    rows = target.rows()
    staff_id = str(rows[targets[-1]][0]["id"])
    for tab in (writer, reader):
        if tab.schedule.current_period() != targets[-1]:
            tab.schedule.go_to_period(targets[-1])
        tab.schedule.wait_ready(targets[-1])
    for n in range(EDITS * 2):
        a, b = (writer, reader) if n % 2 == 0 else (reader, writer)
        name = f"Load {phase} {time.monotonic_ns() % 10**6} {n}"
        change = Change(
            name, "STAFF_UPDATE", name, f"{staff_id} renamed", text=name, staff_id=staff_id
        )
        propagate(a, [b], change, renaming(a, staff_id, name), measure, "rename")


def test_browser_figures_should_hold_under_load(
    open_user: OpenUser,
    target: Target,
    suite_config: SuiteConfig,
    measure: TestMetrics,
    metrics_recorder: MetricsRecorder,
) -> None:
    users = suite_config.load_users
    writer = open_user("W", control_sockets=True)
    reader = open_user("R")
    scenarios(writer, reader, target, measure.tagged(load="quiet", load_users=0), "quiet")

    before = int(reachable(target.base_url).get("clients", 0))
    (workers, here), (bind, port) = suite_config.load_workers, suite_config.load_master
    if not is_loopback(target.base_url) and (not workers or here):
        pytest.fail(
            f"load sent from this machine goes only to this machine, not {target.base_url};"
            " a target elsewhere takes Locust workers on other hosts (--load-workers N)"
        )
    plan = Plan(
        users=users,
        duration_s=LOAD_LIFETIME_S,
        edit_rate=suite_config.load_edit_rate,
        workers=workers,
        local_workers=here,
        master_bind=bind,
        master_port=port,
    )
    phase = planned_phase(plan, suite_config, measure)
    server_pid = target.app.pid if target.app is not None else None
    rss_before = server_rss(target.base_url, server_pid)  # before any load user connects
    load = Load(plan, target.base_url, suite_config.run_dir / "load", server_pid)
    full_load_since: float | None = None
    try:
        load.wait_connected(before + users, CONNECT_TIMEOUT_S)
        full_load_since = time.time()
        measure("load.ramp_s", full_load_since - load.started_at, "s", load_users=users)
        loaded = measure.tagged(load="yes", load_users=users)
        scenarios(writer, reader, target, loaded, "busy")
        assert writer.control is not None
        known = len(writer.probe.sockets())
        writer.control.cut()
        cut_in_page = writer.probe.closed_at(known, 30_000, ("F3",), writer.evidence)
        writer.probe.wait_reconnected(cut_in_page, 30_000, ("F3",), writer.evidence)
        at = writer.probe.connected_after(cut_in_page)
        if at is not None:
            loaded("recovery.reconnect_ms", at - cut_in_page, "ms", kind="cut")
        # the phase lasts as long as its KPIs need: the browsers go on measuring until then
        # (a page's routed sockets live only while Playwright is being called); it ends
        # sooner only if Locust does, which the figures below then show
        rounds = 1
        while time.time() < full_load_since + phase and load.proc.poll() is None:
            rounds += 1
            scenarios(writer, reader, target, loaded, f"busy {rounds}")
        held = load.gauges.series("users", full_load_since)
    finally:
        side = load.stop()
        record(plan, side, load.gauges, metrics_recorder, measure.test, full_load_since)
    held_ratio = (min(held) - before) / users if held else 0.0  # the gate judges losses
    measure("load.users_held_ratio", held_ratio, "ratio", load_users=users)
    rss = load.gauges.series("server_rss", full_load_since)
    if rss_before is not None and rss:
        grown = max(rss) - rss_before
        measure(
            "load.server_rss_per_100_users_bytes", grown / users * 100, "bytes", load_users=users
        )
    else:
        measure.unmeasured(
            "load.server_rss_per_100_users_bytes",
            load.gauges.server_missing or "no reading of the app's memory came during the load",
        )
    assert_one_socket(writer, whole_life=False)
    assert held_ratio >= 1.0, explain(
        f"all {users} load users connected while the browsers measured",
        f"at least {min(held) - before:.0f} connected" if held else "no reading",
        ("F15",),
        writer.evidence,
    )
    mismatch = crosscheck(load.gauges)
    assert not mismatch, explain(
        "the app's own /metrics agree with psutil within 10 %",
        "; ".join(mismatch),
        (),
        writer.evidence,
    )


def planned_phase(plan: Plan, suite_config: SuiteConfig, measure: TestMetrics) -> float:
    """The loaded phase's length: what every load KPI needs for its minimum samples, at most
    --load-max-seconds; a KPI the bound cuts short says which option would lengthen it."""
    per_second = rates(plan.users, plan.edit_rate, plan.nav_rate, plan.mode, max(1, plan.workers))
    found = needs(load_kpis(suite_config.kpis), per_second)
    phase, shorts = bounded(found, suite_config.load_max_seconds, "--load-max-seconds")
    for metric, hint in shorts.items():
        measure.short(metric, hint)
    return phase


def server_rss(base_url: str, pid: int | None) -> float | None:
    """The app's RSS now: from its /metrics, else from psutil when it runs here."""
    try:
        return scrape.read(base_url).rss_bytes
    except scrape.Unavailable:
        return float(psutil.Process(pid).memory_info().rss) if pid is not None else None
