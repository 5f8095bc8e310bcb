"""Protocol users of the plan's load test, for Locust. Self-contained (it needs only
locust and websocket-client), so that workers on other hosts can fetch it from the master:
`locust -f - --worker --master-host H`. Never imported by the pytest process: gevent must
not reach it.

A prefetch user (`PrefetchUser`) connects, times SYNC_ALL_PERIODS_REQUEST to its response
(`sync_all`), then edits real staff at a rate with exponential think times, each edit timed
to its own echo (`edit_ack`); its receive loop counts every broadcast and times the fan-out
of edits made by users of the same process (`broadcast`, one clock). A legacy user
(`LegacyUser`) connects with ?period=N and, at its navigation rate, reconnects to another
period and times SYNC_REQUEST (`legacy_sync`). ERROR frames and unexpected closes are
failures. The mode is the user class named on Locust's command line; rates are Locust
options (`--load-edit-rate`, `--load-nav-rate`, `--load-periods`), which the master
forwards to its workers.

Results: each process keeps its raw samples, delivery counts and its own CPU use. Run
alone, it writes them to `--load-sidefile` when the test stops. As a master, it asks every
worker for theirs when the test is stopping and writes them all, one entry per worker.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import psutil
import websocket
from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

SETTLE_S = 5.0  # edits answered this close to a user's stop are not counted for delivery
REPORT_WAIT_S = 30.0  # how long a master waits for its workers' results


# -- the protocol client ----------------------------------------------------------------
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
            # websocket-client checks UTF-8 in pure Python, which was two thirds of the
            # generator's CPU; a frame that is not valid UTF-8 fails json.loads anyway
            self.ws = websocket.create_connection(
                self.url + query,
                origin=self.origin,
                timeout=self.timeout,
                skip_utf8_validation=True,
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


# -- the users --------------------------------------------------------------------------
@dataclass
class Process:
    """What the users of this process share: their edits, who saw which, and its CPU."""

    edits: dict[str, tuple[float, float | None]] = field(
        default_factory=dict
    )  # rid -> (sent, acked)
    users: list[Any] = field(default_factory=list)
    samples: list[tuple[str, float, bool, float]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU %, every second
    sides: list[dict[str, Any]] = field(default_factory=list)  # a master's workers' results


SHARED = Process()


def _keep(name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    if len(SHARED.samples) < 200_000:
        SHARED.samples.append((name, float(response_time), exception is None, time.time()))


def side_of(process: Process) -> dict[str, Any]:
    """This process's results: raw samples, broadcasts owed and received, sockets, bytes."""
    end = time.time()
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
    }


def _write(environment: Environment, sides: list[dict[str, Any]]) -> None:
    path = getattr(environment.parsed_options, "load_sidefile", "")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"workers": sides}, f)


def _watch_cpu() -> None:
    me = psutil.Process()
    me.cpu_percent()
    while True:
        gevent.sleep(1.0)
        SHARED.cpu.append(me.cpu_percent())


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
        self.listener = gevent.spawn(self.receive)

    def receive(self) -> None:
        while True:
            try:
                frame, _ = self.client.recv()
            except ProtocolError as exc:
                self.report("error", 0, exc)
                continue
            except Exception as exc:  # the socket is gone: a failure unless we are stopping
                if not self.stopping:
                    self.closed_at = time.time()
                    self.report("closed", 0, exc)
                return
            rid = str((frame.get("payload") or {}).get("requestId") or "")
            if frame["type"] != "STAFF_UPDATE" or rid not in SHARED.edits:
                continue
            now = time.time()
            sent, acked = SHARED.edits[rid]
            self.seen.add(rid)
            self.report("broadcast", (now - sent) * 1000)
            if frame.get("clientId") == self.client.client_id and acked is None:
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
