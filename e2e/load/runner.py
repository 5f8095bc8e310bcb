"""Runs the load: the embedded app (or --base-url), Locust as a subprocess, psutil sampling
the app and the generator every second; then turns it all into samples of a run's
metrics.json. A run whose generator sat at 90 % CPU or more is marked invalid: its figures
would measure the generator, not the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from e2e.harness.app_process import AppProcess
from e2e.harness.metrics import MetricsRecorder
from e2e.harness.options import ROOT

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
GENERATOR_LIMIT = 90.0  # % of one core: beyond it the generator, not the app, is measured
SAMPLE_NAMES = {
    "sync_all": "load.sync_all_ms",
    "edit_ack": "load.edit_ack_ms",
    "broadcast": "load.broadcast_ms",
    "legacy_sync": "load.legacy_sync_ms",
}


class LoadError(RuntimeError):
    """The load could not be run (bad input, unreachable target); the message says why."""


@dataclass
class Plan:
    users: int
    duration_s: float
    mode: str = "prefetch"
    edit_rate: float = 0.5
    nav_rate: float = 0.5
    spawn_rate: float = 10.0
    base_url: str | None = None


@dataclass
class Gauges:
    """What psutil saw every second: the app's CPU and RSS, the generator's CPU, users."""

    server_cpu: list[float] = field(default_factory=list)
    server_rss: list[float] = field(default_factory=list)
    generator_cpu: list[float] = field(default_factory=list)
    users: list[float] = field(default_factory=list)


def reachable(base_url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/health", timeout=5) as resp:
            body: dict[str, Any] = json.loads(resp.read())
            return body
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise LoadError(f"{base_url} is not reachable: {exc}") from None


def sample(
    server: psutil.Process | None,
    generator: psutil.Process,
    base_url: str,
    gauges: Gauges,
    stop: threading.Event,
) -> None:
    while not stop.wait(1.0):
        try:
            procs = [generator, *generator.children(recursive=True)]
            gauges.generator_cpu.append(sum(p.cpu_percent() for p in procs))
            if server is not None:
                gauges.server_cpu.append(server.cpu_percent())
                gauges.server_rss.append(float(server.memory_info().rss))
            gauges.users.append(float(reachable(base_url).get("clients", 0)))
        except (psutil.NoSuchProcess, LoadError):
            continue


def run(plan: Plan, run_dir: Path) -> dict[str, Any]:
    """Run the plan into run_dir; returns the run's metrics (also written to metrics.json)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    app = None
    if plan.base_url is None:
        app = AppProcess(data_dir=run_dir / "app" / "data", log_path=run_dir / "app" / "app.log")
        app.start()
        base_url = app.base_url
    else:
        base_url = plan.base_url.rstrip("/")
        reachable(base_url)
    sidefile = run_dir / "load-side.json"
    env = {
        **os.environ,
        "LOAD_MODE": plan.mode,
        "LOAD_EDIT_RATE": str(plan.edit_rate),
        "LOAD_NAV_RATE": str(plan.nav_rate),
        "LOAD_SIDEFILE": str(sidefile),
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(plan.users),
        "-r",
        str(plan.spawn_rate),
        "-t",
        f"{plan.duration_s:.0f}s",
        "--host",
        base_url,
        "--csv",
        str(run_dir / "locust"),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
    ]
    gauges = Gauges()
    stop = threading.Event()
    log = (run_dir / "locust.log").open("w", encoding="utf-8")
    try:
        locust = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = psutil.Process(app.pid) if app is not None else None
        watcher = threading.Thread(
            target=sample, args=(server, psutil.Process(locust.pid), base_url, gauges, stop)
        )
        watcher.start()
        try:
            locust.wait(timeout=plan.duration_s + 90)
        except subprocess.TimeoutExpired:
            locust.kill()
            raise LoadError(f"Locust did not stop within {plan.duration_s + 90:.0f} s") from None
        finally:
            stop.set()
            watcher.join()
    finally:
        log.close()
        if app is not None:
            app.stop()
    if not sidefile.exists():
        tail = (run_dir / "locust.log").read_text(errors="replace")[-2000:]
        raise LoadError(f"Locust ended (exit {locust.returncode}) without results:\n{tail}")
    return record(plan, json.loads(sidefile.read_text()), gauges, run_dir, base_url)


def record(
    plan: Plan, side: dict[str, Any], gauges: Gauges, run_dir: Path, base_url: str
) -> dict[str, Any]:
    recorder = MetricsRecorder(run_id=run_dir.name)
    test = "load"
    tags = {"load_users": plan.users, "mode": plan.mode}
    errors = 0
    for name, ms, ok in side["samples"]:
        if not ok:
            errors += 1
        elif name in SAMPLE_NAMES:
            recorder.record(SAMPLE_NAMES[name], ms, "ms", test, **tags)
    recorder.record("load.errors", errors, "count", test, **tags)
    recorder.record(
        "load.delivery_lost", side["expected"] - side["received"], "count", test, **tags
    )
    for n, users in enumerate(gauges.users):
        recorder.record("load.users_connected", users, "users", test, second=n, **tags)
    for name, series, unit in (
        ("load.server_cpu_percent", gauges.server_cpu, "percent"),
        ("load.server_rss_bytes", gauges.server_rss, "bytes"),
        ("load.generator_cpu_percent", gauges.generator_cpu, "percent"),
    ):
        for n, value in enumerate(series):
            recorder.record(name, value, unit, test, second=n, **tags)
    busiest = max(gauges.generator_cpu, default=0.0)
    recorder.environment = {
        "target": base_url,
        "load": {
            "users": plan.users,
            "durationS": plan.duration_s,
            "mode": plan.mode,
            "editRate": plan.edit_rate,
            "navRate": plan.nav_rate,
            "cores": psutil.cpu_count(),
            "generatorCpuMax": busiest,
            "invalid": (
                f"the load generator reached {busiest:.0f} % CPU (limit {GENERATOR_LIMIT:.0f} %):"
                " the figures measure the generator, not the app"
                if busiest >= GENERATOR_LIMIT
                else None
            ),
            "expectedBroadcasts": side["expected"],
            "receivedBroadcasts": side["received"],
        },
    }
    recorder.write(run_dir / "metrics.json")
    return recorder.as_json()
