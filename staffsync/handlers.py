"""One coroutine per client message type."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from staffsync.hub import Client, Hub
from staffsync.leaks import Leaks
from staffsync.protocol import ProtocolError, envelope, staff_id_of, timestamp, validate_fields
from staffsync.store import NotFound, Once, Store, Written


@dataclass
class Context:
    store: Store
    hub: Hub
    defect: str | None
    leaks: Leaks


Handler = Callable[[Context, Client, dict[str, Any], "str | None"], Awaitable[None]]


async def all_periods_frame(store: Store, client_id: str, rid: str | None = None) -> str:
    """Every period's staff as the SYNC_ALL_PERIODS_RESPONSE frame (the socket's answer,
    and the snapshot a page carries)."""
    periods = await store.all_periods()
    body = {"periods": periods, "totalPeriods": len(periods), "timestamp": timestamp()}
    return envelope("SYNC_ALL_PERIODS_RESPONSE", body, client_id, requestId=rid)


async def sync_all(ctx: Context, client: Client, payload: dict[str, Any], rid: str | None) -> None:
    await client.send(await all_periods_frame(ctx.store, client.client_id, rid))


async def sync_one(ctx: Context, client: Client, payload: dict[str, Any], rid: str | None) -> None:
    period = payload.get("period", client.period)
    if period is None:
        raise ProtocolError("invalid_payload", "SYNC_REQUEST needs payload.period", requestId=rid)
    if not isinstance(period, int) or isinstance(period, bool):
        raise ProtocolError("invalid_payload", "period must be an integer", requestId=rid)
    if not 0 <= period < len(ctx.store.periods):
        raise ProtocolError(
            "invalid_payload",
            f"period {period} is outside 0..{len(ctx.store.periods) - 1}",
            requestId=rid,
        )
    staff = await ctx.store.period(period)
    body = {"staff": staff, "staffMembers": staff, "period": period, "timestamp": timestamp()}
    await client.send(envelope("SYNC_RESPONSE", body, client.client_id, requestId=rid))


def _answer(client: Client, kind: str, body: dict[str, Any]) -> str:
    """The frame that confirms a write to everyone. It says when the write arrived and when
    it was answered (epoch ms), so that a slow propagation can be attributed to the sender,
    the server or the reader."""
    timing = {
        "receivedAt": round(client.received_at, 3),
        "broadcastAt": round(time.time() * 1000, 3),
    }
    return envelope(kind, body, client.client_id, serverTiming=timing)


def _once(
    ctx: Context, client: Client, rid: str | None, respond: Callable[[dict[str, Any]], str]
) -> Once:
    # F17: request ids are not remembered, so a replayed write is applied again
    remembered = None if ctx.defect == "F17" else rid
    return Once(client.sender_key or client.client_id, remembered, respond)


async def _publish(ctx: Context, client: Client, written: Written) -> None:
    """A new write goes to every client; a repeated request only back to its sender, with
    the answer it was given the first time."""
    if written.repeat:
        await client.send(written.frame)
        return
    # F10: the sender is skipped and keeps its own optimistic value
    skip = client if ctx.defect == "F10" else None
    await ctx.hub.broadcast(written.frame, skip=skip)


async def update(ctx: Context, client: Client, payload: dict[str, Any], rid: str | None) -> None:
    staff_id = staff_id_of(payload)
    changes = payload.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise ProtocolError(
            "invalid_payload", "changes must be a non-empty object", staffId=staff_id
        )
    validate_fields(changes, creating=False, bytes_limit=ctx.defect == "F27")
    base = payload.get("baseVersion")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
        raise ProtocolError("invalid_payload", "baseVersion must be an integer", staffId=staff_id)

    def respond(row: dict[str, Any]) -> str:
        body: dict[str, Any] = {
            "staffId": staff_id,
            "id": staff_id,
            "changes": row,
            "version": row["version"],
            "periods": row["periods"],
            "changedFields": sorted(changes),
        }
        if base is not None and base != row["version"] - 1:
            body["staleBase"] = True
            body["baseVersion"] = base
        if rid is not None:
            body["requestId"] = rid
        return _answer(client, "STAFF_UPDATE", body)

    async with ctx.hub.write_lock:
        try:
            written = await ctx.store.update(staff_id, changes, _once(ctx, client, rid, respond))
        except NotFound:
            raise ProtocolError(
                "unknown_staff", f"no staff member {staff_id!r}", staffId=staff_id
            ) from None
        except ValueError as exc:
            raise ProtocolError("invalid_field", str(exc), staffId=staff_id) from None
        await _publish(ctx, client, written)


async def create(ctx: Context, client: Client, payload: dict[str, Any], rid: str | None) -> None:
    fields = {k: v for k, v in payload.items() if k not in ("requestId", "tempId")}
    validate_fields(fields, creating=True, bytes_limit=ctx.defect == "F27")
    temp_id = payload.get("tempId")

    def respond(row: dict[str, Any]) -> str:
        extra = {"tempId": temp_id} if isinstance(temp_id, str) else {}
        if rid is not None:
            extra["requestId"] = rid
        return _answer(client, "STAFF_CREATE", {**row, **extra})

    async with ctx.hub.write_lock:
        written = await ctx.store.create(fields, _once(ctx, client, rid, respond))
        await _publish(ctx, client, written)


async def delete(ctx: Context, client: Client, payload: dict[str, Any], rid: str | None) -> None:
    staff_id = staff_id_of(payload)

    def respond(row: dict[str, Any]) -> str:
        body: dict[str, Any] = {"staffId": staff_id, "id": staff_id}
        if rid is not None:
            body["requestId"] = rid
        return _answer(client, "STAFF_DELETE", body)

    async with ctx.hub.write_lock:
        try:
            written = await ctx.store.delete(staff_id, _once(ctx, client, rid, respond))
        except NotFound:
            raise ProtocolError(
                "unknown_staff", f"no staff member {staff_id!r}", staffId=staff_id
            ) from None
        await _publish(ctx, client, written)


async def ping(ctx: Context, client: Client, payload: dict[str, Any], rid: str | None) -> None:
    body = {"timestamp": payload.get("timestamp", timestamp())}
    await client.send(envelope("PONG", body, client.client_id, requestId=rid))


HANDLERS: dict[str, Handler] = {
    "SYNC_ALL_PERIODS_REQUEST": sync_all,
    "SYNC_REQUEST": sync_one,
    "STAFF_UPDATE": update,
    "STAFF_CREATE": create,
    "STAFF_DELETE": delete,
    "PING": ping,
}
