"""The /staff-sync WebSocket endpoint."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from staffsync.handlers import HANDLERS, Context
from staffsync.hub import Client
from staffsync.keys import CONTEXT, SETTINGS
from staffsync.protocol import ProtocolError, envelope, parse

log = logging.getLogger("staffsync.socket")

TRANSPORT_LIMIT = 1024 * 1024  # beyond this aiohttp closes with 1009; below it we answer ERROR


def _origin_allowed(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser: nothing to check
        return True
    own = f"{request.scheme}://{request.host}"
    return origin == own or origin in request.app[SETTINGS].allowed_origins


def _legacy_period(request: web.Request, count: int) -> int | None:
    raw = request.query.get("period")
    if raw is None:
        return None
    try:
        period = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"period must be an integer, not {raw!r}") from None
    if not 0 <= period < count:
        raise web.HTTPBadRequest(text=f"period {period} is outside 0..{count - 1}")
    return period


async def staff_sync(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    ctx = request.app[CONTEXT]
    if not _origin_allowed(request):
        raise web.HTTPForbidden(text=f"origin {request.headers.get('Origin')} is not allowed")
    period = _legacy_period(request, len(ctx.store.periods))
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_s,
        max_msg_size=max(TRANSPORT_LIMIT, settings.max_frame_bytes * 2),
    )
    await ws.prepare(request)
    client = Client(ws, "c-" + uuid.uuid4().hex[:12], period, metrics=ctx.hub.metrics)
    ctx.hub.add(client)
    ctx.leaks.opened(client)
    log.info("connected %s mode=%s", client.client_id, client.mode)
    try:
        ack: dict[str, Any] = {"status": "connected", "clientId": client.client_id}
        if period is not None:
            ack["period"] = period
        await client.send(envelope("CONNECTION_ACK", ack, client.client_id))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _dispatch(ctx, client, msg.data, settings.max_frame_bytes)
            elif msg.type == WSMsgType.BINARY:
                ctx.hub.metrics.received("invalid")
                await _error(
                    client, ProtocolError("binary_frame", "binary frames are not accepted")
                )
            elif msg.type == WSMsgType.ERROR:
                log.info("socket %s error: %s", client.client_id, ws.exception())
    finally:
        if not ctx.leaks.keeps_clients:
            ctx.hub.discard(client)
        log.info("disconnected %s", client.client_id)
    return ws


async def _dispatch(ctx: Context, client: Client, raw: str, limit: int) -> None:
    client.received_at = time.time() * 1000
    rid = kind = None
    try:
        if len(raw.encode("utf-8", "surrogatepass")) > limit:
            raise ProtocolError("frame_too_large", f"frame is larger than {limit} bytes")
        kind, payload, rid, sender = parse(raw)
        ctx.hub.metrics.received(kind)
        client.sender_key = sender or client.client_id
        await HANDLERS[kind](ctx, client, payload, rid)
    except ProtocolError as exc:
        if kind is None:  # refused before its type was known
            ctx.hub.metrics.received("invalid")
        if ctx.defect == "F15":
            log.error("F15: closing every connection after a bad frame from %s", client.client_id)
            await ctx.hub.close_all(WSCloseCode.INTERNAL_ERROR, b"server error")
            return
        await _error(client, exc, rid)


async def _error(client: Client, exc: ProtocolError, rid: str | None = None) -> None:
    body: dict[str, Any] = {"error": exc.code, "message": exc.message}
    details = dict(exc.details)
    rid = details.pop("requestId", rid)
    if "staffId" in details:
        body["staffId"] = details.pop("staffId")
    if details:
        body["details"] = details
    if rid is not None:
        body["requestId"] = rid
    await client.send(envelope("ERROR", body, client.client_id, requestId=rid))
