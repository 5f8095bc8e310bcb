"""Users explored, not scripted: Hypothesis drives two or three browser profiles with a few
tabs each through sequences of ordinary actions (navigating, editing with text as people
type it, reloading, closing and opening tabs, going offline, another user's writes, on the
embedded app kill -9, restart and freeze), and after every step each tab and the database
must agree with the model of what every user should see. A failure shrinks to a short
sequence, printed in words, with a replay file."""

from __future__ import annotations

import pytest

from e2e.explore import machine
from e2e.explore.fixtures import record_exploration
from e2e.explore.session import ExploreSession
from e2e.explore.steps import load
from e2e.harness.metrics import TestMetrics
from e2e.harness.options import SuiteConfig

EXPLORE_METRICS = (
    "explore.sequences",
    "explore.steps",
    "explore.checks",
    "explore.failures",
    "server.connections_left",
    "server.fds_left",
    "server.tasks_left",
)


@pytest.mark.fault
@pytest.mark.measures(*EXPLORE_METRICS)
def test_users_should_see_what_the_model_says(
    explore_session: ExploreSession,
    suite_config: SuiteConfig,
    measure: TestMetrics,
    pytestconfig: pytest.Config,
) -> None:
    session = explore_session
    try:
        if suite_config.explore_replay is not None:
            steps, facts = load(suite_config.explore_replay)
            machine.replay(session, steps, facts.get("identities") or {})
        else:
            machine.explore(session)
    except Exception:
        if session.failure is None:
            raise
        report = session.failure_report(session.write_replay())
        pytest.fail(report, pytrace=False)
    finally:
        record_exploration(pytestconfig, session, measure)
