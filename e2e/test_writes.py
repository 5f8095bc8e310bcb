"""The coverage matrix's write cells (fixtures/coverage.json): every operation seen by every
observer, and writes the server refuses rolled back on every screen. Each step checks the
database (through the protocol) and each observer's screen, for lost and doubled rows."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.harness.catalogue import explain
from e2e.harness.checks import (
    assert_created_once,
    assert_membership_by_the_rule,
    assert_persisted,
    assert_refusal_handled,
    wait_confirmed,
)
from e2e.harness.metrics import TestMetrics
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import PROPAGATION_TIMEOUT_MS
from e2e.harness.staffing import other_status, periods_of, pick_member, shown, visit
from e2e.harness.target import Target
from e2e.harness.users import User
from e2e.harness.wire import rows_by_id


@dataclass
class Room:
    """Tabs around one member: the writer and another prefetch tab on one of the member's
    periods, a prefetch tab on another of them, and a legacy tab on a third."""

    tabs: dict[str, User]  # observer (as named in the matrix) -> its tab
    periods: dict[str, int]

    @property
    def writer(self) -> User:
        return self.tabs["writer"]


def open_room(open_user: OpenUser, target: Target, staff_id: str) -> Room:
    where = periods_of(target.rows(), staff_id)
    periods = {
        "writer": where[0],
        "another tab, same period": where[0],
        "another tab, another period of that person": where[len(where) // 2],
        "legacy tab": where[-1],
    }
    users = dict(zip(periods, ("W", "S", "O", "L"), strict=True))  # short names for evidence
    tabs = {
        name: open_user(users[name], mode="legacy" if name == "legacy tab" else None)
        for name in periods
    }
    for name, tab in tabs.items():
        visit(tab, periods[name])
    return Room(tabs, periods)


def assert_every_screen(
    room: Room,
    target: Target,
    staff_id: str,
    what: str,
    fields: dict[str, str],
    defects: tuple[str, ...],
) -> None:
    """Each observer shows `staff_id` exactly once with `fields` where the server places it
    in that observer's period, and not at all where it does not."""
    truth = target.truth()
    for name, tab in room.tabs.items():
        period = room.periods[name]
        row = tab.schedule.row(staff_id)
        if staff_id not in truth.get(period, []):
            expect(
                row,
                explain(
                    f"{what}: no row of {staff_id} ({name}, period {period})",
                    "a row",
                    defects,
                    tab.evidence,
                ),
            ).to_have_count(0, timeout=PROPAGATION_TIMEOUT_MS)
            continue
        expect(
            row,
            explain(
                f"{what}: {staff_id} shown once ({name}, period {period})",
                "another count",
                defects,
                tab.evidence,
            ),
        ).to_have_count(1, timeout=PROPAGATION_TIMEOUT_MS)
        for field, value in fields.items():
            expect(
                row.get_by_test_id(f"staff-{field}"),
                explain(
                    f"{what}: {field} {value!r} ({name}, period {period})",
                    "another value",
                    defects,
                    tab.evidence,
                ),
            ).to_have_text(shown(field, value), timeout=PROPAGATION_TIMEOUT_MS)
        if "name" in fields:  # no second row with the name (a create shown twice)
            same_name = re.compile(rf"^\s*{re.escape(fields['name'])}\s*$")
            expect(
                tab.page.get_by_test_id("staff-name").filter(has_text=same_name),
                explain(
                    f"{what}: {fields['name']!r} on one row ({name}, period {period})",
                    "more rows",
                    ("F17", *defects),
                    tab.evidence,
                ),
            ).to_have_count(1, timeout=PROPAGATION_TIMEOUT_MS)
    wait_confirmed(room.writer, defects, timeout_ms=PROPAGATION_TIMEOUT_MS)


