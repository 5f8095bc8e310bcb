"""Rejected edits and hostile input: what the user is told, and who stays connected."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed

from e2e.harness.catalogue import explain
from e2e.harness.checks import assert_one_socket, assert_refusal_handled
from e2e.harness.plugin import OpenUser
from e2e.harness.target import Target
from e2e.harness.wire import rows_by_id

NAME_LIMIT = 100  # the reference server refuses longer names

HOSTILE_FRAMES: list[str | bytes] = [
    "{not json",
    "[]",
    json.dumps({"type": "DROP_TABLE"}),
    json.dumps({"type": "STAFF_UPDATE", "payload": {"staffId": 7, "changes": []}}),
    json.dumps(
        {"type": "STAFF_UPDATE", "payload": {"staffId": "nobody", "changes": {"name": "x"}}}
    ),
    json.dumps({"type": "PING", "payload": {"pad": "x" * 100_000}}),
    b"\x00\xff\x00",
]


@pytest.mark.smoke
@pytest.mark.fault
def test_edit_of_a_member_deleted_meanwhile_should_be_refused_and_shown(
    open_user: OpenUser, target: Target
) -> None:
    """The refusal the protocol guarantees: a write for a deleted member. The user's edit
    is held on the network while another user deletes the member, then delivered."""
    user = open_user("A", control_sockets=True)
    assert user.control is not None
    period = user.schedule.current_period()
    row = target.rows()[period][0]
    name = f"Too Late {time.monotonic_ns() % 10**6}"
    with user.control.holding():
        user.schedule.rename_staff(row["id"], name)
        user.control.wait_held(1)
        with target.wire() as other:
            other.delete(row["id"])
    assert_refusal_handled(user)
    expect(
        user.schedule.row(row["id"]),
        explain(
            f"{row['id']} gone (deleted by another user), not kept with the refused edit",
            "the row still shown",
            ("F14",),
            user.evidence,
        ),
    ).to_have_count(0, timeout=10_000)
    assert row["id"] not in rows_by_id(target.rows()), explain(
        "the member deleted in the database", "still there", ("F15",), user.evidence
    )


@pytest.mark.smoke
@pytest.mark.fault
def test_rejected_edit_should_be_rolled_back_and_shown(open_user: OpenUser, target: Target) -> None:
    """A value the reference server refuses (a name over 100 characters), where the client
    lets the user type it."""
    if target.app is None:
        pytest.skip("the 100-character limit is the reference server's; --base-url given")
    user = open_user("A")
    limit = user.schedule.name_limit()
    if limit is not None and limit <= NAME_LIMIT:
        pytest.skip(f"the client stops the refused value itself (maxlength {limit})")
    period = user.schedule.current_period()
    row = target.rows()[period][0]
    user.schedule.rename_staff(row["id"], "X" * (NAME_LIMIT + 50))
    assert_refusal_handled(user)
    expect(
        user.schedule.name_cell(row["id"]),
        explain(
            f"the refused edit rolled back to {row['name']!r}",
            "the refused value kept",
            ("F14",),
            user.evidence,
        ),
    ).to_have_text(row["name"], timeout=10_000)


@pytest.mark.smoke
@pytest.mark.fault
def test_hostile_client_should_not_disconnect_anyone_else(
    open_user: OpenUser, target: Target
) -> None:
    user = open_user("A")
    errors: list[dict[str, object]] = []
    closed: str | None = None
    with target.wire() as hostile:
        try:
            for frame in HOSTILE_FRAMES:
                hostile.send_raw(frame)
            for _ in HOSTILE_FRAMES:
                errors.append(hostile.recv_until(lambda f: f["type"] == "ERROR")["payload"])
        except ConnectionClosed as exc:
            closed = str(exc)
    assert closed is None, explain(
        "the bad client answered with ERRORs and kept connected",
        f"closed: {closed}",
        ("F15",),
        user.evidence,
    )
    assert all(e.get("message") for e in errors), explain(
        "an ERROR with a message for every bad frame", errors, ("F15",), user.evidence
    )
    period = user.schedule.current_period()
    staff_id = target.rows()[period][1]["id"]
    name = f"Still Served {time.monotonic_ns() % 10**6}"
    user.schedule.rename_staff(staff_id, name)
    expect(
        user.schedule.pending,
        explain(
            "the other user's edit confirmed after the hostile frames",
            "it stayed pending",
            ("F15",),
            user.evidence,
        ),
    ).to_have_attribute("data-count", "0", timeout=10_000)
    assert_one_socket(user)
    with target.wire() as check:
        assert check.request("PING", {})["type"] == "PONG", explain(
            "the server still serving", "no PONG", ("F15",), user.evidence
        )
