"""Protocol users of the plan's load test, for Locust. Self-contained (it needs only
locust and websocket-client; orjson when the host has it), so that workers on other hosts
can fetch it from the master: `locust -f - --worker --master-host H`. Never imported by the
pytest process: gevent must not reach it.

A prefetch user (`PrefetchUser`) connects, times SYNC_ALL_PERIODS_REQUEST to its response
(`sync_all`), then edits real staff at a rate with exponential think times, each edit timed
to its own echo (`edit_ack`); every broadcast it hears is counted, and the fan-out of edits
made by users of the same process is timed (`broadcast`, one clock). A legacy user
(`LegacyUser`) connects with ?period=N and, at its navigation rate, reconnects to another
period and times SYNC_REQUEST (`legacy_sync`). ERROR frames and unexpected closes are
failures. The mode is the user class named on Locust's command line; rates are Locust
options (`--load-edit-rate`, `--load-nav-rate`, `--load-periods`), which the master
forwards to its workers.

The receive path is what limits how much load one process makes: websocket-client makes
the handshake and sends; what the server sends is cut out of large socket reads
(`FrameReader`), and one greenlet per process reads every listening user's socket
(`Receiver`, on epoll), so a broadcast to a hundred users is one wake-up.

Results: each process keeps its raw samples (a uniform subset beyond MAX_SAMPLES), delivery
counts, the frames it received and its own CPU. Run alone, it writes them to
`--load-sidefile` when the test stops. As a master, it asks every worker for theirs when the
test is stopping and writes them all, one entry per worker.
"""

from __future__ import annotations

import json
import random
import re
import select
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import psutil
import websocket
from gevent.monkey import get_original
from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

try:  # a C parser when the host has one: a broadcast is parsed by every user
    from orjson import loads
except ImportError:  # pragma: no cover - a worker host without orjson parses in Python
    from json import loads  # type: ignore[assignment]

SETTLE_S = 5.0  # edits answered this close to a user's stop are not counted for delivery
REPORT_WAIT_S = 30.0  # how long a master waits for its workers' results
# a frame whose envelope names its type first, and a request id anywhere in it (inside a
# JSON string every quote is escaped, so the pattern cannot match a field's text)
TYPE_FIRST = re.compile(rb'\{"type":"([A-Z_]+)"')
REQUEST_ID = re.compile(rb'"requestId":"([^"\\]+)"')
MAX_SAMPLES = 200_000  # a process keeps at most this many samples (a fair subset beyond)


# -- the protocol client ----------------------------------------------------------------
Frame = dict[str, Any]
Report = Callable[..., None]  # Locust's events.request.fire
CHUNK = 1 << 16  # bytes read from a socket at once: a burst of frames costs one read
DRAIN_ROUNDS = 16  # epoll rounds the receiver takes per wake-up


class ProtocolError(Exception):
    """The server answered with ERROR, or not with what the protocol says."""


class Closed(Exception):
    """The server closed the socket (a close frame, or the connection ended)."""


