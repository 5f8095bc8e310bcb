"""Per-page figures of connection stability and error rate, from what the page's probes saw."""

from __future__ import annotations

from e2e.probes.network import NetworkLog
from e2e.probes.page_probe import PageSocket


def connected_ratio(sockets: list[PageSocket], now: float) -> float | None:
    """Time with an open socket / time since the first socket opened (page clock); None
    before any socket opened. Connecting at load is not instability."""
    spans = sorted((s.open_at, s.closed_at or now) for s in sockets if s.open_at is not None)
    if not spans or now <= spans[0][0]:
        return None
    start = spans[0][0]
    covered, cursor = 0.0, start
    for opened, closed in spans:
        opened = max(opened, cursor)
        if closed > opened:
            covered += closed - opened
            cursor = closed
    return covered / (now - start)


def error_counts(network: NetworkLog) -> tuple[int, int]:
    """(ERROR frames received, frames sent other than heartbeats)."""
    errors = len(network.frames_since(0.0, {"ERROR"}))
    sent = sum(1 for s in network.sockets for f in s.frames if f.sent)
    return errors, sent - len(network.sent_of("PING"))
