"""App factory: routes, start-up and shutdown. No module-level state."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
import urllib.parse
from pathlib import Path

from aiohttp import WSCloseCode, web

from staffsync import __version__, assets, dataset, vendor
from staffsync.defects import DEFECTS
from staffsync.handlers import Context, all_periods_frame
from staffsync.hub import Hub
from staffsync.inline import SCRIPT, shell
from staffsync.keys import CONTEXT, SETTINGS, STARTED
from staffsync.leaks import Leaks
from staffsync.periods import month_periods
from staffsync.settings import Settings
from staffsync.socket import staff_sync
from staffsync.store import Store

log = logging.getLogger("staffsync")
STATIC = Path(__file__).resolve().parent / "static"


CLIENT_PAGES = {"vanilla": STATIC / "index.html", "react": STATIC / "react" / "index.html"}


# The page carries its configuration (no script: JSON the client reads), so that the client
# does not wait a round trip for /config.json after its modules have arrived: over a phone's
# 150 ms that was one of the first row's round trips. It goes at the end of the body, with
# the client's script: the shell above them paints while they arrive.
CONFIG_SLOT = "</body>"


def configuration(request: web.Request) -> dict[str, object]:
    settings = request.app[SETTINGS]
    ctx = request.app[CONTEXT]
    defect = settings.defect
    return {
        "version": __version__,
        "client": settings.client,
        "periods": [p.as_json() for p in ctx.store.periods],
        "rolloutPercent": settings.prefetch_rollout,
        "defect": defect,
        "defectText": DEFECTS[defect][1] if defect else None,
    }


def _json_element(element_id: str, text: str) -> str:
    # no "<" at all: nothing in the data can end the element or open a comment in it
    data = text.replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{data}</script>\n'


# The page's outbox names its unconfirmed writes in a cookie, (client key, request id) pairs
# as JSON, URL-encoded; the page is sent with those the server applied (their answers may
# have been lost with a socket). At most this many pairs, each part at most this long.
SENT_COOKIE = "staffsync-sent"
SENT_AT_MOST = 40
SENT_PART_AT_MOST = 200


def sent_writes(request: web.Request) -> list[tuple[str, str]]:
    """The writes the page's outbox holds, from its cookie; a damaged cookie is ignored
    (the socket's repeats still settle them)."""
    raw = request.cookies.get(SENT_COOKIE)
    if not raw:
        return []
    try:
        pairs = json.loads(urllib.parse.unquote(raw))
    except ValueError:
        log.warning("ignored a %s cookie that is not JSON", SENT_COOKIE)
        return []
    if not isinstance(pairs, list):
        log.warning("ignored a %s cookie that is not a list", SENT_COOKIE)
        return []
    sent = []
    for pair in pairs[:SENT_AT_MOST]:
        if (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(part, str) and 0 < len(part) <= SENT_PART_AT_MOST for part in pair)
        ):
            sent.append((pair[0], pair[1]))
    return sent


async def index(request: web.Request) -> web.Response:
    """The client's page with the server's configuration and every period's staff as the
    server's own SYNC_ALL_PERIODS_RESPONSE frame: a prefetching page shows its first row
    without waiting for its socket (on a 600 ms round trip, the socket's connection, upgrade
    and first answer are three of them). The socket then syncs again, as after a reconnect.
    It also carries which of its outbox's writes the server applied (`sent_writes`)."""
    ctx = request.app[CONTEXT]
    page = shell(CLIENT_PAGES[request.app[SETTINGS].client], STATIC)
    embedded = _json_element("staffsync-config", json.dumps(configuration(request)))
    # on a database error the page still loads: its socket asks, and reports what fails.
    # The applied writes are read before the snapshot, which therefore holds each of them.
    with contextlib.suppress(sqlite3.Error, OSError):
        applied = await ctx.store.applied(sent_writes(request))
        embedded += _json_element("staffsync-applied", json.dumps({"applied": applied}))
    if request.query.get("mode") != "legacy":  # a legacy page asks for one period, by socket
        with contextlib.suppress(sqlite3.Error, OSError):
            frame = await all_periods_frame(ctx.store, "page")
            embedded += _json_element("staffsync-snapshot", frame)
    script = page.rfind(SCRIPT)  # the data before the script that reads it
    end = script if script >= 0 else page.rindex(CONFIG_SLOT)
    response = web.Response(
        text=page[:end] + embedded + page[end:],
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )
    # gzipped for a browser that accepts it: the snapshot is 83 kB for the bundled staff,
    # about 9 kB gzipped, half a second less at a phone's 1-1.6 Mbit/s
    response.enable_compression()
    return response


async def config(request: web.Request) -> web.Response:
    return web.json_response(configuration(request), headers={"Cache-Control": "no-store"})


async def health(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    settings = request.app[SETTINGS]
    database = "ok"
    try:
        await asyncio.wait_for(asyncio.to_thread(ctx.store.check), timeout=3)
    except (sqlite3.Error, OSError, TimeoutError) as exc:
        database = f"unusable: {exc}"
    healthy = database == "ok"
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "database": database,
        "clients": len(ctx.hub.clients),
        "clientsByMode": ctx.hub.counts(),
        "periods": len(ctx.store.periods),
        "defect": settings.defect,
        "client": settings.client,
        "version": __version__,
        "uptimeS": round(time.monotonic() - request.app[STARTED], 3),
    }
    return web.json_response(body, status=200 if healthy else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; `?gc=1` collects garbage first (a leak check's reading)."""
    return request.app[CONTEXT].hub.metrics.exposition(request.query.get("gc") == "1")


async def _close_sockets(app: web.Application) -> None:
    await app[CONTEXT].hub.close_all(WSCloseCode.GOING_AWAY, b"server shutdown")


async def _close_store(app: web.Application) -> None:
    await app[CONTEXT].leaks.release()
    await app[CONTEXT].store.close()


class MissingClient(RuntimeError):
    """The chosen client's libraries are not on disk."""


def create_app(settings: Settings) -> web.Application:
    if settings.client == "react" and vendor.missing():
        raise MissingClient(
            f"the React client needs {', '.join(vendor.missing())} in {vendor.VENDOR}:"
            " run `python -m staffsync.vendor` (bin/setup does)"
        )
    seed = dataset.load(settings.dataset)
    periods = month_periods(seed["firstMonth"], settings.periods)
    store = Store(
        settings.db_path,
        periods,
        settings.db_latency_ms,
        durable=settings.defect != "F9",
        end_exclusive=settings.defect == "F22",
        row_by_row=settings.defect == "F48",
    )
    app = web.Application()
    app[SETTINGS] = settings
    app[CONTEXT] = Context(
        store=store, hub=Hub(), defect=settings.defect, leaks=Leaks(settings.defect)
    )
    app[STARTED] = time.monotonic()
    app.router.add_get("/", index)
    app.router.add_get("/config.json", config)
    app.router.add_get("/health", health)
    if settings.metrics == "on":
        app.router.add_get("/metrics", metrics)
    app.router.add_get("/staff-sync", staff_sync)
    assets.add_routes(app, STATIC)

    async def open_store(app: web.Application) -> None:
        if settings.defect:
            where, text = DEFECTS[settings.defect]
            log.warning("!!! DEFECT %s IS SWITCHED ON (%s): %s", settings.defect, where, text)
        await store.open(seed["staff"])

    app.on_startup.append(open_store)
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_close_store)
    return app
