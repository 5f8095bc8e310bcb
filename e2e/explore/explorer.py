"""The explorer pairs the model with the driver: it performs one step on both and then
checks every promise, on every open tab and in the database, once the world is quiet.
Hypothesis' state machine (machine.py) and a replay (a file of steps) both use it."""

from __future__ import annotations

import copy
import json
import secrets
from collections import Counter
from dataclasses import replace
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from e2e.explore.model import Form, Model, Profile, Row, Tab, Write, operations, row_from_server
from e2e.explore.steps import Step, numbered
from e2e.explore.world import World
from e2e.harness.catalogue import explain
from e2e.harness.target import Target
from e2e.harness.wire import Frame as WireFrame
from e2e.harness.wire import rows_by_id
from e2e.probes.server_resources import Resources, Unreadable, read, settle

# The members each exploration starts with: (first period, last period).
MEMBERS = {"M1": (0, 1), "M2": (1, 3), "M3": (0, 0)}
# Steps after which the clients reconnect (their retry delay is part of the wait), or a
# page takes over the writes of a tab that is gone (a crashed page's heartbeat must age).
RECONNECTING = frozenset(
    {"online", "cut", "restart", "freeze", "reload", "close_tab", "crash", "restart_browser"}
)
CARRIED = "tab reloaded / closed / crashed while queued"
QUIET_S, RECONNECT_S = 6.0, 15.0
# The nemesis: a fault at a protocol moment of a write ("before": as the user saves, before
# the page sends it) or of a resync, and how long a freeze there lasts.
MOMENTS = ("before", "sent", "answered", "broadcast", "resync")
FAULTS = ("cut", "outage", "kill", "freeze")
FREEZE_S = 2.0
# Where the write ends when the fault struck: applied or not, and who is disconnected.
UNAPPLIED = {("sent", "outage"), ("sent", "kill")}
ANSWER_LOST = {("answered", "outage"), ("answered", "kill")}

# The promises, and the defect classes that break each. "step": the screen did not let the
# user do what the model says it shows (a row or a control missing).
BROKEN_BY = {
    "screen": (
        "F5", "F6", "F7", "F8", "F10", "F14", "F16", "F17", "F18", "F23", "F24", "F25",
        "F26", "F27", "F28", "F30", "F34", "F35", "F36", "F40",
        "F41", "F42", "F43", "F44", "F49",
    ),
    "step": ("F5", "F6", "F7", "F8", "F13", "F16", "F25", "F26", "F30"),
    "database": (
        "F8", "F9", "F10", "F16", "F17", "F18", "F22", "F26", "F27", "F30", "F34", "F35", "F36",
        "F43",
    ),

    "mode": ("F29",),
    "content": ("F28",),
    "console": ("F13", "F15", "F28"),
    "frames": ("F19",),
    "server": ("F37", "F38", "F39"),
}  # fmt: skip
SHOWN = """(exp) => {
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const table = q("staff-table"), badge = q("connection-badge");
  const pending = q("pending-count"), error = q("error-message");
  const norm = (s) => s.trim().toLowerCase().replace(/[ _]+/g, "_");
  const cell = (r, c) => (r.querySelector(`[data-testid="staff-${c}"]`) || {}).textContent ?? "";
  const rows = table ? [...table.querySelectorAll('[data-testid="staff-row"]')].map((r) =>
    JSON.stringify([cell(r, "name"), cell(r, "position"), cell(r, "department"),
                    norm(cell(r, "status"))])).sort() : [];
  const sockets = window.__ssProbe ? window.__ssProbe.socketList() : [];
  const form = q("edit-form");
  const value = (f) => (q(`edit-${f}`) || {}).value ?? null;
  const open = !!form && (form.checkVisibility ? form.checkVisibility() : !!form.offsetParent);
  return {
    form: open ? {name: value("name"), position: value("position"),
                  department: value("department"), status: value("status"),
                  first: value("start-period"), last: value("end-period")} : null,
    badge: badge ? badge.dataset.state : "none",
    pending: Number(pending ? pending.dataset.count || 0 : 0),
    refusal: !!error && !error.hidden && error.textContent.trim() !== "",
    period: table ? Number(table.dataset.period) : -1,
    ready: !!table && table.dataset.state === "ready",
    rows,
    openSockets: sockets.filter((s) => s.closedAt === null).length,
  };
}"""
AGREES = f"""(exp) => {{
  const s = ({SHOWN})(exp);
  if ((s.badge === "connected") !== exp.connected) return false;
  if (s.pending !== exp.pending || s.refusal !== exp.refusal) return false;
  if (exp.connected && s.openSockets !== 1) return false;
  if ((s.form === null) !== (exp.form === null)) return false;
  if (exp.form && Object.entries(exp.form).some(([k, v]) => s.form[k] !== v)) return false;
  if (!exp.loaded && !(exp.mayShow && s.ready)) return true;
  if (!s.ready || s.period !== exp.period || s.rows.length !== exp.rows.length) return false;
  const want = [...exp.rows].sort();  // sorted here too: JS orders by UTF-16 units
  return s.rows.every((r, i) => r === want[i]);
}}"""


