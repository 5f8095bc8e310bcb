"""Root conftest: loads the suite's plugin and points pytest-playwright at the target."""

from __future__ import annotations

import pytest

from e2e.harness.target import Target

pytest_plugins = ["e2e.harness.plugin", "e2e.explore.fixtures"]


@pytest.fixture(scope="session")
def base_url(target: Target) -> str:
    """Where pages reach the target: through the conditions' relay when they shape the
    network (the suite's own protocol clients use `target.base_url`)."""
    return target.page_url
