"""Scenario 3, multi-tab sync: two users in separate contexts on different periods."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.catalogue import verdict
from e2e.checks import assert_shows_truth
from e2e.metrics import TestMetrics
from e2e.plugin import OpenUser
from e2e.target import Target
from e2e.users import User

PROPAGATION_TIMEOUT_MS = 10_000


def periods_of(rows: dict[int, list[dict[str, Any]]], staff_id: str) -> list[int]:
    return sorted(p for p, members in rows.items() if any(r["id"] == staff_id for r in members))


def pick_member(rows: dict[int, list[dict[str, Any]]], min_periods: int, skip: int = 0) -> str:
    """A staff member working in at least `min_periods` periods (the `skip`-th such)."""
    counts: dict[str, int] = {}
    for members in rows.values():
        for r in members:
            counts[r["id"]] = counts.get(r["id"], 0) + 1
    candidates = sorted(i for i, n in counts.items() if n >= min_periods)
    if len(candidates) <= skip:
        pytest.skip(f"the dataset has no {skip + 1} staff working in {min_periods}+ periods")
    return candidates[skip]


def visit(user: User, period: int) -> None:
    if user.schedule.current_period() != period:
        user.schedule.go_to_period(period)
    user.schedule.wait_ready(period)


def expect_name(
    user: User, staff_id: str, name: str, period: int, defects: tuple[str, ...]
) -> None:
    expect(
        user.schedule.name_cell(staff_id),
        verdict(
            f"{staff_id} named {name!r} in period {period}",
            "another name or no row",
            defects,
            user.evidence,
        ),
    ).to_have_text(name, timeout=PROPAGATION_TIMEOUT_MS)


def assert_everywhere(user: User, target: Target, periods: range) -> None:
    truth = target.truth()
    for period in periods:
        visit(user, period)
        assert_shows_truth(user, truth, period)


@pytest.mark.smoke
def test_edit_should_reach_the_other_tab_in_every_period_of_that_person(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    rows = target.rows()
    staff_id = pick_member(rows, 8, skip=0)
    where = periods_of(rows, staff_id)
    a, b = open_user("A"), open_user("B")
    visit(a, where[0])
    visit(b, where[-1])
    name = f"Renamed {time.monotonic_ns() % 10**6}"
    b.probe.watch_name(name)
    clicked_at = time.time() * 1000
    a.schedule.rename_staff(staff_id, name)
    seen_at = b.probe.name_seen_at(name, PROPAGATION_TIMEOUT_MS)
    measure("sync.propagation_ms", seen_at - clicked_at, "ms", kind="rename")
    for period in where:
        visit(b, period)
        expect_name(b, staff_id, name, period, ("F5",))
    truth_rows = target.rows()
    assert all(r["name"] == name for p in where for r in truth_rows[p] if r["id"] == staff_id), (
        verdict("the database to hold the new name", "the old one", ("F8", "F9"), a.evidence)
    )


def test_date_change_should_move_the_person_between_periods_in_the_other_tab(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    rows = target.rows()
    staff_id = pick_member(rows, 6, skip=1)
    a, b = open_user("A"), open_user("B")
    periods = len(rows)
    first, last = 2, 5
    a.schedule.move_staff(staff_id, first, last)
    expect(
        a.schedule.pending,
        verdict("the move to be confirmed", "still pending", ("F8",), a.evidence),
    ).to_have_attribute("data-count", "0", timeout=PROPAGATION_TIMEOUT_MS)
    now_in = periods_of(target.rows(), staff_id)
    assert now_in == list(range(first, last + 1)), verdict(
        f"the server to place {staff_id} in periods {first}..{last}", now_in, ("F6",), a.evidence
    )
    assert_everywhere(b, target, range(periods))
    assert_everywhere(a, target, range(periods))


def test_create_and_delete_should_propagate(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    a, b = open_user("A"), open_user("B")
    visit(b, 4)
    name = f"New Hire {time.monotonic_ns() % 10**6}"
    b.probe.watch_name(name)
    clicked_at = time.time() * 1000
    a.schedule.create_staff(name, "Host", 3, 6)
    seen_at = b.probe.name_seen_at(name, PROPAGATION_TIMEOUT_MS)
    measure("sync.propagation_ms", seen_at - clicked_at, "ms", kind="create")
    rows = target.rows()
    created = [r["id"] for members in rows.values() for r in members if r["name"] == name]
    assert created, verdict(f"the server to hold {name!r}", "no such row", ("F8",), a.evidence)
    staff_id = created[0]
    assert periods_of(rows, staff_id) == [3, 4, 5, 6], verdict(
        "the new member in periods 3..6", periods_of(rows, staff_id), ("F6",), a.evidence
    )
    assert_everywhere(b, target, range(len(rows)))
    visit(a, 4)
    a.schedule.delete_staff(staff_id)
    expect(
        b.schedule.row(staff_id),
        verdict(f"{staff_id} gone from B after the delete", "still shown", ("F5",), b.evidence),
    ).to_have_count(0, timeout=PROPAGATION_TIMEOUT_MS)
    assert_everywhere(b, target, range(len(rows)))


def converge(a: User, b: User, target: Target, staff_id: str, where: list[int]) -> dict[str, Any]:
    """Wait until neither tab has pending edits; return the server's row."""
    for user in (a, b):
        expect(
            user.schedule.pending,
            verdict("every edit confirmed", "edits still pending", ("F8", "F10"), user.evidence),
        ).to_have_attribute("data-count", "0", timeout=PROPAGATION_TIMEOUT_MS)
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
    a, b, staff_id, where = two_tabs_on_one_member(open_user, target, skip=2)
    a.schedule.rename_staff(staff_id, "Name From A")
    b.schedule.rename_staff(staff_id, "Name From B")
    server = converge(a, b, target, staff_id, where)
    for user in (a, b):
        expect(
            user.schedule.name_cell(staff_id),
            verdict(
                f"both tabs and the database to agree on {server['name']!r}",
                "a different value in this tab",
                ("F10",),
                user.evidence,
            ),
        ).to_have_text(server["name"], timeout=PROPAGATION_TIMEOUT_MS)