class FrameReader:
    """Messages of the server's side of one WebSocket (RFC 6455, section 5: a server's frames
    are never masked), read from the raw socket in large chunks and cut out of a buffer.
    websocket-client reads each frame in three socket calls, each under a timer of its own,
    which was most of the generator's CPU at a few thousand broadcasts a second. Pings are
    answered through `pong`; a close frame or the end of the stream raises Closed."""

    def __init__(self, sock: Any, pong: Callable[[bytes], None]) -> None:
        self.sock, self.pong = sock, pong
        self.buf = bytearray()
        self.pos = 0
        self.fragments: list[bytes] = []

    def read(self) -> None:
        """One read from the socket into the buffer (waits when nothing has arrived)."""
        self._take(self.sock.recv(CHUNK))

    def read_ready(self) -> None:
        """One read of a socket epoll reported readable: straight from the OS socket
        under gevent's (non-blocking), which has data; nothing if it had none after all."""
        raw = getattr(self.sock, "_sock", self.sock)
        try:
            chunk = raw.recv(CHUNK)
        except BlockingIOError:
            return
        self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        if not chunk:
            raise Closed("the connection ended")
        if self.pos:  # what was cut out already goes first
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk

    def pop(self) -> bytes | None:
        """The next whole text or binary message in the buffer, or None."""
        while True:
            pos, have = self.pos, len(self.buf) - self.pos
            if have < 2:
                return None
            first, second = self.buf[pos], self.buf[pos + 1]
            if second & 0x80:
                raise ProtocolError("the server sent a masked frame")
            length, head = second & 0x7F, 2
            if length >= 126:
                head = 4 if length == 126 else 10
                if have < head:
                    return None
                length = int.from_bytes(self.buf[pos + 2 : pos + head], "big")
            if have < head + length:
                return None
            payload = bytes(self.buf[pos + head : pos + head + length])
            self.pos = pos + head + length
            opcode = first & 0x0F
            if opcode == 0x9:  # ping
                self.pong(payload)
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                raise Closed(f"the server closed the socket ({code})")
            elif opcode != 0xA:  # text, binary or a continuation of one
                if not self.fragments and first & 0x80:
                    return payload
                self.fragments.append(payload)
                if first & 0x80:  # the message's last frame
                    whole = b"".join(self.fragments)
                    self.fragments = []
                    return whole

    def message(self) -> bytes:
        """The next message, waiting for it."""
        while (raw := self.pop()) is None:
            self.read()
        return raw


class Receiver:
    """One greenlet reads the sockets of every listening user of this process: epoll says
    which have data, so a broadcast to a hundred users costs one wake-up, not a hundred
    greenlet switches. Hosts without epoll give each user a greenlet of its own."""

    def __init__(self, epoll: Any) -> None:
        self.poller = epoll()
        self.listeners: dict[int, PrefetchUser] = {}
        self.greenlet: gevent.Greenlet | None = None

    def add(self, user: PrefetchUser) -> None:
        fd = user.client.fileno()
        self.listeners[fd] = user
        self.poller.register(fd, select.EPOLLIN)
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self.run)

    def remove(self, fd: int) -> None:
        if self.listeners.pop(fd, None) is not None:
            self.poller.unregister(fd)

    def run(self) -> None:
        hub = gevent.get_hub()
        watcher = hub.loop.io(self.poller.fileno(), 1)  # 1: readable
        while True:
            hub.wait(watcher)
            # what arrives while a round is handled is taken in the next, without a trip
            # through the hub; a bounded number of rounds, so that the users' edits go on
            for _ in range(DRAIN_ROUNDS):
                ready = self.poller.poll(0)
                if not ready:
                    break
                for fd, _ in ready:
                    user = self.listeners.get(fd)
                    if user is not None:
                        user.readable()


def _receiver() -> Receiver | None:
    epoll = get_original("select", "epoll") if hasattr(select, "EPOLLIN") else None
    return Receiver(epoll) if epoll is not None else None


