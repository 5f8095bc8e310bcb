"""The suite still sees: a representative set of catalogued defects is caught, and the
healthy app passes the same tests (python -m e2e.proof on a subset)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from e2e.harness.options import ROOT
from e2e.studies.proof import healthy, prove

SUBSET = ("F1", "F2", "F7", "F8", "F10", "F17", "F22")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("row", ["healthy", *SUBSET])
def test_suite_should_catch_representative_defects(tmp_path: Path, row: str) -> None:
    """One row of `python -m e2e.proof --defects <SUBSET>` a test, so that the rows run side
    by side: the healthy app passes the tests of every row, each defect fails one of its."""
    if row == "healthy":
        found = healthy(tmp_path, "subset", list(SUBSET), "vanilla")
        assert found.caught, f"the healthy app failed: {found.failed} {found.note}"
    else:
        found = prove(row, tmp_path, "subset", "vanilla")
        assert found.caught, f"the suite went blind to {row}: {found.failed} {found.note}"


def test_proof_should_refuse_unknown_defects() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "e2e.proof", "--defects", "F99"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown defect" in result.stderr
