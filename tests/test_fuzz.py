"""Thousands of random and mutated frames: the server stays healthy and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2e.harness.app_process import AppProcess
from e2e.harness.wire import WireClient
from staffsync.protocol import CLIENT_TYPES

TYPES = [*sorted(CLIENT_TYPES), "PONG", "ERROR", "", "staff_update"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Writes here only ever target ids that do not exist or carry invalid fields, so a
# server that behaves writes nothing; the test proves it.
bad_changes = st.dictionaries(
    st.sampled_from(["name", "version", "id", "startPeriod", "endPeriod", "status", "x"]),
    json_values,
    min_size=1,
    max_size=3,
).filter(lambda c: any(k in ("version", "id", "x") for k in c))
frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=64),
    json_values.map(json.dumps),
    st.builds(
        lambda t, p: json.dumps({"type": t, "payload": p}),
        st.sampled_from(TYPES),
        json_values,
    ),
    st.builds(
        lambda sid, ch: json.dumps(
            {"type": "STAFF_UPDATE", "payload": {"staffId": sid, "changes": ch}}
        ),
        st.sampled_from(["stf-00001", "stf-00002", "missing", ""]),
        bad_changes,
    ),
    st.builds(
        lambda sid: json.dumps({"type": "STAFF_DELETE", "payload": {"staffId": sid}}),
        st.one_of(st.text(max_size=10).filter(lambda s: not s.startswith("stf-")), st.integers()),
    ),
    st.builds(
        lambda p: json.dumps({"type": "STAFF_CREATE", "payload": p}),
        st.dictionaries(st.sampled_from(["position", "status", "x"]), json_values, max_size=3),
    ),
)


def answered(client: WireClient, frame: str | bytes) -> dict[str, Any]:
    """Send one frame, then a PING; return whatever came back before the PONG."""
    client.send_raw(frame)
    rid = client.send("PING", {})
    replies: list[dict[str, Any]] = []
    while True:
        reply = client.recv()
        if reply.get("requestId") == rid:
            return {"replies": replies}
        replies.append(reply)


# websockets draws frame masks from the random module while hypothesis is generating
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_random_frames_should_never_hurt_the_server(app: AppProcess) -> None:
    fuzzer, bystander = WireClient(app.ws_url), WireClient(app.ws_url + "?period=4")
    before = bystander.all_periods()
    stats = {"frames": 0}

    @settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frame=frames)
    def throw(frame: str | bytes) -> None:
        outcome = answered(fuzzer, frame)
        stats["frames"] += 1
        for reply in outcome["replies"]:
            assert reply["type"] in ("ERROR", "PONG", "SYNC_RESPONSE", "SYNC_ALL_PERIODS_RESPONSE")
            if reply["type"] == "ERROR":
                assert reply["payload"]["error"] and reply["payload"]["message"]

    throw()
    assert stats["frames"] >= 2000
    status, body = app.health()
    assert status == 200 and body["status"] == "healthy"
    assert bystander.request("PING", {})["type"] == "PONG", "a well-behaved client lost service"
    heard = [f["type"] for f in bystander.seen]
    assert set(heard) <= {"CONNECTION_ACK", "SYNC_ALL_PERIODS_RESPONSE", "PONG"}, heard
    assert bystander.all_periods() == before, "the database changed"
    fuzzer.close()
    bystander.close()