class LoadClient:
    def __init__(
        self, url: str, origin: str, report: Report, name: str, timeout: float = 10
    ) -> None:
        self.url, self.origin, self.report, self.name = url, origin, report, name
        self.timeout = timeout
        self.ws: websocket.WebSocket | None = None
        self.reader: FrameReader | None = None
        self.client_id = ""
        self.connects = 0  # sockets opened
        self.received_bytes = 0

    def timed(self, name: str, call: Callable[[], int]) -> None:
        """Run `call` (returning a byte count) as one Locust request named `name`."""
        started = time.perf_counter()
        try:
            length = call()
        except (OSError, websocket.WebSocketException, ProtocolError, Closed, ValueError) as exc:
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
            # websocket-client makes the handshake and masks what we send; what the server
            # sends is read by FrameReader, from the first frame on
            ws = websocket.create_connection(
                self.url + query, origin=self.origin, timeout=self.timeout
            )
            self.ws = ws
            self.reader = FrameReader(ws.sock, lambda data: ws.pong(data))
            self.connects += 1
            ack = self.recv()[0]
            if ack.get("type") != "CONNECTION_ACK":
                raise ProtocolError(f"expected CONNECTION_ACK first, got {ack.get('type')}")
            self.client_id = ack["payload"]["clientId"]
            return 0

        self.timed("connect", open_)

    def listen(self) -> None:
        """From now on a read waits as long as it takes (a quiet app is not a failure)."""
        assert self.ws is not None and self.ws.sock is not None
        self.ws.sock.settimeout(None)

    def send(self, kind: str, payload: dict[str, Any], request_id: str | None = None) -> str:
        rid = request_id or uuid.uuid4().hex[:12]
        assert self.ws is not None
        self.ws.send(
            json.dumps({"type": kind, "payload": payload, "requestId": rid, "clientId": self.name})
        )
        return rid

    def recv(self) -> tuple[Frame, int]:
        assert self.reader is not None
        raw = self.reader.message()
        return self.parse(raw), len(raw)

    def parse(self, raw: bytes) -> Frame:
        SHARED.frames += 1
        self.received_bytes += len(raw)
        frame: Frame = loads(raw)
        if frame.get("type") == "ERROR":
            raise ProtocolError(str(frame.get("payload")))
        return frame

    def fileno(self) -> int:
        assert self.ws is not None and self.ws.sock is not None
        fd: int = self.ws.sock.fileno()
        return fd

    def close(self) -> None:
        if self.ws is not None:
            if RECEIVER is not None and self.ws.sock is not None:
                RECEIVER.remove(self.ws.sock.fileno())  # before the number can be reused
            self.ws.close()
            self.ws = None
            self.reader = None


# -- the users --------------------------------------------------------------------------
@dataclass
class Process:
    """What the users of this process share: their edits, who saw which, and its CPU."""

    edits: dict[str, tuple[float, float | None]] = field(
        default_factory=dict
    )  # rid -> (sent, acked)
    users: list[Any] = field(default_factory=list)
    samples: list[tuple[str, float, bool, float]] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, CPU %) a second
    frames: int = 0  # frames its users received
    seen_samples: int = 0  # samples taken, kept or not
    cpu_at_start: float | None = None  # its CPU time (s) when its first user started
    sides: list[dict[str, Any]] = field(default_factory=list)  # a master's workers' results


SHARED = Process()


def keep(name: str, ms: float, ok: bool, at: float) -> None:
    """One sample of this process. Beyond MAX_SAMPLES each new one replaces a kept one at
    random (reservoir sampling), so that what is kept stays a fair sample of the whole run."""
    SHARED.seen_samples += 1
    if len(SHARED.samples) < MAX_SAMPLES:
        SHARED.samples.append((name, ms, ok, at))
        return
    slot = random.randrange(SHARED.seen_samples)
    if slot < MAX_SAMPLES:
        SHARED.samples[slot] = (name, ms, ok, at)


def _keep(name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    keep(name, float(response_time), exception is None, time.time())


def side_of(process: Process) -> dict[str, Any]:
    """This process's results: raw samples, broadcasts owed and received, sockets, bytes."""
    end = time.time()
    ready = [u.ready_at for u in process.users if u.ready_at is not None]
    expected = received = 0
    for rid, (sent, acked) in process.edits.items():
        if acked is None:
            continue
        for user in process.users:
            # a user owes the edits sent after its own sync was answered (their broadcasts
            # reach its receive loop), and long enough before it stopped listening
            listening_until = user.closed_at or end
            if user.ready_at is not None and user.ready_at < sent < listening_until - SETTLE_S:
                expected += 1
                received += rid in user.seen
    return {
        "samples": process.samples,
        "expected": expected,
        "received": received,
        "connects": sum(u.client.connects for u in process.users),
        "receivedBytes": sum(u.client.received_bytes for u in process.users),
        "cpu": process.cpu,
        "users": len(process.users),
        "ready": len(ready),
        "readyAt": max(ready, default=None),  # when its last user had synced
        "frames": process.frames,
        "cpuSeconds": _cpu_seconds() - process.cpu_at_start if process.cpu_at_start else 0.0,
    }


def _write(environment: Environment, sides: list[dict[str, Any]]) -> None:
    path = getattr(environment.parsed_options, "load_sidefile", "")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"workers": sides}, f)


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def _watch_cpu() -> None:
    me = psutil.Process()
    me.cpu_percent()
    while True:
        gevent.sleep(1.0)
        SHARED.cpu.append((time.time(), me.cpu_percent()))


