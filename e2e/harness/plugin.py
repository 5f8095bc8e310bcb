"""The suite's pytest plugin: options, the target, the browser, users, metrics, artifacts.
The gate's hooks live in e2e/gate/plugin.py and are registered from here."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Playwright
from playwright.sync_api import Error as PlaywrightError

from e2e.conditions import room as conditions
from e2e.conditions.profiles import Conditions
from e2e.conditions.room import Room
from e2e.gate.plugin import GatePlugin
from e2e.harness import options
from e2e.harness.browser import QUIET_FLAGS, find_chromium
from e2e.harness.environment import RunFacts, snapshot
from e2e.harness.idle import FIXTURE as IDLE_FIXTURE
from e2e.harness.idle import IdleWatch, run_last, watch_idle
from e2e.harness.metrics import MetricsRecorder, TestMetrics
from e2e.harness.options import SuiteConfig
from e2e.harness.target import Target, target_fixture
from e2e.harness.users import User, make_user
from e2e.probes import vitals
from e2e.probes.server_resources import LEFT_METRICS, Unreadable, read, settle
from e2e.probes.stability import connected_ratio, error_counts

CONFIG_KEY = pytest.StashKey[SuiteConfig]()
RECORDER_KEY = pytest.StashKey[MetricsRecorder]()
FACTS_KEY = pytest.StashKey[RunFacts]()
ROOM_KEY = pytest.StashKey[Room]()
E2E_DIR = Path(__file__).resolve().parent.parent
# What the `open_user` fixture records for every page it opens (see record_user).
OPEN_USER_METRICS = frozenset(
    {
        "initial_load.first_row_ms",
        "heap.after_load_bytes",
        "connection.connected_ratio",
        "errors.count",
        "errors.operations",
        *(metric for metric, _ in vitals.METRICS.values()),
        "vitals.stalled_ms",
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
    suite = config.stash[CONFIG_KEY] = conditions.settle(suite)  # its database, its dataset
    config.stash[ROOM_KEY] = Room.of(suite)
    config.stash[RECORDER_KEY] = MetricsRecorder(run_id=suite.run_id, tags=suite.conditions.tags())
    config.stash[FACTS_KEY] = RunFacts()
    if suite.gate != "off":
        config.pluginmanager.register(GatePlugin(suite), "staffsync-gate")
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
    if "/" in suite.run_id:  # a pass of a run (its passes/<conditions>): the run stays latest
        return
    if latest.is_symlink() or not latest.exists():
        latest.unlink(missing_ok=True)
        latest.symlink_to(suite.run_id)


def is_quiet(item: pytest.Item, under: Conditions) -> bool:
    """Whether `item` times the page (marker quiet), always or, with `shaped=True`, under
    conditions other than the lab's: what it times is then the conditions' network and
    CPU, which other browsers on the machine would add to."""
    marker = item.get_closest_marker("quiet")
    if marker is None:
        return False
    return not marker.kwargs.get("shaped", False) or not under.is_lab


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    part = config.stash[CONFIG_KEY].part if CONFIG_KEY in config.stash else "all"
    if part != "all":  # --part: the tests that time the page, or all the others
        quiet = part == "quiet"
        under = config.stash[CONFIG_KEY].conditions
        keep = [i for i in items if is_quiet(i, under) == quiet]
        # the page's own timings first, on the bundled staff; the cross-tab tests write
        # (after them a phone's rapid random jumps met 4 tasks of 51-76 ms; alone, none)
        keep.sort(
            key=lambda i: bool(getattr(i.get_closest_marker("quiet"), "kwargs", {}).get("shaped"))
        )
        left = [i for i in items if i not in keep]
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = keep
    run_last(items)  # the idle watch is judged after everything else has run


def _cohort_of(item: pytest.Item) -> dict[str, str]:
    params = getattr(getattr(item, "callspec", None), "params", {})
    cohort = params.get("cohort")
    return {"cohort": str(cohort)} if cohort else {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note every selected test and what it measures, for the gate's coverage."""
    recorder = session.config.stash.get(RECORDER_KEY, None)
    if recorder is None:
        return
    for item in session.items:
        recorder.tests[item.nodeid] = {
            "measures": sorted(declared_metrics(item)),
            "tags": {
                "fault": "yes" if item.get_closest_marker("fault") else "no",
                "load": "yes" if item.get_closest_marker("load") else "no",
                # a test parametrized by rollout cohort feeds only that cohort's KPIs
                **_cohort_of(item),
            },
        }
    opt = session.config.option
    session.config.stash[FACTS_KEY].selection = {
        "markers": opt.markexpr or "",
        "keywords": opt.keyword or "",
        "part": session.config.stash[CONFIG_KEY].part,
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


@pytest.hookimpl(tryfirst=True)  # before the gate's plugin reads metrics.json
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is None or not _runs_suite(config):
        return
    suite = config.stash[CONFIG_KEY]
    room = config.stash[ROOM_KEY]
    config.stash[FACTS_KEY].conditions = room.facts()
    recorder.environment = snapshot(suite, config.stash[FACTS_KEY])
    recorder.write(suite.run_dir / "metrics.json")


def pytest_unconfigure(config: pytest.Config) -> None:
    room = config.stash.get(ROOM_KEY, None)
    if room is not None:
        room.close()


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
def run_facts(pytestconfig: pytest.Config) -> RunFacts:
    facts = pytestconfig.stash.get(FACTS_KEY, None)
    if facts is None:
        facts = pytestconfig.stash[FACTS_KEY] = RunFacts()
    return facts


@pytest.fixture(scope="session")
def room(pytestconfig: pytest.Config, suite_config: SuiteConfig) -> Room:
    """The run's conditions in force (e2e.conditions.room): ask it for contexts and apps."""
    found = pytestconfig.stash.get(ROOM_KEY, None)
    if found is None:  # the suite's fixtures used outside a suite run
        found = pytestconfig.stash[ROOM_KEY] = Room.of(suite_config)
    return found


@pytest.fixture(scope="session")
def target(
    suite_config: SuiteConfig, metrics_recorder: MetricsRecorder, run_facts: RunFacts, room: Room
) -> Iterator[Target]:
    for t in target_fixture(suite_config, suite_config.run_dir / "app", room):
        run_facts.health, run_facts.base_url = t.health(), t.base_url
        rows = t.rows()
        run_facts.dataset = {
            "periods": len(rows),
            "staff": len({r["id"] for period in rows.values() for r in period}),
            "memberships": sum(len(period) for period in rows.values()),
        }
        if t.app is not None:
            metrics_recorder.record("server.ready_s", t.app.ready_s, "s", "session")
        yield t


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], suite_config: SuiteConfig, room: Room
) -> dict[str, Any]:
    args = dict(browser_type_launch_args)
    if suite_config.browser_endpoint:
        if room.launch_args():
            raise pytest.UsageError(
                f"--conditions {suite_config.conditions.name} shapes the network of a"
                " --base-url deployment by Chromium's resolver rules, which a browser server"
                " (--browser-endpoint) does not take from here: start it with"
                f" {room.launch_args()[0]!r} in its launch config, or run the browser here"
            )
        return args  # the browser host pins its executable and flags in its own config
    executable = find_chromium(suite_config.chromium)
    if executable:
        args["executable_path"] = executable
    args["args"] = [*args.get("args", []), *QUIET_FLAGS, *room.launch_args()]
    return args


