"""The exploration's driver: real browser profiles and tabs on the target, each action a user
(or the server's operator) takes, and what each tab shows. No judgement here: the explorer
compares what this reports with the model."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Frame, Page

from e2e.conditions.room import Room
from e2e.harness.leaving import leave
from e2e.harness.pacing import Pacer
from e2e.harness.target import Target
from e2e.harness.wire import Frame as WireFrame
from e2e.pages.schedule_page import SchedulePage
from e2e.probes import page_probe, sentinel
from e2e.probes.faults import SocketControl, Strike
from e2e.probes.page_probe import PageProbe

# What the browser itself reports while the server or the network is away: not the app's.
NETWORK_NOISE = ("WebSocket connection to", "Failed to load resource", "net::ERR_")


@dataclass
class Tab:
    name: str
    page: Page
    schedule: SchedulePage
    probe: PageProbe
    errors: list[str] = field(default_factory=list)
    caused_by_content: list[str] = field(default_factory=list)  # dialogs, navigations
    loading: bool = False  # a navigation the driver started (goto, reload)
    frames_judged: int = 0  # disagreeing frames already reported

    def content_ran(self) -> list[str]:
        return sentinel.content_ran(self.page) + self.caused_by_content


@dataclass
class BrowserProfile:
    name: str
    context: BrowserContext
    control: SocketControl
    tabs: dict[str, Tab] = field(default_factory=dict)
    opened: int = 0
    zone: str | None = None  # the clock's zone, when not the run's


# The form's controls for the model's fields (periods by index).
FORM_CONTROLS = {"first": "start-period", "last": "end-period"}


def _control_value(value: Any) -> str:
    return "" if value is None else str(value)


def _field_value(name: str, held: str) -> Any:
    if name in ("first", "last"):
        return None if held == "" else int(held)
    return held


def with_origin(state: Any, origin: str, was: str = "{base}") -> dict[str, Any]:
    """A storage state whose origin `was` is `origin` (the app's port differs per run)."""
    text = json.dumps(state).replace(json.dumps(was)[1:-1], json.dumps(origin)[1:-1])
    moved: dict[str, Any] = json.loads(text)
    return moved


class World:
    def __init__(
        self, browser: Browser, context_args: dict[str, Any], target: Target, room: Room
    ) -> None:
        self.browser = browser
        self.context_args = {**context_args, "base_url": target.page_url}
        self.target = target
        self.room = room
        self.profiles: dict[str, BrowserProfile] = {}

    # -- profiles and tabs ---------------------------------------------------------------
    def open_profile(
        self,
        name: str,
        identity: dict[str, Any] | None = None,
        offline: bool = False,
        zone: str | None = None,
    ) -> Tab:
        """A browser profile of its own; `identity` is a storage state a previous life of
        this profile left (so that the deployment recognises the same user); `zone` its
        clock's time zone (else the run's)."""
        args = dict(self.context_args)
        if identity is not None:
            args["storage_state"] = with_origin(identity, self.target.page_url)
        if zone is not None:
            args["timezone_id"] = zone
        context = self.room.new_context(self.browser, **args)
        control = SocketControl(context)  # routing first: the probe's wrapper is outermost
        control.refusing = offline
        page_probe.install(context)
        sentinel.install(context)
        self.profiles[name] = BrowserProfile(name, context, control, zone=zone)
        return self.open_tab(name)

    def open_tab(self, profile: str) -> Tab:
        p = self.profiles[profile]
        p.opened += 1
        page = p.context.new_page()
        tab = Tab(str(p.opened), page, SchedulePage(page), PageProbe(page))
        p.tabs[tab.name] = tab
        if p.control.page is None or p.control.page.is_closed():
            p.control.page = page
        self._listen(tab)
        self._load(tab, lambda: page.goto("/"))
        return tab

    def _listen(self, tab: Tab) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and not message.text.startswith(NETWORK_NOISE):
                tab.errors.append(message.text)

        def on_dialog(dialog: Dialog) -> None:
            if dialog.type == "beforeunload":  # warned of unsaved writes, the user stays
                dialog.dismiss()
                return
            if dialog.type != "confirm":  # the app's own confirm() is answered OK
                tab.caused_by_content.append(f"a {dialog.type}() dialog: {dialog.message!r}")
            dialog.accept()

        def on_navigated(frame: Frame) -> None:
            if frame == tab.page.main_frame and not tab.loading:
                tab.caused_by_content.append(f"the page navigated to {frame.url}")

        tab.page.on("console", on_console)
        tab.page.on("dialog", on_dialog)
        tab.page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))
        tab.page.on("framenavigated", on_navigated)

    def _load(self, tab: Tab, go: Any) -> None:
        tab.loading = True
        try:
            go()
            tab.page.get_by_test_id("app-mode").wait_for(state="attached", timeout=30_000)
            tab.page.wait_for_function(
                "() => document.querySelector('[data-testid=\"app-mode\"]').dataset.mode",
                timeout=30_000,
            )
        finally:
            tab.loading = False
        tab.frames_judged = 0

    def reload(self, profile: str, tab: str) -> bool:
        """Reload the tab; returns whether the page asked first (and the user stayed)."""
        t, warned = self.tab(profile, tab), [False]

        def go() -> None:
            warned[0] = leave(t.page, "reload")

        self._load(t, go)
        return warned[0]

    def close_tab(self, profile: str, tab: str, how: str = "close") -> bool:
        """Close the tab, or crash it (`how="crash"`: no handler of the page runs); returns
        whether the page asked first (and the user stayed)."""
        p = self.profiles[profile]
        if leave(p.tabs[tab].page, how):
            return True
        closing = p.tabs.pop(tab)
        if p.control.page is closing.page:
            p.control.page = next((t.page for t in p.tabs.values()), None)
        return False

    def restart_browser(self, profile: str) -> Tab:
        """The profile's browser quits and starts again with what it keeps on disk (cookies,
        local storage), and the user opens the editor in it: one tab."""
        p = self.profiles.pop(profile)
        kept = with_origin(p.context.storage_state(), "{base}", self.target.base_url)
        offline = p.control.refusing
        p.context.close()
        return self.open_profile(profile, kept, offline=offline, zone=p.zone)

    def tab(self, profile: str, tab: str) -> Tab:
        return self.profiles[profile].tabs[tab]

    def identity(self, profile: str) -> dict[str, Any]:
        """What the profile's browser keeps (cookies, local storage), origins as `{base}`."""
        state = dict(self.profiles[profile].context.storage_state())
        return with_origin(state, "{base}", self.target.page_url)

    def mode(self, profile: str, tab: str) -> str:
        shown = self.tab(profile, tab).page.get_by_test_id("app-mode").get_attribute("data-mode")
        return str(shown or "")

    def period(self, profile: str, tab: str) -> int:
        raw = self.tab(profile, tab).schedule.table.get_attribute("data-period")
        return int(raw) if raw is not None and raw.lstrip("-").isdigit() else 0

    # -- a user's actions --------------------------------------------------------------------
    def go(self, profile: str, tab: str, period: int) -> None:
        self.tab(profile, tab).schedule.go_to_period(period)

    def key(self, profile: str, tab: str, delta: int) -> None:
        schedule = self.tab(profile, tab).schedule
        schedule.page.keyboard.press("ArrowRight" if delta > 0 else "ArrowLeft")

    def burst(self, profile: str, tab: str, targets: list[int]) -> None:
        """Ten switches in one second, by the period strip."""
        schedule, pacer = self.tab(profile, tab).schedule, Pacer(0.1)
        for target in targets:
            pacer.next_turn()
            schedule.go_to_period(target)

    def edit(self, profile: str, tab: str, staff_id: str, fields: dict[str, str]) -> dict[str, str]:
        schedule = self.tab(profile, tab).schedule
        held = schedule.begin_edit(staff_id, fields)
        schedule.save_edit(counted=False)  # the explorer waits for the frame, when one is due
        return held

    def move(self, profile: str, tab: str, staff_id: str, first: int, last: int | None) -> None:
        self.tab(profile, tab).schedule.move_staff(staff_id, first, last, counted=False)

    def create(
        self, profile: str, tab: str, name: str, position: str, first: int, last: int | None
    ) -> dict[str, str]:
        return self.tab(profile, tab).schedule.create_staff(name, position, first, last)

    def delete(self, profile: str, tab: str, staff_id: str) -> None:
        self.tab(profile, tab).schedule.delete_staff(staff_id)

    # -- a user who lingers over a form ----------------------------------------------------
    def open_form(self, profile: str, tab: str, staff_id: str | None) -> None:
        """Open a member's edit form (`staff_id`), or the create form, and leave it open."""
        schedule = self.tab(profile, tab).schedule
        if staff_id is None:
            schedule.open_new_form()
        else:
            schedule.open_editor(staff_id)

    def type(self, profile: str, tab: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Type into the open form (text, status, periods by index, None: no end); returns
        what the fields then hold, in the same terms."""
        typed = {FORM_CONTROLS.get(k, k): _control_value(v) for k, v in fields.items()}
        held = self.tab(profile, tab).schedule.fill_form(typed)
        back = {v: k for k, v in FORM_CONTROLS.items()}
        return {back.get(k, k): _field_value(back.get(k, k), v) for k, v in held.items()}

    def linger(self, profile: str, tab: str, seconds: float) -> None:
        """The user thinks, the form open: the time is the action itself."""
        self.tab(profile, tab).page.wait_for_timeout(seconds * 1000)

    def close_form(self, profile: str, tab: str, save: bool) -> None:
        """Save or cancel the open form (a save the browser's validation stops leaves it
        open: the check judges it)."""
        schedule = self.tab(profile, tab).schedule
        if save:
            schedule.submit_form()
        else:
            schedule.cancel_form()

    # -- faults --------------------------------------------------------------------------
    def offline(self, profile: str) -> None:
        self.profiles[profile].control.begin_outage()

    def online(self, profile: str) -> None:
        self.profiles[profile].control.end_outage()

    def cut(self, profile: str) -> None:
        self.profiles[profile].control.cut()

    def strike(self, profile: str, moment: str, fault: str, readers: list[str]) -> Strike:
        """Arm a fault at a protocol moment of the profile's next write (or resync): on the
        writer's sockets, and for a broadcast on the readers' (other profiles' tabs)."""
        act = None
        if fault == "kill":
            act = self.target.require_app().kill
        elif fault == "freeze":
            act = self.target.require_app().freeze
        strike = Strike(moment, fault, act)
        self.profiles[profile].control.arm(strike, "writer")
        for name in readers:
            self.profiles[name].control.arm(strike, "reader")
        return strike

    def wait_struck(self, profile: str, strike: Strike, readers: list[str]) -> None:
        """Until the strike met its frame: for a broadcast lost in an outage, every reader
        profile's (each is then offline)."""
        control = self.profiles[profile].control
        control.wait_struck(strike)
        if strike.moment == "broadcast" and strike.fault == "outage":
            for name in readers:
                self.profiles[name].control.wait_outage()

    def end_strike(self, strike: Strike, seconds: float) -> None:
        """The strike is over: a frozen server thaws after `seconds` (events keep reaching
        Playwright meanwhile) and what it held is delivered; every control disarmed."""
        try:
            if strike.fault == "freeze" and strike.struck:
                self.thaw_after(seconds)
        finally:
            for p in self.profiles.values():
                p.control.release(strike)
                p.control.disarm()

    def thaw_after(self, seconds: float) -> None:
        """The frozen server runs again after `seconds` (the freeze's length is the fault)."""
        self._hold(seconds)
        self.target.require_app().thaw()

    def _hold(self, seconds: float) -> None:
        some_page = next(t.page for p in self.profiles.values() for t in p.tabs.values())
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            some_page.wait_for_timeout(min(250.0, left * 1000))

    def kill(self) -> None:
        self.target.require_app().kill()

    def restart(self) -> None:
        self.target.require_app().restart()

    def freeze(self, seconds: float) -> None:
        app = self.target.require_app()
        app.freeze()
        try:
            self._hold(seconds)  # the length of the freeze is the fault itself
        finally:
            app.thaw()

    # -- another user, through the protocol ------------------------------------------------
    def other_write(self, kind: str, staff_id: str | None, body: dict[str, Any]) -> WireFrame:
        with self.target.wire() as client:
            if kind == "create":
                return client.create(body)
            if kind == "delete":
                assert staff_id is not None
                return client.delete(staff_id)
            assert staff_id is not None
            return client.update(staff_id, body)

    # -- evidence --------------------------------------------------------------------------
    def keep_evidence(self, folder: Path) -> list[str]:
        """Each open tab's screenshot, console and the probe's frames; returns the files."""
        folder.mkdir(parents=True, exist_ok=True)
        kept: list[str] = []
        for p in self.profiles.values():
            for t in p.tabs.values():
                stem = folder / f"profile-{p.name}-tab-{t.name}"
                try:
                    t.page.screenshot(path=f"{stem}.png", full_page=True)
                    frames = {
                        "shown": t.probe.describe(),
                        "console": t.errors,
                        "contentRan": t.content_ran(),
                        "sent": [w.__dict__ for w in t.probe.writes()],
                        "received": [r.__dict__ for r in t.probe.received()],
                        "sockets": [s.__dict__ for s in t.probe.sockets()],
                    }
                except Exception as exc:  # a closed or crashed page: keep what there is
                    frames = {"unreadable": str(exc), "console": t.errors}
                Path(f"{stem}.json").write_text(json.dumps(frames, indent=1, ensure_ascii=False))
                kept += [f"{stem}.png", f"{stem}.json"]
        return kept

    def close(self) -> None:
        for p in self.profiles.values():
            try:
                p.context.close()
            except Exception as exc:  # already gone with its browser
                if "closed" not in str(exc).lower():
                    raise
        self.profiles.clear()
