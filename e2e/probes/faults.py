"""Network faults produced by the suite: every page socket runs through a route that the
test can cut, or refuse during an outage (the browser sees the server go away).

`context.set_offline(True)` does not close an open WebSocket, so faults are made here."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import BrowserContext, Page, WebSocketRoute

SOCKETS = re.compile(r".*/staff-sync.*")
GOING_AWAY = 1001


class SocketControl:
    def __init__(self, context: BrowserContext) -> None:
        self.live: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        self.refusing = False
        self.page: Page | None = None
        context.route_web_socket(SOCKETS, self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.refusing:
            ws.close(code=GOING_AWAY, reason="outage")
            return
        server = ws.connect_to_server()
        self.live.append((ws, server))

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
    def outage(self) -> Iterator[None]:
        """Cut every socket and refuse new ones until the block ends."""
        self.refusing = True
        self.cut()
        try:
            yield
        finally:
            self.refusing = False
