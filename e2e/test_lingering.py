"""A user who lingers: the edit form stays open while a colleague changes the same member.
The deterministic cases of what the exploration's lingering steps (e2e/explore) do."""

from __future__ import annotations

from e2e.harness.catalogue import explain
from e2e.harness.checks import nonce, shows_cell, wait_confirmed
from e2e.harness.plugin import OpenUser
from e2e.harness.target import Target
from e2e.harness.users import User
from e2e.harness.wire import rows_by_id


def colleague_changes(user: User, target: Target, staff_id: str, fields: dict[str, str]) -> None:
    """A colleague's write through the protocol, then until the user's page has it."""
    with target.wire() as other:
        answer = other.update(staff_id, fields)
    assert answer["type"] == "STAFF_UPDATE", f"the colleague's write was refused: {answer}"
    value = next(iter(fields.values()))
    assert user.probe.wait_received(value), explain(
        f"the colleague's write ({value!r}) to reach the page", "no such frame in 10 s", ("F5",)
    )


def test_a_form_saved_after_a_colleagues_edit_should_keep_the_fields_left_alone(
    open_user: OpenUser, target: Target
) -> None:
    """The user opens a member's form; a colleague changes the position meanwhile; the
    user types a new name and saves. The name is the user's, the position the colleague's
    (the server's per-field rule), on the screen and in the database."""
    user = open_user("A")
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][0]["id"])
    name, position = f"Typed while away {nonce()}", f"Colleague's {nonce()}"
    user.schedule.open_editor(staff_id)
    colleague_changes(user, target, staff_id, {"position": position})
    user.schedule.fill_form({"name": name})
    user.schedule.save_edit()
    shows_cell(user, staff_id, "name", name, ("F8",))
    shows_cell(user, staff_id, "position", position, ("F43", "F18"))
    wait_confirmed(user)  # the page shows its edit before the server has it
    stored = rows_by_id(target.rows())[staff_id]
    held = (stored["name"], stored["position"])
    assert held == (name, position), explain(
        f"the database to hold name {name!r} and position {position!r}",
        held,
        ("F43", "F18"),
        user.evidence,
    )


def test_a_colleagues_edit_should_show_after_the_form_is_cancelled(
    open_user: OpenUser, target: Target
) -> None:
    """The user opens a member's form and thinks; a colleague renames the member; the
    user cancels. The row shows the colleague's name."""
    user = open_user("A")
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][0]["id"])
    name = f"Colleague's name {nonce()}"
    user.schedule.open_editor(staff_id)
    colleague_changes(user, target, staff_id, {"name": name})
    user.schedule.cancel_form()
    shows_cell(user, staff_id, "name", name, ("F44", "F5"))
