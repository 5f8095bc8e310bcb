"""A simulated user: own browser context, the schedule page, and the probes on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, ConsoleMessage, Dialog, Page

from e2e.pages.schedule_page import PageExpectation, SchedulePage
from e2e.probes import page_probe, sentinel, vitals
from e2e.probes.faults import SocketControl
from e2e.probes.memory import HeapProbe
from e2e.probes.network import NetworkLog
from e2e.probes.page_probe import PageProbe


@dataclass
class User:
    name: str
    context: BrowserContext
    page: Page
    schedule: SchedulePage
    probe: PageProbe
    network: NetworkLog
    evidence: str
    control: SocketControl | None = None
    console_errors: list[str] = field(default_factory=list)
    mode: str = ""  # the client mode asked for when the page was opened
    # how long the conditions' link stalled between two moments of the pages' epoch clock
    held_ms: Callable[[float, float], float] = lambda start, end: 0.0
    _heap: HeapProbe | None = None

    @property
    def heap(self) -> HeapProbe:
        if self._heap is None:
            self._heap = HeapProbe(self.page)
        return self._heap

    def open(self, mode: str) -> None:
        """Load the editor and wait until it shows a period and its socket has synced (a
        page that shows the rows it came with syncs once its socket opens: the tests begin
        after that, as a user's edits reach others only once it is open)."""
        self.mode = mode
        self.schedule.open(mode)
        if not self.probe.wait_synced():
            raise PageExpectation(
                "Expected the page's socket to receive its sync answer within 30 s; the page"
                f" showed {self.schedule.describe()}"
            )


def make_user(
    new_context: Callable[..., BrowserContext], name: str, evidence: str, control_sockets: bool
) -> User:
    context = new_context()
    # Socket routing first, so that the probe's WebSocket wrapper is the outermost one and
    # sees the sockets exactly as the app does.
    control = SocketControl(context) if control_sockets else None
    page_probe.install(context)
    sentinel.install(context)
    vitals.install(context)
    page = context.new_page()
    if control is not None:
        control.page = page
    network = NetworkLog(page)
    user = User(
        name=name,
        context=context,
        page=page,
        schedule=SchedulePage(page),
        probe=PageProbe(page),
        network=network,
        evidence=evidence,
        control=control,
    )

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            user.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("dialog", answer)
    page.on("pageerror", lambda exc: user.console_errors.append(f"page error: {exc}"))
    return user


def answer(dialog: Dialog) -> None:
    """A user answers "OK" to the app's own confirm() (e.g. before a delete), and stays on
    a page that warns of unsaved changes before unload."""
    if dialog.type == "beforeunload":
        dialog.dismiss()
    else:
        dialog.accept()


def another_tab(user: User, name: str) -> User:
    """A second tab in `user`'s browser profile: same storage, same socket control."""
    return tab_in(user.context, name, user.evidence, user.control)


def tab_in(
    context: BrowserContext, name: str, evidence: str, control: SocketControl | None
) -> User:
    """A new tab in a browser profile whose probes are installed (see `make_user`)."""
    page = context.new_page()
    tab = User(
        name=name,
        context=context,
        page=page,
        schedule=SchedulePage(page),
        probe=PageProbe(page),
        network=NetworkLog(page),
        evidence=evidence,
        control=control,
    )
    page.on("dialog", answer)
    page.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    return tab
