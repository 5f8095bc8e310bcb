"""Hypothesis' rules over the model: a rule is one user action, a precondition says when it
makes sense, and every step is followed by the explorer's check of every promise. The first
failing sequence is shrunk by deleting steps while a replay still breaks the same promise
(`minimise`), and the session keeps the shortest as a replay."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from random import Random
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as with_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from playwright.sync_api import Error as PlaywrightError

from e2e.conditions.profiles import exploration_zones
from e2e.explore.explorer import FAULTS, WRITE_ACTIONS, Divergence, Explorer
from e2e.explore.mixing import scatter
from e2e.explore.model import STATUSES, TEXT_FIELDS
from e2e.explore.session import BudgetSpent, ExploreSession, Failure
from e2e.explore.steps import Step
from e2e.explore.text import typed_text
from e2e.pages.schedule_page import PageExpectation

T = TypeVar("T")
ZONES = exploration_zones()
SMALL_WORLD = 5  # periods the members live in (0..4), so that users meet often
PROFILES = ("A", "B", "C")
TABS_PER_PROFILE = 3
STEPS_PER_SEQUENCE = 12
# How often each action is drawn (an action repeated is drawn more often).
WEIGHTS = {
    "edit": 6, "reload": 3, "other_write": 3, "go": 3, "online": 3, "offline": 4, "create": 2,
    "move": 2, "open_tab": 2, "key": 1, "delete": 1, "cut": 1, "close_tab": 1,
    "open_profile": 1, "burst": 1, "server": 1, "crash": 1, "restart_browser": 1,
    "save_under_fault": 6, "resync_fault": 1, "linger": 7,
}  # fmt: skip
ACTIONS = [action for action, weight in WEIGHTS.items() for _ in range(weight)]


def machine_for(session: ExploreSession) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one exploration session."""
    text = typed_text(session.config.text_limit)
    periods = len(session.target.calendar or [])
    small = min(SMALL_WORLD, periods)
    # a round trip per step from the profile's range, in 10 ms steps (none on loopback or
    # a link that does not spread)
    spread = session.room.rtt_range()
    rtts = list(range(spread[0], spread[1] + 1, 10)) if spread else []

    class UsersExplored(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            session.check_budget()
            self.explorer: Explorer = session.explorer()
            self.conflicts = False  # another user wrote a member whose edit waits offline
            self.wrote: set[str] = set()  # profiles whose tabs wrote since they were opened
            self.broken = False  # a step of this example broke a promise
            self.overtaken: set[tuple[str, str]] = set()  # tabs whose open form a colleague
            # wrote the member of since it opened
            self.only: tuple[str, str] | None = None  # the tab a composite action acts in
            self.striking: dict[str, Any] | None = None  # the fault a composite write meets
            self.rtt: int | None = None  # the round trip the action's steps go over (ms)
            # Which moment and fault a write meets varies between sequences even where
            # Hypothesis draws the same numbers (its zeros repeat one choice in every
            # example); a failure is kept as its steps, so replays do not depend on it.
            self.salt = session.salted()
            self.explorer.begin()

        # -- helpers ----------------------------------------------------------------------
        def scattered(self, drawn: int, offset: int) -> int:
            """A drawn number scattered with the example's salt and the step's index (and
            `offset`, one per kind of choice): Hypothesis draws 0 most, and unscattered its
            zeros would make the same choice at every step of every example."""
            return scatter(drawn + self.salt, len(self.explorer.steps) + offset)

        def pick(self, data: st.DataObject, options: Sequence[T], label: str, offset: int) -> T:
            drawn = data.draw(st.integers(0, 2**20), label=label)
            return options[self.scattered(drawn, offset) % len(options)]

        @property
        def m(self) -> Any:
            return self.explorer.model

        def do(self, step: Step) -> None:
            if self.rtt is not None and "rtt_ms" not in step.args:
                step = replace(step, args={**step.args, "rtt_ms": self.rtt})
            session.count(self.explorer, step)
            if step.action in WRITE_ACTIONS:
                self.wrote.add(step.profile)
            elif step.action in ("reload", "open_tab", "restart_browser"):
                self.wrote.discard(step.profile)
            try:
                self.explorer.step(step)
            except Exception as exc:
                self.broken = True
                session.failed(self.explorer, exc)
                raise
            self.overtaken &= set(self.form_tabs())  # a form closed (or its tab) is done

        def tabs(
            self, *, writable: bool = False, loaded: bool = False, forms: bool = False
        ) -> list[tuple[str, str]]:
            """Tabs a user can act in (`forms`: those with a form open, else those without:
            a form covers the page)."""
            if self.only is not None:
                return [self.only]
            found = []
            holder = self.m.queue_holder()
            for p, t in self.m.tabs():
                if loaded and not t.usable:
                    continue
                if (t.form is not None) != forms:
                    continue
                if (
                    writable
                    and not self.m.connected(p.name)
                    and holder not in (None, (p.name, t.name))
                ):
                    continue
                found.append((p.name, t.name))
            return found

        def visible(self, offline_first: bool = False) -> list[tuple[str, str, str]]:
            """(profile, tab, member) a user can click; with `offline_first`, only those of
            disconnected tabs when there are any (an edit waiting for the network)."""
            found = [
                (p, t, h)
                for p, t in self.tabs(writable=True, loaded=True)
                for h in self.m.visible_handles(p, t)
            ]
            offline = [v for v in found if not self.m.connected(v[0])]
            if offline_first and offline:
                return offline
            if self.striking is not None and self.striking["moment"] == "broadcast":
                # a broadcast lost matters where a colleague watches that member
                watched = [v for v in found if self.watched(v[0], v[2])]
                return watched or found
            return found

        def watched(self, profile: str, handle: str) -> bool:
            """Another connected profile shows this member in one of its tabs."""
            return any(
                handle in self.m.visible_handles(q, u)
                for q, o in self.m.profiles.items()
                if q != profile and self.m.connected(q)
                for u in o.tabs
            )

        def server_rows(self) -> list[str]:
            return [h for h in self.m.live_handles() if h in self.m.handles]

        # -- the world ----------------------------------------------------------------------
        def zoned(self, data: st.DataObject) -> dict[str, Any]:
            """The first profile sits in the run's zone, every other in one drawn from
            both sides of UTC (users of one deployment do)."""
            if not self.m.profiles:
                return {}
            return {"zone": self.pick(data, ZONES, "zone", 53)}

        @initialize(data=st.data())
        def open_two_profiles(self, data: st.DataObject) -> None:
            self.do(Step("open_profile", "A", args=self.zoned(data)))
            self.do(Step("open_profile", "B", args=self.zoned(data)))

        def open_profile(self, data: st.DataObject) -> None:
            name = PROFILES[len(self.m.profiles)]
            self.do(Step("open_profile", name, args=self.zoned(data)))

        def open_tab(self, data: st.DataObject) -> None:
            """A new tab, online or not; first where saved writes wait with no tab open."""
            choices = [p.name for p in self.m.profiles.values() if len(p.tabs) < TABS_PER_PROFILE]
            stored = [p.name for p in self.m.profiles.values() if p.stored and not p.tabs]
            after_writing = [c for c in choices if c in self.wrote]
            profile = data.draw(
                st.sampled_from(stored or after_writing or choices), label="profile"
            )
            self.do(Step("open_tab", profile))

        def leaving(self) -> list[tuple[str, str]]:
            """Tabs a user may reload, close or crash: first those holding saved writes
            the server has not confirmed, then those of profiles that just wrote."""
            choices = [(p.name, t.name) for p, t in self.m.tabs()]
            holding = [(p.name, t.name) for p, t in self.m.tabs() if t.queued]
            after_writing = [c for c in choices if c[0] in self.wrote]
            return holding or after_writing or choices

        def reload(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.leaving()), label="tab")
            self.do(Step("reload", p, t))

        def close_tab(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.leaving()), label="tab")
            self.do(Step("close_tab", p, t))

        def crash(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.leaving()), label="tab")
            self.do(Step("crash", p, t))

        def restart_browser(self, data: st.DataObject) -> None:
            choices = sorted({p for p, _ in self.leaving()})
            self.do(Step("restart_browser", data.draw(st.sampled_from(choices), label="profile")))

        def flight_tabs(self) -> list[tuple[str, str]]:
            """Tabs whose next write can be left in flight: online, alone in their profile,
            showing rows, and no other write waiting (the model keeps to one queue)."""
            m = self.m
            if m.queue_holder():
                return []
            return [
                (p.name, t.name)
                for p, t in m.tabs()
                if t.usable and m.connected(p.name) and len(p.tabs) == 1
            ]

        def strikes(self, p: str, t: str) -> list[tuple[str, str]]:
            """The (moment, fault) pairs a write of this tab can meet now. A fault that
            leaves the write waiting (an outage, a kill) needs a tab whose write the model
            can keep in flight; a lost broadcast needs another profile's tabs to miss it
            (a kill there would race the writer's answer)."""
            m = self.m
            if not m.connected(p):
                return []
            faults = FAULTS if session.server_actions else ("cut", "outage")
            queueing = (p, t) in self.flight_tabs()
            readers = any(q != p and o.tabs and m.connected(q) for q, o in m.profiles.items())
            found: list[tuple[str, str]] = []
            # the worst moments drawn most: an answer lost, a broadcast missed, a frame lost
            for moment in ("answered",) * 5 + ("broadcast",) * 4 + ("sent", "before"):
                for fault in faults:
                    if moment == "broadcast":
                        ok = readers and fault != "kill"
                    else:
                        ok = fault in ("cut", "freeze") or queueing
                    if ok:
                        found += [(moment, fault)] * (3 if fault == "cut" else 1)
            return found

        def in_flight(
            self, p: str, t: str, handle: str | None, data: st.DataObject
        ) -> dict[str, Any]:
            """A write in three meets a fault at one of its protocol moments; always in
            `save_under_fault`. Inside a cut's window a colleague may write the member."""
            possible = self.strikes(p, t)
            if self.striking is None:
                # scattered like the action (Hypothesis' many zeros would make it rare)
                drawn = data.draw(st.integers(0, 2**20), label="fault")
                if not possible or self.scattered(drawn, 37) % 3:
                    return {}
                moment, fault = possible[self.scattered(drawn, 41) % len(possible)]
                strike: dict[str, Any] = {"moment": moment, "fault": fault}
            else:
                strike = dict(self.striking)
            window = strike["fault"] == "cut" and strike["moment"] != "before"
            colleague = data.draw(st.integers(0, 7), label="colleague") < 7
            if window and handle is not None and colleague:
                strike["meanwhile"] = self.colleague(handle, data)
            return {"strike": strike}

        def save_under_fault(self, data: st.DataObject) -> None:
            """A user saves as a fault strikes at a moment of the write: before the page
            sends it, on its way, applied with its answer on the way back, or as its
            broadcast goes to colleagues' tabs."""
            online = [
                (p, t) for p, t in self.tabs(writable=True, loaded=True) if self.strikes(p, t)
            ]
            p, t = data.draw(st.sampled_from(online), label="tab")
            pairs = self.strikes(p, t)  # scattered: Hypothesis' zeros would pick one pair
            drawn = data.draw(st.integers(0, 2**20), label="moment")
            moment, fault = pairs[self.scattered(drawn, 43) % len(pairs)]
            kinds = ["create"]
            if self.m.visible_handles(p, t):
                kinds += ["edit"] * 5 + ["move", "delete"]
            drawn = data.draw(st.integers(0, 2**20), label="write")  # scattered, as above
            kind = kinds[self.scattered(drawn, 7) % len(kinds)]
            self.only, self.striking = (p, t), {"moment": moment, "fault": fault}
            try:
                getattr(self, kind)(data)
            finally:
                self.only, self.striking = None, None

        def resync_fault(self, data: st.DataObject) -> None:
            """A profile's sockets are cut, and a fault strikes as its tabs resync."""
            m = self.m
            choices = [
                q for q, o in m.profiles.items()
                if o.tabs and m.connected(q) and not any(t.queued for t in o.tabs.values())
            ]  # fmt: skip
            p = data.draw(st.sampled_from(choices), label="profile")
            faults = FAULTS if session.server_actions else ("cut", "outage")
            fault = data.draw(st.sampled_from(faults), label="fault")
            self.do(Step("strike", p, args={"moment": "resync", "fault": fault}))

        # -- a user who lingers over a form --------------------------------------------------
        def linger(self, data: st.DataObject) -> None:
            """Open a member's edit form, or the create form, and leave it open."""
            members = self.visible()
            tabs = self.tabs(writable=True, loaded=True)
            of_member: bool = self.pick(data, (False, *(True,) * 5), "form", 19)
            if members and of_member:
                p, t, handle = self.pick(data, members, "member", 23)
                self.do(Step("open_form", p, t, {"handle": handle}))
            else:
                p, t = data.draw(st.sampled_from(tabs), label="tab")
                self.do(Step("open_form", p, t, {}))

        def form_tabs(self) -> list[tuple[str, str]]:
            return self.tabs(forms=True)

        def type(self, data: st.DataObject) -> None:
            """Type into an open form: text fields, the status, the periods."""
            p, t = data.draw(st.sampled_from(self.form_tabs()), label="tab")
            typed = (*TEXT_FIELDS, "status", "periods")
            drawn = data.draw(st.integers(0, 2**20), label="fields")
            names = Random(self.scattered(drawn, 11)).sample(typed, 1 + drawn % 3)
            fields: dict[str, Any] = {}
            for name in names:
                if name == "periods":
                    fields["first"] = data.draw(st.integers(0, small - 1), label="first")
                    fields["last"] = data.draw(
                        st.one_of(st.none(), st.integers(fields["first"], small - 1)),
                        label="last",
                    )
                else:
                    values = st.sampled_from(STATUSES) if name == "status" else text
                    fields[name] = data.draw(values, label=name)
            self.do(Step("type", p, t, {"fields": fields}))

        def wait(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.form_tabs()), label="tab")
            seconds = self.pick(data, (0.5, 1.5, 4.0), "seconds", 29)
            self.do(Step("wait", p, t, {"seconds": seconds}))

        def save_form(self, data: st.DataObject) -> None:
            holder = self.m.queue_holder()
            choices = [
                (p, t) for p, t in self.form_tabs()
                if self.m.connected(p) or holder in (None, (p, t))
            ]  # fmt: skip
            p, t = data.draw(st.sampled_from(choices), label="tab")
            form = self.m.tab(p, t).form
            args = {"handle": self.m.next_handle()} if form.handle is None else {}
            args |= self.in_flight(p, t, form.handle, data)
            self.do(Step("save_form", p, t, args))

        def cancel_form(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.form_tabs()), label="tab")
            self.do(Step("cancel_form", p, t))

        # -- navigation ---------------------------------------------------------------------
        def go(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.tabs()), label="tab")
            period = data.draw(
                st.one_of(st.integers(0, small - 1), st.integers(0, periods - 1)), label="period"
            )
            self.do(Step("go", p, t, {"period": period}))

        def key(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.tabs()), label="tab")
            current = self.m.tab(p, t).period
            deltas = [d for d in (-1, 1) if 0 <= current + d < periods]
            self.do(Step("key", p, t, {"delta": data.draw(st.sampled_from(deltas))}))

        def burst(self, data: st.DataObject) -> None:
            online = [(p, t) for p, t in self.tabs() if self.m.connected(p)]
            p, t = data.draw(st.sampled_from(online), label="tab")
            targets, current = [], self.m.tab(p, t).period
            for _ in range(10):
                nxt = data.draw(st.integers(0, periods - 2), label="switch")
                current = nxt + (nxt >= current)
                targets.append(current)
            self.do(Step("burst", p, t, {"targets": targets}))

        # -- writes through the screen -----------------------------------------------------------
        def edit(self, data: st.DataObject) -> None:
            p, t, handle = self.pick(data, self.visible(offline_first=True), "member", 23)
            drawn = data.draw(st.integers(0, 2**20), label="fields")
            names = Random(self.scattered(drawn, 11)).sample(
                (*TEXT_FIELDS, "status"), 1 + drawn % 3
            )
            fields = {
                f: data.draw(st.sampled_from(STATUSES) if f == "status" else text, label=f)
                for f in names
            }
            args = {"handle": handle, "fields": fields, **self.in_flight(p, t, handle, data)}
            self.do(Step("edit", p, t, args))

        def move(self, data: st.DataObject) -> None:
            p, t, handle = self.pick(data, self.visible(), "member", 23)
            first = data.draw(st.integers(0, small - 1), label="first")
            last = data.draw(st.one_of(st.none(), st.integers(first, small - 1)), label="last")
            args = {"handle": handle, "first": first, "last": last}
            args |= self.in_flight(p, t, handle, data)
            self.do(Step("move", p, t, args))

        def create(self, data: st.DataObject) -> None:
            p, t = data.draw(st.sampled_from(self.tabs(writable=True, loaded=True)), label="tab")
            first = data.draw(st.integers(0, small - 1), label="first")
            last = data.draw(st.one_of(st.none(), st.integers(first, small - 1)), label="last")
            args = {
                "handle": self.m.next_handle(),
                "name": data.draw(text, label="name"),
                "position": data.draw(text, label="position"),
                "first": first,
                "last": last,
                **self.in_flight(p, t, None, data),
            }
            self.do(Step("create", p, t, args))

        def delete(self, data: st.DataObject) -> None:
            p, t, handle = self.pick(data, self.visible(), "member", 23)
            self.do(Step("delete", p, t, {"handle": handle, **self.in_flight(p, t, handle, data)}))

        # -- the network ---------------------------------------------------------------------
        def offline(self, data: st.DataObject) -> None:
            choices = [p.name for p in self.m.profiles.values() if not p.offline]
            self.do(Step("offline", data.draw(st.sampled_from(choices), label="profile")))

        def online(self, data: st.DataObject) -> None:
            choices = [p.name for p in self.m.profiles.values() if p.offline]
            self.do(Step("online", data.draw(st.sampled_from(choices), label="profile")))
            self.conflicts = False

        def cut(self, data: st.DataObject) -> None:
            choices = [p for p in self.m.profiles if self.m.connected(p)]
            self.do(Step("cut", data.draw(st.sampled_from(choices), label="profile")))

        # -- another user, through the protocol --------------------------------------------------
        def colleague(self, handle: str, data: st.DataObject) -> dict[str, Any]:
            """Another user's write of a member: an edit of one field, a move, a delete."""
            kind = self.pick(data, ("update", "update", "move", "delete"), "kind", 13)
            if kind == "update":
                field = self.pick(data, (*TEXT_FIELDS, "status"), "field", 17)
                value = data.draw(st.sampled_from(STATUSES) if field == "status" else text)
                changes: dict[str, Any] = {field: value}
            elif kind == "move":
                first = data.draw(st.integers(0, small - 1), label="first")
                changes = {
                    "first": first,
                    "last": data.draw(
                        st.one_of(st.none(), st.integers(first, small - 1)), label="last"
                    ),
                }
            else:
                changes = {}
            return {
                "kind": "update" if kind == "move" else kind,
                "handle": handle,
                "changes": changes,
            }

        def other_write(self, data: st.DataObject) -> None:
            """Another user, through the protocol: first the members whose edit waits
            offline or whose form a user keeps open, then those an open form's tab shows."""
            # every open form, in any tab (a colleague is not confined to the acting tab)
            forms = {(p.name, t.name): t.form for p, t in self.m.tabs() if t.form is not None}
            if self.pick(data, (True, False, False, False, False), "create", 31):
                # a colleague's new member (from the first period, no end) shows in every
                # period, so under every open form
                self.overtaken |= set(forms)
                args = {
                    "kind": "create",
                    "handle": self.m.next_handle(),
                    "changes": {
                        "name": data.draw(text),
                        "position": data.draw(text),
                        "first": 0,
                        "last": None,
                    },
                }
            else:
                queued = [w.handle for w in self.m.waiting()]
                shown = {f: self.m.visible_handles(*f) for f in forms}  # under each open form
                rows = self.server_rows()
                mine = [h for h in rows if h in queued]
                lingered = [h for h in rows if any(f.handle == h for f in forms.values())]
                beside = [h for h in rows if any(h in s for s in shown.values())]
                handle = self.pick(data, mine or lingered or beside or rows, "member", 23)
                self.conflicts = bool(mine)
                self.overtaken |= {
                    f for f, form in forms.items() if form.handle == handle or handle in shown[f]
                }
                args = self.colleague(handle, data)
            self.do(Step("other_write", args=args))

        # -- the server (embedded app only) ---------------------------------------------------
        def server(self, data: st.DataObject) -> None:
            if not self.m.server_up:
                self.do(Step("restart"))
            elif data.draw(st.booleans(), label="kill"):
                self.do(Step("kill"))
            else:
                seconds = data.draw(st.sampled_from((1, 2, 4)), label="seconds")
                self.do(Step("freeze", args={"seconds": seconds}))

        # -- when each action makes sense ---------------------------------------------------
        def possible(self, action: str) -> bool:
            m = self.m
            profiles = list(m.profiles.values())
            match action:
                case "open_profile":
                    return m.server_up and len(profiles) < len(PROFILES)
                case "open_tab":
                    return m.server_up and any(len(p.tabs) < TABS_PER_PROFILE for p in profiles)
                case "reload" | "restart_browser":
                    return m.server_up and bool(m.tabs())
                case "close_tab" | "crash":
                    return bool(m.tabs())
                case "go" | "key":
                    return periods > 1 and bool(self.tabs())
                case "burst":
                    return periods > 1 and any(m.connected(p) for p, _ in self.tabs())
                case "cut":
                    return periods > 1 and any(m.connected(p.name) for p in profiles)
                case "edit" | "move" | "delete":
                    return bool(self.visible())
                case "create":
                    return bool(self.tabs(writable=True, loaded=True))
                case "save_under_fault":
                    return any(self.strikes(p, t) for p, t in self.tabs(writable=True, loaded=True))
                case "resync_fault":
                    return any(
                        o.tabs and m.connected(q) and not any(t.queued for t in o.tabs.values())
                        for q, o in m.profiles.items()
                    )
                case "linger":
                    return bool(self.tabs(writable=True, loaded=True))
                case "type" | "wait" | "cancel_form":
                    return bool(self.form_tabs())
                case "save_form":
                    holder = m.queue_holder()
                    return any(
                        m.connected(p) or holder in (None, (p, t)) for p, t in self.form_tabs()
                    )
                case "offline":
                    return any(not p.offline for p in profiles)
                case "online":
                    return any(p.offline for p in profiles)
                case "other_write":
                    return m.server_up and bool(self.server_rows())
                case "server":  # a freeze is timed on an open page
                    return session.server_actions and bool(m.tabs())
            raise ValueError(action)

        def meetings(self) -> list[str]:
            """Extra weight where users meet: while a user is offline, an edit of theirs;
            while it waits, a colleague's write of the same people; after that, the way
            back online."""
            m = self.m
            if any(p.stored and not p.tabs for p in m.profiles.values()):
                return ["open_tab"] * 6  # saved writes wait for the profile's next tab
            if self.conflicts:
                return ["online"] * 6
            if forms := self.form_tabs():  # a user lingers over a form while colleagues write
                # and then closes it, as often with Cancel as with Save: a form is as
                # often abandoned as kept (at 2:1 for Save, one form of ten was cancelled)
                if self.overtaken & set(forms):
                    return ["save_form"] * 21 + ["cancel_form"] * 21 + ["type"] * 3
                lingering = ["type"] * 6 + ["wait"] * 2 + ["save_form"] * 7 + ["cancel_form"] * 7
                return ["other_write"] * 40 + lingering
            if waiting := m.waiting():  # a colleague meets them, or their tab goes
                leaving = ["reload", "crash"] * 3 + ["close_tab"] * 2 + ["restart_browser"]
                if any(w.carried for w in waiting):  # still pending: refreshed again
                    leaving += ["reload"] * 3 + ["crash"] * 2
                if any(w.applied for w in waiting):  # a save that looks stuck: refreshed
                    leaving += ["reload"] * 4 + ["close_tab"] * 2 + ["restart_browser"]
                return ["other_write"] * 6 + leaving
            if any(p.offline for p in m.profiles.values()) and self.visible():
                return ["edit"] * 8
            if self.wrote:  # after saving, users reload or open the editor in another tab
                return ["reload"] * 2 + ["open_tab"] * 2
            return []

        @rule(data=st.data())
        def act(self, data: st.DataObject) -> None:
            """One user action, drawn by weight among those that make sense now."""
            choices = [a for a in ACTIONS + self.meetings() if self.possible(a)]
            # Hypothesis draws 0 most (its simplest value, and in early examples): the drawn
            # number is scattered with the step's index, so that a run of zeros is a varied
            # sequence of actions, each still drawn by its weight
            drawn = data.draw(st.integers(0, 2**20), label="action")
            action = choices[self.scattered(drawn, 0) % len(choices)]
            self.rtt = self.pick(data, rtts, "rtt", 59) if rtts else None
            getattr(self, action)(data)

        def come_back(self) -> None:
            """The end of every example: the server is up again and every user back online,
            so that what waited offline meets what happened meanwhile (a promise kept only
            while a user stays offline is not kept)."""
            if not self.m.server_up:
                self.do(Step("restart"))
            for name in [p.name for p in self.m.profiles.values() if p.stored and not p.tabs]:
                self.do(Step("open_tab", name))
            for name in [p.name for p in self.m.profiles.values() if p.offline]:
                self.do(Step("online", name))

        def teardown(self) -> None:
            explorer = getattr(self, "explorer", None)
            if explorer is None:
                return
            try:
                if not self.broken:
                    self.come_back()
            finally:
                session.checks += explorer.checks
                session.cells.update(explorer.cells)
                session.moments.update(explorer.moments)
                explorer.end()
                session.judged(explorer)
            if not self.broken:
                try:
                    explorer.check_server()
                except Divergence as exc:
                    session.failed(explorer, exc)
                    raise

    return UsersExplored


