"""Every message type of the protocol, through a real WebSocket against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from e2e.harness.app_process import AppProcess
from e2e.harness.wire import Frame, WireClient, rows_by_id
from staffsync.periods import member_of, month_periods
from tests.conftest import AppFactory

Connect = Callable[..., WireClient]
ROW_FIELDS = {
    "id",
    "name",
    "position",
    "department",
    "type",
    "status",
    "staffOrder",
    "startPeriod",
    "endPeriod",
    "createdAt",
    "updatedAt",
    "version",
}


def test_connection_ack_should_be_the_first_frame_and_name_the_client(connect: Connect) -> None:
    a, b = connect(), connect()
    assert a.seen[0]["payload"] == {"status": "connected", "clientId": a.client_id}
    assert a.client_id != b.client_id
    assert a.seen[0]["timestamp"].endswith("+00:00")


def test_sync_all_periods_should_group_every_member_by_its_dates(connect: Connect) -> None:
    client = connect()
    reply = client.request("SYNC_ALL_PERIODS_REQUEST", {})
    payload = reply["payload"]
    assert payload["totalPeriods"] == 17
    assert sorted(payload["periods"], key=int) == [str(i) for i in range(17)]
    periods = month_periods("2025-09", 17)
    for key, rows in payload["periods"].items():
        assert rows, f"period {key} is empty in the fixture"
        for row in rows:
            assert set(row) >= ROW_FIELDS
            assert int(key) in member_of(periods, row["startPeriod"], row["endPeriod"])
            assert int(key) in row["periods"]
    sizes = [len(rows) for rows in payload["periods"].values()]
    assert min(sizes) >= 10 and max(sizes) <= 25, sizes


def test_empty_period_should_be_an_empty_list(start_app: AppFactory, tiny_dataset: Path) -> None:
    app = start_app(dataset=str(tiny_dataset))
    with WireClient(app.ws_url) as client:
        periods = client.period_ids()
    assert periods[0] == ["a"]
    assert periods[1] == ["a", "b"]
    assert all(periods[i] == [] for i in range(2, 17))


def test_legacy_sync_should_answer_for_one_period(connect: Connect) -> None:
    everything = connect().period_ids()
    legacy = connect("?period=3")
    by_connection = legacy.request("SYNC_REQUEST", {})
    assert by_connection["type"] == "SYNC_RESPONSE"
    assert by_connection["payload"]["period"] == 3
    assert [r["id"] for r in by_connection["payload"]["staff"]] == everything[3]
    assert by_connection["payload"]["staff"] == by_connection["payload"]["staffMembers"]
    by_payload = legacy.request("SYNC_REQUEST", {"period": 9})
    assert [r["id"] for r in by_payload["payload"]["staff"]] == everything[9]


@pytest.mark.parametrize("query", ["?period=x", "?period=17", "?period=-1"])
def test_legacy_connection_with_bad_period_should_be_refused(app: AppProcess, query: str) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        WireClient(app.ws_url + query)
    assert refused.value.response.status_code == 400


def test_update_should_reach_every_client_with_the_full_row(connect: Connect) -> None:
    a, b, legacy = connect(), connect(), connect("?period=0")
    before = rows_by_id(a.all_periods())["stf-00001"]
    echo = a.update("stf-00001", {"name": "Renamed Person"})
    assert echo["type"] == "STAFF_UPDATE"
    assert echo["clientId"] == a.client_id
    row = echo["payload"]["changes"]
    assert set(row) >= ROW_FIELDS
    assert row["name"] == "Renamed Person"
    assert row["position"] == before["position"]
    assert echo["payload"]["version"] == before["version"] + 1
    assert echo["payload"]["periods"] == list(range(17))
    for other in (b, legacy):
        heard = other.recv_until(lambda f: f["type"] == "STAFF_UPDATE")
        assert heard["payload"]["changes"] == row
        assert heard["clientId"] == a.client_id


def test_legacy_write_should_reach_prefetch_clients(connect: Connect) -> None:
    prefetch, legacy = connect(), connect("?period=5")
    legacy.update("stf-00002", {"position": "Manager", "department": "Office"})
    heard = prefetch.recv_until(lambda f: f["type"] == "STAFF_UPDATE")
    assert heard["payload"]["changes"]["position"] == "Manager"
    assert rows_by_id(prefetch.all_periods())["stf-00002"]["department"] == "Office"


def test_date_change_should_move_the_member_between_periods(connect: Connect) -> None:
    client = connect()
    echo = client.update("stf-00003", {"startPeriod": "2026-01-10", "endPeriod": "2026-03-31"})
    assert echo["payload"]["periods"] == [4, 5, 6]
    periods = client.period_ids()
    holding = sorted(p for p, ids in periods.items() if "stf-00003" in ids)
    assert holding == [4, 5, 6]


def test_create_should_land_in_the_periods_of_its_dates(connect: Connect) -> None:
    a, b = connect(), connect()
    echo = a.create({"name": "New Hire", "position": "Host", "startPeriod": "2026-06-01"})
    assert echo["type"] == "STAFF_CREATE"
    row = echo["payload"]
    assert set(row) >= ROW_FIELDS and row["version"] == 1
    assert row["periods"] == list(range(9, 17))
    assert b.recv_until(lambda f: f["type"] == "STAFF_CREATE")["payload"]["id"] == row["id"]
    periods = a.period_ids()
    assert sorted(p for p, ids in periods.items() if row["id"] in ids) == list(range(9, 17))


def test_delete_should_remove_everywhere_and_refuse_later_writes(connect: Connect) -> None:
    a, b = connect(), connect()
    assert a.delete("stf-00004")["type"] == "STAFF_DELETE"
    assert b.recv_until(lambda f: f["type"] == "STAFF_DELETE")["payload"]["staffId"] == "stf-00004"
    assert "stf-00004" not in rows_by_id(a.all_periods())
    again = a.update("stf-00004", {"name": "Ghost"})
    assert again["type"] == "ERROR" and again["payload"]["error"] == "unknown_staff"


def test_same_field_conflict_should_converge_on_the_last_accepted(connect: Connect) -> None:
    a, b = connect(), connect()
    ra = a.send("STAFF_UPDATE", {"staffId": "stf-00005", "changes": {"name": "From A"}})
    rb = b.send("STAFF_UPDATE", {"staffId": "stf-00005", "changes": {"name": "From B"}})
    seen_a = [a.recv_until(lambda f: f["type"] == "STAFF_UPDATE") for _ in range(2)]
    seen_b = [b.recv_until(lambda f: f["type"] == "STAFF_UPDATE") for _ in range(2)]
    assert [f["payload"]["requestId"] for f in seen_a] == [
        f["payload"]["requestId"] for f in seen_b
    ]
    assert {f["payload"]["requestId"] for f in seen_a} == {ra, rb}
    last = seen_a[-1]["payload"]["changes"]["name"]
    assert rows_by_id(a.all_periods())["stf-00005"]["name"] == last
    assert seen_a[-1]["payload"]["version"] == seen_a[0]["payload"]["version"] + 1


def test_different_field_conflict_should_keep_both(connect: Connect) -> None:
    a, b = connect(), connect()
    a.send("STAFF_UPDATE", {"staffId": "stf-00006", "changes": {"name": "Both Kept"}})
    b.send("STAFF_UPDATE", {"staffId": "stf-00006", "changes": {"status": "on_leave"}})
    for client in (a, b):
        for _ in range(2):
            client.recv_until(lambda f: f["type"] == "STAFF_UPDATE")
    row = rows_by_id(a.all_periods())["stf-00006"]
    assert (row["name"], row["status"]) == ("Both Kept", "on_leave")


def test_stale_base_version_should_be_reported(connect: Connect) -> None:
    client = connect()
    version = rows_by_id(client.all_periods())["stf-00007"]["version"]
    client.update("stf-00007", {"name": "First"})
    echo = client.request(
        "STAFF_UPDATE",
        {"staffId": "stf-00007", "changes": {"name": "Second"}, "baseVersion": version},
    )
    assert echo["payload"]["staleBase"] is True
    assert echo["payload"]["baseVersion"] == version


def test_ping_should_echo_its_timestamp(connect: Connect) -> None:
    reply = connect().request("PING", {"timestamp": "2026-01-01T00:00:00Z"})
    assert reply["type"] == "PONG"
    assert reply["payload"]["timestamp"] == "2026-01-01T00:00:00Z"


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("malformed json", '{"type": "PING", ', "invalid_json"),
    ("not an object", "[1, 2, 3]", "invalid_envelope"),
    ("missing type", '{"payload": {}}', "missing_type"),
    ("unknown type", '{"type": "DROP_TABLES", "payload": {}}', "unknown_type"),
    ("payload not an object", '{"type": "STAFF_UPDATE", "payload": "x"}', "invalid_payload"),
    (
        "wrong field type",
        '{"type": "STAFF_UPDATE", "payload": {"staffId": "stf-00001", "changes": {"name": 5}}}',
        "invalid_field",
    ),
    (
        "unknown field",
        '{"type": "STAFF_UPDATE", "payload": {"staffId": "stf-00001", "changes": {"version": 9}}}',
        "invalid_field",
    ),
    (
        "bad date",
        '{"type": "STAFF_UPDATE", "payload": {"staffId": "stf-00001",'
        ' "changes": {"startPeriod": "soon"}}}',
        "invalid_field",
    ),
    (
        "end before start",
        '{"type": "STAFF_UPDATE", "payload": {"staffId": "stf-00001",'
        ' "changes": {"endPeriod": "2020-01-01"}}}',
        "invalid_field",
    ),
    (
        "unknown staff id",
        '{"type": "STAFF_UPDATE", "payload": {"staffId": "nobody", "changes": {"name": "x"}}}',
        "unknown_staff",
    ),
    (
        "create without name",
        '{"type": "STAFF_CREATE", "payload": {"position": "x"}}',
        "invalid_field",
    ),
    ("binary frame", b"\x00\x01\x02", "binary_frame"),
    (
        "oversized frame",
        json.dumps({"type": "PING", "payload": {"x": "y" * 70_000}}),
        "frame_too_large",
    ),
]


@pytest.mark.parametrize(("case", "frame", "code"), BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_input_should_get_an_error_and_change_nothing(
    connect: Connect, case: str, frame: str | bytes, code: str
) -> None:
    bad, bystander = connect(), connect()
    before = bad.all_periods()
    bad.send_raw(frame)
    error = bad.recv_until(lambda f: f["type"] == "ERROR")
    assert error["payload"]["error"] == code, error
    assert isinstance(error["payload"]["message"], str) and error["payload"]["message"]
    assert bad.request("PING", {})["type"] == "PONG", "the connection should stay open"
    assert bad.all_periods() == before, "nothing should be written"
    assert bystander.request("PING", {})["type"] == "PONG"
    assert [f["type"] for f in bystander.seen] == ["CONNECTION_ACK", "PONG"], "others hear nothing"


def test_error_should_echo_the_request_id(connect: Connect) -> None:
    reply = connect().request("STAFF_DELETE", {"staffId": "nobody"})
    assert reply["type"] == "ERROR"
    assert reply["payload"]["staffId"] == "nobody"


def test_foreign_origin_should_be_refused(app: AppProcess, connect: Connect) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        WireClient(app.ws_url, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    assert connect(origin=app.base_url).client_id


def test_allowed_origin_should_be_accepted(start_app: AppFactory) -> None:
    app = start_app(**{"allowed-origins": "https://schedule.example"})
    with WireClient(app.ws_url, origin="https://schedule.example") as client:
        assert client.client_id


# -- exactly-once writes -----------------------------------------------------------------
def replay(app: AppProcess, kind: str, payload: dict[str, object], rid: str) -> Frame:
    """The same request again from a new socket of the same client (as after a lost echo)."""
    with WireClient(app.ws_url, name="tab-1") as again:
        again.send(kind, payload, request_id=rid)
        return again.recv_until(lambda f: f["type"] == "ERROR" or _answers(f, rid))


def _answers(frame: Frame, rid: str) -> bool:
    return bool(frame.get("payload", {}).get("requestId") == rid)


@pytest.mark.parametrize("kind", ["STAFF_UPDATE", "STAFF_CREATE", "STAFF_DELETE"])
def test_repeated_write_should_be_applied_once_and_answered_as_the_first_time(
    app: AppProcess, kind: str
) -> None:
    payloads: dict[str, dict[str, object]] = {
        "STAFF_UPDATE": {"staffId": "stf-00003", "changes": {"name": "Once Only"}},
        "STAFF_CREATE": {"name": "Created Once", "startPeriod": "2025-10-01", "tempId": "t-1"},
        "STAFF_DELETE": {"staffId": "stf-00004"},
    }
    payload = payloads[kind]
    with WireClient(app.ws_url) as bystander:
        with WireClient(app.ws_url, name="tab-1") as first:
            rid = first.send(kind, payload, request_id="r-once-1")
            original = first.recv_until(lambda f: _answers(f, rid))
        bystander.recv_until(lambda f: f["type"] == kind)
        repeat = replay(app, kind, payload, rid)
        assert repeat["type"] == kind, repeat  # the first answer, not an ERROR
        assert repeat["payload"] == original["payload"]
        bystander.request("PING", {})  # frames to one connection keep their order
        heard = [f for f in bystander.seen if f["type"] == kind]
        assert len(heard) == 1, f"the repeat was broadcast: {heard}"
        rows = bystander.all_periods()
    members = rows_by_id(rows)
    if kind == "STAFF_UPDATE":
        assert members["stf-00003"]["version"] == original["payload"]["version"]
    if kind == "STAFF_CREATE":
        assert [r for r in members.values() if r["name"] == "Created Once"] == [
            members[original["payload"]["id"]]
        ]
    if kind == "STAFF_DELETE":
        assert "stf-00004" not in members


def test_repeated_write_should_be_recognised_after_kill_9(app: AppProcess) -> None:
    payload = {"name": "Survives Restarts", "startPeriod": "2025-10-01", "tempId": "t-9"}
    with WireClient(app.ws_url, name="tab-9") as first:
        rid = first.send("STAFF_CREATE", payload, request_id="r-kill-1")
        first.recv_until(lambda f: _answers(f, rid))
    app.kill()
    app.restart()
    with WireClient(app.ws_url, name="tab-9") as again:
        again.send("STAFF_CREATE", payload, request_id=rid)
        repeat = again.recv_until(lambda f: f["type"] == "ERROR" or _answers(f, rid))
        rows = again.all_periods()
    assert repeat["type"] == "STAFF_CREATE"
    named = {r["id"] for r in rows_by_id(rows).values() if r["name"] == "Survives Restarts"}
    assert len(named) == 1, named


def test_same_request_id_from_two_clients_should_be_two_writes(app: AppProcess) -> None:
    payload = {"name": "Twice By Two", "startPeriod": "2025-10-01"}
    for name in ("tab-a", "tab-b"):
        with WireClient(app.ws_url, name=name) as client:
            client.send("STAFF_CREATE", payload, request_id="r-shared")
            client.recv_until(lambda f: f["type"] == "STAFF_CREATE")
    with WireClient(app.ws_url) as check:
        named = [r for r in rows_by_id(check.all_periods()).values() if r["name"] == "Twice By Two"]
    assert len(named) == 2


def test_a_wait_that_times_out_should_say_what_it_expected_and_what_came(
    connect: Callable[..., WireClient],
) -> None:
    client, other = connect(), connect()
    other.update("stf-00001", {"name": "Heard by the waiting client"})
    with pytest.raises(TimeoutError) as caught:
        client.recv_until(lambda f: f["type"] == "NEVER", timeout=1.0, expected="a NEVER frame")
    message = str(caught.value)
    assert "Expected a NEVER frame within 1.0 s" in message
    assert "STAFF_UPDATE" in message, message
