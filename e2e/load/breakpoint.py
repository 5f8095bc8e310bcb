"""The breakpoint: users added in steps against one app until the broadcast p95 passes its
target or broadcasts are lost (or the generator, not the app, runs out of CPU). Reports the
users held at target with the machine's cores and the generator's CPU, and a chart."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import psutil

from e2e.gate.report import _svg
from e2e.gate.stats import percentile
from e2e.harness.app_process import AppProcess
from e2e.load.runner import Plan, run
from e2e.studies.common import values


@dataclass(frozen=True)
class Step:
    users: int
    broadcast_p95_ms: float
    broadcast_p50_ms: float
    edit_ack_p95_ms: float
    lost: int
    errors: int
    generator_cpu_max: float
    server_cpu_mean: float
    invalid: str | None
    ramp_s: float | None = None  # connecting and syncing every user, before the window
    window_s: float | None = None  # the steady state measured
    frames_per_core_s: float | None = None  # the generator's frames per CPU-second


def step_of(users: int, metrics: dict[str, Any]) -> Step:
    m = metrics  # a run's metrics
    broadcast = values(m, "load.broadcast_ms")
    acks = values(m, "load.edit_ack_ms")
    cpu = values(m, "load.server_cpu_percent")
    load = m["environment"]["load"]
    return Step(
        users,
        percentile(broadcast, 0.95) if broadcast else float("nan"),
        percentile(broadcast, 0.5) if broadcast else float("nan"),
        percentile(acks, 0.95) if acks else float("nan"),
        int(sum(values(m, "load.delivery_lost"))),
        int(sum(values(m, "load.errors"))),
        float(load["generatorCpuMax"]),
        sum(cpu) / len(cpu) if cpu else float("nan"),
        load["invalid"],
        load.get("rampS"),
        load.get("windowS"),
        load.get("framesPerCoreSecond"),
    )


def breakpoint_search(
    out: Path,
    start: int,
    step: int,
    most: int,
    seconds: float,
    target_ms: float,
    edit_rate: float,
    workers: int = 0,
    warmup_s: float = 5.0,
) -> dict[str, Any]:
    """Steps of `step` users from `start` to `most`, `seconds` each, against one app; with
    `workers`, each step's users run in that many local Locust worker processes."""
    out.mkdir(parents=True, exist_ok=True)
    app = AppProcess(data_dir=out / "app" / "data", log_path=out / "app" / "app.log")
    app.start()
    steps: list[Step] = []
    reason = f"reached {most} users within target"
    try:
        for users in range(start, most + 1, step):
            plan = Plan(
                users,
                seconds,
                edit_rate=edit_rate,
                base_url=app.base_url,
                workers=workers,
                local_workers=bool(workers),
                warmup_s=warmup_s,
            )
            steps.append(step_of(users, run(plan, out / f"step-{users:04d}u", app.pid)))
            s = steps[-1]
            print(
                f"{users:5} users: broadcast p95 {s.broadcast_p95_ms:7.1f} ms, edit ack p95"
                f" {s.edit_ack_p95_ms:7.1f} ms, lost {s.lost}, errors {s.errors}, app CPU"
                f" {s.server_cpu_mean:5.1f} %, generator max {s.generator_cpu_max:5.1f} %"
                f" ({s.frames_per_core_s or 0:,.0f} frames/s a core); ramp {s.ramp_s or 0:.1f} s"
                f" and warm-up apart, window {s.window_s or 0:.1f} s",
                flush=True,
            )
            if s.invalid:
                reason = f"stopped at {users} users: {s.invalid}"
                break
            if math.isnan(s.broadcast_p95_ms):
                reason = (
                    f"stopped at {users} users: no edit in the steady window (raise --duration)"
                )
                break
            if s.lost or s.errors or not s.broadcast_p95_ms <= target_ms:
                reason = (
                    f"stopped at {users} users: broadcast p95 over {target_ms:.0f} ms, or losses"
                )
                break
    finally:
        app.stop()
    held = [
        s.users
        for s in steps
        if s.broadcast_p95_ms <= target_ms and not s.lost and not s.errors and not s.invalid
    ]
    result: dict[str, Any] = {
        "targetMs": target_ms,
        "usersHeldAtTarget": max(held, default=0),
        "cores": psutil.cpu_count(),
        "workers": workers,
        "reason": reason,
        "steps": [asdict(s) for s in steps],
    }
    (out / "breakpoint.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(
        [s.users for s in steps], [s.broadcast_p95_ms for s in steps], "o-", label="broadcast p95"
    )
    ax.plot(
        [s.users for s in steps], [s.edit_ack_p95_ms for s in steps], "s--", label="edit ack p95"
    )
    ax.axhline(target_ms, color="#b00020", linestyle=":", label=f"target {target_ms:.0f} ms")
    ax.set(xlabel="users", ylabel="ms", title=f"Breakpoint ({psutil.cpu_count()} cores)")
    ax.legend(fontsize=7)
    (out / "breakpoint.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>staffsync breakpoint</title>"
        f"<h1>Users held at broadcast p95 <= {target_ms:.0f} ms: {result['usersHeldAtTarget']}</h1>"
        f"<p>{reason}</p>{_svg(fig)}",
        encoding="utf-8",
    )
    return result
