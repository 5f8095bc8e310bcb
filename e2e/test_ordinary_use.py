"""What users do all day and no scripted scenario did before: reload, keep two tabs in one
browser profile, type names in their own script, let the deployment choose their mode, and
edit offline while a colleague edits the same person. One deterministic case for each class
the exploration (test_explore.py) found."""

from __future__ import annotations

import time
import unicodedata
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from e2e.conditions.room import Room
from e2e.harness.catalogue import explain
from e2e.harness.checks import assert_persisted, wait_confirmed
from e2e.harness.metrics import TestMetrics
from e2e.harness.options import SuiteConfig
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import PROPAGATION_TIMEOUT_MS
from e2e.harness.staffing import visit
from e2e.harness.target import Target
from e2e.harness.users import User, another_tab, make_user

LOADS = 7  # page loads of one profile: a mode drawn anew each time survives 7 with p < 1 %


def nonce() -> str:
    return str(time.monotonic_ns() % 10**6)


def shows_name(user: User, staff_id: str, name: str, defects: tuple[str, ...]) -> None:
    expect(
        user.schedule.name_cell(staff_id),
        explain(f"{staff_id} shown as {name!r}, exactly", "another text", defects, user.evidence),
    ).to_have_text(name, timeout=PROPAGATION_TIMEOUT_MS, use_inner_text=False)


def saved(user: User, staff_id: str, name: str, defects: tuple[str, ...]) -> None:
    """The rename shown on the writer's screen, then confirmed (nothing pending)."""
    shows_name(user, staff_id, name, defects)
    wait_confirmed(user, defects, timeout_ms=PROPAGATION_TIMEOUT_MS)


@pytest.mark.measures("writes.lost")
def test_reload_should_show_what_the_server_holds(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Another user renames a member this user sees; after a reload the page shows the
    server's rows, not what it held when it first loaded."""
    user = open_user("A")
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][0]["id"])
    name = f"Renamed while away {nonce()}"
    with target.wire() as other:
        other.update(staff_id, {"name": name})
    shows_name(user, staff_id, name, ("F7",))
    user.page.reload()
    user.schedule.wait_ready()
    visit(user, period)
    shows_name(user, staff_id, name, ("F25",))
    shown = sorted((r.id, r.name) for r in user.schedule.rows())
    held = sorted((str(r["id"]), str(r["name"])) for r in target.rows()[period])
    measure("writes.lost", 0 if shown == held else 1, "count")
    assert shown == held, explain(
        f"period {period} after the reload to show the server's {len(held)} rows and names",
        f"{len(shown)} rows, differing in {sorted(set(shown) ^ set(held))[:4]}",
        ("F25",),
        user.evidence,
    )


