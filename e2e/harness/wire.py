"""A protocol-level client (no browser): the suite's view of what the server holds."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

from e2e.harness.catalogue import explain

Frame = dict[str, Any]


class WireClient:
    """One WebSocket to the server, speaking the staff-sync protocol."""

    def __init__(
        self, url: str, origin: str | None = None, timeout: float = 10.0, name: str | None = None
    ) -> None:
        headers = {"Origin": origin} if origin else None
        self.ws: ClientConnection = connect(
            url, additional_headers=headers, open_timeout=timeout, max_size=64 * 1024 * 1024
        )
        self.ws.__enter__()  # owned by this object: closed by close()
        self.timeout = timeout
        self.name = name  # sent as the envelope's clientId: the same client after a reconnect
        self.seen: list[Frame] = []
        ack = self.recv()
        if ack.get("type") != "CONNECTION_ACK":
            raise AssertionError(f"expected CONNECTION_ACK first, got {ack}")
        self.client_id: str = ack["payload"]["clientId"]

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ws.close()

    def send_raw(self, data: str | bytes) -> None:
        self.ws.send(data)

    def send(self, kind: str, payload: dict[str, Any], request_id: str | None = None) -> str:
        rid = request_id or uuid.uuid4().hex[:10]
        frame: Frame = {"type": kind, "payload": payload, "requestId": rid}
        if self.name is not None:
            frame["clientId"] = self.name
        self.ws.send(json.dumps(frame))
        return rid

    def recv(self, timeout: float | None = None) -> Frame:
        frame: Frame = json.loads(self.ws.recv(timeout=timeout or self.timeout))
        self.seen.append(frame)
        return frame

    def recv_until(
        self,
        match: Callable[[Frame], bool],
        timeout: float | None = None,
        expected: str = "a matching frame",
    ) -> Frame:
        """The first frame that `match`es; a TimeoutError names what was `expected` and
        what did arrive meanwhile."""
        limit = timeout or self.timeout
        deadline = time.monotonic() + limit
        arrived: list[Frame] = []
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                frame = self.recv(timeout=left)
            except TimeoutError:
                raise TimeoutError(
                    f"Expected {expected} within {limit:.1f} s on {self.client_id}; "
                    + arrived_text(arrived)
                ) from None
            if match(frame):
                return frame
            arrived.append(frame)

    def request(self, kind: str, payload: dict[str, Any]) -> Frame:
        """Send and wait for the direct reply, the echo or the ERROR carrying our requestId."""
        rid = self.send(kind, payload)
        return self.recv_until(
            lambda f: _request_id(f) == rid,
            expected=f"the answer to {kind} (requestId {rid}): its reply, echo or ERROR",
        )

    def all_periods(self) -> dict[int, list[Frame]]:
        try:
            reply = self.request("SYNC_ALL_PERIODS_REQUEST", {})
        except TimeoutError as exc:  # what a page waits for first, longer than a user would
            raise TimeoutError(
                explain(f"the server's snapshot within {self.timeout:.0f} s", exc, ("F48",))
            ) from None
        if reply["type"] != "SYNC_ALL_PERIODS_RESPONSE":
            raise AssertionError(f"expected SYNC_ALL_PERIODS_RESPONSE, got {reply}")
        return {int(k): v for k, v in reply["payload"]["periods"].items()}

    def period_ids(self) -> dict[int, list[str]]:
        return {p: [row["id"] for row in rows] for p, rows in self.all_periods().items()}

    def update(self, staff_id: str, changes: dict[str, Any]) -> Frame:
        return self.request("STAFF_UPDATE", {"staffId": staff_id, "changes": changes})

    def create(self, fields: dict[str, Any]) -> Frame:
        tid = "t-" + uuid.uuid4().hex[:8]
        self.send("STAFF_CREATE", {**fields, "tempId": tid})
        return self.recv_until(
            lambda f: f["type"] == "ERROR" or f["payload"].get("tempId") == tid,
            expected=f"the echo of STAFF_CREATE (tempId {tid}) or an ERROR",
        )

    def delete(self, staff_id: str) -> Frame:
        return self.request("STAFF_DELETE", {"staffId": staff_id})


def arrived_text(frames: list[Frame]) -> str:
    """What arrived instead, for a timeout's message."""
    if not frames:
        return "no frame arrived"
    kinds = ", ".join(f"{f.get('type')}({_request_id(f) or '-'})" for f in frames[-6:])
    return f"{len(frames)} other frame(s) arrived, the last: {kinds}"


def _request_id(frame: Frame) -> str | None:
    rid = frame.get("requestId") or frame.get("payload", {}).get("requestId")
    return None if rid is None else str(rid)


def rows_by_id(periods: dict[int, list[Frame]]) -> dict[str, Frame]:
    return {row["id"]: row for rows in periods.values() for row in rows}