RESTARTS = 20  # new Hypothesis runs after it found its draws inconsistent (see explore)


def explore(session: ExploreSession) -> None:
    """Run Hypothesis until the exploring budget is spent; raises the shortest failure.

    A sequence's choices depend on more than Hypothesis' draws (the example's salt, the
    mode the deployment gave each profile), so that a prefix Hypothesis replays to mutate
    it may draw differently the second time; Hypothesis then stops with
    FlakyStrategyDefinition. Exploring goes on with a new Hypothesis run (the next seed of
    the same series: a seed still explores the same way) until the budget is spent."""
    seed = session.config.explore_seed
    for restart in range(RESTARTS + 1):
        machine = with_seed(seed + restart * 1_000_003)(machine_for(session))
        try:
            _run(machine)
        except BudgetSpent:
            pass
        except Flaky:
            if not session.stopped and session.failure is None:
                session.restarts += 1
                continue
        except Exception:
            # Hypothesis, stopped half-way by the budget, may object to the cut example; a
            # failure that did not repeat on replay is reported by the shortest run that failed
            if not session.stopped and session.failure is None:
                raise
        break
    if session.failure is not None:
        minimise(session)
        raise AssertionError(session.failure.message)


def minimise(session: ExploreSession) -> None:
    """Replay the shortest failing sequence, then delete steps while a replay still breaks
    the same promise, until the shrinking budget is spent: first every step that only
    moves between periods, then the last 3 or 5 steps alone (after the openings of their
    profiles), then runs of steps (half the sequence, then a quarter, down to two), then
    single steps, the latest first. Each
    replay opens its profiles as the failing run first had them (their storage as it was
    after their first page load, so the deployment gives each the same mode, as the replay
    a developer runs does), never with what an earlier replay left; a single step is kept
    when two tries do not fail without it."""
    failure = session.failure
    assert failure is not None
    deadline = session.shrink_deadline()
    kept = _attempt(session, failure.steps, failure, tries=3)
    if kept is None:
        return  # it did not fail again: reported as found, without "fails again"
    # first, in one try, every step that only moves between periods: most failures need
    # none, and deleting them one by one spent the budget before the steps that matter
    # (replays of 10-14 steps, half of them period switches)
    last = len(kept.steps) - 1
    candidate = [s for i, s in enumerate(kept.steps) if i in (0, last) or s.action not in LOOKING]
    if len(candidate) < len(kept.steps) and time.monotonic() < deadline:
        kept = _attempt(session, candidate, kept, tries=1) or kept
    # then the last few steps alone, with the openings of the profiles they use: a failure
    # mostly comes of what happened just before it, and a replay with outages and browser
    # restarts takes 10-30 s, so that halving a 12-step sequence ran out of time (replays
    # of 10 and 12 steps whose last four broke the promise by themselves)
    for tail in TAILS:
        if time.monotonic() >= deadline:
            break
        candidate = _tail(kept.steps, tail)
        if len(candidate) < len(kept.steps):
            found = _attempt(session, candidate, kept, tries=1)
            if found is not None:
                kept = found
                break
    size = max(1, (len(kept.steps) - 1) // 2)
    while size >= 1 and time.monotonic() < deadline:
        # the first step opens a profile and the last one broke the promise: both stay
        end = len(kept.steps) - 1
        while end - size >= 1 and time.monotonic() < deadline:
            candidate = kept.steps[: end - size] + kept.steps[end:]
            found = _attempt(session, candidate, kept, tries=1 if size > 1 else 2)
            if found is not None:
                kept = found
                end = min(end - size, len(kept.steps) - 1)
            else:
                end -= 1 if size == 1 else size
        size = 1 if size == 2 else size // 2
    session.failure = kept


LOOKING = {"go", "key", "burst"}  # steps that only move a tab between periods
TAILS = (3, 5)  # the last steps tried alone when shrinking


def _tail(steps: list[Step], n: int) -> list[Step]:
    """The last `n` steps, after the steps that opened the profiles they use."""
    last = steps[-n:]
    used = {s.profile for s in last if s.profile}
    opened = [s for s in steps[:-n] if s.action == "open_profile" and s.profile in used]
    return (opened or steps[:1]) + last


REDRAWS = 4  # replays begun again because the target gave a profile another mode anyway


class Redrawn(Exception):
    """A replay's profile got another mode than in the failing run: not a fair try."""


def _attempt(
    session: ExploreSession, steps: list[Step], like: Failure, tries: int
) -> Failure | None:
    """Replay `steps` up to `tries` times; the first failure that breaks the promise `like`
    broke, else None (it passed, broke another promise, or a step no longer makes sense).
    A try whose profiles the target puts in other modes than the failing run's is begun
    again (the deployment draws each new profile's mode; a failure may need the one drawn)."""
    redraws = 0
    while tries > 0:
        try:
            found, senseless = _replay_once(session, steps, like)
        except Redrawn:
            redraws += 1
            if redraws > REDRAWS:
                return None
            continue
        if found is not None or senseless:
            return found
        tries -= 1
    return None


# what a user can do in a tab whose form is open (the form covers the rest of the page)
OVER_A_FORM = {"type", "wait", "save_form", "cancel_form", "reload", "close_tab", "crash"}


def _feasible(explorer: Explorer, step: Step) -> bool:
    """Whether a step of a shortened replay can still be taken: not a click behind a form
    left open by a deleted step."""
    profile = explorer.model.profiles.get(step.profile)
    tab = profile.tabs.get(step.tab) if profile is not None and step.tab else None
    return tab is None or tab.form is None or step.action in OVER_A_FORM


def _replay_once(
    session: ExploreSession, steps: list[Step], like: Failure
) -> tuple[Failure | None, bool]:
    """(the failure, if `steps` broke the same promise; whether a step made no sense)."""
    explorer = session.explorer(like.identities)
    try:
        explorer.begin()
        for step in steps:
            if not _feasible(explorer, step):
                return None, True
            explorer.step(step)
            if step.action == "open_profile":
                drawn = explorer.model.profiles[step.profile].mode
                if drawn and like.modes.get(step.profile, drawn) != drawn:
                    raise Redrawn(step.profile)
    except Divergence as exc:
        if exc.promise != like.promise:
            return None, False
        return session.kept(explorer, exc, "yes"), False
    except (KeyError, IndexError, ValueError, PlaywrightError, PageExpectation):
        return None, True  # a step that needs what a deleted step made
    finally:
        session.checks += explorer.checks
        explorer.end()
    try:
        explorer.check_server()
    except Divergence as exc:
        if exc.promise != like.promise:
            return None, False
        return session.kept(explorer, exc, "yes"), False
    return None, False


def _run(machine: type[RuleBasedStateMachine]) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=300,
            stateful_step_count=STEPS_PER_SEQUENCE,
            deadline=None,
            database=None,
            phases=(Phase.generate,),  # shrunk by `minimise`, step by step
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            report_multiple_bugs=False,
        ),
    )


def replay(
    session: ExploreSession, steps: list[Step], identities: dict[str, dict[str, Any]]
) -> None:
    """Run exactly these steps, the profiles with the identities the failing run had,
    checking every promise after each."""
    explorer = session.explorer(identities)
    explorer.begin()
    try:
        for step in steps:
            session.count(explorer, step)
            try:
                explorer.step(step)
            except Exception as exc:
                session.failed(explorer, exc)
                raise
    finally:
        session.checks += explorer.checks
        explorer.end()
    try:
        explorer.check_server()
    except Divergence as exc:
        session.failed(explorer, exc)
        raise
