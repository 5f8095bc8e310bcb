"""A TCP relay that gives every byte between the browser and the app a network's figures.

Each chunk read is scheduled for delivery at its arrival time (or when the link has finished
sending what came before, at the link's bandwidth) plus the one-way delay, with jitter that
never reorders a connection's bytes; reading goes on while earlier chunks wait, so requests
pipeline as on a real link (a sleep per message would queue frames behind each other). A new
connection pays the TCP handshake's round trip before its first byte leaves. Stalls stop the
whole link (every connection) for a while, as a train's tunnel does. Toxiproxy's toxics
(latency, jitter, bandwidth, slicer) are the design it follows.

The relay forwards bytes, so it sits in front of TLS too: the browser is sent to it by
Chromium's --host-resolver-rules with the page's URL, SNI and Host header unchanged.

    relay = Relay(("127.0.0.1", 8080), Network(rtt_ms=150, down_kbps=1600, up_kbps=750))
    port = relay.start()   # 127.0.0.1:port now behaves like a 4G link to the app
    relay.stop()
"""

from __future__ import annotations

import asyncio
import random
import threading
from contextlib import suppress
from dataclasses import dataclass, field

from e2e.conditions.profiles import Network

CHUNK = 16 * 1024  # the slicer: a large response is delivered in pieces, as a link does
CONNECT_TIMEOUT_S = 10.0
# asyncio's selector rounds a sleep's timeout up to the next millisecond (epoll takes whole
# ms), so a delivery wakes up to 1 ms late: it is asked for half a millisecond early.
TIMER_LATENESS_S = 0.0005


@dataclass
class Stalls:
    """The link's stalls, drawn lazily from its start: [start, end) windows."""

    every_s: float | None
    length_s: tuple[float, float]
    rng: random.Random
    origin: float
    windows: list[tuple[float, float]] = field(default_factory=list)

    def release(self, t: float) -> float:
        """When something due at `t` gets through: `t`, or the end of the stall it meets."""
        if not self.every_s:
            return t
        while not self.windows or self.windows[-1][0] <= t:
            last_end = self.windows[-1][1] if self.windows else self.origin
            start = last_end + self.every_s * self.rng.uniform(0.5, 1.5)
            self.windows.append((start, start + self.rng.uniform(*self.length_s)))
        for start, end in self.windows:
            if start <= t < end:
                return end
        return t

    def total_s(self, until: float) -> float:
        return sum(max(0.0, min(e, until) - s) for s, e in self.windows if s < until)


@dataclass
class Link:
    """One direction of the radio: shared by every connection (bandwidth, stalls)."""

    one_way_s: float
    spread_s: float  # one-way jitter: +- spread_s / 2
    bytes_per_s: float | None
    stalls: Stalls
    rng: random.Random
    free_at: float = 0.0  # when the link has sent everything given to it so far

    def due(self, arrival: float, size: int, after: float) -> float:
        """Delivery time of `size` bytes read at `arrival`, never before `after` (the
        connection's previous chunk: jitter never reorders)."""
        start = max(arrival, self.free_at)
        sent = start + (size / self.bytes_per_s if self.bytes_per_s else 0.0)
        self.free_at = sent
        jitter = self.rng.uniform(-self.spread_s / 2, self.spread_s / 2) if self.spread_s else 0
        return self.stalls.release(max(sent + max(0.0, self.one_way_s + jitter), after))


class Relay:
    def __init__(
        self,
        upstream: tuple[str, int],
        network: Network,
        seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.upstream, self.network, self.host = upstream, network, host
        self.rng = random.Random(seed)
        self.port = 0
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._failed: BaseException | None = None

    # -- life ----------------------------------------------------------------------------
    def start(self) -> int:
        self._thread = threading.Thread(target=self._run, name="conditions-relay", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failed is not None:
            raise RuntimeError(f"the relay could not listen: {self._failed}")
        return self.port

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._accept, self.host, self.port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            origin = loop.time()
            n = self.network
            stalls = Stalls(n.stall_every_s, n.stall_s, self.rng, origin)
            spread = n.jitter_ms / 2000  # the RTT spreads by jitter_ms: each way by half
            self.up = Link(n.rtt_ms / 2000, spread, _bytes(n.up_kbps), stalls, self.rng)
            self.down = Link(n.rtt_ms / 2000, spread, _bytes(n.down_kbps), stalls, self.rng)
            self.stalls = stalls
        except OSError as exc:
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def stalled_s(self) -> float:
        """Seconds the link has stalled so far."""
        loop = self._loop
        return self.stalls.total_s(loop.time()) if loop is not None else 0.0

    def set_rtt(self, rtt_ms: float) -> None:
        """The round trip from now on, around which the jitter still spreads (the
        exploration draws one per step); a connection's bytes keep their order."""
        for link in (getattr(self, "up", None), getattr(self, "down", None)):
            if link is not None:
                link.one_way_s = rtt_ms / 2000

    def stall_windows(self) -> list[tuple[float, float]]:
        """The link's stalls so far and the next one drawn, [start, end) on the monotonic
        clock (the relay's event loop's)."""
        stalls = getattr(self, "stalls", None)
        return list(stalls.windows) if stalls is not None else []

    # -- connections ---------------------------------------------------------------------
    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        self.connections += 1
        try:
            server_r, server_w = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), CONNECT_TIMEOUT_S
            )
        except (TimeoutError, OSError):
            client_w.close()  # the app is down: the browser sees the connection refused
            self._tasks.discard(task)
            return
        # the handshake's round trip: the browser's first byte leaves once it is done
        handshake = accepted + self.network.rtt_ms / 1000
        try:
            await asyncio.gather(
                self._pipe(client_r, server_w, self.up, handshake),
                self._pipe(server_r, client_w, self.down, accepted),
            )
        except asyncio.CancelledError:
            pass  # the relay stops: both sides are closed below
        finally:
            for w in (client_w, server_w):
                w.close()
            self._tasks.discard(task)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        link: Link,
        not_before: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time() - TIMER_LATENESS_S
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:  # the other side closed: so does this one, as late as its data
                    if sink.can_write_eof():
                        with suppress(OSError):
                            sink.write_eof()
                    return
                try:
                    sink.write(data)
                    await sink.drain()
                except OSError:
                    return

        delivering = asyncio.create_task(deliver())
        last = 0.0
        try:
            while True:
                try:
                    data = await source.read(CHUNK)
                except OSError:
                    data = b""
                last = link.due(max(loop.time(), not_before), len(data), last)
                queue.put_nowait((last, data))
                if not data:
                    break
            await delivering
        finally:
            delivering.cancel()


def _bytes(kbps: float | None) -> float | None:
    return kbps * 125 if kbps else None  # kbit/s -> bytes/s
