"""The exploration studied over seeded runs: for the healthy app and each defect, how often
the default budget finds a failure naming the defect, how short the shrunk replay is, and
whether the replay fails again; with what was explored (sequences, steps, checks).

    python -m e2e.studies.explore --runs 5                       # healthy + F25-F30, F34-F39
    python -m e2e.studies.explore --runs 5 --defects F26,F30 --seconds 45
    python -m e2e.studies.explore --runs 5 --defects none --client react
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from e2e.studies.common import parser, run_suite, stamp, values

TEST = "e2e/test_explore.py"
FOUND_BY_EXPLORING = (
    *("F25", "F26", "F27", "F28", "F29", "F30"),
    *("F34", "F35", "F36", "F37", "F38", "F39"),
    *("F40", "F41", "F42", "F43", "F44"),
)


@dataclass
class Outcome:
    row: str  # healthy or the defect
    seed: int
    failed: bool
    named: bool  # the failure names the defect (healthy: no failure)
    steps: int  # of the shrunk replay, 0 when none
    replayed: str  # "fails again", "passed", or ""
    sequences: int
    explored_steps: int
    checks: int
    run_dir: str


def one(row: str, seed: int, options: list[str], artifacts: Path, name: str) -> Outcome:
    defect = [] if row == "healthy" else ["--defect", row]
    run = run_suite(
        [TEST],
        [*defect, "--explore-seed", str(seed), "--gate", "off", *options],
        f"{name}-{row}-{seed}",
        artifacts,
    )
    failures = run.failures()
    message = next(iter(failures.values()), "")
    replay_file = run.run_dir / "explore" / "replay.json"
    steps = len(json.loads(replay_file.read_text())["steps"]) if replay_file.exists() else 0
    replayed = ""
    if replay_file.exists():
        again = run_suite(
            [TEST],
            [*defect, "--explore-replay", str(replay_file), "--gate", "off", *options],
            f"{name}-{row}-{seed}-replay",
            artifacts,
        )
        replayed = "fails again" if again.failures() else "passed"
    metrics = run.metrics() if (run.run_dir / "metrics.json").exists() else {"samples": []}

    def count(metric: str) -> int:
        return int(sum(values(metrics, metric)))

    named = not failures if row == "healthy" else bool(re.search(rf"\b{row}:", message))
    return Outcome(
        row,
        seed,
        bool(failures),
        named,
        steps,
        replayed,
        count("explore.sequences"),
        count("explore.steps"),
        count("explore.checks"),
        str(run.run_dir),
    )


def main(argv: list[str] | None = None) -> int:
    cli = parser("python -m e2e.studies.explore", __doc__)
    cli.add_argument("--runs", type=int, default=5, help="seeded runs per row")
    cli.add_argument("--first-seed", type=int, default=1)
    cli.add_argument(
        "--defects",
        default=",".join(FOUND_BY_EXPLORING),
        help="comma-separated ids, or none: the healthy app only",
    )
    cli.add_argument("--seconds", default="", help="--explore-seconds of each run")
    cli.add_argument("--shrink-seconds", default="", help="--explore-shrink-seconds of each run")
    cli.add_argument("--client", choices=["vanilla", "react"], default="vanilla")
    cli.add_argument("--no-healthy", action="store_true", help="leave the healthy row out")
    args = cli.parse_args(argv)
    if args.runs < 1:
        cli.error("--runs must be 1 or more")
    rows = [] if args.no_healthy else ["healthy"]
    rows += [d.strip().upper() for d in args.defects.split(",") if d.strip()]
    rows = [r for r in rows if r != "NONE"]
    options = ["--client", args.client]
    if args.seconds:
        options += ["--explore-seconds", args.seconds]
    if args.shrink_seconds:
        options += ["--explore-shrink-seconds", args.shrink_seconds]
    name = f"explore-{stamp()}"
    outcomes: list[Outcome] = []
    print(f"{'row':8} {'seed':>5} {'result':10} {'steps':>5}  {'replay':12} explored")
    for row in rows:
        for seed in range(args.first_seed, args.first_seed + args.runs):
            o = one(row, seed, options, args.artifacts, name)
            outcomes.append(o)
            result = (
                ("pass" if not o.failed else "FAILED")
                if row == "healthy"
                else ("caught" if o.named else "MISSED")
            )
            print(
                f"{row:8} {seed:>5} {result:10} {o.steps or '-':>5}  {o.replayed or '-':12}"
                f" {o.sequences} sequences, {o.explored_steps} steps, {o.checks} checks",
                flush=True,
            )
    out = args.artifacts / f"{name}.json"
    out.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n", encoding="utf-8")
    print()
    ok = True
    for row in rows:
        mine = [o for o in outcomes if o.row == row]
        good = sum(o.named for o in mine)
        shortest = [o.steps for o in mine if o.named and o.steps]
        again = sum(o.replayed == "fails again" for o in mine if o.named)
        verb = "passed" if row == "healthy" else "caught"
        span = f"{min(shortest)}-{max(shortest)}" if shortest else "-"
        extra = f"; replay steps {span}, failing again {again} of {good}"
        extra = "" if row == "healthy" else extra
        print(f"{row:8} {verb} in {good} of {len(mine)}{extra}")
        ok &= good >= (len(mine) if row == "healthy" else -(-4 * len(mine) // 5))
    print(f"\nstudy: {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
