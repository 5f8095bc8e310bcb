"""A fault at the protocol's worst moments, with a colleague's write inside its window: the
deterministic cases of what the exploration's nemesis (e2e/explore) strikes at random."""

from __future__ import annotations

import pytest

from e2e.harness.checks import nonce, shows_cell, wait_confirmed
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import PROPAGATION_TIMEOUT_MS
from e2e.harness.staffing import visit
from e2e.harness.target import Target
from e2e.probes.faults import Strike

pytestmark = pytest.mark.fault


def test_a_repeated_answer_should_not_replace_a_colleagues_newer_row(
    open_user: OpenUser, target: Target
) -> None:
    """The user renames a member; the server applies it and the socket is lost as its
    answer comes back. In that instant, before the page can reconnect, a colleague changes
    the member's position. The page resyncs (the colleague's row, one version newer) and
    sends the rename again, and the server repeats its first answer: the page keeps the
    newer row, with the user's name and the colleague's position."""
    user = open_user("A", control_sockets=True)
    assert user.control is not None
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][0]["id"])
    name, position = f"Renamed {nonce()}", f"Colleague's {nonce()}"

    def colleague_writes() -> None:
        with target.wire() as other:
            other.update(staff_id, {"position": position})

    strike = Strike("answered", "cut", colleague_writes)
    user.control.arm(strike)
    try:
        user.schedule.rename_staff(staff_id, name)
        user.control.wait_struck(strike)
    finally:
        user.control.disarm()
    shows_cell(user, staff_id, "position", position, ("F7", "F41"))
    shows_cell(user, staff_id, "name", name, ("F8", "F17"))
    wait_confirmed(user, ("F8",), "the rename confirmed", PROPAGATION_TIMEOUT_MS)


def test_a_broadcast_lost_in_a_short_drop_should_be_shown_after_the_reconnect(
    open_user: OpenUser, target: Target
) -> None:
    """A colleague renames a member this user watches; the user's socket is cut as that
    broadcast reaches it. The page reconnects at once (well under 2 s): it must resync
    and show the rename, however short the drop was."""
    writer = open_user("W", control_sockets=True)
    reader = open_user("R", control_sockets=True)
    assert writer.control is not None and reader.control is not None
    period = writer.schedule.current_period()
    visit(reader, period)
    staff_id = str(target.rows()[period][0]["id"])
    name = f"Renamed in the drop {nonce()}"
    strike = Strike("broadcast", "cut")
    writer.control.arm(strike, "writer")
    reader.control.arm(strike, "reader")
    try:
        writer.schedule.rename_staff(staff_id, name)
        reader.control.wait_struck(strike)
    finally:
        writer.control.disarm()
        reader.control.disarm()
    shows_cell(reader, staff_id, "name", name, ("F7", "F42"))
