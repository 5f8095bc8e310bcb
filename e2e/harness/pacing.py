"""Input at a fixed rhythm (10 switches in 1 s): a schedule for sending input, not a wait
for a result. Results are always awaited by condition."""

from __future__ import annotations

import time


class Pacer:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.next_at = time.monotonic()

    def next_turn(self) -> None:
        """Return at the next beat (at once when running late)."""
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic() - self.interval_s) + self.interval_s
