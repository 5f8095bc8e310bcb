"""Network faults produced by the suite: every page socket runs through a route that the
test can cut, or refuse during an outage (the browser sees the server go away).

`context.set_offline(True)` does not close an open WebSocket, so faults are made here."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import BrowserContext, Page, WebSocketRoute

SOCKETS = re.compile(r".*/staff-sync.*")
GOING_AWAY = 1001
WRITES = frozenset({"STAFF_UPDATE", "STAFF_CREATE", "STAFF_DELETE"})


def _type_of(message: str | bytes) -> str:
    try:
        kind = json.loads(message).get("type")
    except (ValueError, AttributeError):
        return ""
    return str(kind)


class SocketControl:
    def __init__(self, context: BrowserContext) -> None:
        self.live: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        self.refusing = False
        self.page: Page | None = None
        self.held: list[tuple[str | bytes, WebSocketRoute]] | None = None  # while holding
        self._relayed: set[int] = set()  # routes whose page frames pass through the suite
        context.route_web_socket(SOCKETS, self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.refusing:
            ws.close(code=GOING_AWAY, reason="outage")
            return
        server = ws.connect_to_server()
        self.live.append((ws, server))
        if self.held is not None:
            self._relay(ws, server)

    def _relay(self, page_side: WebSocketRoute, server_side: WebSocketRoute) -> None:
        """From now on the page's frames on this socket pass through the suite, which holds
        write frames while `holding()` is on and forwards everything else at once."""
        if id(page_side) in self._relayed:
            return
        self._relayed.add(id(page_side))

        def forward(message: str | bytes) -> None:
            if self.held is not None and _type_of(message) in WRITES:
                self.held.append((message, server_side))
            else:
                server_side.send(message)

        page_side.on_message(forward)

    def cut(self) -> int:
        """Close every socket now, on both sides. Returns how many were cut."""
        cut = 0
        for page_side, server_side in self.live:
            try:
                page_side.close(code=GOING_AWAY, reason="cut by test")
                server_side.close(code=GOING_AWAY, reason="cut by test")
                cut += 1
            except Exception as exc:  # the page may already be closing it
                if "closed" not in str(exc).lower():
                    raise
        self.live.clear()
        return cut

    def hold(self, until: float) -> None:
        """Keep the outage going until time.monotonic() reaches `until`. The length of an
        outage is what the test is about; events keep flowing to Playwright meanwhile."""
        if self.page is None:
            raise RuntimeError("no page uses this socket control yet")
        while (left := until - time.monotonic()) > 0:
            self.page.wait_for_timeout(min(500.0, left * 1000))

    @contextmanager
    def holding(self) -> Iterator[list[tuple[str | bytes, WebSocketRoute]]]:
        """The page's write frames are held on their way to the server until the block ends
        (a slow network for writes), then delivered in order. Yields the held frames."""
        self.held = []
        for page_side, server_side in self.live:
            self._relay(page_side, server_side)
        held = self.held
        try:
            yield held
        finally:
            self.held = None
            for message, server_side in held:
                server_side.send(message)

    def wait_held(self, count: int, timeout_s: float = 10.0) -> None:
        """Until `count` write frames are held (events reach the suite while it asks the page)."""
        if self.page is None or self.held is None:
            raise RuntimeError("wait_held needs a page and an active holding() block")
        deadline = time.monotonic() + timeout_s
        while len(self.held) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Expected the page to send {count} write frame(s) within {timeout_s:.0f} s;"
                    f" {len(self.held)} arrived"
                )
            self.page.evaluate("() => 0")  # a round trip: lets the route's events through

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Cut every socket and refuse new ones until the block ends."""
        self.refusing = True
        self.cut()
        try:
            yield
        finally:
            self.refusing = False
