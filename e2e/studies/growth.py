"""Cost as the work grows: first row and navigation at 1x, 3x and 10x the bundled staff
(datasets by staffsync.dataset), under each set of conditions, with the growth exponent
(the slope of log cost over log staff, least squares). Linear growth has exponent 1; the
gate flags a cost that grows faster.

    python -m e2e.growth                                  # 1x, 3x, 10x under lab and mobile-4g
    python -m e2e.growth --factors 1,3,10 --conditions lab

Writes artifacts/growth-<time>/: metrics.json with every point and the exponents (the gate
judges them: KPIs growth_first_row and growth_navigation), gate.json, report.html (the
curves on log-log axes), growth.json.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from e2e.conditions.room import BUNDLED_STAFF_PER_PERIOD
from e2e.gate.runner import run_gate
from e2e.harness.metrics import MetricsRecorder
from e2e.harness.options import ROOT
from e2e.studies.common import parser, run_suite, stamp, stat, values
from staffsync.dataset import generate

TESTS = [
    "e2e/test_initial_load.py::test_initial_load_should_render_staff_and_record_timings",
    "e2e/test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
    "e2e/test_rapid_switching.py::test_rapid_random_jumps_should_end_on_the_last_requested_period",
]
PERIODS = 17
# the figure -> (the suite's metric it is the median of, the growth metric)
COSTS = {
    "firstRowMs": ("initial_load.first_row_ms", "growth.first_row_exponent"),
    "navP50Ms": ("navigation.latency_ms", "growth.navigation_exponent"),
}


def exponent(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of log(cost) over log(size): 1 is linear growth."""
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(max(y, 1e-9)) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("the exponent needs at least two sizes")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def point(factor: int, conditions: str, out: Path, artifacts: Path) -> dict[str, Any]:
    staff = BUNDLED_STAFF_PER_PERIOD * factor
    dataset = out / f"dataset-x{factor}.json"
    if not dataset.exists():
        dataset.write_text(json.dumps(generate(PERIODS, staff)), encoding="utf-8")
    run_id = f"{out.name}/points/{conditions.replace(',', '+')}-x{factor}"
    options = ["--dataset", str(dataset), "--conditions", conditions, "--gate", "off"]
    started = time.monotonic()
    run = run_suite(TESTS, options, run_id, artifacts).metrics()
    found: dict[str, Any] = {"conditions": conditions, "factor": factor, "staffPerPeriod": staff}
    for key, (metric, _) in COSTS.items():
        found[key] = stat(values(run, metric))
    found["seconds"] = time.monotonic() - started
    return found


def main(argv: list[str] | None = None) -> int:
    cli = parser("python -m e2e.growth", __doc__)
    cli.add_argument("--factors", default="1,3,10", help="times the bundled staff")
    cli.add_argument(
        "--conditions", default="lab;mobile-4g", help="sets of conditions, ';'-separated"
    )
    cli.add_argument("--kpis", type=Path, default=ROOT / "fixtures" / "kpis.json")
    args = cli.parse_args(argv)
    factors = [int(f) for f in args.factors.split(",")]
    if len(set(factors)) < 2:
        cli.error("--factors needs at least two sizes")
    name = f"growth-{stamp()}"
    out = args.artifacts / name
    out.mkdir(parents=True)
    recorder = MetricsRecorder(run_id=name)
    recorder.environment = {"factors": factors, "periods": PERIODS}
    points = []
    for conditions in [c for c in args.conditions.split(";") if c]:
        here = []
        for factor in factors:
            p = point(factor, conditions, out, args.artifacts)
            here.append(p)
            print(
                f"{conditions:16} x{factor:<3} ({p['staffPerPeriod']:4} staff a period):"
                f" first row {p['firstRowMs']:7.0f} ms, navigation p50 {p['navP50Ms']:6.1f} ms",
                flush=True,
            )
            for key in COSTS:
                recorder.record(
                    f"growth.{key}",
                    p[key],
                    "ms",
                    "e2e.growth",
                    conditions=conditions,
                    factor=factor,
                )
        for key, (_, metric) in COSTS.items():
            slope = exponent([(p["staffPerPeriod"], p[key]) for p in here])
            recorder.record(metric, slope, "exponent", "e2e.growth", conditions=conditions)
            print(f"{conditions:16} {key}: growth exponent {slope:.2f}")
        points += here
    recorder.tests["e2e.growth"] = {
        "outcome": "passed",
        "measures": [metric for _, metric in COSTS.values()],
        "tags": {},
    }
    recorder.write(out / "metrics.json")
    (out / "growth.json").write_text(json.dumps(points, indent=1) + "\n", encoding="utf-8")
    outcome = run_gate(out, args.kpis)
    for r in outcome.results:
        if r.id.startswith("growth_") and r.level != "not_measured":
            shown = "-" if r.value is None else f"{r.value:.2f}"
            print(f"gate: {r.title} [{r.conditions}] {shown}: {r.level.upper()}")
    print(f"written: {out / 'growth.json'}; report: {outcome.report_path}")
    return 0 if outcome.verdict in ("pass", "warn") else 1


if __name__ == "__main__":
    sys.exit(main())
