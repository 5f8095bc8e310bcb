"""Connections opened and closed the ways users' pages do it, through the protocol, many at a
time: a tab closed after its SYNC_ALL_PERIODS (a close handshake), a legacy navigation (a
socket for one period, then replaced), and a socket lost with no close at all (a phone
that left the network). Run in a thread of its own with its own event loop, so that the
calling test's Playwright loop is untouched."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect

KINDS = ("closed tab", "legacy navigation", "lost")
AT_ONCE = 10
ANSWER_S = 10.0


@dataclass(frozen=True)
class Cycle:
    opened: int
    seconds: float


async def _until(ws: ClientConnection, kind: str) -> None:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_S))
        if frame.get("type") == kind:
            return


async def _one(ws_url: str, index: int, periods: int) -> None:
    kind = KINDS[index % len(KINDS)]
    url = f"{ws_url}?period={index % periods}" if kind == "legacy navigation" else ws_url
    ws = await connect(url, open_timeout=ANSWER_S, max_size=2**24)
    await _until(ws, "CONNECTION_ACK")
    if kind == "lost":
        ws.transport.abort()  # no close frame: the server finds out from the socket
        return
    if kind == "legacy navigation":
        await ws.send(json.dumps({"type": "SYNC_REQUEST", "payload": {"period": index % periods}}))
        await _until(ws, "SYNC_RESPONSE")
    else:
        await ws.send(json.dumps({"type": "SYNC_ALL_PERIODS_REQUEST", "payload": {}}))
        await _until(ws, "SYNC_ALL_PERIODS_RESPONSE")
    await ws.close()


async def _all(ws_url: str, count: int, periods: int) -> None:
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(index: int) -> None:
        async with gate:
            await _one(ws_url, index, periods)

    await asyncio.gather(*(one(i) for i in range(count)))


def cycle(ws_url: str, count: int, periods: int) -> Cycle:
    """Open and close `count` connections, `AT_ONCE` at a time, the three kinds in turn."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_all(ws_url, count, periods))
        except BaseException as exc:  # reported in the caller's thread
            failure.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=run, name="connection-cycle")
    worker.start()
    worker.join()
    if failure:
        raise RuntimeError(f"a connection of the cycle failed: {failure[0]!r}") from failure[0]
    return Cycle(count, time.monotonic() - started)
