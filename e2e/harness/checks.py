"""Checks shared by the scenarios: each failure names the catalogue defects it points to."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from e2e.harness.catalogue import explain
from e2e.harness.metrics import TestMetrics
from e2e.harness.oracle import expected_members
from e2e.harness.propagation import PROPAGATION_TIMEOUT_MS
from e2e.harness.target import Target
from e2e.harness.users import User
from e2e.harness.wire import rows_by_id


def assert_persisted(
    user: User,
    target: Target,
    writes: dict[str, dict[str, Any]],
    measure: TestMetrics,
    defects: tuple[str, ...] = ("F8", "F9"),
    deleted: tuple[str, ...] = (),
) -> None:
    """The database (read through the protocol) holds every confirmed write: staff id ->
    the fields written, and none of the `deleted` members. Records `writes.lost`, the number
    of writes it does not hold."""
    rows = rows_by_id(target.rows())
    lost: dict[str, object] = {
        staff_id: {k: rows[staff_id].get(k) for k in fields} if staff_id in rows else "no row"
        for staff_id, fields in writes.items()
        if staff_id not in rows or any(rows[staff_id].get(k) != v for k, v in fields.items())
    }
    lost |= {staff_id: "still there after its delete" for staff_id in deleted if staff_id in rows}
    measure("writes.lost", len(lost), "count")
    assert not lost, explain(
        f"the database to hold every confirmed write {writes}",
        f"{len(lost)} lost; it holds {lost}",
        defects,
        user.evidence,
    )


def assert_created_once(
    user: User, target: Target, name: str, measure: TestMetrics, defects: tuple[str, ...]
) -> str:
    """The database holds exactly one member named `name` (a create applied once, not lost
    and not doubled by a replay). Records `writes.lost` and `writes.duplicated`; returns
    the member's id."""
    ids = sorted({str(r["id"]) for r in rows_by_id(target.rows()).values() if r["name"] == name})
    measure("writes.lost", 0 if ids else 1, "count")
    measure("writes.duplicated", max(0, len(ids) - 1), "count")
    assert len(ids) == 1, explain(
        f"the database to hold {name!r} once",
        f"{len(ids)} such rows: {ids}",
        defects,
        user.evidence,
    )
    return ids[0]


def assert_membership_by_the_rule(user: User, target: Target) -> None:
    """The server's period lists agree with the suite's own oracle: every member in exactly
    the periods its dates give by the protocol's rule (no-op when the calendar is unknown)."""
    if target.calendar is None:
        return
    periods = target.rows()
    expected = expected_members(target.calendar, rows_by_id(periods).values())
    wrong = {
        p: {
            "missing": sorted(expected[p] - {str(r["id"]) for r in periods.get(p, [])}),
            "extra": sorted({str(r["id"]) for r in periods.get(p, [])} - expected[p]),
        }
        for p in expected
        if expected[p] != {str(r["id"]) for r in periods.get(p, [])}
    }
    assert not wrong, explain(
        "every period to hold the members its dates give by the protocol's rule",
        f"the server's lists differ in {len(wrong)} periods: {dict(list(wrong.items())[:3])}",
        ("F22", "F6"),
        user.evidence,
    )


def assert_shows_truth(user: User, truth: dict[int, list[str]], period: int) -> None:
    """The page shows `period` ready, with exactly the staff the server has there."""
    seen_period = user.schedule.current_period()
    assert seen_period == period, explain(
        f"the page to end on period {period}", f"period {seen_period}", ("F2",), user.evidence
    )
    ids = user.schedule.row_ids()
    expected = truth[period]
    assert sorted(ids) == sorted(expected), explain(
        f"period {period} to show the server's {len(expected)} staff",
        f"{len(ids)} rows; missing {sorted(set(expected) - set(ids))[:5]},"
        f" extra {sorted(set(ids) - set(expected))[:5]}",
        ("F2", "F5", "F6", "F7"),
        user.evidence,
    )


def assert_snapshots_true(user: User, truth: dict[int, list[str]]) -> None:
    """Every table the page showed as ready held the staff of the period it was labelled."""
    wrong = [
        (s.period, len(s.ids))
        for s in user.probe.snapshots()
        if sorted(s.ids) != sorted(truth.get(s.period, []))
    ]
    assert not wrong, explain(
        "every rendered period to hold its own staff",
        f"{len(wrong)} renders with another period's rows (period, rows): {wrong[:5]}",
        ("F2",),
        user.evidence,
    )


def assert_frames_agree(user: User) -> None:
    """Every painted frame with a ready table showed one period: table, label, current chip."""
    wrong = user.probe.disagreements()
    assert not wrong, explain(
        "every painted frame to show one period in its table, label and current chip",
        f"{len(wrong)} frames that disagree, e.g. {wrong[:3]}",
        ("F19",),
        user.evidence,
    )


def assert_one_socket(user: User, whole_life: bool = True) -> None:
    """Exactly one socket open now; with `whole_life`, the only one the page ever made."""
    sockets = user.probe.sockets()
    live = [s for s in sockets if s.is_open]
    assert len(live) == 1 and (len(sockets) == 1 or not whole_life), explain(
        "one WebSocket for the page's whole life" if whole_life else "exactly one open WebSocket",
        f"{len(sockets)} created, {len(live)} open now: {[s.url for s in sockets][:4]}",
        ("F1", "F13"),
        user.evidence,
    )


def assert_no_console_errors(user: User) -> None:
    errors = user.console_errors + user.probe.errors()
    assert not errors, explain("no console errors", errors[:5], ("F13", "F15"), user.evidence)


def assert_refusal_handled(user: User) -> None:
    """The refusal is shown, and no edit is left waiting for a confirmation."""
    expect(
        user.schedule.error,
        explain(
            "the server's refusal shown to the user", "no error message", ("F14",), user.evidence
        ),
    ).to_be_visible(timeout=10_000)
    expect(
        user.schedule.pending,
        explain("the refused edit no longer pending", "still pending", ("F14",), user.evidence),
    ).to_have_attribute("data-count", "0", timeout=10_000)


# a write waits for its answer through outages and a train's stalls
CONFIRM_TIMEOUT_MS = 30_000


def wait_confirmed(
    user: User,
    defects: tuple[str, ...] = ("F8",),
    what: str = "every pending edit sent and confirmed",
    timeout_ms: float = CONFIRM_TIMEOUT_MS,
) -> None:
    """Until the page counts no write pending: every edit sent and answered (a page shows
    its own edit at once, before the server has it)."""
    expect(
        user.schedule.pending,
        explain(what, "edits still pending", defects, user.evidence),
    ).to_have_attribute("data-count", "0", timeout=timeout_ms)


def shows_cell(user: User, staff_id: str, column: str, text: str, defects: tuple[str, ...]) -> None:
    """Until the member's row shows `text` in `column` (name, position, ...), exactly."""
    expect(
        user.schedule.row(staff_id).get_by_test_id(f"staff-{column}"),
        explain(
            f"{staff_id}'s {column} shown as {text!r}", "another value", defects, user.evidence
        ),
    ).to_have_text(text, timeout=PROPAGATION_TIMEOUT_MS, use_inner_text=False)


def nonce() -> str:
    """A short value that differs between runs, for names a test writes."""
    return str(time.monotonic_ns() % 10**6)
