"""A rollout step as users meet it: the share the feature flag announces, the interval a
fair draw of N users falls in, and the mode a page says it runs."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from math import comb

from playwright.sync_api import Page

# A healthy rollout run should almost never be called unfair: with this two-sided level a
# share is judged off the flag when a fair draw gives so few or so many users 1 time in 1000.
FALSE_ALARM = 0.001
MODES = ("prefetch", "legacy")


@dataclass(frozen=True)
class Announced:
    percent: int
    source: str  # where the percentage came from, for messages


def announced(base_url: str, expected: int | None) -> Announced | None:
    """The share of users the target says it puts in the new mode: its /config.json's
    rolloutPercent when it publishes one, else `expected` (--expect-rollout), else None."""
    try:
        with urllib.request.urlopen(base_url + "/config.json", timeout=5) as resp:
            published = json.loads(resp.read()).get("rolloutPercent")
    except (OSError, ValueError):
        published = None
    if isinstance(published, int | float) and 0 <= published <= 100:
        return Announced(int(published), f"{base_url}/config.json rolloutPercent")
    if expected is not None:
        return Announced(expected, "--expect-rollout")
    return None


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    return min(1.0, sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(min(k, n) + 1)))


def fair_interval(n: int, percent: int, alpha: float = FALSE_ALARM) -> tuple[int, int]:
    """The counts of users in the new mode that a fair draw of `n` users at `percent` gives
    with probability at least 1 - alpha: [lo, hi], each tail holding at most alpha / 2."""
    p = percent / 100
    lo = 0
    while lo < n and binomial_cdf(lo, n, p) <= alpha / 2:
        lo += 1
    hi = n
    while hi > 0 and 1 - binomial_cdf(hi - 1, n, p) <= alpha / 2:
        hi -= 1
    return lo, hi


def page_mode(page: Page) -> str:
    """The mode the page says it runs (the test contract's `app-mode` `data-mode`)."""
    badge = page.get_by_test_id("app-mode")
    badge.wait_for(state="attached", timeout=10_000)
    return str(badge.get_attribute("data-mode") or "")
