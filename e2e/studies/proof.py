"""Prove the suite: each catalogued defect makes a test fail with a message naming it, and
the healthy app passes.

    python -m e2e.proof                     # the whole matrix
    python -m e2e.proof --defects F2,F7     # some rows
    python -m e2e.proof --client react      # the server's defects, judged through React
    python -m e2e.proof --repeat 20 [--hog] # the flake check (e2e.studies.flake)
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from e2e.harness.catalogue import CATALOGUE
from e2e.studies import coverage, flake
from e2e.studies.common import ChildRun, parser, run_suite, stamp
from staffsync.defects import DEFECTS

E2E = "e2e/"


@dataclass(frozen=True)
class Catch:
    """The tests that could catch a defect, and what the run needs to show it."""

    tests: tuple[str, ...]
    options: tuple[str, ...] = ()
    # a plan's rollback trigger the gate must name (a rollout step's KPI, judged over the
    # cohort's samples): the run is judged by the strict gate too
    rollback: str = ""
    # a KPI the strict gate must fail (a cost, not a wrong screen)
    kpi: str = ""
    # the conditions (--conditions) the defect shows under; the row also runs under `lab`,
    # where it must pass: that shows the condition is what catches it
    conditions: str = ""

    @property
    def gated(self) -> bool:
        return bool(self.rollback or self.kpi)


EXPLORE = "test_explore.py::test_users_should_see_what_the_model_says"
ROLLOUT = "test_rollout.py"
COHORTS = f"{ROLLOUT}::test_each_cohort_should_keep_its_contract"
AT_10 = ("--prefetch-rollout", "10")
AT_50 = ("--prefetch-rollout", "50")
ORDINARY = "test_ordinary_use.py"
PAGE_LOADS = "test_page_loads.py"
MOMENTS = "test_moments.py"
LINGERING = "test_lingering.py"
RESOURCES = "test_server_resources.py::test_closed_connections_should_leave_nothing_on_the_server"
MULTI_TAB = "test_multi_tab.py"
DATE_CHANGE = "test_date_change_should_move_the_person_between_periods_in_the_other_tab"
CREATE = "test_create_and_delete_should_propagate"
SCRIPTS_TEST = "test_text_in_any_script_should_be_saved_and_shown_as_typed"
# For each defect, the tests that could catch it and what the run needs to show it.
MATRIX: dict[str, Catch] = {
    "F1": Catch(
        (
            "test_initial_load.py::test_every_period_should_show_exactly_the_servers_staff_without_traffic",
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
        )
    ),
    "F2": Catch(
        (
            "test_rapid_switching.py::test_rapid_random_jumps_should_end_on_the_last_requested_period",
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
        ),
        ("--db-latency-ms", "250"),
    ),
    "F3": Catch(("test_recovery.py::test_short_outage_should_lose_nothing",)),
    "F4": Catch(
        ("test_recovery.py::test_idle_connection_should_stay_open",), ("--idle-seconds", "20")
    ),
    "F5": Catch(
        ("test_multi_tab.py::test_edit_should_reach_the_other_tab_in_every_period_of_that_person",)
    ),
    "F6": Catch(
        (
            "test_multi_tab.py::test_date_change_should_move_the_person_between_periods_in_the_other_tab",
        )
    ),
    "F7": Catch(
        (
            "test_recovery.py::test_cut_socket_should_reconnect_and_resync",
            "test_recovery.py::test_short_outage_should_lose_nothing",
        )
    ),
    "F8": Catch(("test_recovery.py::test_short_outage_should_lose_nothing",)),
    "F9": Catch(
        (
            "test_recovery.py::test_server_kill_should_keep_confirmed_writes_and_deliver_offline_edits",
        )
    ),
    "F10": Catch(("test_multi_tab.py::test_concurrent_edits_of_one_field_should_converge",)),
    "F11": Catch(
        (
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
            "test_rapid_switching.py::test_rapid_backward_switching_should_end_on_the_last_period",
        )
    ),
    "F12": Catch(("test_memory.py::test_heap_should_not_grow_with_navigation",)),
    "F13": Catch(("test_recovery.py::test_frozen_server_should_leave_exactly_one_live_socket",)),
    "F14": Catch(
        (
            "test_writes.py::test_refused_write_should_be_rolled_back_on_every_screen",
            "test_errors.py::test_rejected_edit_should_be_rolled_back_and_shown",
            "test_errors.py::test_edit_of_a_member_deleted_meanwhile_should_be_refused_and_shown",
        )
    ),
    "F15": Catch(("test_errors.py::test_hostile_client_should_not_disconnect_anyone_else",)),
    "F16": Catch(
        (
            "test_recovery.py::test_short_outage_should_lose_nothing",
            "test_recovery.py::test_write_whose_echo_is_lost_should_be_applied_once",
        )
    ),
    "F17": Catch(
        (
            "test_recovery.py::test_write_whose_echo_is_lost_should_be_applied_once",
            "test_recovery.py::test_short_outage_should_lose_nothing",
        )
    ),
    "F18": Catch(
        ("test_multi_tab.py::test_concurrent_edits_of_different_fields_should_both_survive",)
    ),
    "F19": Catch(
        (
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
            "test_rapid_switching.py::test_rapid_random_jumps_should_end_on_the_last_requested_period",
        )
    ),
    "F20": Catch(("test_recovery.py::test_long_outage_should_not_make_the_client_give_up",)),
    "F21": Catch(("test_memory.py::test_heap_should_not_grow_with_navigation",)),
    "F22": Catch(
        (
            "test_initial_load.py::test_every_period_should_show_exactly_the_servers_staff_without_traffic",
        )
    ),
    "F23": Catch(("test_writes.py::test_refused_write_should_be_rolled_back_on_every_screen",)),
    "F24": Catch(("test_writes.py::test_every_write_should_reach_every_observer",)),
    # Found by exploring users: each caught by a deterministic test and by the exploration.
    "F25": Catch(("test_ordinary_use.py::test_reload_should_show_what_the_server_holds", EXPLORE)),
    "F26": Catch(
        ("test_ordinary_use.py::test_tabs_of_one_profile_should_each_save_their_edits", EXPLORE)
    ),
    "F27": Catch((f"{ORDINARY}::{SCRIPTS_TEST}", EXPLORE)),
    "F28": Catch(
        ("test_security.py::test_markup_should_be_shown_as_text_on_every_screen", EXPLORE)
    ),
    "F29": Catch(
        (
            "test_ordinary_use.py::test_a_user_should_keep_the_mode_the_deployment_gave",
            EXPLORE,
            f"{ROLLOUT}::test_each_user_should_keep_the_mode_it_was_given",
        ),
        AT_50,  # the session's app at 50 % (at its own 100 % every draw is the new mode)
    ),
    "F30": Catch(
        (
            "test_ordinary_use.py::test_offline_edit_should_survive_another_users_edit_of_that_row",
            EXPLORE,
        )
    ),
    # Page loads: a saved write outlives its tab's reload, close or crash.
    "F34": Catch(
        (
            f"{PAGE_LOADS}::test_offline_edit_then_reload_should_be_saved_once",
            f"{PAGE_LOADS}::test_offline_create_then_closed_tab_should_be_sent_by_a_new_tab",
            EXPLORE,
        )
    ),
    "F35": Catch(
        (
            f"{PAGE_LOADS}::test_write_whose_answer_is_lost_then_crash_should_be_applied_once",
            EXPLORE,
        )
    ),
    "F36": Catch((f"{PAGE_LOADS}::test_offline_edit_then_reload_should_be_saved_once", EXPLORE)),
    "F49": Catch(
        (
            f"{PAGE_LOADS}::test_a_page_loaded_after_a_write_was_applied_should_show_it_once_and_saved",
            EXPLORE,
        )
    ),
    # A server that keeps something of every connection it ever had.
    **dict.fromkeys(("F37", "F38", "F39"), Catch((RESOURCES, EXPLORE))),
    # A fault at a protocol moment: the answer to a write lost as the network goes.
    "F40": Catch(
        (
            f"{ORDINARY}::test_a_repeated_answer_should_not_bring_back_a_member_deleted_meanwhile",
            EXPLORE,
        )
    ),
    "F41": Catch(
        (f"{MOMENTS}::test_a_repeated_answer_should_not_replace_a_colleagues_newer_row", EXPLORE)
    ),
    "F42": Catch(
        (
            f"{MOMENTS}::test_a_broadcast_lost_in_a_short_drop_should_be_shown_after_the_reconnect",
            EXPLORE,
        )
    ),
    "F43": Catch(
        (
            f"{LINGERING}::test_a_form_saved_after_a_colleagues_edit_should_keep_the_fields_left_alone",
            EXPLORE,
        )
    ),
    "F44": Catch(
        (f"{LINGERING}::test_a_colleagues_edit_should_show_after_the_form_is_cancelled", EXPLORE)
    ),
    # a deploy as long as the client's patience and more (its default, 75 s, also catches)
    "F45": Catch(
        ("test_recovery.py::test_deploy_length_outage_should_bring_every_tab_back_by_itself",),
        ("--deploy-seconds", "40"),
    ),
    # Seen only under the conditions users have; each passes under `lab`.
    "F46": Catch((f"{MULTI_TAB}::{DATE_CHANGE}", f"{MULTI_TAB}::{CREATE}"), conditions="tokyo"),
    "F47": Catch((f"{MULTI_TAB}::{CREATE}",), conditions="mobile-4g"),
    "F48": Catch(
        (
            "test_initial_load.py",
            "test_rapid_switching.py::test_rapid_forward_switching_should_end_on_the_last_period",
        ),
        kpi="initial_load",
        conditions="hosted-db",
    ),
    # A rollout step, as the deployment assigns users (the rollout run, -m rollout).
    "F31": Catch((f"{ROLLOUT}::test_share_in_the_new_mode_should_be_the_flags",), AT_10),
    "F32": Catch((COHORTS,), AT_50, rollback="error rate > 2 %"),
    "F33": Catch((COHORTS,), AT_50, rollback="memory > 30 MB sustained"),
}


@dataclass
class Result:
    defect: str
    caught: bool
    failed: list[str] = field(default_factory=list)
    naming: list[str] = field(default_factory=list)
    seconds: float = 0.0
    run_dir: str = ""
    note: str = ""
    cells: list[str] = field(default_factory=list)  # coverage cells of the naming failures


def cells_of(failed: list[str]) -> list[str]:
    """The coverage matrix's cells (operation / condition) that these failed cases fill."""
    matrix = coverage.load()
    return [
        f"{cell['operation']} / {cell['condition']}"
        for cell in matrix["cells"]
        if any(coverage.fills(cell, case, matrix["operations"]) for case in failed)
    ]