WRITE_ACTIONS = ("edit", "move", "create", "delete", "save_form")


class Divergence(AssertionError):
    """The app broke a promise the model keeps: what was expected, what was seen, and
    which promise (screen, database, mode, content, console, frames; step: an action the
    screen did not allow)."""

    def __init__(self, message: str, promise: str) -> None:
        super().__init__(message)
        self.promise = promise


class Explorer:
    def __init__(
        self,
        world: World,
        model: Model,
        target: Target,
        identities: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.world = world
        # profile -> its storage state when first opened: given by a replay, else new
        self.identities: dict[str, dict[str, Any]] = dict(identities or {})
        self.model = model
        self.target = target
        self.steps: list[Step] = []
        self.checks = 0
        self.cells: Counter[tuple[str, str]] = Counter()  # coverage cells exercised
        self.moments: Counter[tuple[str, str, str]] = Counter()  # (operation, moment, fault)
        self.fate: tuple[str, str] | None = None  # the moment and fault of this step's write
        self.readers: list[str] = []  # profiles whose tabs the write's broadcast is to miss
        self.deferred = False  # the model applies this step's write after a colleague's
        self.nonce = secrets.token_hex(2)
        self.sent_now: Write | None = None  # the write this step sent online
        self.written: Write | None = None  # the write this step made, sent or queued
        self.baseline: Resources | None = None  # the server's, before the sequence's tabs
        self.left: dict[str, float] | None = None  # what it kept after them (None: not judged)

    # -- the example's world --------------------------------------------------------------
    def begin(self) -> None:
        """The members this exploration writes to, made through the protocol."""
        spans = self.model.calendar
        ids = {}
        with self.target.wire() as client:
            for handle, (first, last) in MEMBERS.items():
                echo = client.create(
                    {
                        "name": f"Explorer {handle} {self.nonce}",
                        "position": "Cook",
                        "department": "Kitchen",
                        "startPeriod": spans[first].start.isoformat(),
                        "endPeriod": spans[last].end.isoformat(),
                    }
                )
                if echo["type"] != "STAFF_CREATE":
                    raise RuntimeError(f"the server refused the exploration's member: {echo}")
                ids[handle] = str(echo["payload"]["id"])
        self.model.start(list(rows_by_id(self.target.rows()).values()))
        for handle, staff_id in ids.items():
            self.model.adopt(handle, staff_id)
        self.baseline = self._resources()

    def _resources(self) -> Resources | None:
        """The server's resources with none of this sequence's pages open (its own
        connections closed: the protocol client's last one may still be closing)."""
        try:
            now = read(self.target.base_url, self.target.pid)
        except Unreadable:
            return None
        quiet = replace(now, clients=None if now.clients is None else 0.0)
        return settle(self.target.base_url, quiet, self.target.pid, 3.0)

    def end(self) -> None:
        """Close the browsers; note what the server kept of their connections (when it is
        the process the sequence began with); the server runs again; the members made here
        are deleted."""
        self.world.close()
        if self.baseline is not None and self.model.server_up:
            try:
                now = settle(self.target.base_url, self.baseline, self.target.pid)
            except Unreadable:
                now = None
            if now is not None and now.started == self.baseline.started:
                self.left = now.left_over(self.baseline)
        app = self.target.app
        if app is not None and app.proc is not None:
            if app.proc.poll() is None:
                app.thaw()
            else:
                app.restart()
        with self.target.wire() as client:
            for handle in self.model.live_handles():
                staff_id = self.model.handles.get(handle)
                if staff_id is not None:
                    client.delete(staff_id)

    def check_server(self) -> None:
        """Once the sequence's tabs are closed, the server holds no more connections,
        descriptors or tasks than before them."""
        kept = {k: v for k, v in (self.left or {}).items() if v > 0}
        if kept and self.baseline is not None:
            b = self.baseline
            raise self._diverge(
                "the server to let go of every connection of the sequence's closed tabs"
                f" (before them: {b.clients} connected, {b.open_fds} descriptors,"
                f" {b.tasks} tasks, by {b.source})",
                f"{kept} left over 10 s after the last tab closed",
                "server",
            )

    # -- one step ---------------------------------------------------------------------------
    def step(self, step: Step) -> None:
        self.steps.append(step)
        network = self.world.room.conditions.network
        if network is not None and network.rtt_range():  # a link whose round trip spreads
            self.world.room.set_rtt(step.args.get("rtt_ms", network.rtt_ms))
        try:
            self._perform(step)
        except PlaywrightTimeout as exc:
            raise self._diverge("the step to be possible", str(exc), "step") from None
        slow = step.action in RECONNECTING or "strike" in step.args
        self.check(RECONNECT_S if slow else QUIET_S)

    def _perform(self, step: Step) -> None:
        w, a = self.world, step.args
        p, t = step.profile, step.tab
        # the acting tab's write frames before a write step (it must send one more)
        sent = w.tab(p, t).probe.writes_sent() if step.action in WRITE_ACTIONS else 0
        self.sent_now, self.written, self.fate, self.readers = None, None, None, []
        self.deferred = False
        strike = a.get("strike")
        if a.get("answer_lost"):  # the first form of a lost answer, in older replays
            strike = {"moment": "answered", "fault": "outage"}
        if step.action == "strike":
            self._strike_resync(p, a["fault"])
        elif strike is None or step.action not in WRITE_ACTIONS:
            self._act(step, sent)
        elif strike["moment"] == "before":
            self._fault_now(p, strike["fault"])
            try:
                self._act(step, sent)
            finally:
                if strike["fault"] == "freeze":
                    w.thaw_after(FREEZE_S)
            self._moment(self.written, "before", strike["fault"])
        else:
            self._struck_write(step, sent, strike["moment"], strike["fault"])

    def _fault_now(self, p: str, fault: str) -> None:
        """A fault as the user saves: the page has not yet noticed it."""
        m, w = self.model, self.world
        if fault == "cut":
            w.cut(p)
        elif fault == "outage":
            w.offline(p)
            m.profiles[p].offline = True
            m.disconnect(p)
        elif fault == "kill":
            w.kill()
            m.server_up = False
            for name in m.profiles:
                m.disconnect(name)
        else:
            w.target.require_app().freeze()

    def _struck_write(self, step: Step, sent: int, moment: str, fault: str) -> None:
        """The write of `step`, with a fault at its moment (see faults.Strike)."""
        m, w, p, t = self.model, self.world, step.profile, step.tab
        if moment == "broadcast":
            self.readers = [
                q for q, profile in m.profiles.items()
                if q != p and profile.tabs and m.connected(q)
            ]  # fmt: skip
            if not self.readers:  # a replay whose other profiles were deleted
                raise ValueError("no other profile's tab to miss the broadcast")
        self.fate = (moment, fault)
        strike = w.strike(p, moment, fault, self.readers)
        meanwhile, answers = step.args["strike"].get("meanwhile"), []
        # a write lost on its way is applied after the reconnect, after the colleague's
        self.deferred = bool(meanwhile) and fault == "cut" and moment == "sent"
        if meanwhile and fault == "cut":
            # a colleague's write inside the window: made as the frame is lost, before any
            # page can reconnect (the route's handler runs it)
            kind, staff_id, body = self._other_request(meanwhile)
            strike.act = lambda: answers.append(w.other_write(kind, staff_id, body))
        try:
            self._act(step, sent)
            # a refused write has no broadcast: that moment never comes
            refused = self.sent_now is not None and m.tab(p, t).refusal_owed
            if self.sent_now is not None and not (refused and moment == "broadcast"):
                try:
                    w.wait_struck(p, strike, self.readers)
                except AssertionError as exc:  # the frame of that moment never came
                    seen = str(exc)
                    raise self._diverge(f"the write's {moment} moment", seen, "database") from None
        finally:
            w.end_strike(strike, FREEZE_S)
        write = self.sent_now
        if write is None or not strike.struck:
            return
        self._moment(write, moment, fault + (" + colleague" if answers else ""))
        if answers:
            self._other_write(meanwhile, answers[0])
        if self.deferred:
            m.tab(p, t).refusal_owed = m.apply(write) is not None
        if (moment, fault) in UNAPPLIED:
            self._went_down(p, fault)
            tab = m.tab(p, t)
            tab.refusal_owed = False
            tab.queued.append(write)
            m.apply_locally(tab, write)
        elif (moment, fault) in ANSWER_LOST:
            self._answer_lost(p, t, write, fault)

    def _went_down(self, p: str, fault: str) -> None:
        m = self.model
        if fault == "kill":
            m.server_up = False
            for name in m.profiles:
                m.disconnect(name)
        else:
            m.profiles[p].offline = True
            m.disconnect(p)

    def _strike_resync(self, p: str, fault: str) -> None:
        """The profile's sockets are cut; as its tabs resync, the answer meets the fault."""
        strike = self.world.strike(p, "resync", fault, [])
        try:
            self.world.cut(p)
            try:
                self.world.wait_struck(p, strike, [])
            except AssertionError as exc:
                raise self._diverge(
                    f"profile {p}'s tabs to ask for the data again after the cut (a resync)",
                    str(exc),
                    "screen",
                ) from None
        finally:
            self.world.end_strike(strike, FREEZE_S)
        if fault in ("outage", "kill"):
            self._went_down(p, fault)
        self.moments[("resync", "resync", fault)] += 1

    def _moment(self, write: Write | None, moment: str, fault: str) -> None:
        if write is None:
            return
        for operation in operations(write):
            self.moments[(operation, moment, fault)] += 1

    def _act(self, step: Step, sent: int) -> None:
        m, w, a = self.model, self.world, step.args
        p, t = step.profile, step.tab
        match step.action:
            case "open_profile":
                m.profiles[p] = Profile(p)
                opened = w.open_profile(p, self.identities.get(p), zone=a.get("zone"))
                self._opened(p, opened.name)
                self.identities.setdefault(p, w.identity(p))
            case "open_tab":
                self._opened(p, w.open_tab(p).name)
            case "reload":
                if not w.reload(p, t):  # else warned, the user stayed
                    m.leave(p, t)
                    self._opened(p, t)
            case "close_tab" | "crash":
                how = "close" if step.action == "close_tab" else "crash"
                if not w.close_tab(p, t, how):
                    m.leave(p, t)
            case "restart_browser":
                for name in list(m.profiles[p].tabs):
                    m.leave(p, name)
                self._opened(p, w.restart_browser(p).name)
            case "go" | "key" | "burst":
                if step.action == "go":
                    w.go(p, t, a["period"])
                    period = a["period"]
                elif step.action == "key":
                    w.key(p, t, a["delta"])
                    period = m.tab(p, t).period + a["delta"]
                else:
                    w.burst(p, t, a["targets"])
                    period = a["targets"][-1]
                tab = m.tab(p, t)
                tab.period = period
                if not m.connected(p):
                    tab.moved_offline = True
                    if m.profiles[p].mode == "legacy":
                        tab.loaded = False  # a legacy tab loads each period from the server
            case "edit":
                held = w.edit(p, t, self._id(a["handle"]), a["fields"])
                self._write(p, t, Write("update", a["handle"], self._changes(p, t, a, held)), sent)
            case "move":
                w.move(p, t, self._id(a["handle"]), a["first"], a["last"])
                moved = {"first": a["first"], "last": a["last"]}
                self._write(p, t, Write("update", a["handle"], self._changes(p, t, a, moved)), sent)
            case "create":
                held = w.create(p, t, a["name"], a["position"], a["first"], a["last"])
                fields = {"name": held["name"], "position": held["position"], "department": ""}
                fields |= {"status": "active", "first": a["first"], "last": a["last"]}
                self._write(p, t, Write("create", a["handle"], fields), sent)
            case "delete":
                w.delete(p, t, self._id(a["handle"]))
                self._write(p, t, Write("delete", a["handle"]), sent)
            case "open_form":
                handle = a.get("handle")
                w.open_form(p, t, None if handle is None else self._id(handle))
                m.open_form(p, t, handle)
            case "type":
                form = self._open_form(p, t)
                form.typed |= w.type(p, t, a["fields"])
            case "wait":
                self._open_form(p, t)
                w.linger(p, t, float(a["seconds"]))
            case "save_form":
                self._save_form(p, t, sent)
            case "cancel_form":
                self._open_form(p, t)
                w.close_form(p, t, save=False)
                m.tab(p, t).form = None
            case "offline":
                w.offline(p)
                m.profiles[p].offline = True
                m.disconnect(p)
            case "online":
                w.online(p)
                m.profiles[p].offline = False
                if m.server_up:
                    self._replayed(m.reconnect(p), "queued offline and replayed")
            case "cut":
                w.cut(p)
            case "other_write":
                self._other_write(a)
            case "kill":
                w.kill()
                m.server_up = False
                for name in m.profiles:
                    m.disconnect(name)
            case "restart":
                w.restart()
                m.server_up = True
                for name, profile in m.profiles.items():
                    if not profile.offline:
                        self._replayed(m.reconnect(name), "across a kill -9 restart")
            case "freeze":
                w.freeze(float(a["seconds"]))
            case _:
                raise ValueError(f"unknown step {step.action!r}")

    def _open_form(self, p: str, t: str) -> Form:
        form = self.model.tab(p, t).form
        if form is None:  # a replay whose step that opened it was deleted
            raise ValueError(f"no form open on profile {p} tab {t}")
        return form

    def _save_form(self, p: str, t: str, sent: int) -> None:
        """Save the form the user lingered over: the fields changed from what it showed
        win, the others keep what colleagues wrote meanwhile; an empty name is stopped by
        the form itself (it stays open, nothing is sent)."""
        m, tab = self.model, self.model.tab(p, t)
        form = self._open_form(p, t)
        self.world.close_form(p, t, save=True)
        if form.holds()["name"] == "":
            return  # the browser's validation: the form stays open
        tab.form = None
        if form.handle is None:
            fields = form.holds()
            handle = str(self.steps[-1].args.get("handle") or m.next_handle())
            self._write(p, t, Write("create", handle, fields), sent)
        else:
            self._write(p, t, Write("update", form.handle, form.changes()), sent)

    def _id(self, handle: str) -> str:
        return self.model.handles[handle]

    def _opened(self, profile: str, tab: str) -> None:
        """A page (re)loaded: its mode is the profile's, its period the page's own choice."""
        m = self.model
        mode = self.world.mode(profile, tab)
        owner = m.profiles[profile]
        if owner.mode is None:
            owner.mode = mode
        elif mode != owner.mode:
            raise self._diverge(
                f"profile {profile} to keep the mode the deployment gave it ({owner.mode})",
                f"tab {tab} opened in {mode} mode",
                "mode",
            )
        connected = m.connected(profile)
        fresh = Tab(tab, 0, loaded=connected)
        if not connected:  # what the page came with: the server's rows as it sent the page
            fresh.view, fresh.may_show = copy.deepcopy(m.served()), True
        if connected:
            wait_s = RECONNECT_S + self.world.room.slack_s()
            self.world.tab(profile, tab).schedule.wait_ready(timeout_ms=wait_s * 1000)
        fresh.period = self.world.period(profile, tab)
        owner.tabs[tab] = fresh
        self._replayed(m.arrive(profile, tab), CARRIED)

    def _answer_lost(self, p: str, t: str, write: Write, fault: str = "outage") -> None:
        """The write just sent was answered (applied or refused) and the answer lost as the
        network went (or the server was killed): the tab holds the write, unconfirmed."""
        m = self.model
        tab = m.tab(p, t)
        self._went_down(p, fault)
        write.applied = not tab.refusal_owed
        tab.refusal_owed = False  # the refusal did not reach the page
        tab.queued.append(write)
        m.apply_locally(tab, write)
        self._cell(write, "echo lost in a cut")

    def _changes(
        self, p: str, t: str, args: dict[str, Any], held: dict[str, Any]
    ) -> dict[str, Any]:
        """What the client sends: the fields whose value differs from the row it shows. A
        move is two fields: a date the user left as the tab showed it is not sent, and the
        server keeps a colleague's newer value of it (the per-field rule)."""
        row = self.model.holdings(p, t).get(self._id(args["handle"]))
        return {k: v for k, v in held.items() if row is None or getattr(row, k) != v}

    def _replayed(self, sent: list[tuple[Write, str | None]], condition: str) -> None:
        for write, refused in sent:
            if refused:
                self._cell(write, "refused by the server")
            else:
                self._cell(write, CARRIED if write.carried else condition)

    def _cell(self, write: Write, condition: str) -> None:
        for operation in operations(write):
            self.cells[(operation, condition)] += 1

    def _write(self, p: str, t: str, write: Write, sent: int) -> None:
        m = self.model
        tab = m.tab(p, t)
        if write.kind == "update" and not write.changes:
            return  # nothing changed: nothing is sent
        self.written = write
        if m.connected(p):
            if not self.world.tab(p, t).probe.wait_sent(sent):
                raise self._diverge(
                    f"profile {p} tab {t} to send its {write.kind} of {write.handle}",
                    "no write frame within 10 s",
                    "database",
                )
            self.sent_now = write
            if self.fate in UNAPPLIED or self.deferred:
                return  # the frame is lost with the fault: see _struck_write
            broadcast = m.refusal(write, m.rows) is None  # a refused write has none
            if self.fate == ("broadcast", "outage") and broadcast:  # readers go before it
                for name in self.readers:
                    m.profiles[name].offline = True
                    m.disconnect(name)
            tab.refusal_owed = m.apply(write) is not None
            self._cell(write, "refused by the server" if tab.refusal_owed else "online")
        else:
            tab.refusal_owed = False
            tab.queued.append(write)
            m.apply_locally(tab, write)

    def _other_request(self, a: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
        """(kind, member id, protocol body) of another user's write."""
        m, spans = self.model, self.model.calendar
        kind, handle, changes = a["kind"], a["handle"], dict(a.get("changes") or {})
        body = {k: v for k, v in changes.items() if k not in ("first", "last")}
        if "first" in changes:
            body["startPeriod"] = spans[changes["first"]].start.isoformat()
            last = changes.get("last")
            body["endPeriod"] = None if last is None else spans[last].end.isoformat()
        if kind == "create":
            body.setdefault("department", "")
        return kind, None if kind == "create" else m.handles[handle], body

    def _other_write(self, a: dict[str, Any], answer: WireFrame | None = None) -> None:
        """Another user's write through the protocol (`answer`: already made, in a fault's
        window), applied to the model."""
        m = self.model
        kind, handle, changes = a["kind"], a["handle"], dict(a.get("changes") or {})
        _, staff_id, body = self._other_request(a)
        if kind == "create":
            changes |= {"department": body["department"], "status": "active"}
        # another user's write meets an edit waiting offline
        for waiting in (w for w in m.waiting() if w.handle == handle):
            same = kind == "delete" or bool(set(waiting.changes) & set(changes))
            condition = "concurrent, same field" if same else "concurrent, different fields"
            self._cell(Write(kind, handle, changes) if kind == "delete" else waiting, condition)
        if answer is None:
            answer = self.world.other_write(kind, staff_id, body)
        refused = m.apply(Write(kind, handle, changes))
        if (answer["type"] == "ERROR") != (refused is not None):
            raise self._diverge(
                f"the server to {'refuse' if refused else 'accept'} another user's {kind}"
                + (f" ({refused})" if refused else ""),
                f"its answer {str(answer)[:300]}",
                "database",
            )
        if refused is None and kind != "create":
            self._seen_by_lingerers(handle, answer)

    def _seen_by_lingerers(self, handle: str, answer: WireFrame) -> None:
        """A user lingering over this member's form sees the colleague's write arrive before
        going on (they save or cancel seconds later, not within the same millisecond): each
        connected tab with the form open has received its broadcast before the next step. A
        tab that never receives it waits no longer than a check and is judged as usual."""
        request = answer.get("requestId") or (answer.get("payload") or {}).get("requestId")
        if not request:
            return
        for p, t in self.model.tabs():
            if t.form is None or t.form.handle != handle or not self.model.connected(p.name):
                continue
            wait_s = QUIET_S + self.world.room.slack_s()
            self.world.tab(p.name, t.name).probe.wait_received(str(request), wait_s * 1000)

    # -- the promises ---------------------------------------------------------------------------
    def check(self, timeout_s: float = QUIET_S) -> None:
        """Every tab shows what the model says, within `timeout_s` plus what the run's link
        may add (under mobile-flaky a legacy tab's period switch, a new socket over a
        stall, took longer than the 6 s that loopback needs)."""
        timeout_s += self.world.room.slack_s()
        for p, t in self.model.tabs():
            self._check_tab(p, t, timeout_s)
        if self.model.server_up:
            self._check_database()

    def _expected(self, p: Profile, t: Tab) -> dict[str, Any]:
        m = self.model
        rows = [[*r[:3], r[3]] for r in m.screen(p.name, t.name)]
        return {
            "connected": m.connected(p.name),
            "pending": len(t.queued),
            "refusal": t.refusal_owed,
            # the rows behind an open form are judged once it closes (a client may hold
            # back what arrives meanwhile, as long as it shows it then)
            "loaded": t.loaded and t.form is None,
            "mayShow": t.may_show and t.form is None,
            "period": t.period,
            "rows": sorted(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows),
            # an open form keeps what the user typed (the other fields are not judged)
            "form": None if t.form is None else {k: _shown(v) for k, v in t.form.typed.items()},
        }

    def _check_tab(self, p: Profile, t: Tab, timeout_s: float) -> None:
        self.checks += 1
        tab = self.world.tab(p.name, t.name)
        exp = self._expected(p, t)
        where = f"profile {p.name} tab {t.name} ({p.mode}, period {t.period})"
        try:
            tab.page.wait_for_function(AGREES, arg=exp, timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            shown = tab.page.evaluate(SHOWN, exp)
            raise self._diverge(
                f"{where} to show {_brief(exp)}", _difference(exp, shown), "screen"
            ) from None
        if ran := tab.content_ran():
            raise self._diverge(f"{where} to run no content", ran, "content")
        if tab.errors or tab.probe.errors():
            errors = tab.errors + tab.probe.errors()
            raise self._diverge(f"{where} to log no error", errors[:4], "console")
        frames = tab.probe.disagreements()
        if len(frames) > tab.frames_judged:
            raise self._diverge(
                f"{where}: label, chip and table to agree in every painted frame",
                frames[tab.frames_judged : tab.frames_judged + 3],
                "frames",
            )

    def _check_database(self) -> None:
        self.checks += 1
        m = self.model
        periods = self.target.rows()
        server = rows_by_id(periods)
        strays = m.resolve(list(server.values()))
        wrong: list[str] = [
            f"{i}: a row the users never made (a write applied twice?)" for i in strays
        ]
        for staff_id, row in m.rows.items():
            if staff_id not in server:
                wrong.append(f"{_who(m, staff_id, row)}: missing (lost, or deleted by mistake)")
                continue
            held = row_from_server(server[staff_id], m.calendar)
            if held.content() != row.content() or held.version != row.version:
                wrong.append(
                    f"{_who(m, staff_id, row)}: {_row(held)} v{held.version},"
                    f" expected {_row(row)} v{row.version}"
                )
            elif _span(held, m) != _span(row, m):
                wrong.append(
                    f"{_who(m, staff_id, row)}: periods {_span(held, m)}, expected {_span(row, m)}"
                )
        for index, members in m.members(m.rows).items():
            listed = {str(r["id"]) for r in periods.get(index, [])}
            if listed != members:
                extra, missing = sorted(listed - members)[:3], sorted(members - listed)[:3]
                wrong.append(
                    f"period {index} lists {len(listed)} members, the rule gives {len(members)}"
                    f" (extra {extra}, missing {missing})"
                )
        if wrong:
            raise self._diverge("the database to hold what the users wrote", wrong[:6], "database")

    def _diverge(self, expected: str, seen: object, promise: str) -> Divergence:
        message = explain(expected, seen, BROKEN_BY[promise])
        return Divergence(f"{message}\nAfter these steps:\n{numbered(self.steps)}", promise)


def _who(m: Model, staff_id: str, row: Row) -> str:
    handle = next((h for h, i in m.handles.items() if i == staff_id), staff_id)
    return (
        f"{handle} ({row.name[:20]!r})" if handle != staff_id else f"{staff_id} ({row.name[:20]!r})"
    )


def _row(row: Row) -> str:
    return repr(row.content())


def _span(row: Row, m: Model) -> list[int]:
    return [s.index for s in m.calendar if row.in_period(s.index)]


def _shown(value: Any) -> str:
    """A form field's value as its control holds it (a period by index, "" for no end)."""
    return "" if value is None else str(value)


def _brief(exp: dict[str, Any]) -> str:
    state = "connected" if exp["connected"] else "disconnected"
    rows = f"{len(exp['rows'])} rows" if exp["loaded"] else "no data yet"
    if exp["mayShow"]:
        rows = f"no data yet or the {len(exp['rows'])} rows the page came with"
    refusal = "shown" if exp["refusal"] else "not shown"
    form = "no form open" if exp["form"] is None else f"the form open holding {exp['form']}"
    return f"{state}, {exp['pending']} pending, refusal {refusal}, {rows}, {form}"


def _difference(exp: dict[str, Any], shown: dict[str, Any]) -> str:
    parts = [
        f"badge {shown['badge']!r}, {shown['pending']} pending,"
        f" refusal {'shown' if shown['refusal'] else 'not shown'},"
        f" period {shown['period']} {'ready' if shown['ready'] else 'not ready'},"
        f" {shown['openSockets']} open sockets",
        "no form open" if shown["form"] is None else f"the form holding {shown['form']}",
    ]
    if exp["loaded"] or exp["mayShow"]:
        missing = sorted(set(exp["rows"]) - set(shown["rows"]))
        extra = sorted(set(shown["rows"]) - set(exp["rows"]))
        if missing:
            parts.append(f"missing rows {missing[:3]}")
        if extra:
            parts.append(f"rows not expected {extra[:3]}")
    return "; ".join(parts)
