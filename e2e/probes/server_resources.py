"""What the server holds: resident memory, open file descriptors, event-loop tasks and its
own count of connected clients, read from the target's /metrics (Prometheus text: the
process gauges every client library exports, `staffsync_asyncio_tasks` and
`staffsync_connected_clients` where the server has them), else, for the embedded app run
without /metrics, from its process by psutil. A server that keeps something of every
connection it ever had shows here once the connections are gone."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import psutil

from e2e.load.scrape import values

SETTLE_S = 10.0
# what a server holds beyond its baseline, and the metric each is recorded as
LEFT_METRICS = {
    "connections": "server.connections_left",
    "descriptors": "server.fds_left",
    "tasks": "server.tasks_left",
}


@dataclass(frozen=True)
class Resources:
    rss_bytes: float
    heap_bytes: float | None  # malloc's bytes in use after a collection, where exported
    open_fds: float | None
    tasks: float | None
    clients: float | None
    started: float | None  # the process's start time (a restart makes a new baseline)
    source: str  # "/metrics" or "psutil"

    @property
    def memory(self) -> tuple[float, str]:
        """The server's memory and its gauge: its heap after a garbage collection where the
        server gives it (it falls when objects are freed), else its resident memory."""
        if self.heap_bytes is not None:
            return self.heap_bytes, "staffsync_heap_after_gc_bytes"
        return self.rss_bytes, "rss"

    def left_over(self, baseline: Resources) -> dict[str, float]:
        """What this reading holds beyond `baseline` (connections, descriptors, tasks)."""
        pairs = {
            "connections": (self.clients, baseline.clients),
            "descriptors": (self.open_fds, baseline.open_fds),
            "tasks": (self.tasks, baseline.tasks),
        }
        return {
            kind: max(0.0, now - was)
            for kind, (now, was) in pairs.items()
            if now is not None and was is not None
        }


class Unreadable(RuntimeError):
    """Neither /metrics nor the process: the server's resources cannot be read here."""


def read(base_url: str, pid: int | None = None) -> Resources:
    """The server's resources now: its /metrics, else (an embedded app) its process."""
    url = base_url.rstrip("/") + "/metrics?gc=1"  # a server that has no such switch ignores it
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            found = values(resp.read().decode("utf-8", "replace"))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        if pid is None:
            raise Unreadable(f"{url} is not readable ({exc}); the process is not here") from None
        return _of_process(pid)
    if "process_resident_memory_bytes" not in found:
        if pid is None:
            raise Unreadable(f"{url} has no process_resident_memory_bytes")
        return _of_process(pid)
    return Resources(
        rss_bytes=found["process_resident_memory_bytes"],
        heap_bytes=found.get("staffsync_heap_after_gc_bytes"),
        open_fds=found.get("process_open_fds"),
        tasks=found.get("staffsync_asyncio_tasks"),
        clients=found.get("staffsync_connected_clients"),
        started=found.get("process_start_time_seconds"),
        source="/metrics",
    )


def _of_process(pid: int) -> Resources:
    proc = psutil.Process(pid)
    with proc.oneshot():
        return Resources(
            rss_bytes=float(proc.memory_info().rss),
            heap_bytes=None,
            open_fds=float(proc.num_fds()),
            tasks=None,
            clients=None,
            started=proc.create_time(),
            source="psutil",
        )


def settle(
    base_url: str,
    baseline: Resources,
    pid: int | None = None,
    timeout_s: float = SETTLE_S,
    kinds: tuple[str, ...] = tuple(LEFT_METRICS),
) -> Resources:
    """The first reading that holds nothing of `kinds` beyond `baseline` (the server has let
    go of the closed connections), or the last one after `timeout_s`: what it kept."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = read(base_url, pid)
        left = now.left_over(baseline)
        if not any(left.get(kind, 0.0) for kind in kinds) or time.monotonic() > deadline:
            return now
        time.sleep(0.1)  # the next reading; the condition is the server letting go


def warm(base_url: str, cold: Resources, pid: int | None = None) -> Resources:
    """What a warmed-up server holds with no connection: the first reading after its clients
    and tasks are back to the `cold` reading's. A warm server keeps descriptors a cold one had
    not opened yet (its database's files, its executor's threads), so they are not waited
    for; where neither clients nor tasks are exported (psutil), descriptors are."""
    readable = {"connections": cold.clients, "tasks": cold.tasks}
    kinds = tuple(kind for kind, value in readable.items() if value is not None)
    return settle(base_url, cold, pid, kinds=kinds or ("descriptors",))
