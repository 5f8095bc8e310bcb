"""Prove the suite: each catalogued defect makes a test fail with a message naming it, and
the healthy app passes.

    python -m e2e.proof                     # the whole matrix
    python -m e2e.proof --defects F2,F7     # some rows
    python -m e2e.proof --client react      # the server's defects, judged through React
    python -m e2e.proof --repeat 20 [--hog] # flake check of the default suite
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from e2e.catalogue import CATALOGUE
from e2e.options import ROOT
from e2e.subrun import run_suite
from staffsync.defects import DEFECTS

E2E = "e2e/"


@dataclass(frozen=True)
class Row:
    tests: tuple[str, ...]
    options: tuple[str, ...] = ()


# For each defect, the tests that could catch it and what the run needs to show it.
MATRIX: dict[str, Row] = {
    "F1": Row(
        (
            "test_initial_load.py::test_every_period_should_show_exactly_the_servers_staff_without_traffic",
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
        )
    ),
    "F2": Row(
        (
            "test_rapid_switching.py::test_rapid_random_jumps_should_end_on_the_last_requested_period",
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
        ),
        ("--db-latency-ms", "250"),
    ),
    "F3": Row(("test_recovery.py::test_short_outage_should_lose_nothing",)),
    "F4": Row(
        ("test_recovery.py::test_idle_connection_should_stay_open",), ("--idle-seconds", "20")
    ),
    "F5": Row(
        ("test_multi_tab.py::test_edit_should_reach_the_other_tab_in_every_period_of_that_person",)
    ),
    "F6": Row(
        (
            "test_multi_tab.py::test_date_change_should_move_the_person_between_periods_in_the_other_tab",
        )
    ),
    "F7": Row(
        (
            "test_recovery.py::test_cut_socket_should_reconnect_and_resync",
            "test_recovery.py::test_short_outage_should_lose_nothing",
        )
    ),
    "F8": Row(("test_recovery.py::test_short_outage_should_lose_nothing",)),
    "F9": Row(
        (
            "test_recovery.py::test_server_kill_should_keep_confirmed_writes_and_deliver_offline_edits",
        )
    ),
    "F10": Row(("test_multi_tab.py::test_concurrent_edits_of_one_field_should_converge",)),
    "F11": Row(
        (
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
            "test_rapid_switching.py::test_rapid_backward_switching_should_end_on_the_last_period",
        )
    ),
    "F12": Row(("test_memory.py::test_heap_should_not_grow_with_navigation",)),
    "F13": Row(("test_recovery.py::test_frozen_server_should_leave_exactly_one_live_socket",)),
    "F14": Row(
        (
            "test_errors.py::test_rejected_edit_should_be_rolled_back_and_shown",
            "test_errors.py::test_edit_of_a_member_deleted_meanwhile_should_be_refused_and_shown",
        )
    ),
    "F15": Row(("test_errors.py::test_hostile_client_should_not_disconnect_anyone_else",)),
}
HEADLINES = ("navigation_p95", "initial_load", "js_heap", "propagation", "reconnect")


@dataclass
class Result:
    defect: str
    caught: bool
    failed: list[str] = field(default_factory=list)
    naming: list[str] = field(default_factory=list)
    seconds: float = 0.0
    run_dir: str = ""
    note: str = ""


def failures(run_dir: Path) -> dict[str, str]:
    """test name -> failure message, from the run's JUnit XML (errors count too)."""
    junit = run_dir / "junit.xml"
    if not junit.exists():
        return {"<no junit.xml>": "the run did not finish"}
    out = {}
    for case in ET.parse(junit).iter("testcase"):
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                out[case.get("name", "?")] = (node.get("message") or "") + (node.text or "")
    return out


def prove(defect: str, artifacts: Path, stamp: str, client: str) -> Result:
    row = MATRIX[defect]
    started = time.monotonic()
    run_dir = run_suite(
        [E2E + t for t in row.tests],
        ["--defect", defect, "--gate", "off", "--client", client, *row.options],
        f"proof-{stamp}-{defect}",
        artifacts,
    )
    failed = failures(run_dir)
    pattern = re.compile(rf"\b{defect}:")
    naming = [name for name, message in failed.items() if pattern.search(message)]
    note = "" if naming else "no failure names the defect" if failed else "every test passed"
    return Result(
        defect, bool(naming), sorted(failed), naming, time.monotonic() - started, str(run_dir), note
    )


