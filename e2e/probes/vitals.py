"""Core Web Vitals of every page the suite opens, by Google's `web-vitals` library (its IIFE
build, taken from the npm registry by `npm pack` and checked against the pinned integrity,
as the React client's libraries are; not kept in the repository, `bin/setup` fetches it).

The library runs in the page before any of the app's scripts and keeps the latest value of
each metric (LCP, INP and CLS as they change, FCP and TTFB once) in `window.__staffsyncVitals`;
the suite reads them when the test ends.

    python -m e2e.probes.vitals         # fetch it when missing, print its path
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from staffsync.vendor import VendorError, pack

VENDOR = Path(__file__).resolve().parent / "vendor"
PACKAGE = {
    "web-vitals": (
        "5.1.0",
        "sha512-ArI3kx5jI0atlTtmV0fWU3fjpLmq/nD3Zr1iFFlJLaqa5wLBkUSzINwBPySCX/8jRyjlmy1Volw1kz1g9XE4Jg==",
        "dist/web-vitals.iife.js",
    )
}
LIBRARY = VENDOR / f"web-vitals-{PACKAGE['web-vitals'][0]}.iife.js"
# Event Timing reports no interaction shorter than this (16 ms is its least): a page with
# interactions and no INP had every one of them under it, and counts as this bound.
INP_FLOOR_MS = 16
KEEP = """
;(() => {
  const held = (window.__staffsyncVitals = {});
  const keep = (metric) => { held[metric.name] = metric.value; };
  // the library's `var webVitals`, in this script's scope (Playwright wraps init scripts)
  const v = typeof webVitals === "undefined" ? window.webVitals : webVitals;
  if (!v) return;
  const always = { reportAllChanges: true };
  // LCP ends at a page's first input. The browser ends it at trusted input only, and the
  // suite's page object clicks some controls from a script (element.click()): without this,
  // the edit dialog a scripted click opened counted as the page's largest paint (LCP of
  // 5-23 s under mobile-flaky, on pages whose table showed at 3.5 s).
  let inputAt;
  for (const type of ["pointerdown", "keydown", "click"]) {
    addEventListener(type, () => { inputAt ??= performance.now(); }, { capture: true });
  }
  const beforeInput = (metric) => inputAt === undefined || metric.value <= inputAt;
  v.onLCP((metric) => beforeInput(metric) && keep(metric), always);
  v.onCLS(keep, always);
  v.onINP(keep, { ...always, durationThreshold: INP_FLOOR_MS });
  // web-vitals 5.1.0 reports no INP for a page's first interaction while it is the only
  // one (measured here); INP of a page with under 50 interactions is its longest, which
  // Event Timing gives. And a count, for a page whose every interaction was under the floor.
  held.longest = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.interactionId) held.longest = Math.max(held.longest, e.duration);
    }
  }).observe({ type: "event", buffered: true, durationThreshold: INP_FLOOR_MS });
  held.interactions = 0;
  for (const type of ["pointerdown", "keydown"]) {
    addEventListener(type, () => { held.interactions += 1; }, { capture: true, passive: true });
  }
  v.onFCP(keep); v.onTTFB(keep);
})();
""".replace("INP_FLOOR_MS", str(INP_FLOOR_MS))
# metric name in the page -> (the suite's metric, unit)
METRICS = {
    "LCP": ("vitals.lcp_ms", "ms"),
    "FCP": ("vitals.fcp_ms", "ms"),
    "TTFB": ("vitals.ttfb_ms", "ms"),
    "INP": ("vitals.inp_ms", "ms"),
    "CLS": ("vitals.cls", "score"),
}


def ensure() -> Path:
    if not LIBRARY.is_file():
        pack(PACKAGE, lambda _: LIBRARY)
    return LIBRARY


def install(context: BrowserContext) -> None:
    """Every page of `context` measures its Web Vitals (one init script: Playwright does
    not order several)."""
    context.add_init_script(script=ensure().read_text(encoding="utf-8") + KEEP)


def read(page: Page) -> dict[str, float]:
    """The page's Web Vitals so far, by the suite's metric names (those it has: INP needs an
    interaction, LCP stops at the first input). Where web-vitals gave no INP for a page
    with interactions, it is the longest by Event Timing, or the floor when every one was
    quicker than Event Timing reports."""
    try:
        held: dict[str, Any] = page.evaluate("() => window.__staffsyncVitals || {}")
    except PlaywrightError:
        return {}
    found = {METRICS[k][0]: float(v) for k, v in held.items() if k in METRICS}
    if held.get("interactions") and "INP" not in held:
        found["vitals.inp_ms"] = float(max(held.get("longest", 0), INP_FLOOR_MS))
    return found


# those timed from the page's start (its navigation), which a stall of the link can hold
FROM_START = ("vitals.lcp_ms", "vitals.fcp_ms", "vitals.ttfb_ms")


def origin(page: Page) -> float | None:
    """When the page's navigation began, on the epoch clock the suite's probes use."""
    try:
        return float(page.evaluate("() => performance.timeOrigin"))
    except PlaywrightError:
        return None


def unit(metric: str) -> str:
    return next(u for m, u in METRICS.values() if m == metric)


def main() -> int:
    try:
        print(ensure())
    except (VendorError, OSError) as exc:
        print(f"e2e.probes.vitals: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