def result(defect: str, run: ChildRun, started: float) -> Result:
    failed = run.failures()
    if defect == "healthy":
        note = "the healthy app must pass every test" if failed else ""
        return Result(
            defect,
            not failed,
            sorted(failed),
            [],
            time.monotonic() - started,
            str(run.run_dir),
            note,
        )
    pattern = re.compile(rf"\b{defect}:")
    naming = [name for name, message in failed.items() if pattern.search(message)]
    note = "" if naming else "no failure names the defect" if failed else "every test passed"
    return Result(
        defect,
        bool(naming),
        sorted(failed),
        naming,
        time.monotonic() - started,
        str(run.run_dir),
        note,
        cells_of(naming),
    )


def prove(defect: str, artifacts: Path, name: str, client: str) -> Result:
    catch = MATRIX[defect]
    started = time.monotonic()
    found = caught_by(catch, defect, artifacts, f"proof-{name}-{defect}", client, catch.conditions)
    if catch.conditions and found.caught:
        lab = caught_by(catch, defect, artifacts, f"proof-{name}-{defect}-lab", client, "lab")
        if lab.caught:
            found.caught = False
            found.note = f"also caught under lab: {', '.join(lab.naming)}"
        else:
            found.note = f"under {catch.conditions}; passes under lab"
    found.seconds = time.monotonic() - started
    return found


