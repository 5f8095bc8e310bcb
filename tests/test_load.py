"""The load room: Locust protocol users against the real app (a few users, seconds), a
master with two workers over TCP on loopback, the conversion of their results into
samples, the generator-CPU invalidation, bad input."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from scipy.stats import poisson

from e2e.gate.kpis import load_kpis
from e2e.harness.metrics import MetricsRecorder
from e2e.harness.options import ROOT
from e2e.load.breakpoint import breakpoint_search
from e2e.load.runner import (
    LOCUSTFILE,
    Gauges,
    LoadError,
    Plan,
    Window,
    environment,
    record,
    run,
    window_of,
)
from e2e.load.sizing import ACK_SLACK_S, bounded, needs, rates
from e2e.studies.common import values


@pytest.mark.timeout(180)
def test_locust_users_should_sync_edit_and_hear_every_broadcast(tmp_path: Path) -> None:
    metrics = run(Plan(users=5, duration_s=6, edit_rate=2.0, warmup_s=1), tmp_path / "load")
    assert len(values(metrics, "load.sync_all_ms")) == 5
    assert len(values(metrics, "load.edit_ack_ms")) >= 10
    assert (
        len(values(metrics, "load.broadcast_ms"))
        >= 5 * len(values(metrics, "load.edit_ack_ms")) // 2
    )
    assert values(metrics, "load.errors") == [0.0]
    assert values(metrics, "load.delivery_lost") == [0.0]
    assert max(values(metrics, "load.users_connected")) == 5
    assert metrics["environment"]["load"]["invalid"] is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.timeout(240)
def test_a_master_and_two_workers_should_merge_their_figures(tmp_path: Path) -> None:
    """Workers as another host runs them (own directory, the project not on their path,
    the locustfile fetched from the master over TCP); the master gathers what each saw."""
    plan = Plan(
        users=6, duration_s=8, edit_rate=2.0, workers=2, local_workers=True,
        master_port=free_port(), warmup_s=1,
    )  # fmt: skip
    metrics = run(plan, tmp_path / "load")
    load = metrics["environment"]["load"]
    assert (load["workers"], load["processes"]) == (2, 2)
    assert len(values(metrics, "load.sync_all_ms")) == 6
    assert len(values(metrics, "load.edit_ack_ms")) >= 10
    assert values(metrics, "load.errors") == [0.0]
    assert values(metrics, "load.delivery_lost") == [0.0]
    for worker in ("0", "1"):  # each worker's own CPU, as it measured it
        assert values(metrics, "load.generator_cpu_percent", worker=worker)
        assert not list((tmp_path / "load" / f"worker-{worker}").glob("*.py"))
    assert load["invalid"] is None


@pytest.mark.timeout(120)
def test_a_master_without_its_workers_should_say_so(tmp_path: Path) -> None:
    plan = Plan(users=2, duration_s=5, workers=1, workers_wait_s=3, master_port=free_port())
    with pytest.raises(LoadError, match="no 1 Locust workers reached the master"):
        run(plan, tmp_path / "load")


def side(samples: list[tuple[str, float, bool]], expected: int, received: int) -> dict[str, object]:
    return {"samples": samples, "expected": expected, "received": received}


def test_results_should_become_samples_with_the_user_count(tmp_path: Path) -> None:
    gauges = Gauges(
        [
            {"at": 1.0, "server_cpu": 10.0, "server_rss": 1e6, "generator_cpu": 30.0, "users": 7},
            {"at": 2.0, "server_cpu": 20.0, "server_rss": 2e6, "generator_cpu": 40.0, "users": 8},
        ],
        server_source="/metrics",
    )
    raw = side([("sync_all", 12.0, True), ("edit_ack", 3.0, True), ("closed", 0.0, False)], 20, 19)
    recorder = MetricsRecorder(run_id="r")
    record(Plan(users=8, duration_s=2), raw, gauges, recorder, "load")
    metrics = recorder.as_json()
    assert values(metrics, "load.sync_all_ms", load_users="8") == [12.0]
    assert values(metrics, "load.edit_ack_ms") == [3.0]
    assert values(metrics, "load.errors") == [1.0]
    assert values(metrics, "load.delivery_lost") == [1.0]
    assert values(metrics, "load.users_connected") == [7.0, 8.0]


def test_a_busy_generator_should_mark_the_run_invalid() -> None:
    def cpu(*pct: float) -> Gauges:
        return Gauges([{"at": float(n), "generator_cpu": p} for n, p in enumerate(pct)])

    busy = environment(Plan(users=3, duration_s=2), cpu(50.0, 95.0), side([], 0, 0), "x")
    assert "generator" in str(busy["load"]["invalid"])
    calm = environment(Plan(users=3, duration_s=2), cpu(50.0, 60.0), side([], 0, 0), "x")
    assert calm["load"]["invalid"] is None
    # only the measured window counts: a busy ramp before it does not invalidate the run
    ramp = environment(
        Plan(users=3, duration_s=2), cpu(99.0, 50.0, 60.0), side([], 0, 0), "x", Window(0, 1, 0, 2)
    )
    assert ramp["load"]["invalid"] is None
    assert ramp["load"]["generatorCpuRampMax"] == 99.0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--users", "0"], "--users"),
        (["--users", "3", "--mode", "sideways"], "--mode"),
        (["--users", "3", "--edit-rate", "-1"], "--edit-rate"),
        (["--users", "3", "--base-url", "http://127.0.0.1:9"], "not reachable"),
        (["--users", "3", "--base-url", "http://example.org"], "only to this machine"),
        (["--users", "3", "--local-workers"], "--local-workers needs --workers"),
        (["--users", "3", "--workers", "-1"], "--workers"),
    ],
)
def test_bad_input_should_fail_at_once_with_a_clear_error(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "e2e.load", "--duration", "2", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr, done.stderr


@pytest.mark.timeout(180)
def test_breakpoint_should_step_users_and_report_what_was_held(tmp_path: Path) -> None:
    found = breakpoint_search(
        tmp_path, start=2, step=2, most=4, seconds=3, target_ms=60_000, edit_rate=2, warmup_s=1
    )
    assert [s["users"] for s in found["steps"]] == [2, 4]
    assert found["usersHeldAtTarget"] == 4  # a target nobody misses: every step is held
    assert found["cores"] == psutil.cpu_count()
    assert "<svg" in (tmp_path / "breakpoint.html").read_text()
    strict = breakpoint_search(
        tmp_path / "strict", 2, 2, 4, 3, target_ms=0.001, edit_rate=2, warmup_s=1
    )
    assert strict["usersHeldAtTarget"] == 0 and len(strict["steps"]) == 1  # stops at the first


def test_the_window_should_start_after_every_user_synced_and_a_warm_up() -> None:
    """Timings of the ramp and the warm-up are left out, whatever the window's length."""
    samples = [("broadcast", 500.0, True, 10.0), ("broadcast", 400.0, True, 14.0)]
    samples += [("broadcast", 5.0, True, 16.0 + n) for n in range(30)]
    raw = {**side(samples, 0, 0), "readyAt": 12.0, "ready": 3}  # type: ignore[arg-type]
    for duration in (10.0, 20.0):
        plan = Plan(users=3, duration_s=duration, warmup_s=3.0)

        class Stopped:
            started_at, stopped_at = 0.0, 100.0

        window = window_of(plan, raw, Stopped(), connected_at=11.0)  # type: ignore[arg-type]
        assert (window.since, window.until) == (15.0, 15.0 + duration)
        assert (window.ramp_s, window.length_s) == (12.0, duration)
        recorder = MetricsRecorder(run_id="r")
        record(plan, raw, Gauges(), recorder, "load", window.since, window.until)
        assert set(values(recorder.as_json(), "load.broadcast_ms")) == {5.0}
    some = window_of(Plan(users=4, duration_s=5), raw, Stopped(), 8.0)  # type: ignore[arg-type]
    assert some.synced == 9.0  # not every user synced: a second after the app counted them


