"""The flake check: the default suite N times (optionally beside a CPU hog); failures per
test, gate verdicts, and the spread of the headline KPIs.

    python -m e2e.studies.flake --repeat 10 [--hog] [--client react]
    (also: python -m e2e.proof --repeat 10 [--hog])
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from e2e.studies.common import parser, run_suite, stamp

HEADLINES = ("navigation_p95", "initial_load", "js_heap", "propagation", "reconnect")
NIGHTLY = "not soak and not load and not rollout"  # the default set, as bin/verify runs it


def repeat(times: int, hog: bool, artifacts: Path, client: str) -> int:
    name = stamp()
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(1 if hog else 0)
    ]
    per_test: dict[str, int] = {}
    figures: dict[str, list[float]] = {k: [] for k in HEADLINES}
    verdicts: list[str] = []
    try:
        for n in range(times):
            options = ["--gate", "warn", "--client", client]
            run = run_suite([], options, f"flake-{name}-{n:02d}", artifacts, NIGHTLY)
            failed = run.failures()
            for test in failed:
                per_test[test] = per_test.get(test, 0) + 1
            gate_file = run.run_dir / "gate.json"
            gate = json.loads(gate_file.read_text()) if gate_file.exists() else {}
            verdicts.append(gate.get("verdict", "none"))
            for kpi in gate.get("kpis", []):
                if kpi["id"] in figures and kpi["value"] is not None:
                    figures[kpi["id"]].append(kpi["value"])
            print(f"run {n + 1}/{times}: {len(failed)} failures, gate {verdicts[-1]}", flush=True)
    finally:
        for h in hogs:
            h.kill()
    print(f"\nfailures per test over {times} runs{' with a CPU hog' if hog else ''}:")
    for test, count in sorted(per_test.items()) or [("(none)", 0)]:
        print(f"  {count:3}  {test}")
    print(f"gate verdicts: {verdicts}")
    print("headline figures (min / median / max):")
    for kpi_id, vals in figures.items():
        if vals:
            s = sorted(vals)
            print(f"  {kpi_id:16} {s[0]:10.4g} {s[len(s) // 2]:10.4g} {s[-1]:10.4g}")
    summary = artifacts / f"flake-{name}.json"
    record = {
        "runs": times,
        "hog": hog,
        "client": client,
        "failures": per_test,
        "figures": figures,
        "verdicts": verdicts,
    }
    summary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"summary: {summary}")
    return 1 if per_test else 0


def main(argv: list[str] | None = None) -> int:
    cli = parser("python -m e2e.studies.flake", __doc__)
    cli.add_argument("--repeat", type=int, default=10, help="how many runs of the suite")
    cli.add_argument("--hog", action="store_true", help="a CPU hog beside the runs")
    cli.add_argument("--client", choices=["vanilla", "react"], default="vanilla")
    args = cli.parse_args(argv)
    if args.repeat < 1:
        cli.error("--repeat must be 1 or more")
    return repeat(args.repeat, args.hog, args.artifacts, args.client)


if __name__ == "__main__":
    sys.exit(main())