def caught_by(
    catch: Catch, defect: str, artifacts: Path, name: str, client: str, conditions: str
) -> Result:
    """One run of the row's tests with the defect on (under `conditions` when given)."""
    started = time.monotonic()
    run = run_suite(
        [E2E + t for t in catch.tests],
        [
            *("--defect", defect, "--client", client, *catch.options),
            *(("--conditions", conditions) if conditions else ()),
            *("--gate", "strict" if catch.gated else "off"),
            # one failure naming the defect is the catch: a row of several tests, each
            # waiting out its time-outs against the defect, ends at the first
            *(("--maxfail", "1") if len(catch.tests) > 1 and not catch.gated else ()),
        ],
        name,
        artifacts,
    )
    found = result(defect, run, started)
    gate = run.run_dir / "gate.json"
    judged = json.loads(gate.read_text()) if catch.gated and gate.exists() else {}
    named = [
        f"gate: {line}"
        for line in judged.get("rollback", [])
        if catch.rollback and catch.rollback in line
    ]
    named += [
        f"gate: {k['id']} {k['level']} ({k['value']:.0f} {k['unit']}, fails above {k['fail']:g})"
        for k in judged.get("kpis", [])
        if catch.kpi and k["id"] == catch.kpi and k["level"] == "fail"
    ]
    found.naming += named
    found.caught = found.caught or bool(named)
    if named:
        found.note = ""
    return found


