"""The exploration's fixtures: the target its users explore and the session that runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from e2e.conditions.room import Room
from e2e.explore.explorer import FAULTS, MOMENTS
from e2e.explore.session import ExploreSession
from e2e.harness.options import SuiteConfig
from e2e.harness.target import Target, embedded_target, start_embedded
from e2e.probes.server_resources import LEFT_METRICS


@pytest.fixture(scope="session")
def explore_target(suite_config: SuiteConfig, target: Target, room: Room) -> Iterator[Target]:
    """On the embedded target, an app of the exploration's own (its users create, delete,
    kill and restart freely) that assigns modes as a deployment part-way through the
    rollout does; a deployment (--base-url) is explored as it is."""
    if target.app is None:
        yield target
        return
    app = start_embedded(
        suite_config,
        suite_config.run_dir / "explore-app",
        **{"prefetch-rollout": str(suite_config.explore_rollout)},
    )
    try:
        yield embedded_target(suite_config, app, room)
    finally:
        if app.proc is not None and app.proc.poll() is None:
            app.thaw()
        app.stop()


@pytest.fixture
def explore_session(
    browser: Browser,
    browser_context_args: dict[str, Any],
    suite_config: SuiteConfig,
    explore_target: Target,
    room: Room,
) -> ExploreSession:
    if explore_target.calendar is None:
        pytest.skip(
            "the target publishes no calendar (/config.json): the model cannot tell which"
            " period a member belongs to"
        )
    return ExploreSession(browser, browser_context_args, explore_target, suite_config, room)


SUMMARY_KEY = pytest.StashKey[list[str]]()
EXPLORE_TEST = "test_users_should_see_what_the_model_says"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The exploration's time limit follows its budgets: exploring, shrinking a failure,
    and a last replay (pytest-timeout would otherwise cut a long exploration's report)."""
    opt = config.option
    budget = opt.explore_seconds + opt.explore_shrink_seconds + 180
    for item in items:
        if item.name.split("[")[0] == EXPLORE_TEST:
            item.add_marker(pytest.mark.timeout(budget))


def record_exploration(config: pytest.Config, session: ExploreSession, measure: Any) -> None:
    """The exploration's figures as metrics, its summary in the artifacts and at the end of
    the terminal report."""
    measure("explore.sequences", session.examples, "count")
    measure("explore.steps", session.steps, "count")
    measure("explore.checks", session.checks, "count")
    measure("explore.failures", 0 if session.failure is None else 1, "count")
    for left in session.server_left:  # what the server kept of each sequence's closed tabs
        for kind, metric in LEFT_METRICS.items():
            if kind in left:
                measure(metric, left[kind], "count")
    session.folder.mkdir(parents=True, exist_ok=True)
    (session.folder / "summary.txt").write_text(session.summary() + "\n", encoding="utf-8")
    reached = [
        {"operation": o, "moment": m, "fault": f, "steps": n}
        for (o, m, f), n in sorted(session.moments.items())
    ]
    cells = {"moments": list(MOMENTS), "faults": list(FAULTS), "reached": reached}
    (session.folder / "moments.json").write_text(json.dumps(cells, indent=1) + "\n")
    config.stash.setdefault(SUMMARY_KEY, []).append(session.summary())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for text in config.stash.get(SUMMARY_KEY, []):
        terminalreporter.write_sep("-", "exploration")
        terminalreporter.write_line(text)
