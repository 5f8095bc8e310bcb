"""Server benchmarks on loopback: all-periods payload and time, broadcast latency to many
clients, time from start to healthy.

    python -m benchmarks.server [--clients 100] [--broadcasts 200] [--staff-per-period 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from e2e.gate.stats import percentile
from e2e.harness.app_process import AppProcess
from staffsync.dataset import generate


def start(workdir: Path, dataset: Path | None = None) -> AppProcess:
    options = {"dataset": str(dataset)} if dataset else {}
    app = AppProcess(data_dir=workdir / "data", log_path=workdir / "app.log", options=options)
    app.start()
    return app


async def sync_all(url: str, rounds: int) -> tuple[int, list[float]]:
    """Payload bytes and request-to-response times (ms) of SYNC_ALL_PERIODS_REQUEST."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        await ws.receive_str()  # CONNECTION_ACK
        times, size = [], 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            await ws.send_str(json.dumps({"type": "SYNC_ALL_PERIODS_REQUEST", "payload": {}}))
            frame = await ws.receive_str()
            times.append((time.perf_counter() - t0) * 1000)
            size = len(frame.encode())
        return size, times


async def arrival(ws: aiohttp.ClientWebSocketResponse, sent_at: float) -> float:
    while True:
        frame = json.loads(await ws.receive_str())
        if frame["type"] == "STAFF_UPDATE":
            return (time.perf_counter() - sent_at) * 1000


async def broadcast(url: str, clients: int, count: int) -> list[float]:
    """Time from a write's send to its arrival at each of `clients` other sockets (ms)."""
    connector = aiohttp.TCPConnector(limit=0)  # the default pool stops at 100 connections
    async with aiohttp.ClientSession(connector=connector) as session:
        sockets = [await session.ws_connect(url) for _ in range(clients + 1)]
        for ws in sockets:
            await ws.receive_str()
        writer, readers = sockets[0], sockets[1:]
        latencies: list[float] = []
        for n in range(count):
            t0 = time.perf_counter()
            await writer.send_str(
                json.dumps(
                    {
                        "type": "STAFF_UPDATE",
                        "payload": {"staffId": "stf-00001", "changes": {"name": f"Bench {n}"}},
                    }
                )
            )

            latencies += await asyncio.gather(*(arrival(ws, t0) for ws in readers))
            await writer.receive_str()  # the sender's own echo
        for ws in sockets:
            await ws.close()
        return latencies


def rtt(times: list[float]) -> str:
    median, p95 = statistics.median(times), percentile(times, 0.95)
    return f"request to response: median {median:.1f} ms, p95 {p95:.1f} ms over {len(times)}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server", description=__doc__)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--broadcasts", type=int, default=200)
    parser.add_argument("--staff-per-period", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ready = []
        for n in range(5):
            app = start(work / f"ready{n}")
            ready.append(app.ready_s * 1000)
            app.stop()
        print(
            f"start to healthy: median {statistics.median(ready):.0f} ms over 5 starts "
            f"(min {min(ready):.0f}, max {max(ready):.0f}); first start seeds the database"
        )
        app = start(work / "fixture")
        size, times = asyncio.run(sync_all(app.ws_url, args.rounds))
        print(f"fixture (17 x ~17 staff): all-periods response {size / 1000:.1f} KB")
        print(f"  {rtt(times)}")
        lat = asyncio.run(broadcast(app.ws_url, args.clients, args.broadcasts))
        print(f"broadcast to {args.clients} clients x {args.broadcasts} writes:")
        print(f"  p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms")
        app.stop()
        big = work / "big.json"
        big.write_text(json.dumps(generate(17, args.staff_per_period)))
        app = start(work / "big", big)
        size, times = asyncio.run(sync_all(app.ws_url, args.rounds))
        print(f"17 x {args.staff_per_period} staff: all-periods response {size / 1e6:.2f} MB")
        print(f"  {rtt(times)}")
        app.stop()


if __name__ == "__main__":
    main()
