"""The suite's pytest plugin: options, the target, the browser, users, metrics, artifacts."""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from playwright.sync_api import Browser, BrowserContext

from e2e import options
from e2e.browser import QUIET_FLAGS, find_chromium
from e2e.gate.runner import GateOutcome, exit_status, run_gate, table
from e2e.gate.units import level_label
from e2e.metrics import MetricsRecorder, TestMetrics
from e2e.options import SuiteConfig
from e2e.target import Target, target_fixture
from e2e.users import User, make_user

CONFIG_KEY = pytest.StashKey[SuiteConfig]()
RECORDER_KEY = pytest.StashKey[MetricsRecorder]()
GATE_KEY = pytest.StashKey[GateOutcome]()
EXIT_KEY = pytest.StashKey[int]()
E2E_DIR = Path(__file__).resolve().parent
# What the `open_user` fixture records for every page it opens (see record_user).
OPEN_USER_METRICS = frozenset(
    {
        "initial_load.first_row_ms",
        "heap.after_load_bytes",
        "connection.connected_ratio",
        "errors.count",
        "errors.operations",
    }
)


def declared_metrics(item: pytest.Item) -> frozenset[str]:
    """The metrics a test may record: its `measures` marks plus what its fixtures record."""
    declared: set[str] = set()
    for mark in item.iter_markers("measures"):
        declared.update(str(m) for m in mark.args)
    if "open_user" in getattr(item, "fixturenames", ()):
        declared |= OPEN_USER_METRICS
    return frozenset(declared)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def _runs_suite(config: pytest.Config) -> bool:
    """True when the collected paths include the suite (not only the project's own tests)."""
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == E2E_DIR or E2E_DIR in path.parents or path in E2E_DIR.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    suite = options.settle(config)
    config.stash[CONFIG_KEY] = suite
    if not _runs_suite(config):
        return
    config.stash[RECORDER_KEY] = MetricsRecorder(run_id=suite.run_id)
    suite.run_dir.mkdir(parents=True, exist_ok=True)
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(suite.run_dir / "junit.xml")
    if config.getoption("--output", "test-results") == "test-results":
        config.option.output = str(suite.run_dir / "playwright")
    # Traces are opt-in (--tracing retain-on-failure): recording them doubles the run time
    # and adds long tasks to the very navigations being measured. Screenshots are cheap.
    if "--screenshot" not in " ".join(config.invocation_params.args):
        config.option.screenshot = "only-on-failure"
    latest = suite.artifacts / "latest"
    if latest.is_symlink() or not latest.exists():
        latest.unlink(missing_ok=True)
        latest.symlink_to(suite.run_id)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note every selected test and what it measures, for the gate's coverage."""
    recorder = session.config.stash.get(RECORDER_KEY, None)
    if recorder is None:
        return
    for item in session.items:
        recorder.tests[item.nodeid] = {
            "measures": sorted(declared_metrics(item)),
            "tags": {"fault": "yes" if item.get_closest_marker("fault") else "no"},
        }
    opt = session.config.option
    recorder.environment["selection"] = {
        "markers": opt.markexpr or "",
        "keywords": opt.keyword or "",
        "tests": len(session.items),
    }


def pytest_report_header(config: pytest.Config) -> list[str]:
    suite = config.stash.get(CONFIG_KEY, None)
    if suite is None or RECORDER_KEY not in config.stash:
        return []
    target = suite.base_url or "embedded reference app (started by the suite)"
    return [
        f"staffsync target: {target}; client: {suite.client if suite.embedded else 'theirs'};"
        f" mode: {suite.app_mode}; defect: {suite.defect or 'none'};"
        f" db latency: {suite.db_latency_ms} ms",
        f"staffsync run: {suite.run_dir}; navigation seed: {suite.nav_seed}",
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    recorder = item.config.stash.get(RECORDER_KEY, None)
    if recorder is not None and (report.when == "call" or report.outcome != "passed"):
        recorder.outcomes[item.nodeid] = report.outcome
        entry = recorder.tests.setdefault(item.nodeid, {"measures": [], "tags": {}})
        entry["outcome"] = report.outcome
        if report.skipped and isinstance(report.longrepr, tuple):
            entry["reason"] = str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed and "nav_rng" in getattr(item, "fixturenames", ()):
        suite = item.config.stash[CONFIG_KEY]
        report.sections.append(
            ("staffsync", f"replay with: --nav-seed {suite.nav_seed} (or --nav-sequence ...)")
        )
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is None or not _runs_suite(config):
        return
    suite = config.stash[CONFIG_KEY]
    recorder.environment.update(
        {
            "cores": psutil.cpu_count(),
            "memoryBytes": psutil.virtual_memory().total,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "mode": suite.app_mode,
            "client": suite.client if suite.embedded else "deployment",
            "target": suite.base_url or "embedded",
            "defect": suite.defect,
            "dbLatencyMs": suite.db_latency_ms,
            "navSeed": suite.nav_seed,
            "gate": suite.gate,
        }
    )
    recorder.write(suite.run_dir / "metrics.json")
    if suite.gate == "off" or exitstatus not in (0, 1):
        return
    outcome = run_gate(suite.run_dir, suite.kpis, suite.baseline)
    config.stash[GATE_KEY] = outcome
    session.exitstatus = exit_status(exitstatus == 1, outcome.verdict, suite.gate)
    config.stash[EXIT_KEY] = int(session.exitstatus)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    outcome = config.stash.get(GATE_KEY, None)
    if outcome is None:
        return
    suite = config.stash[CONFIG_KEY]
    terminalreporter.section(f"staffsync gate ({suite.gate})")
    for line in table(outcome.results):
        terminalreporter.write_line(line)
    effect = {"strict": "decides the exit status", "warn": "reported only"}[suite.gate]
    terminalreporter.write_line(
        f"GATE VERDICT: {level_label(outcome.verdict)} ({effect});"
        f" exit status {config.stash[EXIT_KEY]}"
    )
    terminalreporter.write_line(f"report: {outcome.report_path}")


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def suite_config(pytestconfig: pytest.Config) -> SuiteConfig:
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def metrics_recorder(pytestconfig: pytest.Config) -> MetricsRecorder:
    recorder = pytestconfig.stash.get(RECORDER_KEY, None)
    if recorder is None:
        recorder = MetricsRecorder(run_id=pytestconfig.stash[CONFIG_KEY].run_id)
        pytestconfig.stash[RECORDER_KEY] = recorder
    return recorder


@pytest.fixture(scope="session")
def target(suite_config: SuiteConfig, metrics_recorder: MetricsRecorder) -> Iterator[Target]:
    for t in target_fixture(suite_config, suite_config.run_dir / "app"):
        health = t.health()
        metrics_recorder.environment["app"] = {
            "version": health.get("version"),
            "periods": health.get("periods"),
            "defect": health.get("defect"),
            "client": health.get("client"),
            "baseUrl": t.base_url,
        }
        rows = t.rows()
        metrics_recorder.environment["dataset"] = {
            "periods": len(rows),
            "staff": len({r["id"] for period in rows.values() for r in period}),
            "memberships": sum(len(period) for period in rows.values()),
        }
        if t.app is not None:
            metrics_recorder.record("server.ready_s", t.app.ready_s, "s", "session")
        yield t


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], suite_config: SuiteConfig
) -> dict[str, Any]:
    args = dict(browser_type_launch_args)
    executable = find_chromium(suite_config.chromium)
    if executable:
        args["executable_path"] = executable
    args["args"] = [*args.get("args", []), *QUIET_FLAGS]
    return args


