"""The reference app's own figures at /metrics (Prometheus text), read the way the load room
reads any target's: frames in and out by type, connected clients by mode, the broadcast
fan-out histogram and the process gauges, against a real server and real sockets."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from e2e.harness.app_process import AppProcess
from e2e.harness.wire import WireClient
from e2e.load import scrape
from e2e.probes import server_resources
from tests.conftest import AppFactory

Connect = Callable[..., WireClient]


def samples(app: AppProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(app.base_url + "/metrics", timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_frames_clients_and_fan_out_should_be_counted(app: AppProcess, connect: Connect) -> None:
    writer, reader, _legacy = connect(), connect(), connect("?period=0")
    before = samples(app)
    writer.request("SYNC_ALL_PERIODS_REQUEST", {})
    staff_id = next(iter(writer.period_ids()[0]))
    writer.update(staff_id, {"position": "Counted"})
    reader.recv_until(lambda f: f["type"] == "STAFF_UPDATE")
    writer.send_raw("not json")
    writer.recv_until(lambda f: f["type"] == "ERROR")
    after = samples(app)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("staffsync_frames_received_total", type="SYNC_ALL_PERIODS_REQUEST") == 2
    assert grew("staffsync_frames_received_total", type="STAFF_UPDATE") == 1
    assert grew("staffsync_frames_received_total", type="invalid") == 1
    assert grew("staffsync_frames_sent_total", type="STAFF_UPDATE") == 3  # to every client
    assert grew("staffsync_frames_sent_total", type="ERROR") == 1
    assert grew("staffsync_broadcast_fanout_seconds_count") == 1
    assert after[("staffsync_connected_clients", (("mode", "prefetch"),))] == 2
    assert after[("staffsync_connected_clients", (("mode", "legacy"),))] == 1


def test_process_gauges_should_agree_with_psutil(app: AppProcess) -> None:
    reading = scrape.read(app.base_url)
    rss = psutil.Process(app.pid).memory_info().rss
    assert abs(reading.rss_bytes - rss) <= 0.1 * rss
    assert reading.clients == 0
    times = psutil.Process(app.pid).cpu_times()
    assert abs(reading.cpu_seconds - (times.user + times.system)) <= 0.1 + 0.1 * times.user


def test_resources_should_show_connections_tasks_and_the_heap_after_a_collection(
    app: AppProcess, connect: Connect
) -> None:
    """The gauges the resource checks read (e2e/probes/server_resources.py): open
    connections count while open, and the heap after a collection only on ?gc=1."""
    first = server_resources.read(app.base_url, app.pid)
    no_page = replace(first, clients=0.0)  # earlier tests' sockets may still be closing
    quiet = server_resources.settle(app.base_url, no_page, app.pid)
    plain = samples(app)
    assert ("staffsync_heap_in_use_bytes", ()) in plain
    assert ("staffsync_heap_after_gc_bytes", ()) not in plain  # no collection asked for
    assert quiet.heap_bytes is not None and quiet.tasks is not None and quiet.open_fds
    clients = [connect(), connect("?period=1")]
    busy = server_resources.read(app.base_url, app.pid)
    assert busy.left_over(quiet)["connections"] == 2
    assert busy.open_fds is not None and busy.open_fds >= quiet.open_fds + 2
    for client in clients:
        client.close()
    after = server_resources.settle(app.base_url, quiet, app.pid)
    assert after.left_over(quiet) == {"connections": 0, "descriptors": 0, "tasks": 0}


def test_an_app_keeping_its_metrics_private_should_answer_404(start_app: AppFactory) -> None:
    app = start_app(metrics="off")
    with pytest.raises(scrape.Unavailable, match="answered HTTP 404"):
        scrape.read(app.base_url)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "answered HTTP 404"),
        ("# TYPE up gauge\nup 1\n", "has no process_resident_memory_bytes"),
        ("{not prometheus", "is not Prometheus text"),
    ],
)
def test_a_target_without_usable_metrics_should_say_why(
    tmp_path: Path, content: str | None, says: str
) -> None:
    """What the load room reports beside the server KPIs it could not measure, for a real
    HTTP server (Python's own) that has no /metrics, or something else there."""
    if content is not None:
        (tmp_path / "metrics").write_text(content)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:  # until the server answers
            try:
                urllib.request.urlopen(base + "/", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "http.server did not start"
        with pytest.raises(scrape.Unavailable, match=says):
            scrape.read(base)
    finally:
        server.terminate()
        server.wait(timeout=10)
