"""A rollout step as the plan runs it (`-m rollout`): users opened as the deployment assigns
them, without `?mode=`, each in a browser profile of its own. The share in the new mode must
be one a fair draw at the announced percentage gives; each user keeps its mode across
reloads, a second tab and a server restart; and each cohort is measured side by side and
judged by its own contract (the gate's cohort KPIs carry the plan's rollback triggers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from e2e.conditions.room import Room
from e2e.harness.catalogue import explain
from e2e.harness.checks import assert_no_console_errors, assert_one_socket, assert_shows_truth
from e2e.harness.metrics import TestMetrics
from e2e.harness.options import SuiteConfig
from e2e.harness.propagation import propagate, renaming
from e2e.harness.rollout import MODES, Announced, announced, fair_interval, page_mode
from e2e.harness.target import Target
from e2e.harness.users import User, tab_in
from e2e.pages.schedule_page import SchedulePage
from e2e.probes import page_probe, sentinel
from e2e.probes.faults import SocketControl
from e2e.probes.stability import error_counts

pytestmark = pytest.mark.rollout

MEASURED_PER_COHORT = 3  # users of each cohort whose KPIs are measured
NAVIGATIONS = 12  # per measured user, each to a period the page is not on
COHORT_METRICS = (
    "cohort.first_row_ms",
    "cohort.navigation_ms",
    "cohort.heap_bytes",
    "cohort.errors",
    "cohort.operations",
    "cohort.socket_failures",
    "cohort.sockets",
    "cohort.reconnect_ms",
    "cohort.propagation_ms",
)


@dataclass
class Assigned:
    """One user as the deployment assigned it: a browser profile and its first page."""

    name: str
    context: BrowserContext
    control: SocketControl
    page: Page
    mode: str
    changes: list[str] = field(default_factory=list)  # "a reload: legacy" when it moved

    def seen(self, when: str, mode: str) -> None:
        if mode != self.mode:
            self.changes.append(f"{self.name} ({self.mode}) after {when}: {mode}")


@dataclass
class Rollout:
    users: list[Assigned]  # the run's N users, as the deployment assigned them
    announced: Announced | None
    draw: Callable[[], Assigned]  # one more user (a new profile)
    extra: list[Assigned] = field(default_factory=list)  # drawn to fill a small cohort

    def cohort(self, mode: str) -> list[Assigned]:
        return [u for u in self.users if u.mode == mode]

    def measured(self, mode: str) -> list[Assigned]:
        """MEASURED_PER_COHORT users of the cohort, drawing more users (at most as many as
        the run has) while it has fewer, unless the flag gives the cohort no one."""
        share = None if self.announced is None else self.announced.percent
        empty = share == (0 if mode == "prefetch" else 100)
        found = [u for u in [*self.users, *self.extra] if u.mode == mode]
        while not empty and len(found) < MEASURED_PER_COHORT and len(self.extra) < len(self.users):
            user = self.draw()
            self.extra.append(user)
            if user.mode == mode:
                found.append(user)
        return found[:MEASURED_PER_COHORT]

    def shares(self) -> str:
        return ", ".join(f"{len(self.cohort(m))} {m}" for m in MODES)


def load(page: Page) -> None:
    """The page as a user opens it: no ?mode=, the deployment chooses."""
    SchedulePage(page).open(None)


@pytest.fixture(scope="module")
def rollout(
    browser: Browser,
    browser_context_args: dict[str, Any],
    target: Target,
    suite_config: SuiteConfig,
    room: Room,
) -> Iterator[Rollout]:
    args = {**browser_context_args, "base_url": target.page_url}
    opened: list[Assigned] = []

    def draw() -> Assigned:
        context = room.new_context(browser, **args)
        control = SocketControl(context)  # routing first: the probe's wrapper is outermost
        page_probe.install(context)
        sentinel.install(context)
        page = context.new_page()
        load(page)
        user = Assigned(f"user {len(opened) + 1}", context, control, page, page_mode(page))
        opened.append(user)
        return user

    try:
        users = [draw() for _ in range(suite_config.rollout_users)]
        yield Rollout(users, announced(target.base_url, suite_config.expect_rollout), draw)
    finally:
        for user in opened:
            user.context.close()


@pytest.mark.measures("rollout.new_mode_share", "rollout.users")
def test_share_in_the_new_mode_should_be_the_flags(rollout: Rollout, measure: TestMetrics) -> None:
    users = rollout.users
    unknown = [f"{u.name}: {u.mode!r}" for u in users if u.mode not in MODES]
    assert not unknown, explain(
        "every page to say its mode (app-mode data-mode prefetch or legacy)", unknown[:5], ()
    )
    step = rollout.announced
    if step is None:
        pytest.skip("the target publishes no rolloutPercent: give the step with --expect-rollout P")
    new = len(rollout.cohort("prefetch"))
    measure("rollout.users", len(users), "count")
    measure("rollout.new_mode_share", new / len(users), "ratio")
    lo, hi = fair_interval(len(users), step.percent)
    assert lo <= new <= hi, explain(
        f"{lo} to {hi} of {len(users)} users in the new mode: a fair draw at {step.percent} %"
        f" ({step.source}) falls outside that 1 time in 1000",
        f"{new} ({new / len(users):.0%}; {rollout.shares()})",
        ("F31",),
    )


@pytest.mark.measures("rollout.mode_changes")
def test_each_user_should_keep_the_mode_it_was_given(
    rollout: Rollout, target: Target, measure: TestMetrics
) -> None:
    for user in rollout.users:
        user.page.reload()
        SchedulePage(user.page).wait_ready()
        user.seen("a reload", page_mode(user.page))
        tab = user.context.new_page()
        load(tab)
        user.seen("a second tab", page_mode(tab))
        tab.close()
    restarted = target.app is not None
    if target.app is not None:
        target.app.stop()  # a deploy's restart: graceful, the same port and database
        target.app.restart()
        for user in rollout.users:
            user.page.reload()
            SchedulePage(user.page).wait_ready()
            user.seen("a server restart and a reload", page_mode(user.page))
    changes = [c for u in rollout.users for c in u.changes]
    measure("rollout.mode_changes", len(changes), "count")
    checked = "reloads, second tabs" + (" and a server restart" if restarted else "")
    assert not changes, explain(
        f"each of {len(rollout.users)} users to keep the mode it was given across {checked}",
        f"{len(changes)} changes: {changes[:5]}",
        ("F29",),
    )


def measured_tab(user: Assigned, name: str) -> User:
    tab = tab_in(user.context, name, "", user.control)
    page = tab.page
    page.on(
        "console",
        lambda m: tab.console_errors.append(m.text) if m.type == "error" else None,
    )
    load(page)
    tab.mode = page_mode(page)
    return tab


@pytest.mark.parametrize("cohort", MODES)
@pytest.mark.measures(*COHORT_METRICS)
def test_each_cohort_should_keep_its_contract(
    cohort: str, rollout: Rollout, target: Target, measure: TestMetrics
) -> None:
    """Up to three users of the cohort: a fresh load, navigations each showing the server's
    staff, a cut socket, a colleague's edit; their figures go to the cohort's KPIs. The new
    cohort keeps one socket for the page's life; the legacy cohort loads each period on a
    socket of its own (its design, not a failure). Neither gets an ERROR
    frame for reading."""
    members = rollout.measured(cohort)
    if not members:
        pytest.skip(f"no user in the {cohort} cohort ({rollout.shares()})")
    others = [u for u in rollout.users if u not in members]
    writer_of = next((u for u in others if u.mode != cohort), others[0] if others else None)
    by_cohort = measure.tagged(cohort=cohort)
    truth = target.truth()
    periods = len(truth)
    refused: list[str] = []
    for number, member in enumerate(members):
        tab = measured_tab(member, f"{member.name} ({cohort})")
        assert tab.mode == cohort, explain(
            f"{member.name}'s new tab in the {cohort} mode it was given", tab.mode, ("F29",)
        )
        heap = tab.heap
        by_cohort("cohort.first_row_ms", tab.probe.first_row_ms(), "ms")
        by_cohort("cohort.heap_bytes", heap.used_after_gc(), "bytes")
        current = tab.schedule.current_period()
        for step in range(NAVIGATIONS):
            goal = (current + 1 + step * 5 + number) % periods
            if goal == tab.schedule.current_period():
                goal = (goal + 1) % periods
            tab.probe.expect_navigation(goal)
            tab.schedule.go_to_period(goal)
            tab.schedule.wait_ready(goal)
            assert_shows_truth(tab, truth, goal)
        tab.probe.wait_measured()
        for nav in tab.probe.navigations():
            if nav.latency_ms is not None:
                by_cohort("cohort.navigation_ms", nav.latency_ms, "ms")
        by_cohort("cohort.heap_bytes", heap.used_after_gc(), "bytes")
        sockets = tab.probe.sockets()
        by_cohort("cohort.sockets", len(sockets), "count")
        by_cohort("cohort.socket_failures", sum(1 for s in sockets if s.open_at is None), "count")
        if cohort == "prefetch":
            assert_one_socket(tab)
        else:
            live = [s for s in sockets if s.is_open]
            assert len(live) == 1 and len(sockets) <= NAVIGATIONS + 1, explain(
                "a legacy page to load each period on a socket of its own, the last one open",
                f"{len(sockets)} sockets for {NAVIGATIONS} navigations, {len(live)} open now",
                ("F13",),
            )
        errors, operations = error_counts(tab.network)
        by_cohort("cohort.errors", errors, "count")
        by_cohort("cohort.operations", operations, "count")
        if errors:  # judged once every member is measured, so that the gate sees them all
            refused.append(f"{member.name}: {errors} of {operations} frames sent")
        reconnect(tab, member, by_cohort)
        if writer_of is not None:
            writer = measured_tab(writer_of, f"{writer_of.name} ({writer_of.mode}, writing)")
            reader_sees(tab, writer, truth, by_cohort)
            writer.page.close()
        by_cohort("cohort.heap_bytes", heap.used_after_gc(), "bytes")
        assert_no_console_errors(tab)
        heap.detach()
        tab.page.close()
    assert not refused, explain(
        f"no ERROR frame for a {cohort} user who loads, navigates and reads a colleague's edit",
        f"ERROR answers: {refused}",
        ("F32", "F15"),
    )


def reconnect(tab: User, member: Assigned, by_cohort: TestMetrics) -> None:
    """Cut the profile's sockets and time the page's way back (page clock)."""
    since = tab.probe.now()
    assert member.control.cut() >= 1, explain(
        "a socket to cut", tab.probe.describe(), ("F1", "F13")
    )
    tab.probe.wait_reconnected(since, 30_000, ("F3",), "")
    at = tab.probe.connected_after(since)
    assert at is not None, explain("a connection after the cut", tab.probe.describe(), ("F3",))
    by_cohort("cohort.reconnect_ms", at - since, "ms")
    tab.schedule.wait_ready()


def reader_sees(
    tab: User, writer: User, truth: dict[int, list[str]], by_cohort: TestMetrics
) -> None:
    """A colleague (of the other cohort where there is one) renames someone the reader
    shows; the time to the reader's frame goes to the reader's cohort."""
    period = tab.schedule.current_period()
    if writer.schedule.current_period() != period:
        writer.schedule.go_to_period(period)
    writer.schedule.wait_ready(period)
    change, action = renaming(writer, truth[period][0], f"Rollout {time.monotonic_ns() % 10**8}")
    times = propagate(writer, [tab], change, action, by_cohort, "rollout", record=False)
    for ms in times:
        by_cohort("cohort.propagation_ms", ms, "ms")
