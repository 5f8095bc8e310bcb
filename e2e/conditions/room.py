"""The run's conditions in force: the harness asks the room for an app's options, the URL
pages reach an app by, the browser's flags and every browser context; nothing else builds
one. Network figures come from a relay in front of each app (the embedded one, the apps a
test starts of its own, a --base-url deployment), CPU from calibrated CDP throttling, the
device, zone and locale from Playwright's context options."""

from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import replace
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Playwright

from e2e.conditions.cpu import Calibration, Throttle, calibrate
from e2e.conditions.profiles import Conditions
from e2e.conditions.relay import Relay
from e2e.harness.options import SuiteConfig
from staffsync.dataset import generate

BUNDLED_STAFF_PER_PERIOD = 18  # fixtures/staff.json: about 18 members a period


def settle(config: SuiteConfig) -> SuiteConfig:
    """The run's settings with the conditions' database: a DB latency the conditions set
    (unless a larger one was asked for), and staff x N as a generated dataset in the run's
    directory (unless a dataset was given)."""
    c = config.conditions
    changes: dict[str, Any] = {}
    if c.db_latency_ms > config.db_latency_ms:
        changes["db_latency_ms"] = c.db_latency_ms
    if c.staff_factor > 1 and config.dataset is None:
        periods = config.periods or 17
        path = config.run_dir / f"dataset-staff-x{c.staff_factor}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = generate(periods, BUNDLED_STAFF_PER_PERIOD * c.staff_factor)
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        changes["dataset"] = path
    return replace(config, **changes) if changes else config


def _host_port(base_url: str) -> tuple[str, int]:
    url = urllib.parse.urlsplit(base_url)
    if url.hostname is None:
        raise ValueError(f"no host in {base_url!r}")
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)


class Room:
    def __init__(
        self, conditions: Conditions, deployment: str | None = None, seed: int = 0
    ) -> None:
        """`deployment`: the --base-url, None for apps the suite starts itself."""
        self.conditions = conditions
        self.deployment = deployment
        self.seed = seed
        self.relays: dict[tuple[str, int], Relay] = {}
        self.calibration: Calibration | None = None
        self.db_latency_ms = conditions.db_latency_ms

    @classmethod
    def of(cls, config: SuiteConfig) -> Room:
        room = cls(config.conditions, config.base_url, config.explore_seed)
        room.db_latency_ms = config.db_latency_ms
        return room

    # -- the network ---------------------------------------------------------------------
    def _relay(self, upstream: tuple[str, int]) -> Relay:
        relay = self.relays.get(upstream)
        if relay is None:
            assert self.conditions.network is not None
            relay = Relay(upstream, self.conditions.network, seed=self.seed)
            relay.start()
            self.relays[upstream] = relay
        return relay

    def front(self, base_url: str) -> str:
        """The URL pages reach an app by that the suite started here (loopback): the relay's
        when the conditions have a network, else the app's own."""
        if self.conditions.network is None:
            return base_url
        relay = self._relay(_host_port(base_url))
        return f"http://127.0.0.1:{relay.port}"

    def launch_args(self) -> list[str]:
        """Chromium's flags: a --base-url deployment's host is sent to a relay, the page's
        URL, TLS name and Host header unchanged (the app itself is not touched)."""
        if self.conditions.network is None or not self.deployment:
            return []
        host, port = _host_port(self.deployment)
        relay = self._relay((host, port))
        return [f"--host-resolver-rules=MAP {host} 127.0.0.1:{relay.port}"]

    def stalled_s(self) -> float:
        return sum(r.stalled_s() for r in self.relays.values())

    def rtt_range(self) -> tuple[int, int] | None:
        network = self.conditions.network
        return network.rtt_range() if network is not None else None

    def slack_s(self) -> float:
        """What the link may add to a wait tuned on loopback: its longest stall and four of
        its longest round trips (a legacy tab's new socket: connection, upgrade, its sync,
        and one to spare). 0 on loopback."""
        n = self.conditions.network
        if n is None:
            return 0.0
        stall = n.stall_s[1] if n.stall_every_s else 0.0
        return stall + 4 * (n.rtt_ms + n.jitter_ms / 2) / 1000

    def set_rtt(self, rtt_ms: float) -> None:
        """Every relay's round trip from now on (within the profile's range)."""
        for relay in self.relays.values():
            relay.set_rtt(rtt_ms)

    def held_ms(self, start_ms: float, end_ms: float) -> float:
        """How long the link stalled between two moments on the pages' epoch clock
        (`performance.timeOrigin + performance.now()`, ms): a frame in flight then was held
        by the network, not by the app. 0 when nothing stalled."""
        to_mono = time.monotonic() - time.time()  # the relays' clock from the epoch's
        start, end = start_ms / 1000 + to_mono, end_ms / 1000 + to_mono
        windows = sorted(w for r in self.relays.values() for w in r.stall_windows())
        held, reached = 0.0, start
        for s, e in windows:  # their union, clipped to [start, end]
            s, e = max(s, reached), min(e, end)
            if e > s:
                held += e - s
                reached = e
        return held * 1000

    # -- the browser ---------------------------------------------------------------------
    def context_args(self, playwright: Playwright, args: dict[str, Any]) -> dict[str, Any]:
        """`args` with the conditions' device, zone and locale (a --device given to
        pytest-playwright, already in `args`, keeps its own screen)."""
        c = self.conditions
        merged = dict(args)
        if c.device and "user_agent" not in args:
            merged |= playwright.devices[c.device]
        if c.timezone:
            merged["timezone_id"] = c.timezone
        if c.locale:
            merged["locale"] = c.locale
        return merged

    def calibrated(self, browser: Browser) -> Calibration:
        if self.calibration is None:
            self.calibration = calibrate(browser, self.conditions.cpu)
        return self.calibration

    def prepare(self, browser: Browser, context: BrowserContext) -> BrowserContext:
        """A context made elsewhere (pytest-playwright's fixtures) put under the
        conditions: every page it opens runs at the calibrated CPU rate."""
        Throttle(self.calibrated(browser)).apply(context)
        return context

    def new_context(self, browser: Browser, **args: Any) -> BrowserContext:
        """A browser context under the conditions; `args` as given to Browser.new_context
        (already holding the run's context options)."""
        return self.prepare(browser, browser.new_context(**args))

    def describe(self) -> str:
        cpu = self.calibration.describe() if self.calibration else ""
        text = f"{self.conditions.name}: {self.conditions.describe()}"
        return text + (f" [{cpu}]" if cpu and self.conditions.cpu != 1 else "")

    def facts(self) -> dict[str, Any]:
        """For the run's environment: what the figures were taken under."""
        c = self.conditions
        facts: dict[str, Any] = {
            "name": c.name,
            "figures": c.describe(),
            "network": None
            if c.network is None
            else vars(c.network) | {"relay": "e2e.conditions.relay"},
            "device": c.device,
            "timezone": c.zone,
            "locale": c.locale or "en-US",
            "dbLatencyMs": self.db_latency_ms,
            "staffFactor": c.staff_factor,
        }
        if self.calibration is not None:
            facts["cpu"] = vars(self.calibration)
        if self.relays:
            facts["stalledS"] = round(self.stalled_s(), 1)
        return facts

    def close(self) -> None:
        for relay in self.relays.values():
            relay.stop()
        self.relays.clear()
