"""Rejected edits and hostile input: what the user is told, and who stays connected."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed

from e2e.catalogue import verdict
from e2e.checks import assert_one_socket
from e2e.plugin import OpenUser
from e2e.target import Target

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
def test_rejected_edit_should_be_rolled_back_and_shown(open_user: OpenUser, target: Target) -> None:
    user = open_user("A")
    period = user.schedule.current_period()
    row = target.rows()[period][0]
    too_long = "X" * 150  # the protocol refuses names over 100 characters
    user.schedule.rename_staff(row["id"], too_long)
    expect(
        user.schedule.error,
        verdict(
            "the server's refusal shown to the user", "no error message", ("F14",), user.evidence
        ),
    ).to_be_visible(timeout=10_000)
    expect(
        user.schedule.name_cell(row["id"]),
        verdict(
            f"the refused edit rolled back to {row['name']!r}",
            "the refused value kept",
            ("F14",),
            user.evidence,
        ),
    ).to_have_text(row["name"], timeout=10_000)
    expect(user.schedule.pending).to_have_attribute("data-count", "0")


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
    assert closed is None, verdict(
        "the bad client answered with ERRORs and kept connected",
        f"closed: {closed}",
        ("F15",),
        user.evidence,
    )
    assert all(e.get("message") for e in errors), verdict(
        "an ERROR with a message for every bad frame", errors, ("F15",), user.evidence
    )
    period = user.schedule.current_period()
    staff_id = target.rows()[period][1]["id"]
    name = f"Still Served {time.monotonic_ns() % 10**6}"
    user.schedule.rename_staff(staff_id, name)
    expect(
        user.schedule.pending,
        verdict(
            "the other user's edit confirmed after the hostile frames",
            "it stayed pending",
            ("F15",),
            user.evidence,
        ),
    ).to_have_attribute("data-count", "0", timeout=10_000)
    assert_one_socket(user)
    with target.wire() as check:
        assert check.request("PING", {})["type"] == "PONG", verdict(
            "the server still serving", "no PONG", ("F15",), user.evidence
        )
