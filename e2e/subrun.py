"""Runs the suite in a child pytest: what proof, claims and scale are made of."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from e2e.options import ROOT


def run_suite(tests: list[str], options: list[str], run_id: str, artifacts: Path) -> Path:
    """Run `tests` with `options` into artifacts/run_id (every marker selected); return it."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *tests,
        *options,
        "-q",
        "-p",
        "no:cacheprovider",
        "--run-id",
        run_id,
        "--artifacts",
        str(artifacts),
        "-m",
        "",
    ]
    subprocess.run(cmd, cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return artifacts / run_id
