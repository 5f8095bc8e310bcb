"""Connected clients and broadcasting."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web

from staffsync.metrics import ServerMetrics

log = logging.getLogger("staffsync.hub")


@dataclass(eq=False)
class Client:
    ws: web.WebSocketResponse
    client_id: str
    period: int | None = None  # legacy connections are bound to one period
    received_at: float = 0.0  # epoch ms at which the frame being handled arrived
    sender_key: str = ""  # who sent that frame: its envelope's clientId, else this socket's
    metrics: ServerMetrics | None = None

    @property
    def mode(self) -> str:
        return "prefetch" if self.period is None else "legacy"

    async def send(self, frame: str) -> None:
        if self.ws.closed:
            return
        if self.metrics is not None:
            self.metrics.sent(frame)
        try:
            await self.ws.send_str(frame)
        except (ConnectionResetError, RuntimeError) as exc:
            log.info("send to %s failed: %s", self.client_id, exc)


@dataclass
class Hub:
    clients: set[Client] = field(default_factory=set)
    # write + broadcast happen under this lock so every client sees one order of writes
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    metrics: ServerMetrics = field(default_factory=ServerMetrics)

    def __post_init__(self) -> None:
        self.metrics.watch_clients(self.counts)

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def discard(self, client: Client) -> None:
        self.clients.discard(client)

    def counts(self) -> dict[str, int]:
        modes = [c.mode for c in self.clients]
        return {"prefetch": modes.count("prefetch"), "legacy": modes.count("legacy")}

    async def broadcast(self, frame: str, skip: Client | None = None) -> None:
        targets = [c for c in self.clients if c is not skip]
        started = time.perf_counter()
        await asyncio.gather(*(c.send(frame) for c in targets))
        self.metrics.fanned_out(started)

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY, message: bytes = b"") -> None:
        await asyncio.gather(
            *(c.ws.close(code=code, message=message) for c in list(self.clients)),
            return_exceptions=True,
        )
