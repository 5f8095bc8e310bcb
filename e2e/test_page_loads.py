"""No saved write is lost across page loads: a write the user saved and the server has not
confirmed outlives its tab when the tab reloads, closes or crashes (a phone discarding a
background tab, a pull to refresh while the badge says offline, a dead battery). It is sent
again by the next page of that browser profile and applied exactly once."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from e2e.harness.catalogue import explain
from e2e.harness.checks import assert_created_once, assert_persisted
from e2e.harness.leaving import leave
from e2e.harness.metrics import TestMetrics
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import PROPAGATION_TIMEOUT_MS
from e2e.harness.staffing import visit
from e2e.harness.target import Target
from e2e.harness.users import User, another_tab
from e2e.harness.wire import rows_by_id

# A page that crashed still looks open to its profile until its heartbeat ages (a client
# may need that long to take its writes over): the time a carried write may take to show.
CARRIED_TIMEOUT_MS = 15_000
LOST = ("F34", "F36", "F8")
TWICE = ("F35", "F17")


def nonce() -> str:
    return str(time.monotonic_ns() % 10**6)


def offline(user: User) -> None:
    assert user.control is not None
    user.control.begin_outage()
    expect(user.schedule.badge, "the page to see the outage").not_to_have_attribute(
        "data-state", "connected", timeout=PROPAGATION_TIMEOUT_MS
    )


def left(user: User, how: str) -> bool:
    """The user reloads, closes or crashes the tab; returns whether the page asked first, in
    which case the user stayed (a client that keeps writes only in memory must ask)."""
    return leave(user.page, how)


def pending(tab: User, count: int, what: str, defects: tuple[str, ...]) -> None:
    expect(
        tab.schedule.pending,
        explain(f"{what}: {count} pending", "another count", defects, tab.evidence),
    ).to_have_attribute("data-count", str(count), timeout=CARRIED_TIMEOUT_MS)


def reopen(user: User, name: str) -> User:
    """A new tab of the same browser profile, opened on the editor (offline or not)."""
    tab = another_tab(user, name)
    assert user.control is not None
    user.control.page = tab.page
    tab.mode = user.mode
    tab.page.goto(f"/?mode={user.mode}")
    return tab


def back_online(user: User, tab: User) -> None:
    assert user.control is not None
    user.control.end_outage()
    expect(tab.schedule.badge, "the page back online").to_have_attribute(
        "data-state", "connected", timeout=CARRIED_TIMEOUT_MS
    )
    pending(tab, 0, "every carried write confirmed", LOST)


def shown_once(tab: User, period: int, name: str) -> None:
    """The tab, on `period`, shows one member named `name`."""
    tab.schedule.wait_ready()
    visit(tab, period)
    expect(
        tab.page.get_by_test_id("staff-name").filter(has_text=name),
        explain(f"tab {tab.name} to show {name!r} once", "another count", TWICE, tab.evidence),
    ).to_have_count(1, timeout=PROPAGATION_TIMEOUT_MS)


def created_unanswered(user: User, name: str) -> int:
    """The user adds a member on the current period; the server applies it, and its answer
    is lost as the network goes (the profile stays offline). Returns the period."""
    assert user.control is not None
    period = user.schedule.current_period()
    with user.control.losing_echo(then_outage=True):
        user.schedule.create_staff(name, "Cook", period)
        user.control.wait_echo_lost()
    pending(user, 1, "the new member unconfirmed (its answer lost)", ("F17",))
    return period


@pytest.mark.fault
@pytest.mark.measures("writes.lost")
def test_offline_edit_then_reload_should_be_saved_once(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Offline, the user renames a member and reloads the page, and again while it still
    says offline; once the network is back the rename is in the database, applied once,
    and shown."""
    user = open_user("A", control_sockets=True)
    period = user.schedule.current_period()
    row = target.rows()[period][0]
    staff_id, name = str(row["id"]), f"Reloaded offline {nonce()}"
    offline(user)
    user.schedule.rename_staff(staff_id, name)
    pending(user, 1, "the rename waiting for the network", ("F8",))
    for load in ("first", "second"):
        left(user, "reload")
        pending(user, 1, f"the rename still waiting after the {load} reload", LOST)
    back_online(user, user)
    expect(
        user.schedule.name_cell(staff_id),
        explain("the rename shown after the reload and the reconnect", "another name", LOST),
    ).to_have_text(name, timeout=PROPAGATION_TIMEOUT_MS)
    assert_persisted(user, target, {staff_id: {"name": name}}, measure, LOST)
    held = rows_by_id(target.rows())[staff_id]
    assert held["version"] == row["version"] + 1, explain(
        f"{staff_id} changed once (version {row['version']} -> {row['version'] + 1})",
        f"version {held['version']}",
        TWICE,
        user.evidence,
    )