def _options(parser: Any) -> None:
    parser.add_argument("--load-edit-rate", type=float, default=0.5, help="edits/s per user")
    parser.add_argument("--load-nav-rate", type=float, default=0.5, help="legacy navigations/s")
    parser.add_argument("--load-periods", type=int, default=17, help="periods of the app")
    parser.add_argument("--load-sidefile", default="", help="where the results go (master)")


def _init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message("load_side", lambda msg, **_: SHARED.sides.append(msg.data))
    elif isinstance(runner, WorkerRunner):
        runner.register_message(
            "load_report", lambda msg, **_: runner.send_message("load_side", side_of(SHARED))
        )
    if not isinstance(runner, MasterRunner):
        gevent.spawn(_watch_cpu)


def _collect(environment: Environment, **_: Any) -> None:
    """A master asks its workers for their results while they still run, and waits."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    workers = len(runner.clients)
    SHARED.sides.clear()
    runner.send_message("load_report")
    deadline = time.monotonic() + REPORT_WAIT_S
    while len(SHARED.sides) < workers and time.monotonic() < deadline:
        gevent.sleep(0.1)
    _write(environment, list(SHARED.sides))


def _stop(environment: Environment, **_: Any) -> None:
    if not isinstance(environment.runner, (MasterRunner, WorkerRunner)):
        _write(environment, [side_of(SHARED)])


events.request.add_listener(_keep)  # type: ignore[no-untyped-call]
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.init.add_listener(_init)  # type: ignore[no-untyped-call]
events.test_stopping.add_listener(_collect)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_stop)  # type: ignore[no-untyped-call]


class StaffUser(User):
    abstract = True

    def on_start(self) -> None:
        self.name_ = f"load-{id(self):x}"
        base = self.host or ""
        url = base.replace("http", "ws", 1).rstrip("/") + "/staff-sync"
        self.client = LoadClient(
            url, base.rstrip("/"), self.environment.events.request.fire, self.name_
        )
        self.ready_at: float | None = None
        self.closed_at: float | None = None
        self.seen: set[str] = set()
        self.staff: list[str] = []
        self.stopping = False
        if SHARED.cpu_at_start is None:
            SHARED.cpu_at_start = _cpu_seconds()
        SHARED.users.append(self)

    def on_stop(self) -> None:
        self.stopping = True  # the socket's close from here on is ours, not a failure
        self.closed_at = self.closed_at or time.time()
        self.client.close()

    def report(self, name: str, ms: float, error: Exception | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=ms, response_length=0, exception=error
        )


def option(user: User, name: str) -> Any:
    return getattr(user.environment.parsed_options, name)


class PrefetchUser(StaffUser):
    def wait_time(self) -> float:
        return random.expovariate(option(self, "load_edit_rate"))

    def on_start(self) -> None:
        super().on_start()
        self.client.connect()

        def sync() -> int:
            self.client.send("SYNC_ALL_PERIODS_REQUEST", {})
            while True:
                frame, size = self.client.recv()
                if frame["type"] == "SYNC_ALL_PERIODS_RESPONSE":
                    periods = frame["payload"]["periods"].values()
                    self.staff = sorted({row["id"] for rows in periods for row in rows})
                    return size

        self.client.timed("sync_all", sync)
        self.ready_at = time.time()
        self.client.listen()
        assert self.client.reader is not None
        while (raw := self.client.reader.pop()) is not None:  # what came with the sync
            self.on_message(raw)
        if RECEIVER is not None:
            RECEIVER.add(self)
        else:
            self.listener = gevent.spawn(self.receive)

    def receive(self) -> None:
        """This user's own receive loop (hosts without epoll)."""
        while not self.client_gone():
            assert self.client.reader is not None
            try:
                raw = self.client.reader.message()
            except Exception as exc:
                self.lost(exc)
                return
            self.on_message(raw)

    def client_gone(self) -> bool:
        return self.client.reader is None

    def readable(self) -> None:
        """The receiver saw data on this user's socket: every whole message in it."""
        reader = self.client.reader
        if reader is None:
            return
        try:
            reader.read_ready()
            while (raw := reader.pop()) is not None:
                self.on_message(raw)
        except Exception as exc:
            if RECEIVER is not None and self.client.ws is not None:
                RECEIVER.remove(self.client.fileno())
            self.lost(exc)

    def lost(self, exc: Exception) -> None:
        """The socket is gone: a failure unless we are stopping."""
        if not self.stopping:
            self.closed_at = time.time()
            self.report("closed", 0, exc)

    def on_message(self, raw: bytes) -> None:
        """Most frames are broadcasts of other users' edits, and a broadcast sample needs
        only the frame's type and request id: read from the bytes when the envelope names
        its type first (the reference server's does). Anything else is parsed whole."""
        head = TYPE_FIRST.match(raw)
        if head is not None and head.group(1) != b"ERROR":
            SHARED.frames += 1
            self.client.received_bytes += len(raw)
            if head.group(1) != b"STAFF_UPDATE":
                return
            found = REQUEST_ID.search(raw)
            rid = found.group(1).decode() if found else ""
            if rid not in SHARED.edits:
                return
            if not rid.startswith(self.name_ + "-"):  # another user's edit: nothing more needed
                self.heard(rid, None)
                return
        try:
            frame = self.client.parse(raw) if head is None else loads(raw)
        except (ProtocolError, ValueError) as exc:
            self.report("error", 0, exc)
            return
        if frame.get("type") != "STAFF_UPDATE":
            return
        rid = str((frame.get("payload") or {}).get("requestId") or "")
        if rid in SHARED.edits:
            self.heard(rid, frame.get("clientId"))

    def heard(self, rid: str, sender: str | None) -> None:
        """The broadcast of edit `rid` reached this user; `sender`: the frame's clientId."""
        now = time.time()
        sent, acked = SHARED.edits[rid]
        self.seen.add(rid)
        # kept here, not through Locust's request event: a broadcast is the commonest
        # sample by far, and Locust's statistics of it cost a tenth of the generator
        keep("broadcast", (now - sent) * 1000, True, now)
        if sender == self.client.client_id and acked is None:
            SHARED.edits[rid] = (sent, now)
            self.report("edit_ack", (now - sent) * 1000)

    @task
    def edit(self) -> None:
        if not self.staff:
            return
        staff_id = random.choice(self.staff)
        rid = f"{self.name_}-{time.monotonic_ns()}"
        SHARED.edits[rid] = (time.time(), None)
        self.client.send(
            "STAFF_UPDATE", {"staffId": staff_id, "changes": {"position": f"Load {rid[-6:]}"}}, rid
        )


class LegacyUser(StaffUser):
    def wait_time(self) -> float:
        return random.expovariate(option(self, "load_nav_rate"))

    @task
    def navigate(self) -> None:
        period = random.randrange(option(self, "load_periods"))
        self.client.close()
        self.client.connect(f"?period={period}")

        def sync() -> int:
            self.client.send("SYNC_REQUEST", {"period": period})
            while True:
                frame, size = self.client.recv()
                if frame["type"] == "SYNC_RESPONSE":
                    return size

        self.client.timed("legacy_sync", sync)


RECEIVER = _receiver()
