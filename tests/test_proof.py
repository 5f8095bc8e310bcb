"""The suite still sees: a representative set of catalogued defects is caught, and the
healthy app passes the same tests (python -m e2e.proof on a subset)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.harness.options import ROOT

SUBSET = ("F1", "F2", "F7", "F8", "F10", "F17", "F22")


@pytest.mark.timeout(1200)
def test_suite_should_catch_representative_defects(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "e2e.proof",
            "--defects",
            ",".join(SUBSET),
            "--artifacts",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    print(result.stdout)
    (matrix_file,) = tmp_path.glob("proof-*-matrix.json")
    rows = {r["defect"]: r for r in json.loads(matrix_file.read_text())}
    assert rows["healthy"]["caught"], f"the healthy app failed: {rows['healthy']['failed']}"
    missed = [d for d in SUBSET if not rows[d]["caught"]]
    assert not missed, f"the suite went blind to {missed}:\n{result.stdout}"
    assert result.returncode == 0, result.stdout + result.stderr


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
