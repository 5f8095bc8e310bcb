"""Cross-tab propagation, end to end, on the one epoch clock that every page of a machine
shares (`performance.timeOrigin + performance.now()`):

- `sync.propagation_ms`: the write frame leaving the writer's socket to the first frame of
  a reader's table showing the change, less the time the conditions' link stalled meanwhile
  (a train's tunnel holds every frame; what the app adds after it, a reconnect it did not
  need, still counts);
- `sync.stalled_ms`: that time, for a propagation the link held;
- `sync.ui_round_trip_ms`: the writer's save input to that frame (informational);
- `sync.leg_ms` (tag `leg`): where the time went. `to_server`, `server`, `to_reader` when
  the server stamps its broadcasts (`serverTiming.receivedAt` / `broadcastAt`, epoch ms),
  else `network_and_server`; then `render`, the reader's receipt to its frame.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from e2e.harness.metrics import TestMetrics
from e2e.harness.users import User
from e2e.probes.page_probe import ReceivedWrite, SentWrite

PROPAGATION_TIMEOUT_MS = 10_000
PROPAGATION_METRICS = (
    "sync.propagation_ms",
    "sync.stalled_ms",
    "sync.ui_round_trip_ms",
    "sync.leg_ms",
)


@dataclass(frozen=True)
class Change:
    """A write a test makes: the frame that carries it, and what a reader then shows."""

    key: str  # unique for this change
    frame_type: str  # STAFF_UPDATE, STAFF_CREATE or STAFF_DELETE
    marker: str  # text found in the write frame and its broadcast (a new value, an id)
    shows: str  # what a reader shows, for messages
    text: str | None = None  # a reader shows this text in `field` (of `staff_id`)
    staff_id: str | None = None
    field: str = "name"
    absent: bool = False  # a reader shows no row of `staff_id`


def _sent(writer: User, change: Change, defects: tuple[str, ...]) -> SentWrite:
    writer.probe.wait(
        "([t, m]) => window.__ssProbe.writes.some(w => w.type === t && w.text.includes(m))",
        [change.frame_type, change.marker],
        PROPAGATION_TIMEOUT_MS,
        f"{writer.name} to send a {change.frame_type} carrying {change.marker!r}",
        defects,
        writer.evidence,
    )
    return [
        w for w in writer.probe.writes() if w.type == change.frame_type and change.marker in w.text
    ][-1]


def _received(reader: User, change: Change, after: float) -> ReceivedWrite | None:
    for frame in reader.probe.received():
        if frame.type == change.frame_type and change.marker in frame.text and frame.at >= after:
            return frame
    return None


def propagate(
    writer: User,
    readers: list[User],
    change: Change,
    action: Callable[[], object],
    measure: TestMetrics,
    kind: str,
    defects: tuple[str, ...] = ("F5",),
    record: bool = True,
) -> list[float]:
    """Make the change with `action` in the writer's page; wait until every reader shows
    it; record its propagation to each reader (unless `record` is off: a caller that files
    the times under metrics of its own). Returns the propagation times (ms)."""
    for reader in readers:
        reader.probe.watch(
            change.key,
            text=change.text,
            staff_id=change.staff_id,
            field=change.field,
            absent=change.absent,
        )
    action()
    sent = _sent(writer, change, defects)
    times = []
    for reader in readers:
        seen = reader.probe.seen(
            change.key,
            PROPAGATION_TIMEOUT_MS,
            f"{reader.name} to show {change.shows} after {writer.name}'s edit",
            defects,
            reader.evidence,
        )
        tags = {"kind": kind, "route": f"{writer.mode}-to-{reader.mode}"}
        held = writer.held_ms(sent.at, seen.frame_at)
        propagation = seen.frame_at - sent.at - held
        times.append(propagation)
        if not record:
            continue
        measure("sync.propagation_ms", propagation, "ms", **tags)
        if held > 0:
            measure("sync.stalled_ms", held, "ms", **tags)
        if sent.input_at is not None:
            measure("sync.ui_round_trip_ms", seen.frame_at - sent.input_at, "ms", **tags)
        received = _received(reader, change, sent.at)
        if received is None:
            continue
        for leg, ms in legs(sent, received, seen.frame_at).items():
            measure("sync.leg_ms", ms, "ms", leg=leg, **tags)
    return times


def legs(sent: SentWrite, received: ReceivedWrite, frame_at: float) -> dict[str, float]:
    """The legs of one propagation (ms): the server's part when its broadcast says when it
    received and sent the write, then the reader's rendering."""
    try:
        timing = json.loads(received.text).get("serverTiming") or {}
    except ValueError:
        timing = {}
    out: dict[str, float] = {}
    server_in, server_out = timing.get("receivedAt"), timing.get("broadcastAt")
    if isinstance(server_in, int | float) and isinstance(server_out, int | float):
        out["to_server"] = server_in - sent.at
        out["server"] = server_out - server_in
        out["to_reader"] = received.at - server_out
    else:
        out["network_and_server"] = received.at - sent.at
    out["render"] = frame_at - received.at
    return out


def renaming(user: User, staff_id: str, name: str) -> tuple[Change, Callable[[], None]]:
    """A rename made in `user`'s page: the change a reader shows, and the action making it."""
    change = Change(
        key=name,
        frame_type="STAFF_UPDATE",
        marker=name,
        shows=f"{staff_id} renamed {name!r}",
        text=name,
        staff_id=staff_id,
    )
    return change, lambda: user.schedule.rename_staff(staff_id, name)
