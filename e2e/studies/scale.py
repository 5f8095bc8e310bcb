"""Scale curve: first render, payload and navigation latency in both modes as the dataset
grows. Where does prefetching everything stop paying?

    python -m e2e.scale [--staff 20,200,2000] [--periods 17,50]

Writes artifacts/scale-<time>/scale.json and scale.html (inline SVG charts).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from e2e.gate.report import _svg
from e2e.studies.common import p95, parser, run_suite, stamp, stat, values
from staffsync.dataset import generate

TESTS = [
    "e2e/test_initial_load.py::test_initial_load_should_render_staff_and_record_timings",
    "e2e/test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
]


def point(
    mode: str, periods: int, staff: int, latency: int, out: Path, artifacts: Path
) -> dict[str, Any]:
    dataset = out / f"dataset-{periods}x{staff}.json"
    if not dataset.exists():
        dataset.write_text(json.dumps(generate(periods, staff)), encoding="utf-8")
    run_id = f"{out.name}-{mode}-{periods}x{staff}"
    options = [
        "--app-mode",
        mode,
        "--dataset",
        str(dataset),
        "--periods",
        str(periods),
        "--db-latency-ms",
        str(latency),
        "--gate",
        "off",
    ]
    started = time.monotonic()
    run = run_suite(TESTS, options, run_id, artifacts).metrics()
    nav = values(run, "navigation.latency_ms")
    return {
        "mode": mode,
        "periods": periods,
        "staffPerPeriod": staff,
        "memberships": run["environment"].get("dataset", {}).get("memberships"),
        "firstRowMs": stat(values(run, "initial_load.first_row_ms")),
        "initialBytes": stat(values(run, "initial_load.ws_bytes_received")),
        "navP50Ms": stat(nav),
        "navP95Ms": p95(nav),
        "heapAfterLoad": stat(values(run, "heap.after_load_bytes")),
        "seconds": time.monotonic() - started,
        "runId": run_id,
    }


def chart(points: list[dict[str, Any]], key: str, label: str, log: bool = True) -> str:
    fig, ax = plt.subplots(figsize=(7, 3))
    for mode in ("legacy", "prefetch"):
        for periods in sorted({p["periods"] for p in points}):
            series = sorted(
                (p["staffPerPeriod"], p[key])
                for p in points
                if p["mode"] == mode and p["periods"] == periods
            )
            ax.plot(
                [s[0] for s in series],
                [s[1] for s in series],
                marker="o",
                label=f"{mode}, {periods} periods",
                linestyle="-" if mode == "prefetch" else "--",
            )
    ax.set(xlabel="staff per period", ylabel=label, xscale="log")
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    return _svg(fig)


def main(argv: list[str] | None = None) -> int:
    cli = parser("python -m e2e.scale", __doc__)
    cli.add_argument("--staff", default="20,200,2000", help="staff per period, comma-separated")
    cli.add_argument("--periods", default="17,50", help="period counts, comma-separated")
    cli.add_argument("--db-latency-ms", type=int, default=300)
    args = cli.parse_args(argv)
    out = args.artifacts / f"scale-{stamp()}"
    out.mkdir(parents=True)
    points = []
    for periods in (int(p) for p in args.periods.split(",")):
        for staff in (int(s) for s in args.staff.split(",")):
            for mode in ("legacy", "prefetch"):
                p = point(mode, periods, staff, args.db_latency_ms, out, args.artifacts)
                points.append(p)
                print(
                    f"{mode:8} {periods:3} periods x {staff:5} staff:"
                    f" first row {p['firstRowMs']:8.0f} ms,"
                    f" initial {p['initialBytes'] / 1e3:9.1f} KB, nav p50 {p['navP50Ms']:7.1f} ms,"
                    f" p95 {p['navP95Ms']:7.1f} ms, heap {p['heapAfterLoad'] / 1e6:6.1f} MB",
                    flush=True,
                )
    (out / "scale.json").write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
    body = (
        "<!doctype html><meta charset='utf-8'><title>staffsync scale curve</title>"
        f"<h1>Scale curve (database latency {args.db_latency_ms} ms)</h1>"
        f"<h2>First staff row</h2>{chart(points, 'firstRowMs', 'ms')}"
        f"<h2>Bytes received at load</h2>{chart(points, 'initialBytes', 'bytes')}"
        f"<h2>Navigation p95</h2>{chart(points, 'navP95Ms', 'ms')}"
        f"<h2>JS heap after load</h2>{chart(points, 'heapAfterLoad', 'bytes')}"
    )
    (out / "scale.html").write_text(body, encoding="utf-8")
    print(f"written: {out / 'scale.json'}, {out / 'scale.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