def healthy(artifacts: Path, stamp: str, defects: list[str], client: str) -> Result:
    tests = sorted({E2E + t for d in defects for t in MATRIX[d].tests})
    options = sorted({o for d in defects for o in MATRIX[d].options if o.startswith("--idle")})
    extra = ["--idle-seconds", "20"] if options else []
    started = time.monotonic()
    run_dir = run_suite(
        tests, ["--gate", "off", "--client", client, *extra], f"proof-{stamp}-healthy", artifacts
    )
    failed = failures(run_dir)
    return Result(
        "healthy",
        not failed,
        sorted(failed),
        [],
        time.monotonic() - started,
        str(run_dir),
        "the healthy app must pass every test" if failed else "",
    )


def matrix(defects: list[str], artifacts: Path, client: str) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("" if client == "vanilla" else f"-{client}")
    results = [healthy(artifacts, stamp, defects, client)]
    print(f"client: {client}")
    print(f"{'row':8} {'result':8} {'time':>6}  tests that failed (naming the defect)")
    print_row(results[0])
    for defect in defects:
        results.append(prove(defect, artifacts, stamp, client))
        print_row(results[-1])
    out = artifacts / f"proof-{stamp}-matrix.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n", encoding="utf-8")
    missed = [r.defect for r in results[1:] if not r.caught]
    print(
        f"\ncaught {len(defects) - len(missed)} of {len(defects)}; healthy app "
        f"{'passed' if results[0].caught else 'FAILED'}; matrix: {out}"
    )
    return 0 if not missed and results[0].caught else 1


def print_row(r: Result) -> None:
    label = (
        ("pass" if r.caught else "FAILED")
        if r.defect == "healthy"
        else ("caught" if r.caught else "MISSED")
    )
    shown = ", ".join(n.split("[")[0] for n in (r.naming or r.failed)) or r.note
    print(f"{r.defect:8} {label:8} {r.seconds:5.0f}s  {shown}", flush=True)


def repeat(times: int, hog: bool, artifacts: Path, client: str) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(1 if hog else 0)
    ]
    per_test: dict[str, int] = {}
    figures: dict[str, list[float]] = {k: [] for k in HEADLINES}
    try:
        for n in range(times):
            run_dir = run_suite(
                [], ["--gate", "warn", "--client", client], f"flake-{stamp}-{n:02d}", artifacts
            )
            for name in failures(run_dir):
                per_test[name] = per_test.get(name, 0) + 1
            gate = (
                json.loads((run_dir / "gate.json").read_text())
                if (run_dir / "gate.json").exists()
                else {}
            )
            for kpi in gate.get("kpis", []):
                if kpi["id"] in figures and kpi["value"] is not None:
                    figures[kpi["id"]].append(kpi["value"])
            print(f"run {n + 1}/{times}: {len(failures(run_dir))} failures", flush=True)
    finally:
        for h in hogs:
            h.kill()
    print(f"\nfailures per test over {times} runs{' with a CPU hog' if hog else ''}:")
    for name, count in sorted(per_test.items()) or [("(none)", 0)]:
        print(f"  {count:3}  {name}")
    print("headline figures (min / median / max):")
    for kpi_id, vals in figures.items():
        if vals:
            s = sorted(vals)
            print(f"  {kpi_id:16} {s[0]:10.4g} {s[len(s) // 2]:10.4g} {s[-1]:10.4g}")
    summary = artifacts / f"flake-{stamp}.json"
    summary.write_text(
        json.dumps({"runs": times, "hog": hog, "failures": per_test, "figures": figures}, indent=1)
        + "\n",
        encoding="utf-8",
    )
    print(f"summary: {summary}")
    return 1 if per_test else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m e2e.proof",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--defects", default="", help="comma-separated ids (default: every one that applies)"
    )
    parser.add_argument("--repeat", type=int, default=0, help="flake check: run the suite N times")
    parser.add_argument("--hog", action="store_true", help="with --repeat: a CPU hog beside it")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "artifacts")
    parser.add_argument(
        "--client",
        choices=["vanilla", "react"],
        default="vanilla",
        help="the reference app's client; with react only the server's defects apply",
    )
    args = parser.parse_args(argv)
    if args.repeat:
        return repeat(args.repeat, args.hog, args.artifacts, args.client)
    server_side = [d for d, (where, _) in DEFECTS.items() if where == "server"]
    default = MATRIX if args.client == "vanilla" else server_side
    chosen = args.defects or ",".join(default)
    defects = [d.strip().upper() for d in chosen.split(",") if d.strip()]
    unknown = [d for d in defects if d not in MATRIX]
    if unknown:
        parser.error(f"unknown defect(s) {unknown}; known: {', '.join(CATALOGUE)}")
    client_side = [d for d in defects if d not in server_side]
    if args.client != "vanilla" and client_side:
        parser.error(
            f"{', '.join(client_side)} are defects of the vanilla client; with --client"
            f" {args.client} only the server's apply ({', '.join(server_side)})"
        )
    return matrix(defects, args.artifacts, args.client)


if __name__ == "__main__":
    sys.exit(main())
