"""Runs the load: the embedded app (or --base-url), Locust as a subprocess, and a watcher
reading every second the target's /metrics (or psutil, for an app here without it), psutil
on the generator, and /health; then turns it all into samples of a run's metrics.json.

A run connects and syncs its users (the ramp), waits a warm-up, and measures a window of
its stated length: the figures come from the window, the ramp is reported apart. A run
whose generator sat at 90 % CPU or more in the window is marked invalid: its figures would
measure the generator, not the app.

Distributed: with `workers` the Locust process is a master that expects that many workers
(`locust -f - --worker --master-host H --master-port P` on any host: they fetch the
locustfile from the master); `local_workers` starts them here. Each worker reports its own
samples and CPU; the master gathers them when the test stops."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from e2e.harness.app_process import AppProcess
from e2e.harness.metrics import MetricsRecorder
from e2e.harness.options import ROOT
from e2e.load import scrape

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Timings of the steady state: while users still connect and parse their SYNC_ALL (in the
# same process) these measure the generator's own ramp, not the app.
STEADY = frozenset({"edit_ack", "broadcast"})
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
    workers: int = 0  # > 0: a Locust master expecting this many workers
    local_workers: bool = False  # start the workers here, as processes of their own
    master_bind: str = "127.0.0.1"  # where the master listens for workers
    master_port: int = 5557
    workers_wait_s: float = 60.0  # how long the master waits for its workers
    warmup_s: float = 5.0  # after every user has synced, before the measured window

    @property
    def user_class(self) -> str:
        return "LegacyUser" if self.mode == "legacy" else "PrefetchUser"


@dataclass
class Gauges:
    """What was read every second: one tick each, with "at" (epoch s) and the readings it
    got: the app's RSS, CPU seconds and CPU % ("server_*", from the target's /metrics, or
    from psutil when it has none but runs here), psutil's own view of a local app
    ("psutil_*", to cross-check the target's), the busiest generator process's CPU and the
    users the app reports. Each worker measures its own CPU, as (at, %) pairs."""

    ticks: list[dict[str, float]] = field(default_factory=list)
    worker_cpu: list[list[tuple[float, float]]] = field(default_factory=list)
    server_source: str = ""  # "/metrics" or "psutil"
    server_missing: str = ""  # why there are no server gauges

    def series(
        self, name: str, since: float | None = None, until: float | None = None
    ) -> list[float]:
        return [t[name] for t in self.ticks if name in t and inside(t["at"], since, until)]

    def server_cpu_spent(self, since: float | None = None, until: float | None = None) -> float:
        """CPU-seconds the app spent between its first and last reading in the window."""
        spent = self.series("server_cpu_s", since, until)
        return spent[-1] - spent[0] if len(spent) > 1 else 0.0

    def generator_busiest(self, since: float | None = None, until: float | None = None) -> float:
        """The busiest generator process at its busiest second (Locust runs one core a
        process: one saturated worker is enough to measure the generator)."""
        mine = self.series("generator_cpu", since, until)
        theirs = [pct for w in self.worker_cpu for at, pct in w if inside(at, since, until)]
        return max([*mine, *theirs], default=0.0)


def inside(at: float, since: float | None, until: float | None) -> bool:
    return (since is None or at >= since) and (until is None or at <= until)


def crosscheck(gauges: Gauges, tolerance: float = 0.10) -> list[str]:
    """Where the target's /metrics and psutil, reading the same local process, disagree by
    more than `tolerance`: its largest RSS and the CPU-seconds it spent."""
    out = []
    rss = [max(gauges.series(key), default=0.0) for key in ("server_rss", "psutil_rss")]
    pairs = (
        ("RSS", rss[0], rss[1], 0.0),
        ("CPU-seconds", gauges.server_cpu_spent(), _spent(gauges.series("psutil_cpu_s")), 0.1),
    )
    for what, theirs, ours, slack in pairs:
        if ours > 0 and abs(theirs - ours) > max(tolerance * ours, slack):
            out.append(f"{what}: /metrics says {theirs:.4g}, psutil {ours:.4g}")
    return out


def _spent(series: list[float]) -> float:
    return series[-1] - series[0] if len(series) > 1 else 0.0


def is_loopback(url: str) -> bool:
    return any(h in url for h in ("//127.", "//localhost", "//[::1]"))


def reachable(base_url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + "/health", timeout=5) as resp:
            body: dict[str, Any] = json.loads(resp.read())
            return body
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise LoadError(f"{base_url} is not reachable: {exc}") from None


def sample(
    server: psutil.Process | None,
    generators: list[psutil.Process],
    base_url: str,
    gauges: Gauges,
    stop: threading.Event,
) -> None:
    while not stop.wait(1.0):
        tick: dict[str, float] = {"at": time.time()}
        try:
            procs = [q for p in generators for q in (p, *p.children(recursive=True))]
            tick["generator_cpu"] = max((p.cpu_percent() for p in procs), default=0.0)
        except psutil.NoSuchProcess:
            pass
        if server is not None:
            try:
                times = server.cpu_times()
                tick["psutil_rss"] = float(server.memory_info().rss)
                tick["psutil_cpu_s"] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        if gauges.server_source == "/metrics":
            with contextlib.suppress(scrape.Unavailable):
                reading = scrape.read(base_url)
                tick["server_rss"], tick["server_cpu_s"] = reading.rss_bytes, reading.cpu_seconds
        elif gauges.server_source == "psutil" and "psutil_rss" in tick:
            tick["server_rss"], tick["server_cpu_s"] = tick["psutil_rss"], tick["psutil_cpu_s"]
        before = next((t for t in reversed(gauges.ticks) if "server_cpu_s" in t), None)
        if before is not None and "server_cpu_s" in tick and tick["at"] > before["at"]:
            spent = tick["server_cpu_s"] - before["server_cpu_s"]
            tick["server_cpu"] = 100 * spent / (tick["at"] - before["at"])
        with contextlib.suppress(LoadError):
            tick["users"] = float(reachable(base_url).get("clients", 0))
        gauges.ticks.append(tick)


def server_gauges(base_url: str, local: bool) -> tuple[str, str]:
    """(where the app's gauges come from, why there are none)."""
    try:
        scrape.read(base_url)
        return "/metrics", ""
    except scrape.Unavailable as exc:
        if local:
            return "psutil", ""
        return "", f"{exc}, and the suite did not start the app, so psutil cannot read it either"


class Load:
    """Locust users running against `base_url` in a subprocess, with the app (its /metrics,
    or psutil when `server_pid` is given), the generator and /health read every second,
    until `stop()`."""

    def __init__(
        self,
        plan: Plan,
        base_url: str,
        run_dir: Path,
        server_pid: int | None,
        lifetime_s: float | None = None,
    ) -> None:
        """`lifetime_s`: Locust's own run time (default the plan's duration); the caller
        usually stops it sooner."""
        self.plan, self.base_url, self.run_dir = plan, base_url, run_dir
        self.sidefile = run_dir / "load-side.json"
        self.gauges = Gauges()
        self.gauges.server_source, self.gauges.server_missing = server_gauges(
            base_url, server_pid is not None
        )
        self.started_at = time.time()
        self.stopped_at: float | None = None
        lifetime = plan.duration_s if lifetime_s is None else lifetime_s
        self._stop = threading.Event()
        run_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "-u", str(plan.users), "-r", str(plan.spawn_rate), "-t", f"{lifetime:.0f}s",
            "--host", base_url, "--csv", str(run_dir / "locust"), "--only-summary",
            "--stop-timeout", "5", "--loglevel", "WARNING",
            "--load-edit-rate", str(plan.edit_rate), "--load-nav-rate", str(plan.nav_rate),
            "--load-sidefile", str(self.sidefile),
        ]  # fmt: skip
        if plan.workers:
            cmd += [
                "--master", "--expect-workers", str(plan.workers),
                "--expect-workers-max-wait", f"{plan.workers_wait_s:.0f}",
                "--master-bind-host", plan.master_bind, "--master-bind-port", str(plan.master_port),
            ]  # fmt: skip
        cmd.append(plan.user_class)
        self.log = (run_dir / "locust.log").open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.workers = [self._worker(n) for n in range(plan.workers if plan.local_workers else 0)]
        server = psutil.Process(server_pid) if server_pid is not None else None
        generators = [psutil.Process(p.pid) for p in (self.proc, *self.workers)]
        self.watcher = threading.Thread(
            target=sample, args=(server, generators, base_url, self.gauges, self._stop)
        )
        self.watcher.start()

    def _worker(self, n: int) -> subprocess.Popen[bytes]:
        """A worker as another host would run it: in a directory of its own, without this
        project on its path, fetching the locustfile from the master."""
        home = self.run_dir / f"worker-{n}"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        cmd = [
            sys.executable, "-m", "locust", "-f", "-", "--worker",
            "--master-host", "127.0.0.1", "--master-port", str(self.plan.master_port),
            "--loglevel", "WARNING",
        ]  # fmt: skip
        with (home / "locust.log").open("w", encoding="utf-8") as log:  # the worker keeps its own
            return subprocess.Popen(cmd, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_connected(self, users: int, timeout_s: float) -> None:
        """Until the app reports `users` more clients than it had before, or LoadError."""
        start = time.monotonic()
        while (clients := reachable(self.base_url).get("clients", 0)) < users:
            code, waited = self.proc.poll(), time.monotonic() - start
            if code is not None or waited > timeout_s:
                log = self.run_dir / "locust.log"
                self.log.flush()
                ended = f"Locust exited ({code}) after {waited:.0f} s" if code is not None else ""
                raise LoadError(
                    f"the load did not reach {users} connected users"
                    f" ({ended or f'{timeout_s:.0f} s passed'}; the app reports {clients});"
                    f" {log}: {log.read_text(errors='replace')[-1200:]}"
                )
            time.sleep(0.5)  # polling a condition, bounded by the deadline

    def stop(self) -> dict[str, Any]:
        """Stop the users (SIGTERM: Locust ends the test and writes its results); returns them."""
        self.stopped_at = time.time()
        try:
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait(timeout=self.plan.duration_s + 90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise LoadError("Locust did not stop in time") from None
        finally:
            self._stop.set()
            self.watcher.join()
            self.log.close()
            for worker in self.workers:  # the master's quit ends them; never leave one behind
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        if not self.sidefile.exists():
            log = (self.run_dir / "locust.log").read_text(errors="replace")
            if "Gave up waiting for workers" in log:
                plan = self.plan
                raise LoadError(
                    f"no {plan.workers} Locust workers reached the master at"
                    f" {plan.master_bind}:{plan.master_port} within {plan.workers_wait_s:.0f} s;"
                    f" start each with `locust -f - --worker --master-host <this host>"
                    f" --master-port {plan.master_port}` (same Locust version), and open the"
                    " port to them"
                )
            raise LoadError(
                f"Locust ended (exit {self.proc.returncode}) without results:\n{log[-2000:]}"
            )
        sides: list[dict[str, Any]] = json.loads(self.sidefile.read_text())["workers"]
        if len(sides) < max(1, self.plan.workers):
            raise LoadError(
                f"results from {len(sides)} of {self.plan.workers} workers; see"
                f" {self.run_dir / 'locust.log'}"
            )
        self.gauges.worker_cpu = (
            [[(at, pct) for at, pct in side.get("cpu", [])] for side in sides]
            if self.plan.workers
            else []
        )
        return merged(sides)


def merged(sides: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from every process's: samples side by side, counts added up."""
    return {
        "samples": [s for side in sides for s in side["samples"]],
        **{
            key: sum(side.get(key, 0) for side in sides)
            for key in (
                "expected",
                "received",
                "connects",
                "receivedBytes",
                "users",
                "frames",
                "cpuSeconds",
            )
        },
        "processes": len(sides),
        "readyAt": max((s["readyAt"] for s in sides if s.get("readyAt")), default=None),
        "ready": sum(side.get("ready", 0) for side in sides),
    }


@dataclass(frozen=True)
class Window:
    """What a run measures: from `warmup_s` after every user had synced, for its stated
    length. What came before is reported apart: the ramp (connecting, the first syncs) and
    the warm-up (fresh connections and a server that has just sent every sync still answer
    slower for a few seconds: measured here, p95 of 30-50 ms in the first 5 s against
    10-15 ms after, at 200 users)."""

    started: float  # epoch s: Locust started
    synced: float | None  # every user had synced (None: they never all did; all is judged)
    warmup_s: float = 0.0
    until: float | None = None

    @property
    def since(self) -> float | None:
        return None if self.synced is None else self.synced + self.warmup_s

    @property
    def ramp_s(self) -> float | None:
        return None if self.synced is None else self.synced - self.started

    @property
    def length_s(self) -> float | None:
        if self.since is None or self.until is None:
            return None
        return self.until - self.since


SYNC_SETTLE_S = 1.5  # after the app counts every user connected, time for their syncs
RAMP_SLACK_S = 60.0  # beyond users / spawn rate, how long connecting every user may take


def window_of(plan: Plan, side: dict[str, Any], load: Load, connected_at: float | None) -> Window:
    if connected_at is None:
        return Window(load.started_at, None)
    ready = side.get("readyAt") if side.get("ready", 0) >= plan.users else None
    synced = float(ready) if ready else connected_at + 1.0  # legacy users never sync all
    until = synced + plan.warmup_s + plan.duration_s
    if load.stopped_at is not None:
        until = min(until, load.stopped_at)
    return Window(load.started_at, synced, plan.warmup_s, until)


def run(plan: Plan, run_dir: Path, server_pid: int | None = None) -> dict[str, Any]:
    """Run the plan into run_dir; returns the run's metrics (also written to metrics.json).
    The users connect and sync (the ramp, bounded by their number over the spawn rate);
    then the run measures `plan.duration_s` of steady state and stops them.
    `server_pid`: the app's process when it runs here but was started elsewhere."""
    run_dir.mkdir(parents=True, exist_ok=True)
    app = None
    if plan.base_url is None:
        app = AppProcess(data_dir=run_dir / "app" / "data", log_path=run_dir / "app" / "app.log")
        app.start()
        base_url = app.base_url
    else:
        base_url = plan.base_url.rstrip("/")
        reachable(base_url)
    ramp_limit = plan.users / plan.spawn_rate + RAMP_SLACK_S
    ramp_limit += plan.workers_wait_s if plan.workers else 0.0
    lifetime = ramp_limit + plan.warmup_s + plan.duration_s + SYNC_SETTLE_S + 30  # a bound
    try:
        before = int(reachable(base_url).get("clients", 0))
        pid = app.pid if app is not None else server_pid
        load = Load(plan, base_url, run_dir, pid, lifetime)
        connected_at: float | None = None
        with contextlib.suppress(LoadError):  # a load that never connects all is judged below
            load.wait_connected(before + plan.users, ramp_limit)
            connected_at = time.time()
        if connected_at is not None:  # the measured window passes (unless Locust ends first)
            with contextlib.suppress(subprocess.TimeoutExpired):
                load.proc.wait(timeout=plan.warmup_s + plan.duration_s + SYNC_SETTLE_S)
        side = load.stop()
    finally:
        if app is not None:
            app.stop()
    window = window_of(plan, side, load, connected_at)
    recorder = MetricsRecorder(run_id=run_dir.name)
    record(plan, side, load.gauges, recorder, "load", window.since, window.until)
    if window.ramp_s is not None:
        recorder.record("load.ramp_s", window.ramp_s, "s", "load", load_users=plan.users)
    recorder.environment = environment(plan, load.gauges, side, base_url, window)
    recorder.write(run_dir / "metrics.json")
    return recorder.as_json()


SERVER_METRICS = (
    "load.server_cpu_percent",
    "load.server_rss_bytes",
    "load.server_cpu_s_per_user_minute",
)


def record(
    plan: Plan,
    side: dict[str, Any],
    gauges: Gauges,
    recorder: MetricsRecorder,
    test: str,
    since: float | None = None,
    until: float | None = None,
) -> None:
    """The load's results as samples of `recorder`, each tagged with the user count; with
    `since` and `until` (epoch s), only the timings and gauges of that window (full load)."""
    tags = {"load_users": plan.users, "mode": plan.mode}
    errors = 0
    for name, ms, ok, *at in side["samples"]:
        if at and name in STEADY and not inside(at[0], since, until):
            continue
        if not ok:
            errors += 1
        elif name in SAMPLE_NAMES:
            recorder.record(SAMPLE_NAMES[name], ms, "ms", test, **tags)
    recorder.record("load.errors", errors, "count", test, **tags)
    recorder.record(
        "load.delivery_lost", side["expected"] - side["received"], "count", test, **tags
    )
    for n, users in enumerate(gauges.series("users", since, until)):
        recorder.record("load.users_connected", users, "users", test, second=n, **tags)
    for name, key, unit in (
        ("load.server_cpu_percent", "server_cpu", "percent"),
        ("load.server_rss_bytes", "server_rss", "bytes"),
    ):  # tagged with where they were read: the target's /metrics, or psutil
        for n, value in enumerate(gauges.series(key, since, until)):
            recorder.record(name, value, unit, test, second=n, source=gauges.server_source, **tags)
    for n, value in enumerate(gauges.series("generator_cpu", since, until)):
        recorder.record("load.generator_cpu_percent", value, "percent", test, second=n, **tags)
    for worker, series in enumerate(gauges.worker_cpu):
        for n, (_, value) in enumerate(s for s in series if inside(s[0], since, until)):
            recorder.record(
                "load.generator_cpu_percent",
                value,
                "percent",
                test,
                second=n,
                worker=worker,
                **tags,
            )
    lean = frames_per_core(side)
    if lean is not None:
        recorder.record("load.generator_frames_per_core_s", lean, "frames/s", test, **tags)
    recorder.record(
        "load.generator_busiest_percent",
        gauges.generator_busiest(since, until),
        "percent",
        test,
        **tags,
    )
    user_minutes = sum(gauges.series("users")) / 60  # users connected, summed over the run
    if user_minutes > 0:  # what a population costs the server, per user and minute
        per = {
            "load.connections_per_user_minute": (side.get("connects", 0), "connections"),
            "load.bytes_per_user_minute": (side.get("receivedBytes", 0), "bytes"),
        }
        if gauges.server_source:
            per["load.server_cpu_s_per_user_minute"] = (gauges.server_cpu_spent(), "s")
        for metric, (total, unit) in per.items():
            recorder.record(metric, total / user_minutes, unit, test, **tags)
    if not gauges.server_source:
        for metric in SERVER_METRICS:
            recorder.unmeasured(metric, gauges.server_missing)


def environment(
    plan: Plan,
    gauges: Gauges,
    side: dict[str, Any],
    base_url: str,
    window: Window | None = None,
) -> dict[str, Any]:
    since, until = (window.since, window.until) if window else (None, None)
    busiest = gauges.generator_busiest(since, until)
    return {
        "target": base_url,
        "load": {
            "users": plan.users,
            "durationS": plan.duration_s,
            "mode": plan.mode,
            "editRate": plan.edit_rate,
            "navRate": plan.nav_rate,
            "cores": psutil.cpu_count(),
            "workers": plan.workers,
            "processes": side.get("processes", 1),
            "rampS": window.ramp_s if window else None,
            "warmupS": window.warmup_s if window else None,
            "windowS": window.length_s if window else None,
            "generatorCpuMax": busiest,
            "generatorCpuRampMax": (
                gauges.generator_busiest(None, since) if since is not None else None
            ),
            "invalid": invalid(busiest),
            "expectedBroadcasts": side["expected"],
            "receivedBroadcasts": side["received"],
            "framesReceived": side.get("frames", 0),
            "generatorCpuSeconds": side.get("cpuSeconds", 0.0),
            "framesPerCoreSecond": frames_per_core(side),
            "serverGauges": gauges.server_source or None,
            "serverGaugesMissing": gauges.server_missing or None,
            "serverGaugesMismatch": crosscheck(gauges),
        },
    }


def frames_per_core(side: dict[str, Any]) -> float | None:
    """Frames the generator received per second of its CPU time: how lean it is."""
    cpu = float(side.get("cpuSeconds", 0.0))
    return side.get("frames", 0) / cpu if cpu > 0 else None


def invalid(busiest_generator_cpu: float) -> str | None:
    if busiest_generator_cpu < GENERATOR_LIMIT:
        return None
    return (
        f"the load generator reached {busiest_generator_cpu:.0f} % CPU (limit"
        f" {GENERATOR_LIMIT:.0f} %): the figures measure the generator, not the app"
    )