def healthy(
    artifacts: Path, name: str, defects: list[str], client: str, conditions: str = ""
) -> Result:
    """The healthy app through every row's tests (under `conditions`: the tests of the rows
    shown under them, which must pass there too)."""
    if conditions:
        defects = [d for d in defects if MATRIX[d].conditions == conditions]
    tests = sorted({E2E + t for d in defects for t in MATRIX[d].tests})
    idle = any(o.startswith("--idle") for d in defects for o in MATRIX[d].options)
    extra = ["--idle-seconds", "20"] if idle else []
    deploys = [MATRIX[d].options for d in defects if "--deploy-seconds" in MATRIX[d].options]
    if deploys:  # as long as the rows' deploys: the healthy client must outlast each
        extra += [
            "--deploy-seconds",
            max((o[o.index("--deploy-seconds") + 1] for o in deploys), key=float),
        ]
    started = time.monotonic()
    if conditions:
        extra += ["--conditions", conditions]
    label = "healthy" + (f"-{conditions}" if conditions else "")
    run = run_suite(
        tests, ["--gate", "off", "--client", client, *extra], f"proof-{name}-{label}", artifacts
    )
    found = result("healthy", run, started)
    found.defect = label
    return found


def matrix(defects: list[str], artifacts: Path, client: str) -> int:
    name = stamp() + ("" if client == "vanilla" else f"-{client}")
    print(f"client: {client}")
    print(f"{'row':8} {'result':8} {'time':>6}  tests that failed (naming the defect)")
    results = [healthy(artifacts, name, defects, client)]
    print_row(results[0])
    for conditions in sorted({MATRIX[d].conditions for d in defects} - {""}):
        results.append(healthy(artifacts, name, defects, client, conditions))
        print_row(results[-1])
    rows = len(results)
    for defect in defects:
        results.append(prove(defect, artifacts, name, client))
        print_row(results[-1])
    out = artifacts / f"proof-{name}-matrix.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n", encoding="utf-8")
    missed = [r.defect for r in results[rows:] if not r.caught]
    sick = [r.defect for r in results[:rows] if not r.caught]
    print(
        f"\ncaught {len(defects) - len(missed)} of {len(defects)}; healthy app "
        f"{'FAILED (' + ', '.join(sick) + ')' if sick else 'passed'}; matrix: {out}"
    )
    return 0 if not missed and not sick else 1


def print_row(r: Result) -> None:
    label = (
        ("pass" if r.caught else "FAILED")
        if r.defect.startswith("healthy")
        else ("caught" if r.caught else "MISSED")
    )
    shown = ", ".join(n.split("[")[0] for n in (r.naming or r.failed)) or r.note
    print(f"{r.defect:8} {label:8} {r.seconds:5.0f}s  {shown}", flush=True)
    if r.cells:
        print(f"{'':24}cells: {'; '.join(r.cells)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    cli = parser("python -m e2e.proof", __doc__)
    cli.add_argument(
        "--defects", default="", help="comma-separated ids (default: every one that applies)"
    )
    cli.add_argument("--repeat", type=int, default=0, help="flake check: run the suite N times")
    cli.add_argument("--hog", action="store_true", help="with --repeat: a CPU hog beside it")
    cli.add_argument(
        "--client",
        choices=["vanilla", "react"],
        default="vanilla",
        help="the reference app's client; with react only the server's defects apply",
    )
    args = cli.parse_args(argv)
    if args.repeat:
        return flake.repeat(args.repeat, args.hog, args.artifacts, args.client)
    server_side = [d for d, (where, _) in DEFECTS.items() if where == "server"]
    default = list(MATRIX) if args.client == "vanilla" else server_side
    chosen = args.defects or ",".join(default)
    defects = [d.strip().upper() for d in chosen.split(",") if d.strip()]
    unknown = [d for d in defects if d not in MATRIX]
    if unknown:
        cli.error(f"unknown defect(s) {unknown}; known: {', '.join(CATALOGUE)}")
    client_side = [d for d in defects if d not in server_side]
    if args.client != "vanilla" and client_side:
        cli.error(
            f"{', '.join(client_side)} are defects of the vanilla client; with --client"
            f" {args.client} only the server's apply ({', '.join(server_side)})"
        )
    return matrix(defects, args.artifacts, args.client)


if __name__ == "__main__":
    sys.exit(main())
