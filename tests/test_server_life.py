"""Health, durability, shutdown, command line and defect switches of the real process."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed

from e2e.harness.app_process import AppProcess
from e2e.harness.wire import WireClient, rows_by_id
from staffsync.defects import DEFECTS
from tests.conftest import AppFactory


def test_health_should_report_clients_periods_and_database(app: AppProcess) -> None:
    with WireClient(app.ws_url), WireClient(app.ws_url + "?period=2"):
        status, body = app.health()
    assert status == 200
    assert body["status"] == "healthy" and body["database"] == "ok"
    assert body["clients"] == 2
    assert body["clientsByMode"] == {"prefetch": 1, "legacy": 1}
    assert body["periods"] == 17 and body["defect"] is None


def test_health_should_turn_unhealthy_when_the_database_is_gone(app: AppProcess) -> None:
    for path in app.data_dir.iterdir():
        path.unlink()
    status, body = app.health()
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["database"].startswith("unusable")


def test_confirmed_write_should_survive_kill_9(app: AppProcess) -> None:
    with WireClient(app.ws_url) as client:
        echo = client.update("stf-00010", {"name": "Durable Name"})
        created = client.create({"name": "Durable Hire", "startPeriod": "2026-02-01"})
    assert echo["type"] == "STAFF_UPDATE" and created["type"] == "STAFF_CREATE"
    app.kill()
    app.restart()
    with WireClient(app.ws_url) as client:
        rows = rows_by_id(client.all_periods())
    assert rows["stf-00010"]["name"] == "Durable Name"
    assert rows[created["payload"]["id"]]["name"] == "Durable Hire"


def test_defect_f9_should_lose_confirmed_writes_on_kill_9(start_app: AppFactory) -> None:
    app = start_app(defect="F9")
    with WireClient(app.ws_url) as client:
        assert client.update("stf-00010", {"name": "Lost Name"})["type"] == "STAFF_UPDATE"
    app.kill()
    app.restart()
    with WireClient(app.ws_url) as client:
        assert rows_by_id(client.all_periods())["stf-00010"]["name"] != "Lost Name"


def test_sigterm_should_close_sockets_with_going_away(app: AppProcess) -> None:
    client = WireClient(app.ws_url)
    app.stop()
    with pytest.raises(ConnectionClosed) as closed:
        client.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert app.proc is not None and app.proc.returncode == 0


def test_defect_should_be_reported_by_health_and_config(start_app: AppFactory) -> None:
    app = start_app(defect="f5")
    assert app.health()[1]["defect"] == "F5"
    with urllib.request.urlopen(app.base_url + "/config.json") as resp:
        config = json.loads(resp.read())
    assert config["defect"] == "F5" and config["defectText"] == DEFECTS["F5"][1]
    assert "DEFECT F5 IS SWITCHED ON" in app.tail_log()


def test_defect_f15_should_drop_every_connection(start_app: AppFactory) -> None:
    app = start_app(defect="F15")
    bad, bystander = WireClient(app.ws_url), WireClient(app.ws_url)
    bad.send_raw("{not json")
    with pytest.raises(ConnectionClosed):
        bystander.recv(timeout=5)


def test_config_should_list_the_periods_in_order(app: AppProcess) -> None:
    with urllib.request.urlopen(app.base_url + "/config.json") as resp:
        config = json.loads(resp.read())
    periods = config["periods"]
    assert [p["index"] for p in periods] == list(range(17))
    assert [p["start"] for p in periods] == sorted(p["start"] for p in periods)
    assert periods[0]["label"] == "Sep 2025" and config["rolloutPercent"] == 100


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staffsync", *args], capture_output=True, text=True, timeout=30
    )


def test_help_should_explain_every_option_and_its_variable() -> None:
    out = run_cli("--help").stdout
    for flag, var in [
        ("--port", "STAFFSYNC_PORT"),
        ("--data-dir", "STAFFSYNC_DATA_DIR"),
        ("--periods", "STAFFSYNC_PERIODS"),
        ("--db-latency-ms", "STAFFSYNC_DB_LATENCY_MS"),
        ("--prefetch-rollout", "STAFFSYNC_PREFETCH_ROLLOUT"),
        ("--defect", "STAFFSYNC_DEFECT"),
    ]:
        assert flag in out and var in out, flag


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--defect", "F99"], "unknown"),
        (["--prefetch-rollout", "150"], "percentage"),
        (["--periods", "0"], "--periods"),
        (["--port", "http"], "invalid int"),
    ],
)
def test_bad_options_should_be_refused_clearly(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_periods_option_should_set_the_count(start_app: AppFactory) -> None:
    app = start_app(periods="5")
    with WireClient(app.ws_url) as client:
        assert sorted(client.all_periods()) == [0, 1, 2, 3, 4]
