"""A staff-sync protocol client for Locust users: one WebSocket (websocket-client, which
gevent makes cooperative), every call reported to Locust as a request event."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import websocket

Frame = dict[str, Any]
Report = Callable[..., None]  # Locust's events.request.fire


class ProtocolError(Exception):
    """The server answered with ERROR, or not with what the protocol says."""


class LoadClient:
    def __init__(
        self, url: str, origin: str, report: Report, name: str, timeout: float = 10
    ) -> None:
        self.url, self.origin, self.report, self.name = url, origin, report, name
        self.timeout = timeout
        self.ws: websocket.WebSocket | None = None
        self.client_id = ""
        self.connects = 0  # sockets opened
        self.received_bytes = 0

    def timed(self, name: str, call: Callable[[], int]) -> None:
        """Run `call` (returning a byte count) as one Locust request named `name`."""
        started = time.perf_counter()
        try:
            length = call()
        except (OSError, websocket.WebSocketException, ProtocolError, ValueError) as exc:
            self.report(
                request_type="WS",
                name=name,
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=exc,
            )
            raise
        self.report(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=None,
        )

    def connect(self, query: str = "") -> None:
        def open_() -> int:
            self.ws = websocket.create_connection(
                self.url + query, origin=self.origin, timeout=self.timeout
            )
            self.connects += 1
            ack = json.loads(self.ws.recv())
            if ack.get("type") != "CONNECTION_ACK":
                raise ProtocolError(f"expected CONNECTION_ACK first, got {ack.get('type')}")
            self.client_id = ack["payload"]["clientId"]
            return 0

        self.timed("connect", open_)

    def send(self, kind: str, payload: dict[str, Any], request_id: str | None = None) -> str:
        rid = request_id or uuid.uuid4().hex[:12]
        assert self.ws is not None
        self.ws.send(
            json.dumps({"type": kind, "payload": payload, "requestId": rid, "clientId": self.name})
        )
        return rid

    def recv(self) -> tuple[Frame, int]:
        assert self.ws is not None
        raw = self.ws.recv()
        self.received_bytes += len(raw)
        frame: Frame = json.loads(raw)
        if frame.get("type") == "ERROR":
            raise ProtocolError(str(frame.get("payload")))
        return frame, len(raw)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None
