"""The suite's settings: one option group, settled once into SuiteConfig.

Each setting comes from its command-line option, else its environment variable, else the
default. Values are converted and checked when pytest parses its arguments, so a bad one
ends the run at once with pytest's usage error. Only this module reads STAFFSYNC_*; tests
and page objects get `suite_config`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e.conditions.profiles import Conditions, UnknownConditions, parse
from e2e.harness.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
TRUE = ("1", "true", "yes", "on")


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None


def _count(raw: str) -> int:
    value = _int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _not_negative(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative: {value}")
    return value


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {raw!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 s, not {value}")
    return value


def _percent(raw: str) -> int:
    value = _int(raw)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {value}")
    return value


def _int_list(raw: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"integers separated by commas, not {raw!r}") from None


def _workers(raw: str) -> tuple[int, bool]:
    """N (workers started by the team on other hosts) or local:N (started here)."""
    local = raw.strip().lower().startswith("local:")
    count = _not_negative(raw.split(":", 1)[1] if local else raw)
    if local and count < 1:
        raise argparse.ArgumentTypeError("local:N needs N of 1 or more")
    return count, local


def _host_port(raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 1024 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"host:port with a port from 1024 to 65535, not {raw!r}")
    return host, int(port)


def _defect(raw: str) -> str | None:
    if raw.strip().lower() in ("", "none"):
        return None
    defect = raw.strip().upper()
    if defect not in CATALOGUE:
        raise argparse.ArgumentTypeError(
            f"unknown defect {raw!r}; the catalogue has {', '.join(CATALOGUE)}"
        )
    return defect


def _existing_file(raw: str) -> Path:
    path = Path(raw).resolve()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {raw}")
    return path


def _path(raw: str) -> Path:
    return Path(raw).resolve()


def _text(raw: str) -> str:
    return raw


def _conditions(raw: str) -> Conditions:
    try:
        found = parse(raw)
    except UnknownConditions as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(found) > 1:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is several runs, one per profile: `bin/verify --conditions {raw}` runs"
            " them one after another; pytest takes one profile or combination"
        )
    return found[0]


@dataclass(frozen=True)
class Option:
    env: str
    convert: Callable[[str], Any]
    default: str | None  # as it would be typed; None: no default (or a computed one)
    help: str
    shown: str = ""  # the default as the help shows it, when not `default`
    choices: tuple[str, ...] | None = None


OPTIONS: dict[str, Option] = {
    "app-mode": Option(
        "STAFFSYNC_APP_MODE",
        _text,
        "prefetch",
        "client mode of the pages",
        choices=("prefetch", "legacy"),
    ),
    "client": Option(
        "STAFFSYNC_CLIENT",
        _text,
        "vanilla",
        "embedded app: the browser client it serves",
        choices=("vanilla", "react"),
    ),
    "conditions": Option(
        "STAFFSYNC_CONDITIONS",
        _conditions,
        "lab",
        "the conditions users have (fixtures/conditions.json): a profile or a combination,"
        " e.g. mobile-4g,tokyo; `python -m e2e.conditions` lists them",
    ),
    "db-latency-ms": Option(
        "STAFFSYNC_DB_LATENCY_MS", _not_negative, "0", "embedded app: ms added to every DB read"
    ),
    "defect": Option(
        "STAFFSYNC_DEFECT", _defect, None, "embedded app: switch on one catalogued defect (F1...)"
    ),
    "dataset": Option(
        "STAFFSYNC_DATASET",
        _existing_file,
        None,
        "embedded app: seed dataset JSON",
        shown="fixtures/staff.json",
    ),
    "periods": Option(
        "STAFFSYNC_PERIODS", _count, None, "embedded app: number of periods", shown="17"
    ),
    "chromium": Option(
        "STAFFSYNC_CHROMIUM",
        _existing_file,
        None,
        "Chromium to launch",
        shown="Playwright's, else the system's",
    ),
    "nav-sequence": Option(
        "STAFFSYNC_NAV_SEQUENCE",
        _int_list,
        None,
        "replay these period jumps, e.g. 3,0,16",
        shown="random",
    ),
    "nav-seed": Option(
        "STAFFSYNC_NAV_SEED", _int, None, "seed of the random jump sequences", shown="random"
    ),
    "idle-seconds": Option(
        "STAFFSYNC_IDLE_SECONDS", _seconds, "60", "how long the idle-connection test waits"
    ),
    "outage-seconds": Option(
        "STAFFSYNC_OUTAGE_SECONDS", _seconds, "3", "length of the short outage"
    ),
    "long-outage-seconds": Option(
        "STAFFSYNC_LONG_OUTAGE_SECONDS", _seconds, "20", "length of the long outage"
    ),
    "deploy-seconds": Option(
        "STAFFSYNC_DEPLOY_SECONDS",
        _seconds,
        "75",
        "length of the deploy outage (-m deploy): the server down as long as a deploy takes,"
        " longer than any client backoff ramp",
    ),
    "memory-navigations": Option(
        "STAFFSYNC_MEMORY_NAVIGATIONS", _count, "200", "navigations of the heap test"
    ),
    "soak-navigations": Option(
        "STAFFSYNC_SOAK_NAVIGATIONS", _count, "1000", "navigations of the soak test"
    ),
    "artifacts": Option(
        "STAFFSYNC_ARTIFACTS",
        _path,
        str(ROOT / "artifacts"),
        "where run directories go",
        shown="artifacts/",
    ),
    "run-id": Option(
        "STAFFSYNC_RUN_ID", _text, None, "name of this run's directory", shown="time + random"
    ),
    "gate": Option(
        "STAFFSYNC_GATE",
        _text,
        "warn",
        "KPI gate: report only (warn) or decide the exit status (strict)",
        choices=("off", "warn", "strict"),
    ),
    "kpis": Option(
        "STAFFSYNC_KPIS",
        _existing_file,
        str(ROOT / "fixtures" / "kpis.json"),
        "KPI thresholds file",
        shown="fixtures/kpis.json",
    ),
    "baseline": Option(
        "STAFFSYNC_BASELINE", _path, None, "compare with this run directory or metrics.json"
    ),
    "browser-endpoint": Option(
        "STAFFSYNC_BROWSER_ENDPOINT",
        _text,
        None,
        "a Playwright browser server (ws://host:port/path, from `playwright launch-server`)"
        " to run the browsers on instead of launching one here",
        shown="launch one here",
    ),
    "load-users": Option(
        "STAFFSYNC_LOAD_USERS", _count, "50", "load tests: Locust users beside the browsers"
    ),
    "load-edit-rate": Option(
        "STAFFSYNC_LOAD_EDIT_RATE",
        _seconds,
        "0.05",
        "load tests: edits per second per user (the plan's 10 edits in a session of minutes)",
    ),
    "load-max-seconds": Option(
        "STAFFSYNC_LOAD_MAX_SECONDS",
        _seconds,
        "60",
        "load tests: the longest the measured load phase may run; it is sized for every load"
        " KPI's minimum samples, and a KPI that this bound cuts short says so",
    ),
    "load-workers": Option(
        "STAFFSYNC_LOAD_WORKERS",
        _workers,
        "0",
        "load tests: Locust workers the master waits for: N (started on other hosts with"
        " `locust -f - --worker --master-host H`) or local:N (started here); 0: one process",
    ),
    "load-master": Option(
        "STAFFSYNC_LOAD_MASTER",
        _host_port,
        "127.0.0.1:5557",
        "load tests: where the Locust master listens for its workers (host:port)",
    ),
    "reconnect-limit-ms": Option(
        "STAFFSYNC_RECONNECT_LIMIT_MS",
        _count,
        None,
        "a reconnect after any fault must take at most this long (the client's longest retry"
        " delay plus a margin); longer fails the test",
        shown="the reconnect KPI's target",
    ),
    "part": Option(
        "STAFFSYNC_PART",
        _text,
        "all",
        "which tests of the selection run: `quiet` only those that time the page (marker"
        " quiet), `busy` all the others (bin/verify runs the busy parts of its passes beside"
        " each other, then the quiet ones alone)",
        choices=("all", "quiet", "busy"),
    ),
    "explore-seconds": Option(
        "STAFFSYNC_EXPLORE_SECONDS",
        _seconds,
        "50",
        "exploration: how long Hypothesis explores new sequences of user actions (the"
        " shrinking of a failure has its own budget)",
    ),
    "explore-shrink-seconds": Option(
        "STAFFSYNC_EXPLORE_SHRINK_SECONDS",
        _seconds,
        "150",
        "exploration: how long a failure is shrunk towards its shortest replay",
    ),
    "explore-seed": Option(
        "STAFFSYNC_EXPLORE_SEED", _int, None, "exploration: Hypothesis' seed", shown="random"
    ),
    "explore-replay": Option(
        "STAFFSYNC_EXPLORE_REPLAY",
        _existing_file,
        None,
        "exploration: run exactly the steps of this replay file (written by a failure)",
    ),
    "explore-rollout": Option(
        "STAFFSYNC_EXPLORE_ROLLOUT",
        _percent,
        "50",
        "exploration on the embedded app: the share of users the app puts in prefetch mode"
        " (the deployment chooses each profile's mode)",
    ),
    "prefetch-rollout": Option(
        "STAFFSYNC_PREFETCH_ROLLOUT",
        _percent,
        None,
        "embedded app: the share of users its feature flag puts in the new (prefetch) mode"
        " (pages the suite opens with ?mode= are not assigned; the rollout run's are)",
        shown="the app's own, 100",
    ),
    "expect-rollout": Option(
        "STAFFSYNC_EXPECT_ROLLOUT",
        _percent,
        None,
        "rollout run: the share announced for this step, when the target does not publish"
        " one in /config.json (rolloutPercent)",
        shown="the target's",
    ),
    "rollout-users": Option(
        "STAFFSYNC_ROLLOUT_USERS",
        _count,
        "40",
        "rollout run: users opened as the deployment assigns them, each in its own profile",
    ),
    "text-limit": Option(
        "STAFFSYNC_TEXT_LIMIT",
        _count,
        None,
        "the longest text field the target accepts, in characters (exploration types values"
        " at it and one over it)",
        shown="100 on the embedded app, unknown on a deployment",
    ),
}
# flag -> (environment variable set to 1/true/yes to switch it on, help)
FLAGS: dict[str, tuple[str, str]] = {
    "heap-snapshots": (
        "STAFFSYNC_HEAP_SNAPSHOTS",
        "heap test: always take heap snapshots and write what grew (by default only when"
        " heap growth reaches the KPI's target)",
    ),
}


def environment_value(name: str) -> str | None:
    """An option's environment variable, for the suite's own command-line tools."""
    return os.environ.get(OPTIONS[name].env) or None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("staffsync", "staffsync-verify")
    for name, o in OPTIONS.items():
        # a string default (from the environment or the table) is converted by argparse too
        default = os.environ.get(o.env) or o.default
        group.addoption(
            f"--{name}",
            dest=name.replace("-", "_"),
            type=o.convert,
            default=default,
            choices=o.choices,
            help=f"{o.help} (env {o.env}; default {o.shown or o.default or 'none'})",
        )
    for name, (var, text) in FLAGS.items():
        group.addoption(
            f"--{name}",
            dest=name.replace("-", "_"),
            action="store_true",
            default=os.environ.get(var, "").lower() in TRUE,
            help=f"{text} (env {var}=1; default off)",
        )


@dataclass(frozen=True)
class SuiteConfig:
    base_url: str | None
    app_mode: str
    client: str
    db_latency_ms: int
    defect: str | None
    dataset: Path | None
    periods: int | None
    chromium: str | None
    nav_sequence: tuple[int, ...] | None
    nav_seed: int
    idle_seconds: float
    outage_seconds: float
    long_outage_seconds: float
    deploy_seconds: float
    memory_navigations: int
    soak_navigations: int
    artifacts: Path
    run_id: str
    gate: str
    kpis: Path
    baseline: Path | None
    heap_snapshots: bool
    reconnect_limit_ms: float
    load_users: int
    load_edit_rate: float
    load_max_seconds: float
    load_workers: tuple[int, bool]  # (count, started here)
    load_master: tuple[str, int]
    browser_endpoint: str | None
    conditions: Conditions = field(default_factory=Conditions)
    explore_seconds: float = 50.0
    explore_shrink_seconds: float = 150.0
    explore_seed: int = 0
    explore_replay: Path | None = None
    explore_rollout: int = 50
    text_limit: int | None = None
    prefetch_rollout: int | None = None
    expect_rollout: int | None = None
    rollout_users: int = 40
    part: str = "all"

    @property
    def run_dir(self) -> Path:
        return self.artifacts / self.run_id

    @property
    def embedded(self) -> bool:
        return self.base_url is None


def settle(config: pytest.Config) -> SuiteConfig:
    """Read every option once (already converted and checked); called from pytest_configure."""
    opt = config.option
    base_url = getattr(opt, "base_url", None) or config.getini("base_url") or None
    return SuiteConfig(
        base_url=base_url,
        app_mode=opt.app_mode,
        client=opt.client,
        db_latency_ms=opt.db_latency_ms,
        defect=opt.defect,
        dataset=opt.dataset,
        periods=opt.periods,
        chromium=str(opt.chromium) if opt.chromium else None,
        nav_sequence=opt.nav_sequence,
        nav_seed=opt.nav_seed if opt.nav_seed is not None else secrets.randbelow(10**6),
        idle_seconds=opt.idle_seconds,
        outage_seconds=opt.outage_seconds,
        long_outage_seconds=opt.long_outage_seconds,
        deploy_seconds=opt.deploy_seconds,
        memory_navigations=opt.memory_navigations,
        soak_navigations=opt.soak_navigations,
        artifacts=opt.artifacts,
        run_id=opt.run_id or time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2),
        gate=opt.gate,
        kpis=opt.kpis,
        baseline=opt.baseline,
        heap_snapshots=bool(opt.heap_snapshots),
        reconnect_limit_ms=float(opt.reconnect_limit_ms or _kpi_target(opt.kpis, RECONNECT)),
        load_users=opt.load_users,
        load_edit_rate=opt.load_edit_rate,
        load_max_seconds=opt.load_max_seconds,
        load_workers=opt.load_workers,
        load_master=opt.load_master,
        browser_endpoint=opt.browser_endpoint or None,
        conditions=opt.conditions,
        explore_seconds=opt.explore_seconds,
        explore_shrink_seconds=opt.explore_shrink_seconds,
        explore_seed=opt.explore_seed if opt.explore_seed is not None else secrets.randbelow(10**6),
        explore_replay=opt.explore_replay,
        explore_rollout=opt.explore_rollout,
        text_limit=opt.text_limit or (None if base_url else REFERENCE_TEXT_LIMIT),
        prefetch_rollout=opt.prefetch_rollout,
        expect_rollout=opt.expect_rollout,
        rollout_users=opt.rollout_users,
        part=opt.part,
    )


RECONNECT = "recovery.reconnect_ms"
REFERENCE_TEXT_LIMIT = 100  # the reference server's longest text field, in characters


def _kpi_target(kpis: Path, metric: str) -> float:
    """The target of the KPI on `metric` in the KPI file (a timing contract's default)."""
    for kpi in json.loads(kpis.read_text(encoding="utf-8"))["kpis"]:
        if kpi["metric"] == metric:
            return float(kpi["target"])
    raise pytest.UsageError(f"{kpis} has no KPI on {metric}; give --reconnect-limit-ms")
