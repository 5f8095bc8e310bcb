"""The in-page probe (instrument.js): navigation latency, table snapshots, long tasks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page

SCRIPT = Path(__file__).with_name("instrument.js")


def install(context: BrowserContext) -> None:
    """Every page of `context` runs the probe before any of its own scripts."""
    context.add_init_script(path=str(SCRIPT))


@dataclass(frozen=True)
class Navigation:
    target: int
    input_at: float | None
    ready_at: float | None
    frame_at: float | None
    superseded: bool

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


class PageProbe:
    def __init__(self, page: Page) -> None:
        self.page = page

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
        return [
            Navigation(n["target"], n["inputAt"], n["readyAt"], n["frameAt"], n["superseded"])
            for n in raw
        ]

    def wait_measured(self, timeout_ms: float = 15_000) -> None:
        """Until the latest navigation has reached its frame (or was superseded)."""
        self.page.wait_for_function(
            "() => { const w = window.__ssProbe.waiting; return !w || w.frameAt !== null; }",
            timeout=timeout_ms,
        )

    def watch_name(self, name: str) -> None:
        self.page.evaluate("n => window.__ssProbe.watchName(n)", name)

    def name_seen_at(self, name: str, timeout_ms: float = 10_000) -> float:
        """Epoch ms at which `name` first showed in the table (waits for it)."""
        self.page.wait_for_function(
            "n => window.__ssProbe.watching[n] !== null", arg=name, timeout=timeout_ms
        )
        value: float = self.page.evaluate("n => window.__ssProbe.watching[n]", name)
        return value

    def wait_sent(self, kind: str, after: float, timeout_ms: float = 15_000) -> None:
        """Until the page sends a `kind` frame after page time `after`."""
        self.page.wait_for_function(
            "([k, t]) => window.__ssProbe.sentAfter(k, t)", arg=[kind, after], timeout=timeout_ms
        )

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
        self.page.wait_for_function(
            "() => window.__ssProbe.firstRowAt !== null", timeout=timeout_ms
        )
        value: float = self._get("p.firstRowAt")
        return value

    def fcp_ms(self) -> float | None:
        value: float | None = self._get("p.fcp()")
        return value
