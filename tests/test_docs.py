"""The README tells every metric the suite can record: each one a test declares (or a
fixture records) has a row in its metrics table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e2e.harness.options import ROOT
from e2e.harness.plugin import declared_metrics


class Declared:
    """Collects, without running anything, what every test of the suite declares."""

    def __init__(self) -> None:
        self.metrics: set[str] = set()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self.metrics |= declared_metrics(item)


def test_readme_should_list_every_metric_a_test_declares(tmp_path: Path) -> None:
    declared = Declared()
    status = pytest.main(
        [str(ROOT / "e2e"), "--collect-only", "-q", "-m", "", "--artifacts", str(tmp_path)],
        plugins=[declared],
    )
    assert status == 0
    assert len(declared.metrics) > 20
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([a-z_]+\.[a-z0-9_]+)`", readme))
    missing = sorted(declared.metrics - listed)
    assert not missing, f"metrics the README does not list: {missing}"