@pytest.fixture(scope="session", autouse=True)
def _browser_version(request: pytest.FixtureRequest, metrics_recorder: MetricsRecorder) -> None:
    if "browser" in request.fixturenames or any(
        "browser" in getattr(i, "fixturenames", ()) for i in request.session.items
    ):
        browser: Browser = request.getfixturevalue("browser")
        metrics_recorder.environment["browser"] = f"chromium {browser.version}"
        metrics_recorder.environment["playwright"] = _playwright_version()


def _playwright_version() -> str:
    from importlib.metadata import version

    return version("playwright")


@pytest.fixture
def measure(request: pytest.FixtureRequest, metrics_recorder: MetricsRecorder) -> TestMetrics:
    return TestMetrics(metrics_recorder, request.node.nodeid, declared_metrics(request.node))


@pytest.fixture
def nav_rng(suite_config: SuiteConfig, request: pytest.FixtureRequest) -> random.Random:
    """Random jumps that a failure can replay: the seed is printed with the failure."""
    return random.Random(f"{suite_config.nav_seed}:{request.node.name}")


OpenUser = Callable[..., User]


@pytest.fixture
def open_user(
    new_context: Callable[..., BrowserContext],
    suite_config: SuiteConfig,
    target: Target,
    output_path: str,
    request: pytest.FixtureRequest,
    measure: TestMetrics,
) -> Iterator[OpenUser]:
    """Opens a user in their own browser context: open_user("A", mode="legacy").

    With control_sockets=True every socket of the user runs through `user.control`, so the
    test can cut it or hold an outage. Each user's load time, connection stability and
    error rate are recorded when the test ends.
    """
    users: list[User] = []

    def open_(
        name: str | None = None, mode: str | None = None, control_sockets: bool = False
    ) -> User:
        evidence = os.path.relpath(output_path)
        user = make_user(new_context, name or f"user{len(users) + 1}", evidence, control_sockets)
        users.append(user)
        user.open(mode or suite_config.app_mode)
        # One sample of each per page load: tests read them, never record them again.
        measure("initial_load.first_row_ms", user.probe.first_row_ms(), "ms")
        measure("heap.after_load_bytes", user.heap.used_after_gc(), "bytes")
        return user

    yield open_
    fault = "yes" if request.node.get_closest_marker("fault") else "no"
    for user in users:
        if user.page.is_closed():
            continue
        record_user(user, measure, fault)


def record_user(user: User, measure: TestMetrics, fault: str) -> None:
    """Connection stability and error rate of one user's page, from the page's own view."""
    sockets = user.probe.sockets()
    now = user.probe.now()
    opened = [s.open_at for s in sockets if s.open_at is not None]
    if opened:
        start = opened[0]  # from the first connection: connecting at load is not instability
        spans = sorted((s.open_at, s.closed_at or now) for s in sockets if s.open_at is not None)
        covered, cursor = 0.0, start
        for a, b in spans:
            a = max(a, cursor)
            if b > a:
                covered += b - a
                cursor = b
        if now > start:
            measure("connection.connected_ratio", covered / (now - start), "ratio", fault=fault)
    errors = len(user.network.frames_since(0.0, {"ERROR"}))
    operations = sum(1 for s in user.network.sockets for f in s.frames if f.sent) - len(
        user.network.sent_of("PING")
    )
    measure("errors.count", errors, "count", fault=fault)
    measure("errors.operations", operations, "count", fault=fault)


@pytest.fixture
def user(open_user: OpenUser) -> User:
    return open_user("A")
