"""CPU slowdown by CDP (`Emulation.setCPUThrottlingRate`), calibrated to the machine.

The rate Chromium is given is not always the slowdown a page gets: on two shared cores a
rate of 4 once made a busy loop 7.6x slower, and at other times 3.7-4.5x. So the rate is found
by measuring: a fixed busy loop is timed unthrottled and at a trial rate, and the rate is
corrected until the loop runs the profile's factor slower (within 15 %, or after a few
rounds, which the run's facts then show).

Each timing is the least of several: a busy machine only ever adds time. A median let one
busy moment (the app or the browser starting beside the calibration) inflate the unthrottled
time, and the rate went to 6.4-8.6 for a 4x profile, which made the phone pass's rapid
switches janky in one run of three and not in the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Browser, BrowserContext, CDPSession, Page

# A busy loop long enough (about 50 ms unthrottled here, 200 ms at 4x) to span several of
# Chromium's throttling slices, returning the milliseconds it took: at 20 ms a throttled run
# took anywhere from 70 to 200 ms, by where the slices fell.
BUSY = """() => {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 1e7; i++) x = (x * 31 + i) % 1000003;
  return [performance.now() - t, x];
}"""
ROUNDS = 4
TOLERANCE = 0.15
SAMPLES = 5
WARM = 2


@dataclass(frozen=True)
class Calibration:
    factor: float  # asked for: the page this many times slower than unthrottled
    rate: float  # what Chromium is given
    achieved: float  # what the busy loop measured at that rate

    def describe(self) -> str:
        if self.factor == 1:
            return "this machine's CPU"
        return (
            f"{self.factor:g}x CPU (Chromium rate {self.rate:.2f}, measured"
            f" {self.achieved:.2f}x on a busy loop)"
        )


def _timed(page: Page, cdp: CDPSession, rate: float) -> float:
    """The busy loop's least time at `rate`, over SAMPLES runs."""
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    for _ in range(WARM):  # the first runs compile and optimise
        page.evaluate(BUSY)
    return min(float(page.evaluate(BUSY)[0]) for _ in range(SAMPLES))


def calibrate(browser: Browser, factor: float) -> Calibration:
    if factor <= 1:
        return Calibration(1.0, 1.0, 1.0)
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        base = _timed(page, cdp, 1)
        rate, achieved = factor, 0.0
        for _ in range(ROUNDS):
            achieved = _timed(page, cdp, rate) / base
            if abs(achieved - factor) <= TOLERANCE * factor:
                break
            # the unthrottled time again, its least so far: a slow first reading corrected
            base = min(base, _timed(page, cdp, 1))
            achieved = _timed(page, cdp, rate) / base
            if abs(achieved - factor) <= TOLERANCE * factor:
                break
            # a correction within half and twice the factor: one reading cannot send a 4x
            # profile to 8x
            rate = min(2 * factor, max(1.0, factor / 2, rate * factor / achieved))
        return Calibration(factor, rate, achieved)
    finally:
        context.close()


class Throttle:
    """Every page of a context at the calibrated rate, from its first script on."""

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration
        self._sessions: list[CDPSession] = []  # kept: a closed session drops the override

    def apply(self, context: BrowserContext) -> None:
        if self.calibration.rate <= 1:
            return
        for page in context.pages:
            self._page(context, page)
        context.on("page", lambda page: self._page(context, page))

    def _page(self, context: BrowserContext, page: Page) -> None:
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.calibration.rate})
        self._sessions.append(cdp)
        page.on("close", lambda _: self._sessions.remove(cdp))  # nothing kept of closed pages