@pytest.mark.measures("writes.lost", "writes.duplicated")
def test_every_write_should_reach_every_observer(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Online: one member's department, status, position and name, a new member, its move
    by dates, and a delete, each judged in the database and by four observers."""
    rows = target.rows()
    staff_id = pick_member(rows, 3, skip=5)
    room = open_room(open_user, target, staff_id)
    current = rows_by_id(rows)[staff_id]
    nonce = time.monotonic_ns() % 10**6
    for field, value, defects in (
        ("department", f"Dept {nonce}", ("F24", "F5")),
        ("status", other_status(current.get("status")), ("F24", "F5")),
        ("position", f"Position {nonce}", ("F5",)),
        ("name", f"Every Field {nonce}", ("F5",)),
    ):
        room.writer.schedule.edit_staff(staff_id, {field: value})
        assert_every_screen(room, target, staff_id, f"update {field}", {field: value}, defects)
        assert_persisted(room.writer, target, {staff_id: {field: value}}, measure, defects)

    where = periods_of(target.rows(), staff_id)
    name = f"Every Observer {nonce}"
    room.writer.schedule.create_staff(name, "Host", where[0], where[-1])
    expect(  # shown at once (pending), so that "nothing pending" below means confirmed
        room.writer.page.get_by_test_id("staff-name").filter(has_text=name),
        explain(f"{name!r} shown on the writer's screen", "no such row", ("F8",)),
    ).to_have_count(1, timeout=PROPAGATION_TIMEOUT_MS)
    wait_confirmed(room.writer, ("F8",), timeout_ms=PROPAGATION_TIMEOUT_MS)
    created = assert_created_once(room.writer, target, name, measure, ("F8", "F17"))
    assert_every_screen(room, target, created, "create", {"name": name}, ("F5", "F6"))

    mid = where[len(where) // 2]
    room.writer.schedule.move_staff(created, mid, where[-1])
    wait_confirmed(room.writer, ("F6",), timeout_ms=PROPAGATION_TIMEOUT_MS)
    placed = periods_of(target.rows(), created)  # read once: judged and reported
    assert placed == list(range(mid, where[-1] + 1)), explain(
        f"the server to place {created} in periods {mid}..{where[-1]}",
        placed,
        ("F6", "F22"),
        room.writer.evidence,
    )
    assert_membership_by_the_rule(room.writer, target)
    assert_every_screen(room, target, created, "move by dates", {"name": name}, ("F6",))

    room.writer.schedule.delete_staff(staff_id)
    wait_confirmed(room.writer, ("F8",), timeout_ms=PROPAGATION_TIMEOUT_MS)
    assert_persisted(room.writer, target, {}, measure, ("F8",), deleted=(staff_id,))
    assert_every_screen(room, target, staff_id, "delete", {}, ("F5",))


def refuse(
    user: User, operation: str, staff_id: str, status: object, period: int, value: str
) -> None:
    assert user.control is not None
    with user.control.refused():
        if operation == "create":
            user.schedule.create_staff(value, "Host", period, None)
        elif operation == "update":
            fields = {"position": value, "department": value, "status": other_status(status)}
            user.schedule.edit_staff(staff_id, fields)
        elif operation == "move":  # to a period far from the shown one: the row would leave
            far = (period + 3) % user.schedule.period_count()
            user.schedule.move_staff(staff_id, far, far)
        else:
            user.schedule.delete_staff(staff_id)
        user.control.wait_refused_sent()


@pytest.mark.fault
@pytest.mark.parametrize("operation", ["create", "update", "move", "delete"])
def test_refused_write_should_be_rolled_back_on_every_screen(
    open_user: OpenUser, target: Target, operation: str
) -> None:
    """The server refuses the write (it reaches it with a field of the wrong type, which the
    protocol says is answered with ERROR): the writer shows the refusal and the server's
    row again, the other tab never shows the write, and the database is unchanged."""
    writer = open_user("A", control_sockets=True)
    other = open_user("B")
    period = writer.schedule.current_period()
    visit(other, period)
    before: dict[str, Any] = target.rows()[period][2]
    staff_id = str(before["id"])
    value = f"Refused {operation} {time.monotonic_ns() % 10**6}"
    refuse(writer, operation, staff_id, before.get("status"), period, value)
    assert_refusal_handled(writer)
    after = rows_by_id(target.rows())
    assert staff_id in after and after[staff_id]["version"] == before["version"], explain(
        f"the refused {operation} to leave {staff_id} as it was in the database",
        after.get(staff_id, "no row"),
        ("F14",),
        writer.evidence,
    )
    assert not [r for r in after.values() if r["name"] == value], explain(
        f"no member {value!r} in the database", "one", ("F14",), writer.evidence
    )
    for tab in (writer, other):
        expect(
            tab.page.get_by_test_id("staff-row").filter(has_text=value),
            explain(
                f"the refused {operation} rolled back",
                "its value shown",
                ("F14", "F23"),
                tab.evidence,
            ),
        ).to_have_count(0, timeout=PROPAGATION_TIMEOUT_MS)
        row = tab.schedule.row(staff_id)
        expect(
            row,
            explain(
                f"{staff_id} shown again after the refused {operation}",
                "no row",
                ("F14", "F23"),
                tab.evidence,
            ),
        ).to_have_count(1, timeout=PROPAGATION_TIMEOUT_MS)
        for field in ("position", "department", "status"):
            expect(
                row.get_by_test_id(f"staff-{field}"),
                explain(f"the server's {field} again", "another", ("F14",), tab.evidence),
            ).to_have_text(shown(field, str(before[field])))
