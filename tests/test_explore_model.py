"""The exploration's model, steps and text, without a browser: the model applies writes by
the protocol's rules, a replay file keeps the steps, and the generated text is what the
issue asks for (several scripts, markup, values at the limit and one over)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings

from e2e.explore.machine import _tail
from e2e.explore.model import Model, Profile, Tab, Write, operations
from e2e.explore.session import content_kinds
from e2e.explore.steps import Step, load, numbered, save
from e2e.explore.text import typed_text
from e2e.harness.oracle import months

CALENDAR = months("2025-09", 6)


def server_row(staff_id: str, start: str, end: str | None, version: int = 1) -> dict[str, object]:
    return {
        "id": staff_id,
        "name": f"Name {staff_id}",
        "position": "Cook",
        "department": "Kitchen",
        "status": "active",
        "startPeriod": start,
        "endPeriod": end,
        "version": version,
    }


def model() -> Model:
    m = Model(CALENDAR, text_limit=100)
    m.start([server_row("s1", "2025-09-01", "2025-10-31"), server_row("s2", "2025-10-01", None)])
    m.adopt("M1", "s1")
    m.adopt("M2", "s2")
    m.profiles["A"] = Profile("A", "prefetch", tabs={"1": Tab("1", 0)})
    return m


def test_membership_should_follow_the_dates_by_the_oracle() -> None:
    m = model()
    assert m.members(m.rows)[0] == {"s1"}
    assert m.members(m.rows)[1] == {"s1", "s2"}
    assert m.members(m.rows)[5] == {"s2"}  # open-ended


def test_an_accepted_update_should_raise_the_version_by_one() -> None:
    m = model()
    assert m.apply(Write("update", "M1", {"name": "佐藤"})) is None
    assert (m.rows["s1"].name, m.rows["s1"].version) == ("佐藤", 2)


def test_text_over_the_limit_and_a_blank_name_should_be_refused() -> None:
    m = model()
    assert m.apply(Write("update", "M1", {"position": "x" * 101})) is not None
    assert m.apply(Write("update", "M1", {"name": "   "})) is not None
    assert m.apply(Write("update", "M1", {"name": "花" * 100})) is None  # characters, not bytes
    assert m.rows["s1"].version == 2


def test_a_write_for_a_deleted_member_should_be_refused() -> None:
    m = model()
    assert m.apply(Write("delete", "M2")) is None
    assert "s2" not in m.rows
    assert m.apply(Write("update", "M2", {"name": "late"})) == "unknown or deleted member"


def test_offline_writes_should_show_at_once_and_reach_the_server_on_reconnect() -> None:
    m = model()
    m.profiles["A"].offline = True
    m.disconnect("A")
    tab = m.tab("A", "1")
    edit = Write("update", "M1", {"position": "Chef"})
    tab.queued.append(edit)
    m.apply_locally(tab, edit)
    assert ("Name s1", "Chef", "Kitchen", "active") in m.screen("A", "1")
    assert m.rows["s1"].position == "Cook"  # the server has not heard of it
    m.apply(Write("delete", "M1"))  # meanwhile another user deletes the member
    m.profiles["A"].offline = False
    sent = m.reconnect("A")
    assert sent == [(edit, "unknown or deleted member")]
    assert tab.refusal_owed and not tab.queued and tab.view is None


def test_a_tab_leaving_should_hand_its_writes_to_the_profiles_oldest_tab() -> None:
    m = model()
    m.profiles["A"].tabs["2"] = Tab("2", 0)
    m.profiles["A"].offline = True
    m.disconnect("A")
    edit = Write("update", "M1", {"position": "Chef"})
    m.tab("A", "2").queued.append(edit)
    m.apply_locally(m.tab("A", "2"), edit)
    m.leave("A", "2")  # closed, crashed, or reloading
    heir = m.tab("A", "1")
    assert [(w.handle, w.carried) for w in heir.queued] == [("M1", True)]
    assert ("Name s1", "Chef", "Kitchen", "active") in m.screen("A", "1")
    m.profiles["A"].offline = False
    assert [w.changes for w, why in m.reconnect("A") if why is None] == [{"position": "Chef"}]
    assert m.rows["s1"].position == "Chef" and m.rows["s1"].version == 2


def test_writes_of_a_profile_with_no_tab_should_wait_for_its_next_tab() -> None:
    m = model()
    m.profiles["A"].offline = True
    m.disconnect("A")
    create = Write("create", "N1", {"name": "New", "position": "Host", "first": 0, "last": None})
    m.tab("A", "1").queued.append(create)
    m.leave("A", "1")
    assert m.queue_holder() == ("A", "") and m.waiting() == m.profiles["A"].stored
    m.profiles["A"].offline = False
    assert m.reconnect("A") == []  # no tab: nothing is sent
    m.profiles["A"].tabs["2"] = Tab("2", 0)
    sent = m.arrive("A", "2")  # online: the new tab sends it at once
    assert [(w.handle, why) for w, why in sent] == [("N1", None)]
    assert not m.profiles["A"].stored and "N1" in m.unseen


def applied_then_left(m: Model, write: Write) -> None:
    """Tab 1 of A sends `write`; the server applies it, its answer is lost as the network
    goes, and the tab leaves (reload, close or crash) while A is offline."""
    assert m.apply(write) is None
    write.applied = True
    m.profiles["A"].offline = True
    m.disconnect("A")
    m.tab("A", "1").queued.append(write)
    m.leave("A", "1")


def test_a_write_whose_answer_was_lost_should_be_a_repeat_when_sent_again() -> None:
    m = model()
    m.profiles["A"].tabs["2"] = Tab("2", 0)  # open before the write: its page cannot know
    edit = Write("update", "M1", {"name": "Once"})
    applied_then_left(m, edit)
    assert [w.handle for w in m.tab("A", "2").queued] == ["M1"]  # the other tab holds it
    m.profiles["A"].offline = False
    assert [why for _, why in m.reconnect("A")] == [None]
    assert m.rows["s1"].version == 2  # applied once


def test_a_page_loaded_after_a_write_was_applied_should_settle_it() -> None:
    m = model()
    applied_then_left(
        m, Write("create", "N1", {"name": "New", "position": "Host", "first": 0, "last": None})
    )
    assert [w.handle for w in m.profiles["A"].stored] == ["N1"]
    shown = m.served()
    opened = Tab("1", 0, view=shown, loaded=False)  # the page loaded again, offline
    m.profiles["A"].tabs["1"] = opened
    assert m.arrive("A", "1") == []
    assert opened.queued == [] and not m.profiles["A"].stored  # settled, not waiting
    assert [r.name for r in shown.values()].count("New") == 1  # shown once
    m.profiles["A"].offline = False
    assert m.reconnect("A") == []


def test_created_rows_should_be_found_by_content_and_doubles_reported() -> None:
    m = model()
    m.apply(Write("create", "N1", {"name": "New", "position": "Host", "first": 0, "last": None}))
    rows = [server_row("s1", "2025-09-01", "2025-10-31"), server_row("s2", "2025-10-01", None)]
    created = {**server_row("s9", "2025-09-01", None), "name": "New", "position": "Host"}
    created["department"] = ""
    double = {**created, "id": "s10"}
    assert m.resolve([*rows, created, double]) == ["s10"]
    assert m.handles["N1"] == "s9"


def test_operations_should_name_the_coverage_matrix_rows() -> None:
    assert operations(Write("update", "M1", {"name": "a", "first": 1, "last": None})) == [
        "update name",
        "move by dates",
    ]
    assert operations(Write("delete", "M1")) == ["delete"]


def test_a_replay_file_should_keep_the_steps_and_say_them_in_words(tmp_path: Path) -> None:
    steps = [
        Step("open_profile", "A"),
        Step("edit", "A", "1", {"handle": "M1", "fields": {"name": "<b>x</b>"}}),
        Step("offline", "B"),
        Step("other_write", args={"kind": "delete", "handle": "M2", "changes": {}}),
    ]
    save(tmp_path / "replay.json", steps, {"seed": 7})
    again, facts = load(tmp_path / "replay.json")
    assert again == steps and facts["seed"] == 7
    words = numbered(again)
    assert "profile A tab 1: edit M1: name -> '<b>x</b>'" in words
    assert "another user (protocol): delete M2" in words


@settings(max_examples=300, database=None)
@given(typed_text(100))
def test_typed_text_should_stay_within_one_over_the_limit(text: str) -> None:
    assert 1 <= len(text) <= 101
    assert text.strip(), "a name a user types has something in it"
    assert not any(unicodedata.category(c) in ("Cs", "Cc") for c in text)


def test_typed_text_should_cover_scripts_markup_and_the_limit() -> None:
    kinds: set[str] = set()
    lengths: set[int] = set()

    @settings(max_examples=400, database=None)
    @given(typed_text(100))
    def collect(text: str) -> None:
        kinds.update(content_kinds(text, 100))
        lengths.add(len(text))

    collect()
    expected = {"markup", "cjk/hangul/kana", "right-to-left", "emoji", "combining marks"}
    assert expected <= kinds, f"missing {expected - kinds}"
    assert {100, 101} <= lengths


def test_a_lingered_form_should_send_only_the_fields_the_user_changed() -> None:
    m = model()
    form = m.open_form("A", "1", "M1")
    form.typed |= {"name": "Typed", "position": "Cook"}  # the position typed as it was
    m.apply(Write("update", "M1", {"position": "Chef"}))  # a colleague, meanwhile
    assert form.changes() == {"name": "Typed"}
    create = m.open_form("A", "1", None)
    create.typed["name"] = "New"
    assert create.changes()["name"] == "New" and create.changes()["last"] is None


def test_a_kept_date_meeting_a_colleagues_move_should_be_refused() -> None:
    m = model()  # M1 in periods 0-1
    m.apply(Write("update", "M1", {"first": 3, "last": 4}))  # a colleague moves it
    assert m.apply(Write("update", "M1", {"last": 1})) == "end before start"


def test_a_struck_write_should_say_its_moment_in_words() -> None:
    colleague = {"kind": "update", "handle": "M1", "changes": {"position": "Chef"}}
    step = Step(
        "edit",
        "A",
        "1",
        {
            "handle": "M1",
            "fields": {"name": "x"},
            "strike": {"moment": "answered", "fault": "cut", "meanwhile": colleague},
        },
    )
    assert "its answer lost on the way back, a cut" in step.words()
    assert "in its window another user: update M1 position -> 'Chef'" in step.words()


def test_zeros_mixed_with_the_step_should_choose_evenly_and_independently() -> None:
    """Hypothesis draws 0 most: mixed with the step, zeros must still spread over the
    choices, and two choices of one step (their own offsets) must not follow each other."""
    from collections import Counter

    from e2e.explore.mixing import scatter

    actions, pairs = 60, 12
    joint: Counter[tuple[int, int]] = Counter()
    for salt in range(200):
        for step in range(12):
            joint[(scatter(salt, step) % actions, scatter(salt, step + 43) % pairs)] += 1
    seen_actions = Counter(a for a, _ in joint.elements())
    assert len(seen_actions) == actions, f"actions ever chosen: {len(seen_actions)} of {actions}"
    # for the most chosen action, every pair is possible (2400 draws: ~40 per action)
    top, _ = seen_actions.most_common(1)[0]
    with_top = {p for a, p in joint.elements() if a == top}
    assert len(with_top) >= pairs - 2, f"pairs met with action {top}: {sorted(with_top)}"


def test_a_tail_to_shrink_to_should_keep_the_openings_of_the_profiles_it_uses() -> None:
    steps = [
        Step("open_profile", "A"),
        Step("open_profile", "B"),
        Step("edit", "B", "1", {"handle": "M1"}),
        Step("open_profile", "C"),
        Step("offline", "A"),
        Step("other_write", args={"kind": "create"}),
        Step("online", "A"),
    ]
    assert [(s.action, s.profile) for s in _tail(steps, 3)] == [
        ("open_profile", "A"),
        ("offline", "A"),
        ("other_write", ""),
        ("online", "A"),
    ]
    colleague_only = [Step("open_profile", "A"), Step("go", "A", "1"), Step("other_write")]
    assert _tail(colleague_only, 1) == [colleague_only[0], colleague_only[2]]