@pytest.fixture(scope="session")
def browser_context_args(
    browser_context_args: dict[str, Any], playwright: Playwright, room: Room
) -> dict[str, Any]:
    """pytest-playwright's context options with the conditions' device, zone and locale."""
    return room.context_args(playwright, browser_context_args)


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext], browser: Browser, room: Room
) -> Callable[..., BrowserContext]:
    """pytest-playwright's contexts (traced, recorded), each under the conditions' CPU."""

    def make(**kwargs: Any) -> BrowserContext:
        return room.prepare(browser, new_context(**kwargs))

    return make


@pytest.fixture(scope="session")
def launch_browser(
    launch_browser: Callable[..., Browser], browser_type: BrowserType, suite_config: SuiteConfig
) -> Callable[..., Browser]:
    """The browser: launched here, or on a browser server (--browser-endpoint). Every tab of
    a run lives in that one browser, so the pages of a propagation share one clock."""
    endpoint = suite_config.browser_endpoint
    if not endpoint:
        return launch_browser

    def connect(**_: Any) -> Browser:
        try:
            return browser_type.connect(endpoint, timeout=30_000)
        except PlaywrightError as exc:
            ours = version("playwright")
            pin = ".".join(ours.split(".")[:2])
            raise pytest.UsageError(
                f"cannot use the browser server at {endpoint}: {str(exc).splitlines()[0]}."
                f" This side runs Playwright {ours}; the browser host must run the same"
                f" major.minor (pip install 'playwright=={pin}.*', then `python -m playwright"
                f" launch-server --browser chromium --config cfg.json`)."
            ) from None

    return connect


@pytest.fixture(scope="session", autouse=True)
def _browser_version(request: pytest.FixtureRequest, run_facts: RunFacts) -> None:
    if "browser" in request.fixturenames or any(
        "browser" in getattr(i, "fixturenames", ()) for i in request.session.items
    ):
        browser: Browser = request.getfixturevalue("browser")
        run_facts.browser = f"chromium {browser.version}"