@pytest.mark.measures("writes.lost")
def test_tabs_of_one_profile_should_each_save_their_edits(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Two tabs of one browser profile (one storage, one identity to the deployment) and
    the first tab again after a reload: every edit of each is applied."""
    first = open_user("A")
    period = first.schedule.current_period()
    ids = [str(r["id"]) for r in target.rows()[period][:3]]
    second = another_tab(first, "A2")
    second.open(first.mode)
    written: dict[str, dict[str, Any]] = {}
    for tab, staff_id in ((first, ids[0]), (second, ids[1])):
        name = f"Tab {tab.name} {nonce()}"
        visit(tab, period)
        tab.schedule.rename_staff(staff_id, name)
        saved(tab, staff_id, name, ("F26",))
        written[staff_id] = {"name": name}
    first.page.reload()
    first.schedule.wait_ready()
    visit(first, period)
    name = f"After reload {nonce()}"
    first.schedule.rename_staff(ids[2], name)
    saved(first, ids[2], name, ("F26",))
    written[ids[2]] = {"name": name}
    assert_persisted(first, target, written, measure, ("F26", "F17"))


TEXTS = {
    "Japanese at the limit": ("佐藤花子" * 25),
    "Korean": "김민준 주방장",
    "Arabic, right to left": "فاطمة الزهراء",
    "emoji sequences": "👩‍🍳 Aiko 🧑🏽‍🍳🇯🇵",
    "combining marks (NFD)": unicodedata.normalize("NFD", "Renée Müller-Ñúñez"),
    "spaces around": "  Ōtani  ",
    "Devanagari": "प्रिया शर्मा",
}


@pytest.mark.measures("writes.lost")
def test_text_in_any_script_should_be_saved_and_shown_as_typed(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """Names in the users' own scripts (up to the limit, counted in characters), one member
    each, are saved and shown on another tab code point for code point: not refused,
    trimmed or normalised."""
    writer, reader = open_user("W"), open_user("R")
    period = writer.schedule.current_period()
    ids = [str(r["id"]) for r in target.rows()[period]]
    if len(ids) < len(TEXTS):
        pytest.skip(f"period {period} has {len(ids)} members; the test names {len(TEXTS)}")
    visit(reader, period)
    limit = writer.schedule.name_limit()
    texts = {
        staff_id: text
        for staff_id, text in zip(ids, TEXTS.values(), strict=False)
        if limit is None or len(text.encode("utf-16-le")) // 2 <= limit  # the field stops it
    }
    for staff_id, text in texts.items():
        writer.schedule.rename_staff(staff_id, text)
        if _shows(writer, staff_id, text):  # else refused: judged below
            wait_confirmed(writer, ("F27", "F14"), timeout_ms=PROPAGATION_TIMEOUT_MS)
    refused = writer.schedule.error.is_visible()
    wrong = {
        f"{label} on {user.name}": user.schedule.name_cell(staff_id).text_content()
        for user in (writer, reader)
        for label, (staff_id, text) in zip(TEXTS, texts.items(), strict=False)
        if not _shows(user, staff_id, text)
    }
    assert not wrong and not refused, explain(
        f"{len(texts)} names in other scripts saved and shown exactly, none refused",
        f"refusal {'shown: ' + writer.schedule.error.inner_text() if refused else 'none'};"
        f" shown otherwise: {wrong}",
        ("F27",),
        writer.evidence,
    )
    assert_persisted(writer, target, {i: {"name": t} for i, t in texts.items()}, measure, ("F27",))


def _shows(user: User, staff_id: str, text: str) -> bool:
    try:
        shows_name(user, staff_id, text, ("F27",))
    except AssertionError:
        return False
    return True


@pytest.mark.fault
@pytest.mark.measures("writes.lost")
def test_offline_edit_should_survive_another_users_edit_of_that_row(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """While this user is offline and changes a member's position, a colleague changes that
    member's department: after the reconnect both changes hold, everywhere."""
    user = open_user("A", control_sockets=True)
    assert user.control is not None
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][0]["id"])
    position, department = f"Offline {nonce()}", f"Colleague {nonce()}"
    with user.control.outage():
        expect(user.schedule.badge, "the page to see the outage").not_to_have_attribute(
            "data-state", "connected", timeout=PROPAGATION_TIMEOUT_MS
        )
        user.schedule.edit_staff(staff_id, {"position": position})
        with target.wire() as other:
            other.update(staff_id, {"department": department})
    wait_confirmed(user, ("F8", "F30"), timeout_ms=PROPAGATION_TIMEOUT_MS)
    expect(
        user.schedule.row(staff_id).get_by_test_id("staff-position"),
        explain("the offline edit shown after the reconnect", "another value", ("F30",)),
    ).to_have_text(position, timeout=PROPAGATION_TIMEOUT_MS)
    fields = {"position": position, "department": department}
    assert_persisted(user, target, {staff_id: fields}, measure, ("F30", "F8", "F18"))


