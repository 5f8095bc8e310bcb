"""Network faults produced by the suite: every page socket runs through a route that the
test can cut, or refuse during an outage (the browser sees the server go away).

`context.set_offline(True)` does not close an open WebSocket, so faults are made here."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, Page, WebSocketRoute
from playwright.sync_api import Error as PlaywrightError

SOCKETS = re.compile(r".*/staff-sync.*")
GOING_AWAY = 1001
WRITES = frozenset({"STAFF_UPDATE", "STAFF_CREATE", "STAFF_DELETE"})
SYNCS = frozenset({"SYNC_ALL_PERIODS_RESPONSE", "SYNC_RESPONSE"})
# A strike's moment, as a frame passes the suite: "sent" (a write not yet applied),
# "answered" (applied, its answer not yet at the page), "broadcast" (on its way to another
# profile's tabs), "resync" (a resync's answer on its way to the page).
# What the socket control itself does at the moment: cut the socket the frame travels on,
# or begin an outage (every socket of the profile cut, new ones refused). A server fault
# (kill, freeze) is the strike's `act`; a freeze holds the frame until `release`.
NETWORK_FAULTS = ("cut", "outage")


@dataclass
class Strike:
    """A fault struck once, as the first frame of its moment passes. One strike may be armed
    on several profiles' controls: the writer's learns the write's request id as the page
    sends it, the readers' then know its broadcast."""

    moment: str
    fault: str  # cut, outage, kill, freeze
    act: Callable[[], None] | None = None  # the server fault, if any
    request: str = ""  # the write's request id, once sent
    route: WebSocketRoute | None = None  # the socket it was sent on: its answer comes there
    begun: bool = False  # the fault has begun (its Playwright calls let other events in)
    struck: int = 0  # frames it met, counted once the fault (and its act) is done
    acted: bool = False  # its act is done (a second reader's frame may be met before)
    held: list[tuple[str | bytes, WebSocketRoute]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """It met its frame, and its act, if any, is done."""
        return self.struck > 0 and (self.act is None or self.acted)

    @property
    def drops(self) -> bool:
        """A frame the fault meets is lost, except in a freeze (it is only late)."""
        return self.fault != "freeze"


def _request_of(message: str | bytes) -> str:
    """A frame's request id: the envelope's, else its payload's (an echo carries it there)."""
    try:
        frame = json.loads(message)
        rid = frame.get("requestId") or (frame.get("payload") or {}).get("requestId")
    except (ValueError, AttributeError):
        return ""
    return str(rid or "")


def invalid_write(message: str | bytes) -> str | bytes:
    """A write frame the protocol says the server must refuse: its fields given a wrong type
    (a number where text belongs). Envelope, type and request id stay as the page sent them."""
    try:
        frame = json.loads(message)
        payload = frame["payload"]
        if frame["type"] == "STAFF_CREATE":
            payload["name"] = 0
        elif frame["type"] == "STAFF_UPDATE":
            payload["changes"] = dict.fromkeys(payload["changes"], 0)
        else:
            payload["staffId"] = 0
    except (ValueError, KeyError, TypeError):
        return message
    return json.dumps(frame)


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
        self._relayed: list[WebSocketRoute] = []  # routes whose frames pass through the suite
        self.lose_echo = False  # the answer to the page's next write is to be lost
        self.outage_after_echo = False  # and the network goes with it, until end_outage
        self.spoil = False  # the page's next write is to be made one the server refuses
        self.spoiled = 0
        self.awaited: set[str] = set()  # request ids of writes whose answer is to be lost
        self.echoes_lost = 0
        self.strikes: list[tuple[Strike, str]] = []  # (strike, "writer" or "reader")
        context.route_web_socket(SOCKETS, self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.refusing:
            ws.close(code=GOING_AWAY, reason="outage")
            return
        server = ws.connect_to_server()
        pair = (ws, server)
        self.live.append(pair)

        # A socket either side closes is no longer live (a cut counts only the open ones: a
        # page that gave up a slow attempt left it counted). With a handler set, Playwright
        # forwards a close no more: each passes it on.
        def closed(other: WebSocketRoute) -> Callable[[int | None, str | None], None]:
            def forward(code: int | None, reason: str | None) -> None:
                if pair in self.live:
                    self.live.remove(pair)
                with suppress(PlaywrightError):  # the other side may be closing already
                    other.close(code=code, reason=reason)

            return forward

        ws.on_close(closed(server))
        server.on_close(closed(ws))
        if self.held is not None or self.lose_echo or self.spoil or self.strikes:
            self._relay(ws, server)

    def _relay(self, page_side: WebSocketRoute, server_side: WebSocketRoute) -> None:
        """From now on this socket's frames pass through the suite, which holds the page's
        write frames while `holding()` is on, loses the answer to one while `losing_echo()`
        is, and forwards everything else at once."""
        if any(r is page_side for r in self._relayed):  # by identity: ids are reused
            return
        self._relayed.append(page_side)

        def to_server(message: str | bytes) -> None:
            kind = _type_of(message)
            if self.held is not None and kind in WRITES:
                self.held.append((message, server_side))
                return
            if self.lose_echo and kind in WRITES:
                self.lose_echo = False
                self.awaited.add(_request_of(message))
            if self.spoil and kind in WRITES:
                self.spoil = False
                self.spoiled += 1
                message = invalid_write(message)
            if kind in WRITES and not self._strike_sent(message, page_side, server_side):
                return
            server_side.send(message)

        def to_page(message: str | bytes) -> None:
            if self.refusing:  # an outage began as this frame travelled: it is lost
                return
            if self.strikes and not self._strike_received(message, page_side, server_side):
                return
            if self.awaited and _request_of(message) in self.awaited:
                self.awaited.discard(_request_of(message))
                self.echoes_lost += 1
                if self.outage_after_echo:  # no socket can open again before the cut
                    self.outage_after_echo = False
                    self.begin_outage()
                    return
                self._cut_one(page_side, server_side)  # the write is applied; its echo is lost
                return
            page_side.send(message)

        page_side.on_message(to_server)
        server_side.on_message(to_page)

    # -- faults at the protocol's moments -----------------------------------------------
    def arm(self, strike: Strike, role: str = "writer") -> None:
        """Strike at the moment's first frame through this profile's sockets (a reader waits
        for the broadcast of the writer's request)."""
        self.strikes.append((strike, role))
        for page_side, server_side in list(self.live):
            self._relay(page_side, server_side)

    def disarm(self) -> None:
        self.strikes.clear()

    def _strike_sent(
        self, message: str | bytes, page_side: WebSocketRoute, server_side: WebSocketRoute
    ) -> bool:
        """A write frame on its way to the server; returns whether it goes on."""
        goes = True
        for strike, role in self.strikes:
            if role != "writer" or strike.begun:
                continue
            if strike.moment == "sent":
                goes = goes and not strike.drops
                self._fault(strike, page_side, server_side)
            elif not strike.request:
                strike.request, strike.route = _request_of(message), page_side
        return goes

    def _strike_received(
        self, message: str | bytes, page_side: WebSocketRoute, server_side: WebSocketRoute
    ) -> bool:
        """A frame on its way to the page; returns whether it goes on now."""
        kind = _type_of(message)
        for strike, role in self.strikes:
            if strike.moment == "resync":
                met = kind in SYNCS and not strike.begun
            elif strike.moment == "answered":
                # on the socket that sent it: a socket the page left, open on the server's
                # side (a freeze outlived its patience), gets the broadcast too
                met = role == "writer" and not strike.begun and strike.route is page_side
                met = met and _request_of(message) == strike.request
            elif strike.moment == "broadcast":
                # every tab of a reader profile loses the broadcast, however many
                met = role == "reader" and bool(strike.request)
                met = met and _request_of(message) == strike.request
            else:
                continue
            if not met:
                continue
            if strike.drops:
                # each reader socket meets a network fault; a server fault strikes once
                if not strike.begun or strike.fault in NETWORK_FAULTS:
                    self._fault(strike, page_side, server_side)
                return False
            strike.held.append((message, page_side))
            if not strike.begun:
                self._fault(strike, page_side, server_side)
            return False
        return True

    def _fault(
        self, strike: Strike, page_side: WebSocketRoute, server_side: WebSocketRoute
    ) -> None:
        first, strike.begun = not strike.begun, True
        if strike.fault == "outage":
            self.begin_outage()
        elif strike.fault == "cut":
            self._cut_one(page_side, server_side)
        if strike.act is not None and first:
            strike.act()
            strike.acted = True
        # counted last: closing a route lets the suite's main flow run on in the meantime,
        # and what waits for the strike must find its act done (which a second reader
        # socket's frame, met while the first one's act runs, does not wait for: `acted`)
        strike.struck += 1

    def release(self, strike: Strike) -> None:
        """Deliver what a freeze held, in order."""
        for message, page_side in strike.held:
            try:
                page_side.send(message)
            except Exception as exc:  # the page closed it meanwhile
                if "closed" not in str(exc).lower():
                    raise
        strike.held.clear()

    def wait_struck(self, strike: Strike, timeout_s: float = 10.0) -> None:
        self._until(
            lambda: strike.done,
            timeout_s,
            lambda: (
                f"Expected the {strike.moment} moment within {timeout_s:.0f} s (a {strike.fault}"
                " was to strike there); no such frame passed"
            ),
        )

    def cut(self) -> int:
        """Close every socket now, on both sides. Returns how many were cut."""
        pairs = list(self.live)  # a close handler removes its pair from `live` as it runs
        self.live.clear()
        return sum(1 for page_side, server_side in pairs if self._cut_one(page_side, server_side))

    def _cut_one(self, page_side: WebSocketRoute, server_side: WebSocketRoute) -> bool:
        try:
            page_side.close(code=GOING_AWAY, reason="cut by test")
            server_side.close(code=GOING_AWAY, reason="cut by test")
        except Exception as exc:  # the page may already be closing it
            if "closed" not in str(exc).lower():
                raise
            return False
        return True

    @contextmanager
    def losing_echo(self, then_outage: bool = False) -> Iterator[None]:
        """The page's next write reaches the server and is applied; the server's answer is
        lost, and the socket is cut as it would have arrived (the client must send it again,
        and it must be applied once). With `then_outage` the network goes at that moment
        (every socket cut, new ones refused until `end_outage`): the write stays in flight."""
        self.lose_echo = True
        self.outage_after_echo = then_outage
        for page_side, server_side in list(self.live):
            self._relay(page_side, server_side)
        try:
            yield
        finally:
            self.lose_echo = False
            self.outage_after_echo = False

    @contextmanager
    def refused(self) -> Iterator[None]:
        """The page's next write reaches the server made invalid (see `invalid_write`): the real
        server refuses it with ERROR, for a reason the client could not have checked."""
        self.spoil = True
        for page_side, server_side in list(self.live):
            self._relay(page_side, server_side)
        try:
            yield
        finally:
            self.spoil = False

    def _until(
        self, done: Callable[[], bool], timeout_s: float, failure: Callable[[], str]
    ) -> None:
        """Until `done()`; the route's events reach the suite while it asks the page."""
        if self.page is None:
            raise RuntimeError("no page uses this socket control yet")
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(failure())
            self.page.evaluate("() => 0")

    def wait_echo_lost(self, timeout_s: float = 10.0) -> None:
        self._until(
            lambda: self.echoes_lost > 0,
            timeout_s,
            lambda: (
                f"Expected the page to send a write within {timeout_s:.0f} s (its answer"
                " was to be lost); none was answered"
            ),
        )

    def wait_outage(self, timeout_s: float = 10.0) -> None:
        self._until(
            lambda: self.refusing,
            timeout_s,
            lambda: f"Expected the outage's moment within {timeout_s:.0f} s; it never came",
        )

    def wait_refused_sent(self, timeout_s: float = 10.0) -> None:
        self._until(
            lambda: self.spoiled > 0,
            timeout_s,
            lambda: f"Expected the page to send a write within {timeout_s:.0f} s; none was sent",
        )

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
        for page_side, server_side in list(self.live):
            self._relay(page_side, server_side)
        held = self.held
        try:
            yield held
        finally:
            self.held = None
            for message, server_side in held:
                server_side.send(message)

    def wait_held(self, count: int, timeout_s: float = 10.0) -> None:
        """Until `count` write frames are held (in an active holding() block)."""
        held = self.held
        if held is None:
            raise RuntimeError("wait_held needs an active holding() block")
        self._until(
            lambda: len(held) >= count,
            timeout_s,
            lambda: (
                f"Expected the page to send {count} write frame(s) within {timeout_s:.0f} s;"
                f" {len(held)} arrived"
            ),
        )

    def begin_outage(self) -> None:
        """Cut every socket and refuse new ones until `end_outage`."""
        self.refusing = True
        self.cut()

    def end_outage(self) -> None:
        self.refusing = False

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Cut every socket and refuse new ones until the block ends."""
        self.begin_outage()
        try:
            yield
        finally:
            self.end_outage()
