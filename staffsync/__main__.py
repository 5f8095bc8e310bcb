"""`python -m staffsync`: serve the app until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from staffsync.app import MissingClient, create_app
from staffsync.settings import Settings, parse_args


async def serve(settings: Settings) -> None:
    runner = web.AppRunner(create_app(settings), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    for host, port, *_ in runner.addresses:
        print(f"staffsync listening on http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("staffsync shutting down", flush=True)
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(settings))
    except MissingClient as exc:
        sys.exit(f"staffsync: {exc}")
    except OSError as exc:
        sys.exit(f"staffsync: cannot listen on {settings.host}:{settings.port}: {exc}")


if __name__ == "__main__":
    main()
