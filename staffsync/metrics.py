"""The app's own figures in Prometheus' text format at /metrics, as production's server
exposes them: process memory and CPU, connected clients by mode, frames in and out by type,
and how long a broadcast takes to reach every client. One registry per app (no global
state), so that apps made in one process do not share counters."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import cast

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# a broadcast's fan-out, from its first send to its last: sub-millisecond to a second
FANOUT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
TYPE_PREFIX = '{"type":"'  # how protocol.envelope begins every frame it makes


def frame_type(frame: str) -> str:
    """The type of a frame this app made (its envelope names the type first)."""
    if frame.startswith(TYPE_PREFIX):
        end = frame.find('"', len(TYPE_PREFIX))
        if end > 0:
            return frame[len(TYPE_PREFIX) : end]
    return "other"


class ClientsCollector(Collector):
    """Connected clients by mode, read from the hub when scraped."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "staffsync_connected_clients", "WebSocket clients connected now", labels=["mode"]
        )
        for mode, count in sorted(self.counts().items()):
            family.add_metric([mode], count)
        yield family


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost",
    )]  # fmt: skip


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        fn = ctypes.CDLL(None).mallinfo2  # glibc 2.33 and later
    except (OSError, AttributeError):
        return None
    fn.restype = _MallInfo2
    return cast(Callable[[], _MallInfo2], fn)


class HeapCollector(Collector):
    """Bytes malloc holds for allocations in use (its heap and its mapped chunks). Unlike
    resident memory it falls when objects are freed; garbage in reference cycles counts
    until the collector runs, so a scrape of `/metrics?gc=1` collects first (as a heap
    check in a browser does) and reports the heap after it as well."""

    def __init__(self) -> None:
        self.mallinfo = _mallinfo2()
        self.collected = False  # this scrape ran a full collection first

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.mallinfo is None:
            return
        info = self.mallinfo()
        in_use = float(info.uordblks + info.hblkhd)
        yield GaugeMetricFamily(
            "staffsync_heap_in_use_bytes",
            "Bytes malloc holds for allocations in use (glibc mallinfo2: uordblks + hblkhd)",
            in_use,
        )
        if self.collected:
            yield GaugeMetricFamily(
                "staffsync_heap_after_gc_bytes",
                "The same, right after a full garbage collection (only on /metrics?gc=1)",
                in_use,
            )


class TasksCollector(Collector):
    """The event loop's tasks that have not finished, when scraped (from inside the loop):
    a task left behind by every connection shows here."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count = len(asyncio.all_tasks())
        except RuntimeError:  # scraped outside a running loop: nothing to count
            return
        yield GaugeMetricFamily(
            "staffsync_asyncio_tasks", "Tasks of the server's event loop not yet done", count
        )


@dataclass
class ServerMetrics:
    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry())

    def __post_init__(self) -> None:
        ProcessCollector(registry=self.registry)  # memory, CPU, open descriptors
        self.registry.register(TasksCollector())
        self.heap = HeapCollector()
        self.registry.register(self.heap)
        self.frames_in = Counter(
            "staffsync_frames_received",
            "Frames received from clients, by type ('invalid': refused before a type was read)",
            ["type"],
            registry=self.registry,
        )
        self.frames_out = Counter(
            "staffsync_frames_sent", "Frames sent to clients, by type", ["type"],
            registry=self.registry,
        )  # fmt: skip
        self.fanout = Histogram(
            "staffsync_broadcast_fanout_seconds",
            "Time from a broadcast's first send to its last",
            buckets=FANOUT_BUCKETS,
            registry=self.registry,
        )

    def watch_clients(self, counts: Callable[[], dict[str, int]]) -> None:
        self.registry.register(ClientsCollector(counts))

    def sent(self, frame: str, clients: int = 1) -> None:
        self.frames_out.labels(frame_type(frame)).inc(clients)

    def received(self, kind: str) -> None:
        self.frames_in.labels(kind).inc()

    def fanned_out(self, started: float) -> None:
        self.fanout.observe(time.perf_counter() - started)

    def exposition(self, after_gc: bool = False) -> web.Response:
        """The registry as Prometheus text; `after_gc`: a full garbage collection first."""
        if after_gc:
            gc.collect()
        self.heap.collected = after_gc
        try:
            body = generate_latest(self.registry)
        finally:
            self.heap.collected = False
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