def test_concurrent_edits_of_different_fields_should_both_survive(
    open_user: OpenUser, target: Target
) -> None:
    a, b, staff_id, where = two_tabs_on_one_member(open_user, target, skip=3)
    a.schedule.rename_staff(staff_id, "Merged Name")
    b.schedule.set_position(staff_id, "Bartender")
    server = converge(a, b, target, staff_id, where)
    assert (server["name"], server["position"]) == ("Merged Name", "Bartender"), verdict(
        "both edits kept by the server", (server["name"], server["position"]), ("F10",), a.evidence
    )
    for user in (a, b):
        cells = user.schedule.row(staff_id)
        message = verdict("both edits shown in every tab", "one lost", ("F10",), user.evidence)
        expect(cells.get_by_test_id("staff-name"), message).to_have_text("Merged Name")
        expect(cells.get_by_test_id("staff-position"), message).to_have_text("Bartender")


def test_legacy_and_prefetch_tabs_should_see_each_others_edits(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    rows = target.rows()
    staff_id = pick_member(rows, 4, skip=4)
    where = periods_of(rows, staff_id)
    prefetch, legacy = open_user("P", mode="prefetch"), open_user("L", mode="legacy")
    visit(prefetch, where[0])
    visit(legacy, where[-1])
    for writer, reader, name, kind in (
        (legacy, prefetch, "Legacy Edit", "legacy-to-prefetch"),
        (prefetch, legacy, "Prefetch Edit", "prefetch-to-legacy"),
    ):
        reader.probe.watch_name(name)
        clicked_at = time.time() * 1000
        writer.schedule.rename_staff(staff_id, name)
        expect_name(reader, staff_id, name, reader.schedule.current_period(), ("F5",))
        measure(
            "sync.propagation_ms", reader.probe.name_seen_at(name) - clicked_at, "ms", kind=kind
        )
