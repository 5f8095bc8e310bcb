"""Every WebSocket and HTTP request a page makes, seen from the Playwright side."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from playwright.sync_api import Page, Request, WebSocket

HEARTBEAT = frozenset({"PING", "PONG"})


@dataclass
class Frame:
    t: float
    sent: bool
    size: int
    type: str


@dataclass
class SocketRecord:
    url: str
    opened_at: float
    closed_at: float | None = None
    frames: list[Frame] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def bytes(self, sent: bool | None = None, since: float = 0.0) -> int:
        return sum(f.size for f in self.frames if f.t >= since and (sent is None or f.sent == sent))


def _frame_type(payload: str | bytes) -> str:
    if isinstance(payload, bytes):
        return "<binary>"
    try:
        kind = json.loads(payload).get("type", "?")
    except (ValueError, AttributeError):
        return "<not json>"
    return str(kind)


class NetworkLog:
    """Attach to a page before it navigates; times are time.monotonic() seconds."""

    def __init__(self, page: Page) -> None:
        self.sockets: list[SocketRecord] = []
        self.requests: list[tuple[float, str, str]] = []
        page.on("websocket", self._on_socket)
        page.on("request", self._on_request)

    def _on_request(self, request: Request) -> None:
        self.requests.append((time.monotonic(), request.resource_type, request.url))

    def _on_socket(self, ws: WebSocket) -> None:
        record = SocketRecord(ws.url, time.monotonic())
        self.sockets.append(record)

        def frame(sent: bool, payload: str | bytes) -> None:
            size = len(payload.encode() if isinstance(payload, str) else payload)
            record.frames.append(Frame(time.monotonic(), sent, size, _frame_type(payload)))

        ws.on("framesent", lambda payload: frame(True, payload))
        ws.on("framereceived", lambda payload: frame(False, payload))
        ws.on("close", lambda _: setattr(record, "closed_at", time.monotonic()))

    # -- questions the tests ask ----------------------------------------------------
    def sockets_opened_since(self, t: float) -> list[SocketRecord]:
        return [s for s in self.sockets if s.opened_at >= t]

    def frames_since(self, t: float, kinds: set[str] | None = None) -> list[Frame]:
        """Frames since `t`, of `kinds` if given, else all but the heartbeat."""
        frames = [f for s in self.sockets for f in s.frames if f.t >= t]
        if kinds is None:
            return [f for f in frames if f.type not in HEARTBEAT]
        return [f for f in frames if f.type in kinds]

    def requests_since(self, t: float) -> list[tuple[float, str, str]]:
        return [r for r in self.requests if r[0] >= t]

    def bytes_received(self, kind: str) -> list[int]:
        return [f.size for s in self.sockets for f in s.frames if not f.sent and f.type == kind]

    def sent_of(self, kind: str) -> list[Frame]:
        return [f for s in self.sockets for f in s.frames if f.sent and f.type == kind]