def test_a_user_should_keep_the_mode_the_deployment_gave(
    browser: Browser,
    browser_context_args: dict[str, Any],
    explore_target: Target,
    suite_config: SuiteConfig,
    room: Room,
) -> None:
    """Opened as the deployment assigns users (no ?mode=), a user keeps one mode across
    reloads and a second tab of the same profile (the embedded app is part-way through
    the rollout: --explore-rollout)."""
    args = {**browser_context_args, "base_url": explore_target.page_url}
    user = make_user(lambda: room.new_context(browser, **args), "rollout", "", False)
    try:
        modes = loaded_modes(user)
    finally:
        user.context.close()
    assert len(set(modes)) == 1, explain(
        f"one mode in {len(modes)} page loads of one profile (rollout"
        f" {suite_config.explore_rollout if explore_target.app else 'of the deployment'})",
        modes,
        ("F29",),
    )


def loaded_modes(user: User) -> list[str | None]:
    """The mode of each of LOADS page loads of one profile, and of a second tab."""
    modes: list[str | None] = []
    for _ in range(LOADS):
        if modes:
            user.page.reload()
        else:
            user.schedule.open(None)
        user.schedule.wait_ready()
        modes.append(user.page.get_by_test_id("app-mode").get_attribute("data-mode"))
    tab = another_tab(user, "rollout-2")
    tab.schedule.open(None)
    modes.append(tab.page.get_by_test_id("app-mode").get_attribute("data-mode"))
    return modes


@pytest.mark.fault
@pytest.mark.parametrize("mode", ["prefetch", "legacy"])
def test_offline_edit_of_a_member_deleted_meanwhile_should_be_refused_in_either_mode(
    open_user: OpenUser, target: Target, mode: str
) -> None:
    """Offline, the user edits a member a colleague deletes meanwhile: after the reconnect
    the refusal is shown, nothing is pending, and the member is gone from the screen (a
    legacy client once brought it back with the refusal)."""
    user = open_user("A", mode=mode, control_sockets=True)
    assert user.control is not None
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][1]["id"])
    with user.control.outage():
        expect(user.schedule.badge, "the page to see the outage").not_to_have_attribute(
            "data-state", "connected", timeout=PROPAGATION_TIMEOUT_MS
        )
        user.schedule.edit_staff(staff_id, {"position": f"Too late {nonce()}"})
        with target.wire() as other:
            other.delete(staff_id)
    expect(user.schedule.error, "the refusal shown after the reconnect").to_be_visible(
        timeout=PROPAGATION_TIMEOUT_MS
    )
    wait_confirmed(user, ("F14",), timeout_ms=PROPAGATION_TIMEOUT_MS)
    expect(
        user.schedule.row(staff_id),
        explain(
            f"{staff_id} gone (deleted by a colleague), not brought back by the refusal",
            "the row shown",
            ("F14", "F7"),
            user.evidence,
        ),
    ).to_have_count(0, timeout=PROPAGATION_TIMEOUT_MS)


@pytest.mark.fault
def test_a_repeated_answer_should_not_bring_back_a_member_deleted_meanwhile(
    open_user: OpenUser, target: Target
) -> None:
    """The user renames a member as the network drops: the server applies it and the answer
    is lost. A colleague deletes the member meanwhile. Back online, the page sends the
    rename again and the server repeats its first answer, older than the data the page
    resynced: the member stays deleted on the screen, and nothing is pending."""
    user = open_user("A", control_sockets=True)
    assert user.control is not None
    period = user.schedule.current_period()
    staff_id = str(target.rows()[period][1]["id"])
    with user.control.losing_echo(then_outage=True):
        user.schedule.rename_staff(staff_id, f"As the network drops {nonce()}")
        user.control.wait_echo_lost()
    with target.wire() as other:
        other.delete(staff_id)
    user.control.end_outage()
    wait_confirmed(user, ("F8", "F40"), timeout_ms=PROPAGATION_TIMEOUT_MS)
    expect(
        user.schedule.row(staff_id),
        explain(
            f"{staff_id} gone (deleted by a colleague after the rename was applied), not"
            " brought back by the repeated answer",
            "the row shown",
            ("F40",),
            user.evidence,
        ),
    ).to_have_count(0, timeout=PROPAGATION_TIMEOUT_MS)
