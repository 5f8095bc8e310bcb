"""JS heap from CDP after a forced GC, and resident memory of processes (psutil)."""

from __future__ import annotations

import psutil
from playwright.sync_api import CDPSession, Page

# resolves in an idle period, after the idle callbacks queued before it
IDLE = "() => new Promise((resolve) => requestIdleCallback(() => resolve(null)))"


class HeapProbe:
    """`performance.memory` is bucketed in headless Chromium; CDP gives exact figures."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def used_after_gc(self) -> int:
        return int(self.after_gc()["JSHeapUsedSize"])

    def after_gc(self) -> dict[str, float]:
        """CDP Performance metrics after a forced GC: JSHeapUsedSize, and the counts that a
        leak too small for the heap figure still moves (JSEventListeners, Nodes, Documents).
        Taken once the page has been idle: work put off until then holds listeners meanwhile
        (web-vitals keeps a visibilitychange listener per interaction until an idle
        callback), which a busy page would show as listeners come and gone."""
        self.page.evaluate(IDLE)
        self.cdp.send("HeapProfiler.collectGarbage")
        self.cdp.send("HeapProfiler.collectGarbage")
        return self._metrics()

    def _metrics(self) -> dict[str, float]:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in metrics}

    def lasting(self, names: tuple[str, ...], readings: int = 3) -> dict[str, float]:
        """after_gc(), with each of `names` the least of `readings` readings an idle period
        apart: a listener held for a moment (a probe's, the browser's) is gone in one of
        them, a leaked one is in all."""
        held = self.after_gc()
        for _ in range(readings - 1):
            self.page.evaluate(IDLE)
            again = self._metrics()
            for name in names:
                held[name] = min(held[name], again[name])
        return held

    def detach(self) -> None:
        self.cdp.detach()


def renderer_rss_bytes() -> list[int]:
    """RSS of every Chromium renderer started under this test process."""
    sizes: list[int] = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in " ".join(proc.cmdline()):
                sizes.append(int(proc.memory_info().rss))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sizes