JITTER_MS = 3.0


@pytest.mark.alone
@pytest.mark.timeout(300)
def test_a_step_should_measure_the_same_steady_state_whatever_its_duration(
    tmp_path: Path,
) -> None:
    """The same step over a window of 5 s and of 10 s: the same users held, and the same
    broadcast median within 20 %, or 3 ms (when the ramp was measured with the window, a
    short window's figures were the ramp's: 4 times the long one's). It runs alone, after
    the project's other tests (marker `alone`): beside them, a browser starting takes both
    cores for a second and moves any figure of a 5 s window."""
    found = [
        breakpoint_search(
            tmp_path / f"{seconds}s", 40, 40, 40, seconds, target_ms=100, edit_rate=0.5,
            warmup_s=1,
        )
        for seconds in (5, 10)
    ]  # fmt: skip
    assert [f["usersHeldAtTarget"] for f in found] == [40, 40], found
    (short,), (long,) = (f["steps"] for f in found)
    assert (short["window_s"], long["window_s"]) == pytest.approx((5, 10), abs=0.5)
    assert short["ramp_s"] > 0 and long["ramp_s"] > 0
    a, b = short["broadcast_p50_ms"], long["broadcast_p50_ms"]
    assert abs(a - b) <= max(0.2 * max(a, b), JITTER_MS), (a, b)


