"""Protocol users of the plan's load test, for Locust (run only by `python -m e2e.load`, in
a process of its own: gevent must never reach the pytest process).

A prefetch user connects, times SYNC_ALL_PERIODS_REQUEST to its response (`sync_all`), then
edits real staff at a rate with exponential think times, each edit timed to its own echo
(`edit_ack`); its receive loop counts every broadcast and times the fan-out of edits made
by users of the same process (`broadcast`, one clock). A legacy user connects with
?period=N and, at its navigation rate, reconnects to another period and times SYNC_REQUEST
(`legacy_sync`). ERROR frames and unexpected closes are failures. At the end the process
writes its raw samples and delivery counts to LOAD_SIDEFILE.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import User, events, task

from e2e.load.wire import LoadClient, ProtocolError

MODE = os.environ.get("LOAD_MODE", "prefetch")
EDIT_RATE = float(os.environ.get("LOAD_EDIT_RATE", "0.5"))  # edits per second per user
NAV_RATE = float(os.environ.get("LOAD_NAV_RATE", "0.5"))  # legacy navigations per second
PERIODS = int(os.environ.get("LOAD_PERIODS", "17"))
SIDEFILE = os.environ.get("LOAD_SIDEFILE", "")
SETTLE_S = 5.0  # edits answered this close to a user's stop are not counted for delivery


@dataclass
class Process:
    """What the users of this process share: their edits, and who saw which."""

    edits: dict[str, tuple[float, float | None]] = field(
        default_factory=dict
    )  # rid -> (sent, acked)
    users: list[Any] = field(default_factory=list)
    samples: list[tuple[str, float, bool, float]] = field(default_factory=list)


SHARED = Process()


def _keep(name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    if len(SHARED.samples) < 200_000:
        SHARED.samples.append((name, float(response_time), exception is None, time.time()))


def _write_sidefile(**_: Any) -> None:
    if not SIDEFILE:
        return
    end = time.time()
    expected = received = 0
    for rid, (sent, acked) in SHARED.edits.items():
        if acked is None:
            continue
        for user in SHARED.users:
            # a user owes the edits sent after its own sync was answered (their broadcasts
            # reach its receive loop), and long enough before it stopped listening
            listening_until = user.closed_at or end
            if user.ready_at is not None and user.ready_at < sent < listening_until - SETTLE_S:
                expected += 1
                received += rid in user.seen
    side = {
        "samples": SHARED.samples,
        "expected": expected,
        "received": received,
        "connects": sum(u.client.connects for u in SHARED.users),
        "receivedBytes": sum(u.client.received_bytes for u in SHARED.users),
    }
    with open(SIDEFILE, "w", encoding="utf-8") as f:
        json.dump(side, f)


events.request.add_listener(_keep)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_write_sidefile)  # type: ignore[no-untyped-call]


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


class PrefetchUser(StaffUser):
    weight = 1 if MODE == "prefetch" else 0

    def wait_time(self) -> float:
        return random.expovariate(EDIT_RATE)

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
    weight = 1 if MODE == "legacy" else 0

    def wait_time(self) -> float:
        return random.expovariate(NAV_RATE)

    @task
    def navigate(self) -> None:
        period = random.randrange(PERIODS)
        self.client.close()
        self.client.connect(f"?period={period}")

        def sync() -> int:
            self.client.send("SYNC_REQUEST", {"period": period})
            while True:
                frame, size = self.client.recv()
                if frame["type"] == "SYNC_RESPONSE":
                    return size

        self.client.timed("legacy_sync", sync)