@pytest.fixture(autouse=True)
def _app_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that kills or freezes the embedded app, the app runs again for the
    next test even when that test failed half-way (one failure, not a cascade)."""
    yield
    if not request.node.get_closest_marker("restarts_server"):
        return
    app = request.getfixturevalue("target").app
    if app is None or app.proc is None:
        return
    if app.proc.poll() is None:
        app.thaw()
    else:
        app.restart()


WARMED_KEY = pytest.StashKey[float | None]()  # the server process a module has warmed


@pytest.fixture(scope="module", autouse=True)
def _server_kept_by_module(
    request: pytest.FixtureRequest, metrics_recorder: MetricsRecorder
) -> Iterator[None]:
    """The server's connections and tasks before a scenario module and once its pages
    closed: what it kept of them is a sample of the `server.*_left` KPIs (descriptors are
    judged where only WebSockets are opened: an HTTP keep-alive socket stays open for the
    server's keep-alive time, 75 s in aiohttp, after its page closed; not
    judged when the module restarted the server: a new process has a new baseline, nor for
    the first module, which warms it: SQLite opens its -wal and -shm files at the first
    write)."""
    here = [i for i in request.session.items if getattr(i, "module", None) is request.module]
    if not any("target" in getattr(i, "fixturenames", ()) for i in here):
        yield
        return
    target: Target = request.getfixturevalue("target")
    try:  # descriptors not judged here (see above): not waited for either
        baseline = replace(read(target.base_url, target.pid), open_fds=None)
    except Unreadable:
        yield
        return
    yield
    try:
        now = settle(target.base_url, baseline, target.pid)
    except Unreadable:
        return
    warm = request.session.stash.get(WARMED_KEY, None)
    request.session.stash[WARMED_KEY] = now.started
    if now.started != baseline.started or warm != now.started:
        return
    measure = TestMetrics(metrics_recorder, request.node.nodeid, tags={"scope": "module"})
    for kind, left in now.left_over(baseline).items():
        measure(LEFT_METRICS[kind], left, "count")


@pytest.fixture(scope="session")
def idle_watch(
    browser: Browser,
    browser_context_args: dict[str, Any],
    suite_config: SuiteConfig,
    target: Target,
    room: Room,
) -> Iterator[IdleWatch]:
    """A page left alone from the session's start (see e2e/harness/idle.py)."""
    yield from watch_idle(browser, browser_context_args, suite_config, target, room)


@pytest.fixture(scope="session", autouse=True)
def _start_idle_watch(request: pytest.FixtureRequest) -> None:
    """Opens the idle watch before the first test when a selected test judges it."""
    if any(IDLE_FIXTURE in getattr(i, "fixturenames", ()) for i in request.session.items):
        request.getfixturevalue(IDLE_FIXTURE)


@pytest.fixture
def measure(request: pytest.FixtureRequest, metrics_recorder: MetricsRecorder) -> TestMetrics:
    # a load test's samples are under load unless it says otherwise (its quiet phase)
    under_load: dict[str, object] | None = (
        {"load": "yes"} if request.node.get_closest_marker("load") else None
    )
    return TestMetrics(
        metrics_recorder, request.node.nodeid, declared_metrics(request.node), under_load
    )


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
    room: Room,
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
        user.held_ms = room.held_ms
        users.append(user)
        user.open(mode or suite_config.app_mode)
        # One sample of each per page load: tests read them, never record them again.
        first_row = user.probe.first_row_ms()
        held = held_from_start(user, vitals.origin(user.page), first_row)
        measure("initial_load.first_row_ms", first_row - held, "ms")
        if held > 0:
            measure("vitals.stalled_ms", held, "ms", timed="initial_load.first_row_ms")
        measure("heap.after_load_bytes", user.heap.used_after_gc(), "bytes")
        return user

    yield open_
    fault = "yes" if request.node.get_closest_marker("fault") else "no"
    for user in users:
        if user.page.is_closed():
            continue
        record_user(user, measure, fault)


def record_user(user: User, measure: TestMetrics, fault: str) -> None:
    """Connection stability, error rate and Web Vitals of one user's page, from the page's
    own view. The vitals timed from the page's start are less the time the conditions' link
    stalled meanwhile (a train's tunnel holds the page; what the app does after it counts),
    that time recorded beside them."""
    start = vitals.origin(user.page)
    for metric, value in vitals.read(user.page).items():
        held = held_from_start(user, start, value) if metric in vitals.FROM_START else 0
        measure(metric, value - held, vitals.unit(metric), fault=fault)
        if held > 0:
            measure("vitals.stalled_ms", held, "ms", fault=fault, timed=metric)
    ratio = connected_ratio(user.probe.sockets(), user.probe.now())
    if ratio is not None:  # a legacy page closes its socket at every navigation, by design
        legacy = "yes" if shown_mode(user) == "legacy" else "no"
        measure("connection.connected_ratio", ratio, "ratio", fault=fault, legacy=legacy)
    errors, operations = error_counts(user.network)
    measure("errors.count", errors, "count", fault=fault)
    measure("errors.operations", operations, "count", fault=fault)


def shown_mode(user: User) -> str:
    """The mode the page says it runs, else the one it was opened with."""
    try:
        badge = user.page.get_by_test_id("app-mode")
        return badge.get_attribute("data-mode", timeout=2_000) or user.mode or "unknown"
    except PlaywrightError:
        return user.mode or "unknown"


def held_from_start(user: User, start: float | None, ms: float) -> float:
    """How long the conditions' link stalled in the first `ms` of a page that began at
    `start` (epoch ms)."""
    return user.held_ms(start, start + ms) if start else 0.0


@pytest.fixture
def user(open_user: OpenUser) -> User:
    return open_user("A")