def test_the_load_phase_should_be_sized_for_every_kpis_minimum_samples() -> None:
    kpis = [k for k in load_kpis(ROOT / "fixtures" / "kpis.json") if k.metric.startswith("load.")]
    found = {n.metric: n for n in needs(kpis, rates(50, 0.05))}
    ack = found["load.edit_ack_ms"]
    assert (ack.rate, ack.min_samples) == (2.5, 20)
    # at the planned length (less the slack for the last echoes) a Poisson count of rate
    # 2.5/s reaches 20 with probability 0.999
    assert poisson.sf(19, ack.rate * (ack.seconds - ACK_SLACK_S)) == pytest.approx(0.999)
    assert found["load.broadcast_ms"].seconds < ack.seconds  # 50 times the samples
    assert needs(kpis, rates(200, 0.05))[0].seconds < ack.seconds
    phase, shorts = bounded(list(found.values()), 10.0, "--load-max-seconds")
    assert phase == 10.0
    assert set(shorts) == {"load.edit_ack_ms"}
    assert "--load-max-seconds" in shorts["load.edit_ack_ms"]
    unbounded, none_short = bounded(list(found.values()), 60.0, "x")
    assert unbounded == pytest.approx(ack.seconds) and not none_short
    assert set(rates(10, 0.5, nav_rate=1.0, mode="legacy")) == {"load.legacy_sync_ms"}


def test_the_frame_reader_should_cut_every_kind_of_server_frame(tmp_path: Path) -> None:
    """RFC 6455 frames as a server sends them (unmasked): 7-, 16- and 64-bit lengths,
    several in one read, a fragmented message, a ping answered on the way, a close. Run in
    a process of its own: the locustfile brings gevent."""
    script = tmp_path / "check.py"
    script.write_text(
        "import importlib.util, socket, sys\n"
        f"spec = importlib.util.spec_from_file_location('lf', {str(LOCUSTFILE)!r})\n"
        "lf = sys.modules['lf'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(lf)\n"
        "def frame(op, data, fin=True):\n"
        "    n = len(data); head = bytes([(0x80 if fin else 0) | op])\n"
        "    if n < 126: head += bytes([n])\n"
        "    elif n < 65536: head += bytes([126]) + n.to_bytes(2, 'big')\n"
        "    else: head += bytes([127]) + n.to_bytes(8, 'big')\n"
        "    return head + data\n"
        "a, b = socket.socketpair()\n"
        "pongs = []\n"
        "reader = lf.FrameReader(b, pongs.append)\n"
        "big, huge = b'x' * 300, b'y' * 70000\n"
        "a.sendall(frame(1, b'{}') + frame(1, big) + frame(9, b'hi') + frame(1, b'ab', False)"
        " + frame(0, b'cd'))\n"
        "assert reader.message() == b'{}'\n"
        "assert reader.message() == big\n"
        "assert reader.message() == b'abcd' and pongs == [b'hi']\n"
        "a.sendall(frame(2, huge))\n"
        "assert reader.message() == huge\n"
        "a.sendall(frame(8, (1001).to_bytes(2, 'big')))\n"
        "try:\n"
        "    reader.message(); raise SystemExit('no Closed')\n"
        "except lf.Closed as exc:\n"
        "    assert '1001' in str(exc)\n"
        "a.sendall(bytes([0x81, 0x82]) + b'mask' + b'xx')\n"
        "try:\n"
        "    reader.message(); raise SystemExit('a masked frame was taken')\n"
        "except lf.ProtocolError:\n"
        "    pass\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
