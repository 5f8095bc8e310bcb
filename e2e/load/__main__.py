"""`python -m e2e.load`: the plan's load test on Locust against the bundled app (or a
deployment), its figures written as a run's metrics.json and summarised.

    python -m e2e.load --users 50 --duration 30 [--mode prefetch|legacy] [--edit-rate 0.5]
                       [--base-url URL]
    python -m e2e.load --breakpoint [--start 20 --step 20 --most 400 --duration 20]

Each run (and each breakpoint step) connects its users and syncs them (the ramp), waits
--warmup seconds, then measures --duration seconds of steady state; the ramp is reported
apart, so that the figures do not move with --duration.

Distributed (Locust's master and workers):
    python -m e2e.load --users 200 --workers 2 --local-workers      # both workers here
    python -m e2e.load --users 200 --workers 2 --master-bind 0.0.0.0 # workers elsewhere:
        locust -f - --worker --master-host THIS_HOST --master-port 5557   (on each host)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from e2e.gate.stats import percentile
from e2e.load.breakpoint import breakpoint_search
from e2e.load.runner import LoadError, Plan, is_loopback, run
from e2e.studies.common import parser, stamp, values

MAX_USERS = 2000  # every load this project makes stays bounded
MAX_DURATION_S = 900


def bounded(kind: type, low: float, high: float) -> Any:
    def convert(raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, not {value}")
        return value

    return convert


def summary(metrics: dict[str, Any]) -> list[str]:
    lines = []
    for metric in (
        "load.sync_all_ms",
        "load.edit_ack_ms",
        "load.broadcast_ms",
        "load.legacy_sync_ms",
    ):
        xs = values(metrics, metric)
        if xs:
            p50, p95, p99 = (percentile(xs, q) for q in (0.5, 0.95, 0.99))
            lines.append(
                f"{metric:26} n={len(xs):6}  p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f} ms"
            )
    for metric in ("load.errors", "load.delivery_lost"):
        lines.append(f"{metric:26} {sum(values(metrics, metric)):.0f}")
    for metric, scale, unit in (
        ("load.users_connected", 1, "users"),
        ("load.server_cpu_percent", 1, "%"),
        ("load.server_rss_bytes", 1 / 2**20, "MiB"),
        ("load.generator_cpu_percent", 1, "%"),
    ):
        xs = values(metrics, metric)
        if xs:
            mean = sum(xs) / len(xs) * scale
            lines.append(f"{metric:26} max {max(xs) * scale:.1f} {unit}, mean {mean:.1f} {unit}")
    load = metrics["environment"]["load"]
    if load.get("windowS") is not None:
        lines.append(
            f"measured {load['windowS']:.1f} s of steady state, after a ramp of"
            f" {load['rampS']:.1f} s (every user connected and synced) and {load['warmupS']:.0f} s"
            " of warm-up"
        )
    if load.get("serverGauges"):
        mismatch = "; ".join(load.get("serverGaugesMismatch") or []) or "agree with psutil"
        lines.append(f"server gauges from {load['serverGauges']} ({mismatch})")
    elif load.get("serverGaugesMissing"):
        lines.append(f"server gauges NOT MEASURED: {load['serverGaugesMissing']}")
    if load.get("framesPerCoreSecond"):
        lines.append(
            f"generator: {load['framesReceived']} frames received in"
            f" {load['generatorCpuSeconds']:.1f} CPU-s: {load['framesPerCoreSecond']:,.0f}"
            " frames/s per core"
        )
    invalid = load["invalid"]
    lines.append(
        f"INVALID RUN: {invalid}" if invalid else "valid run (generator below its CPU limit)"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    cli = parser("python -m e2e.load", __doc__)
    cli.add_argument("--users", type=bounded(int, 1, MAX_USERS))
    cli.add_argument(
        "--breakpoint",
        action="store_true",
        help="add users in steps until the broadcast p95 passes its target",
    )
    cli.add_argument(
        "--start", type=bounded(int, 1, MAX_USERS), default=20, help="--breakpoint: first step"
    )
    cli.add_argument(
        "--step",
        type=bounded(int, 1, MAX_USERS),
        default=20,
        help="--breakpoint: users added a step",
    )
    cli.add_argument(
        "--most",
        type=bounded(int, 1, MAX_USERS),
        default=400,
        help="--breakpoint: last step at most",
    )
    cli.add_argument(
        "--target-ms",
        type=bounded(float, 1, 60_000),
        default=100.0,
        help="--breakpoint: broadcast p95 target",
    )
    cli.add_argument(
        "--duration", type=bounded(float, 1, MAX_DURATION_S), default=30.0, help="seconds"
    )
    cli.add_argument(
        "--warmup",
        type=bounded(float, 0, MAX_DURATION_S),
        default=5.0,
        help="seconds after every user has synced before the measured window (default 5)",
    )
    cli.add_argument("--mode", choices=["prefetch", "legacy"], default="prefetch")
    cli.add_argument(
        "--edit-rate", type=bounded(float, 0.01, 50), default=0.5, help="edits/s per user"
    )
    cli.add_argument(
        "--nav-rate",
        type=bounded(float, 0.01, 50),
        default=0.5,
        help="legacy navigations/s per user",
    )
    cli.add_argument(
        "--spawn-rate", type=bounded(float, 0.1, 500), default=10.0, help="users started per second"
    )
    cli.add_argument("--base-url", help="a deployment instead of the bundled app (loopback only)")
    cli.add_argument(
        "--workers",
        type=bounded(int, 0, 64),
        default=0,
        help="Locust workers the master waits for (0: one process, no master)",
    )
    cli.add_argument(
        "--local-workers", action="store_true", help="start the --workers here as processes"
    )
    cli.add_argument(
        "--master-bind", default="127.0.0.1", help="address the master listens on for workers"
    )
    cli.add_argument("--master-port", type=bounded(int, 1024, 65535), default=5557)
    cli.add_argument(
        "--workers-wait",
        type=bounded(float, 1, 600),
        default=60.0,
        help="seconds the master waits for its workers before giving up",
    )
    args = cli.parse_args(argv)
    if args.local_workers and not args.workers:
        cli.error("--local-workers needs --workers N (how many to start)")
    if not args.breakpoint and args.users is None:
        cli.error("--users is required (or --breakpoint)")
    remote = args.base_url and not is_loopback(args.base_url)
    if remote and (not args.workers or args.local_workers):
        cli.error(
            "--base-url: load sent from this machine goes only to this machine (127.0.0.0/8,"
            " localhost, [::1]); a target elsewhere takes workers on other hosts (--workers N)"
        )
    try:
        return find_breakpoint(args) if args.breakpoint else load_once(args)
    except LoadError as exc:
        print(f"python -m e2e.load: {exc}", file=sys.stderr)
        return 2


def find_breakpoint(args: argparse.Namespace) -> int:
    out = args.artifacts / f"breakpoint-{stamp()}"
    found = breakpoint_search(
        out,
        args.start,
        args.step,
        args.most,
        args.duration,
        args.target_ms,
        args.edit_rate,
        args.workers if args.local_workers else 0,
        args.warmup,
    )
    print(
        f"users held at broadcast p95 <= {args.target_ms:.0f} ms: {found['usersHeldAtTarget']}"
        f" ({found['cores']} cores); {found['reason']}; {out / 'breakpoint.html'}"
    )
    return 0


def load_once(args: argparse.Namespace) -> int:
    plan = Plan(
        args.users,
        args.duration,
        args.mode,
        args.edit_rate,
        args.nav_rate,
        args.spawn_rate,
        args.base_url,
        workers=args.workers,
        local_workers=args.local_workers,
        master_bind=args.master_bind,
        master_port=args.master_port,
        workers_wait_s=args.workers_wait,
        warmup_s=args.warmup,
    )
    run_dir = args.artifacts / f"load-{stamp()}-{args.users}u"
    metrics = run(plan, run_dir)
    print("\n".join(summary(metrics)))
    print(f"metrics: {run_dir / 'metrics.json'}")
    return 1 if metrics["environment"]["load"]["invalid"] else 0


if __name__ == "__main__":
    sys.exit(main())
