"""Scenario 3, multi-tab sync: two users in separate contexts on different periods."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.harness.catalogue import explain
from e2e.harness.checks import (
    assert_created_once,
    assert_membership_by_the_rule,
    assert_persisted,
    assert_shows_truth,
    wait_confirmed,
)
from e2e.harness.metrics import TestMetrics
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import (
    PROPAGATION_METRICS,
    PROPAGATION_TIMEOUT_MS,
    Change,
    propagate,
    renaming,
)
from e2e.harness.staffing import other_status, periods_of, pick_member, shown, visit
from e2e.harness.target import Target
from e2e.harness.users import User

EDITS_PER_WRITER = 4  # x 3 writers x 2 readers = 24 propagation samples


def expect_name(
    user: User, staff_id: str, name: str, period: int, defects: tuple[str, ...]
) -> None:
    expect(
        user.schedule.name_cell(staff_id),
        explain(
            f"{staff_id} named {name!r} in period {period}",
            "another name or no row",
            defects,
            user.evidence,
        ),
    ).to_have_text(name, timeout=PROPAGATION_TIMEOUT_MS)


def assert_everywhere(user: User, target: Target, periods: range) -> None:
    assert_membership_by_the_rule(user, target)
    truth = target.truth()
    for period in periods:
        visit(user, period)
        assert_shows_truth(user, truth, period)


@pytest.mark.core
@pytest.mark.quiet(shaped=True)  # times propagation: under a profile, alone
@pytest.mark.smoke
@pytest.mark.measures(*PROPAGATION_METRICS, "writes.lost")
def test_edits_should_reach_every_other_tab_across_periods_and_modes(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Three tabs on three different periods of one person, two prefetch and one legacy;
    each renames the person in turn and both others must show it."""
    rows = target.rows()
    staff_id = pick_member(rows, 3)
    where = periods_of(rows, staff_id)
    tabs = [open_user("A"), open_user("B"), open_user("L", mode="legacy")]
    for tab, period in zip(tabs, (where[0], where[len(where) // 2], where[-1]), strict=True):
        visit(tab, period)
    nonce = time.monotonic_ns() % 10**6
    name = ""
    for n in range(EDITS_PER_WRITER * len(tabs)):
        writer = tabs[n % len(tabs)]
        name = f"Relay {nonce} {n}"
        change, action = renaming(writer, staff_id, name)
        readers = [t for t in tabs if t is not writer]
        propagate(writer, readers, change, action, measure, "rename")
    assert_persisted(tabs[0], target, {staff_id: {"name": name}}, measure)


@pytest.mark.smoke
@pytest.mark.measures(*PROPAGATION_METRICS, "writes.lost")
def test_edit_should_reach_the_other_tab_in_every_period_of_that_person(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    rows = target.rows()
    staff_id = pick_member(rows, min(8, len(rows)), skip=0)
    where = periods_of(rows, staff_id)
    a, b = open_user("A"), open_user("B")
    visit(a, where[0])
    visit(b, where[-1])
    name = f"Renamed {time.monotonic_ns() % 10**6}"
    change, action = renaming(a, staff_id, name)
    propagate(a, [b], change, action, measure, "rename")
    for period in where:
        visit(b, period)
        expect_name(b, staff_id, name, period, ("F5",))
    assert_persisted(a, target, {staff_id: {"name": name}}, measure)


@pytest.mark.core
@pytest.mark.quiet(shaped=True)  # times propagation: under a profile, alone
def test_date_change_should_move_the_person_between_periods_in_the_other_tab(
    open_user: OpenUser, target: Target
) -> None:
    rows = target.rows()
    periods = len(rows)
    staff_id = pick_member(rows, min(6, periods), skip=1)
    a, b = open_user("A"), open_user("B")
    # a new span inside the calendar that differs from the member's own
    first, last = min(2, periods - 1), min(5, periods - 1)
    a.schedule.move_staff(staff_id, first, last)
    wait_confirmed(a, ("F8",), "the move to be confirmed", PROPAGATION_TIMEOUT_MS)
    now_in = periods_of(target.rows(), staff_id)
    assert now_in == list(range(first, last + 1)), explain(
        f"the server to place {staff_id} in periods {first}..{last}",
        now_in,
        ("F6", "F46"),
        a.evidence,
    )
    assert_everywhere(b, target, range(periods))
    assert_everywhere(a, target, range(periods))


@pytest.mark.core
@pytest.mark.quiet(shaped=True)  # times propagation: under a profile, alone
@pytest.mark.measures(*PROPAGATION_METRICS, "writes.lost", "writes.duplicated")
def test_create_and_delete_should_propagate(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    periods = len(target.rows())
    first, last = min(3, periods - 1), min(6, periods - 1)
    shown = (first + last) // 2
    a, b = open_user("A"), open_user("B")
    visit(b, shown)
    name = f"New Hire {time.monotonic_ns() % 10**6}"
    created = Change(name, "STAFF_CREATE", name, f"a new member {name!r}", text=name)
    propagate(
        a,
        [b],
        created,
        lambda: a.schedule.create_staff(name, "Host", first, last),
        measure,
        "create",
    )
    staff_id = assert_created_once(a, target, name, measure, ("F8", "F47"))
    placed = periods_of(target.rows(), staff_id)
    assert placed == list(range(first, last + 1)), explain(
        f"the new member in periods {first}..{last}",
        placed,
        ("F6", "F46"),
        a.evidence,
    )
    assert_persisted(a, target, {staff_id: {"name": name, "position": "Host"}}, measure)
    assert_everywhere(b, target, range(periods))
    visit(a, shown)
    visit(b, shown)
    deleted = Change(
        f"gone {staff_id}",
        "STAFF_DELETE",
        staff_id,
        f"no row of {staff_id}",
        staff_id=staff_id,
        absent=True,
    )
    propagate(a, [b], deleted, lambda: a.schedule.delete_staff(staff_id), measure, "delete")
    assert_everywhere(b, target, range(periods))


def converge(a: User, b: User, target: Target, staff_id: str, where: list[int]) -> dict[str, Any]:
    """Wait until neither tab has pending edits; return the server's row."""
    for user in (a, b):
        wait_confirmed(user, ("F8", "F10"), "every edit confirmed", PROPAGATION_TIMEOUT_MS)
    rows = target.rows()
    return next(r for r in rows[where[0]] if r["id"] == staff_id)


def two_tabs_on_one_member(
    open_user: OpenUser, target: Target, skip: int
) -> tuple[User, User, str, list[int]]:
    """Two users looking at the same period of the same (the `skip`-th) staff member."""
    rows = target.rows()
    staff_id = pick_member(rows, 4, skip=skip)
    where = periods_of(rows, staff_id)
    a, b = open_user("A"), open_user("B")
    visit(a, where[0])
    visit(b, where[0])
    return a, b, staff_id, where


def test_concurrent_edits_of_one_field_should_converge(open_user: OpenUser, target: Target) -> None:
    """Both tabs save the same four fields with their own values: per field, both tabs and
    the database agree on one value."""
    a, b, staff_id, where = two_tabs_on_one_member(open_user, target, skip=2)
    status = {"A": "on_leave", "B": "inactive"}
    for user in (a, b):
        mark = user.name
        fields = {f: f"{f.title()} From {mark}" for f in ("name", "position", "department")}
        user.schedule.edit_staff(staff_id, {**fields, "status": status[mark]})
    server = converge(a, b, target, staff_id, where)
    for user in (a, b):
        for field in ("name", "position", "department", "status"):
            expect(
                user.schedule.row(staff_id).get_by_test_id(f"staff-{field}"),
                explain(
                    f"both tabs and the database to agree on {field} {server[field]!r}",
                    "a different value in this tab",
                    ("F10",),
                    user.evidence,
                ),
            ).to_have_text(shown(field, server[field]), timeout=PROPAGATION_TIMEOUT_MS)


@pytest.mark.measures("writes.lost")
def test_concurrent_edits_of_different_fields_should_both_survive(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Both open the member's form before either saves (each form holds the other's fields'
    old values); A saves a new name and department, then B a new position and status: all
    four must survive."""
    a, b, staff_id, where = two_tabs_on_one_member(open_user, target, skip=3)
    current = next(r for r in target.rows()[where[0]] if r["id"] == staff_id)
    mine = {"name": "Merged Name", "department": "Merged Dept"}
    theirs = {"position": "Bartender", "status": other_status(current.get("status"))}
    a.schedule.begin_edit(staff_id, mine)
    b.schedule.begin_edit(staff_id, theirs)
    a.schedule.save_edit()
    b.schedule.save_edit()
    server = converge(a, b, target, staff_id, where)
    both = {**mine, **theirs}
    assert_persisted(a, target, {staff_id: both}, measure, ("F10", "F18"))
    assert {k: server[k] for k in both} == both, explain(
        "every edit kept by the server", {k: server[k] for k in both}, ("F10",), a.evidence
    )
    for user in (a, b):
        cells = user.schedule.row(staff_id)
        message = explain(
            "every edit shown in every tab", "one lost", ("F10", "F18"), user.evidence
        )
        for field, value in both.items():
            expect(cells.get_by_test_id(f"staff-{field}"), message).to_have_text(
                shown(field, value)
            )


@pytest.mark.measures(*PROPAGATION_METRICS)
def test_legacy_and_prefetch_tabs_should_see_each_others_edits(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    rows = target.rows()
    staff_id = pick_member(rows, min(4, len(rows)), skip=4)
    where = periods_of(rows, staff_id)
    prefetch, legacy = open_user("P", mode="prefetch"), open_user("L", mode="legacy")
    visit(prefetch, where[0])
    visit(legacy, where[-1])
    for writer, reader, name in (
        (legacy, prefetch, "Legacy Edit"),
        (prefetch, legacy, "Prefetch Edit"),
    ):
        change, action = renaming(writer, staff_id, name)
        propagate(writer, [reader], change, action, measure, "rename")
