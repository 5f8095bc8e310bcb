"""The in-page probe (instrument.js): navigation latency, table snapshots, long tasks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from e2e.harness.catalogue import explain

SCRIPT = Path(__file__).with_name("instrument.js")


def install(context: BrowserContext) -> None:
    """Every page of `context` runs the probe before any of its own scripts."""
    context.add_init_script(path=str(SCRIPT))


@dataclass(frozen=True)
class Navigation:
    target: int
    input_at: float | None
    frame_at: float | None

    @property
    def latency_ms(self) -> float | None:
        """Input event to the first frame after the table shows the target period."""
        if self.input_at is None or self.frame_at is None:
            return None
        return self.frame_at - self.input_at


@dataclass(frozen=True)
class PageSocket:
    url: str
    created_at: float
    open_at: float | None
    closed_at: float | None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class Snapshot:
    t: float
    period: int
    ids: tuple[str, ...]


def describe(page: Page) -> str:
    """What a page shows now, through the test contract and the probe (failure messages)."""
    try:
        return str(
            page.evaluate("() => window.__ssProbe ? window.__ssProbe.describe() : document.title")
        )
    except Exception as exc:  # the page may be gone; the message must still be written
        return f"(the page could not be read: {exc})"


@dataclass(frozen=True)
class SentWrite:
    """A write frame as it left the page's socket (epoch ms on the machine's clock)."""

    at: float
    type: str
    text: str
    input_at: float | None  # the last trusted input before it (the save click)


@dataclass(frozen=True)
class ReceivedWrite:
    """A write broadcast as it reached the page, before the app handled it (epoch ms)."""

    at: float
    type: str
    text: str


@dataclass(frozen=True)
class Seen:
    """When the table first showed a watched value, and the first frame after (epoch ms)."""

    seen_at: float
    frame_at: float


class PageProbe:
    def __init__(self, page: Page) -> None:
        self.page = page

    def describe(self) -> str:
        return describe(self.page)

    def wait(
        self,
        expression: str,
        arg: Any,
        timeout_ms: float,
        expected: str,
        defects: tuple[str, ...] = (),
        evidence: str = "",
    ) -> None:
        """page.wait_for_function, failing with what was expected and what the page showed."""
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=timeout_ms)
        except PlaywrightTimeout:
            seen = (
                f"nothing like it within {timeout_ms / 1000:.1f} s;"
                f" the page showed {self.describe()}"
            )
            raise AssertionError(explain(expected, seen, defects, evidence)) from None

    def _get(self, expression: str) -> Any:
        return self.page.evaluate(f"() => {{ const p = window.__ssProbe; return {expression}; }}")

    def stop_recording(self) -> None:
        """Keep no history from now on, so that heap figures hold only the app's memory."""
        self.page.evaluate(
            "() => { const p = window.__ssProbe; p.recording = false; p.snapshots = [];"
            " p.events = []; p.navigations = []; }"
        )

    def expect_navigation(self, target: int) -> None:
        self.page.evaluate("t => window.__ssProbe.expect(t)", target)

    def navigations(self) -> list[Navigation]:
        raw = self._get("p.navigations")
        return [Navigation(n["target"], n["inputAt"], n["frameAt"]) for n in raw]

    def wait_measured(self, timeout_ms: float = 15_000) -> None:
        """Until the latest navigation has reached its frame (or was superseded)."""
        self.wait(
            "() => { const w = window.__ssProbe.waiting; return !w || w.frameAt !== null; }",
            None,
            timeout_ms,
            "the last navigation to reach its first frame",
        )

    def watch(
        self,
        key: str,
        *,
        text: str | None = None,
        staff_id: str | None = None,
        field: str = "name",
        absent: bool = False,
    ) -> None:
        """Note when the table first shows `text` in `field` (of `staff_id`, or of any row),
        or, with `absent`, first shows no row of `staff_id`."""
        spec = {"text": text, "staffId": staff_id, "field": field, "absent": absent}
        self.page.evaluate("([k, s]) => window.__ssProbe.watch(k, s)", [key, spec])

    def seen(
        self,
        key: str,
        timeout_ms: float,
        expected: str,
        defects: tuple[str, ...] = (),
        evidence: str = "",
    ) -> Seen:
        """When the watched `key` was first shown (waits for it and its frame)."""
        self.wait(
            "k => { const w = window.__ssProbe.watching[k]; return !!w && w.frameAt !== null; }",
            key,
            timeout_ms,
            expected,
            defects,
            evidence,
        )
        raw = self.page.evaluate("k => window.__ssProbe.watching[k]", key)
        return Seen(raw["seenAt"], raw["frameAt"])

    def happens_within(self, expression: str, arg: Any, window_ms: float) -> bool:
        """Whether `expression` comes true within the window (a check that something must,
        or must not, happen in that time)."""
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=window_ms)
        except PlaywrightTimeout:
            return False
        return True

    def wait_reconnected(
        self, since: float, timeout_ms: float, defects: tuple[str, ...], evidence: str
    ) -> None:
        """Until the badge says "connected" again after page time `since`."""
        self.wait(
            """t => {
              const p = window.__ssProbe;
              const badge = document.querySelector('[data-testid="connection-badge"]');
              if (!badge || badge.getAttribute("data-state") !== "connected") return false;
              return p.states.some(s => s.t >= t && s.state === "connected")
                || p.socketList().some(s => s.openAt !== null && s.openAt >= t);
            }""",
            since,
            timeout_ms,
            "the client to reconnect on its own",
            defects,
            evidence,
        )

    def new_socket_within(self, known: int, window_ms: float) -> bool:
        """Whether the page opens a socket beyond its first `known` within the window."""
        return self.happens_within("n => window.__ssProbe.sockets.length > n", known, window_ms)

    def wait_closed(
        self, first: int, timeout_ms: float, defects: tuple[str, ...], evidence: str
    ) -> None:
        """Until the page's first `first` sockets are all closed."""
        self.wait(
            "n => window.__ssProbe.socketList().slice(0, n).every(s => s.closedAt !== null)",
            first,
            timeout_ms,
            f"the page's first {first} socket(s) closed",
            defects,
            evidence,
        )

    def closed_at(
        self, first: int, timeout_ms: float, defects: tuple[str, ...], evidence: str
    ) -> float:
        """Page time at which the last of the page's first `first` sockets closed, once they
        all have: the moment a fault struck in a route handler, which may come and go (the
        client reconnecting) before the suite's next call returns."""
        self.wait_closed(first, timeout_ms, defects, evidence)
        closed = [s.closed_at for s in self.sockets()[:first] if s.closed_at is not None]
        return max(closed)

    def unsettled_within(self, window_ms: float) -> bool:
        """Whether, within the window, the page has other than one open socket or its badge
        says other than connected."""
        return self.happens_within(
            """() => {
              const open = window.__ssProbe.socketList().filter(s => s.closedAt === null).length;
              const badge = document.querySelector('[data-testid="connection-badge"]');
              return open !== 1 || !badge || badge.getAttribute("data-state") !== "connected";
            }""",
            None,
            window_ms,
        )

    def disconnected_within(self, window_ms: float) -> bool:
        """Whether the badge leaves "connected" within the window."""
        return self.happens_within(
            "() => document.querySelector('[data-testid=\"connection-badge\"]')"
            ".getAttribute('data-state') !== 'connected'",
            None,
            window_ms,
        )

    def states(self, since: float = 0.0) -> list[dict[str, Any]]:
        """The badge's state changes ({t, state}) at or after page time `since`."""
        changes: list[dict[str, Any]] = self._get("p.states")
        return [c for c in changes if c["t"] >= since]

    def connected_after(self, t: float) -> float | None:
        """Page time of the first "connected" badge state at or after page time `t`."""
        for change in self.states(t):
            if change["state"] == "connected":
                return float(change["t"])
        return None

    def disagreements(self) -> list[dict[str, Any]]:
        """Painted frames whose period label, current chip and ready table disagreed."""
        frames: list[dict[str, Any]] = self._get("p.disagreements")
        return frames

    def writes(self) -> list[SentWrite]:
        return [
            SentWrite(w["at"], w["type"], w["text"], w["inputAt"]) for w in self._get("p.writes")
        ]

    def writes_sent(self) -> int:
        """How many write frames (STAFF_UPDATE, STAFF_CREATE, STAFF_DELETE) the page sent."""
        count: int = self._get("p.writes.length")
        return count

    def wait_sent(self, after: int, timeout_ms: float = 10_000) -> bool:
        """Whether the page sends more than `after` write frames within the time: a form
        that closed has not always handed its write to the socket yet (a dialog's close
        event is a task of its own)."""
        try:
            self.page.wait_for_function(
                "(n) => window.__ssProbe.writes.length > n", arg=after, timeout=timeout_ms
            )
        except PlaywrightTimeout:
            return False
        return True

    def wait_synced(self, timeout_ms: float = 30_000) -> bool:
        """Whether a socket of the page receives its sync answer (one period or all) within
        the time: a page may show the rows it came with before its socket is open."""
        try:
            self.page.wait_for_function("() => window.__ssProbe.syncs > 0", timeout=timeout_ms)
        except PlaywrightTimeout:
            return False
        return True

    def wait_received(self, text: str, timeout_ms: float = 10_000) -> bool:
        """Whether a write frame holding `text` reaches the page (and its handler, which
        runs in the same task) within the time."""
        try:
            self.page.wait_for_function(
                "(t) => window.__ssProbe.received.some((r) => r.text.includes(t))",
                arg=text,
                timeout=timeout_ms,
            )
        except PlaywrightTimeout:
            return False
        return True

    def received(self) -> list[ReceivedWrite]:
        return [ReceivedWrite(r["at"], r["type"], r["text"]) for r in self._get("p.received")]

    def sockets(self) -> list[PageSocket]:
        return [
            PageSocket(s["url"], s["createdAt"], s["openAt"], s["closedAt"])
            for s in self._get("p.socketList()")
        ]

    def snapshots(self) -> list[Snapshot]:
        return [Snapshot(s["t"], s["period"], tuple(s["ids"])) for s in self._get("p.snapshots")]

    def long_tasks(self, since: float = 0.0) -> list[dict[str, float]]:
        tasks: list[dict[str, float]] = self._get("p.longTasks")
        return [t for t in tasks if t["start"] >= since]

    def event_timings(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self._get("p.events")
        return events

    def errors(self) -> list[str]:
        errors: list[str] = self._get("p.errors")
        return errors

    def now(self) -> float:
        value: float = self.page.evaluate("() => performance.now()")
        return value

    def first_row_ms(self, timeout_ms: float = 30_000) -> float:
        self.wait(
            "() => window.__ssProbe.firstRowAt !== null",
            None,
            timeout_ms,
            "the first staff row to be shown",
        )
        value: float = self._get("p.firstRowAt")
        return value

    def fcp_ms(self) -> float | None:
        value: float | None = self._get("p.fcp()")
        return value