@pytest.mark.fault
@pytest.mark.measures("writes.lost", "writes.duplicated")
def test_offline_create_then_closed_tab_should_be_sent_by_a_new_tab(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Offline, the user adds a member and closes the tab; the app opened again in a new tab
    of that browser profile shows it pending and, once online, saves it once."""
    user = open_user("A", control_sockets=True)
    period = user.schedule.current_period()
    name = f"Closed offline {nonce()}"
    offline(user)
    user.schedule.create_staff(name, "Cook", period)
    pending(user, 1, "the new member waiting for the network", ("F8", "F16"))
    tab = user if left(user, "close") else reopen(user, "A2")
    pending(tab, 1, "the new member carried over to the new tab", LOST)
    back_online(user, tab)
    assert_created_once(tab, target, name, measure, LOST + TWICE)


@pytest.mark.fault
@pytest.mark.measures("writes.lost", "writes.duplicated")
def test_write_whose_answer_is_lost_then_crash_should_be_applied_once(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Two tabs of a profile are open; in one the user adds a member; the server applies
    it, its answer is lost as the network goes, and the tab crashes. The other tab takes the
    write over (it was opened before the write, so only the server can tell it was applied)
    and sends it again, as the same write: the server knows it, and the member exists once."""
    user = open_user("A", control_sockets=True)
    assert user.control is not None
    heir = another_tab(user, "A2")
    heir.open(user.mode)
    name = f"Crashed in flight {nonce()}"
    created_unanswered(user, name)
    left(user, "crash")  # nothing can ask before a crash
    user.control.page = heir.page
    pending(heir, 1, "the unconfirmed member carried over to the other tab", LOST)
    back_online(user, heir)
    assert_created_once(heir, target, name, measure, TWICE + LOST)


# The most a page showed, from its first frame on: rows named `name` on its table, and the
# pending count. A duplicate a page shows for a moment (until the socket's answer) counts.
MOST_SHOWN = """(name) => {
  const most = (window.__ssMostShown = {rows: 0, pending: 0});
  const look = () => {
    const cells = document.querySelectorAll('[data-testid="staff-name"]');
    const rows = [...cells].filter((cell) => cell.textContent === name).length;
    const badge = document.querySelector('[data-testid="pending-count"]');
    const pending = badge ? Number(badge.getAttribute("data-count") || 0) : 0;
    most.rows = Math.max(most.rows, rows);
    most.pending = Math.max(most.pending, pending);
  };
  new MutationObserver(look).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}"""


@pytest.mark.fault
@pytest.mark.measures("writes.lost", "writes.duplicated")
def test_a_page_loaded_after_a_write_was_applied_should_show_it_once_and_saved(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """The user adds a member; the server applies it and its answer is lost as the network
    goes. Still offline, the user reloads: the page comes with the member (the server has
    it) and must show it once and saved, not a second time as waiting; back online it stays
    once, on the screen and in the database."""
    user = open_user("A", control_sockets=True)
    assert user.control is not None
    name = f"Applied before the reload {nonce()}"
    period = created_unanswered(user, name)
    user.page.add_init_script(f"({MOST_SHOWN})({json.dumps(name)})")
    asked = left(user, "reload")  # a client that asks keeps the page, and its write waiting
    back_online(user, user)
    shown_once(user, period, name)
    assert_created_once(user, target, name, measure, TWICE + LOST)
    if not asked:
        most = user.page.evaluate("() => window.__ssMostShown")
        assert most == {"rows": 1, "pending": 0}, explain(
            f"the reloaded page to show {name!r} once and nothing waiting",
            f"at most {most['rows']} such rows and {most['pending']} pending",
            ("F49",),
            user.evidence,
        )


@pytest.mark.fault
@pytest.mark.measures("writes.lost", "writes.duplicated")
def test_two_tabs_of_one_profile_should_show_and_apply_a_carried_write_once(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Two tabs of one profile are offline; one adds a member and reloads. Between them the
    tabs show the write pending once; back online, each shows the member once and the
    database holds it once."""
    first = open_user("A", control_sockets=True)
    second = another_tab(first, "A2")
    second.open(first.mode)
    period = first.schedule.current_period()
    visit(second, period)
    name = f"Two tabs {nonce()}"
    offline(first)
    first.schedule.create_staff(name, "Cook", period)
    pending(first, 1, "the new member waiting in the tab that made it", ("F8",))
    left(first, "reload")
    counts: list[int] = []
    deadline = time.monotonic() + CARRIED_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        counts = [int(t.schedule.pending.get_attribute("data-count") or 0) for t in (first, second)]
        if sum(counts) == 1:
            break
        second.page.wait_for_timeout(100)
    assert sum(counts) == 1, explain(
        "the carried write pending in exactly one of the profile's two tabs",
        f"pending counts {counts}",
        LOST + TWICE,
        first.evidence,
    )
    assert first.control is not None
    first.control.end_outage()
    for tab in (first, second):
        pending(tab, 0, f"tab {tab.name}: the write confirmed", LOST)
        shown_once(tab, period, name)
    assert_created_once(first, target, name, measure, TWICE + LOST)
