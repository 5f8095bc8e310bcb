"""The suite judges any correct client alike: its smoke set, and the gate, pass on the
reference app's React client too (a client it was not built beside)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from e2e.harness.options import ROOT


@pytest.mark.timeout(600)
def test_smoke_set_should_pass_on_the_react_client(tmp_path: Path) -> None:
    run_id = "react-smoke"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "e2e",
            "-m",
            "smoke",
            "-q",
            "-p",
            "no:cacheprovider",
            "--client",
            "react",
            "--gate",
            "strict",
            "--artifacts",
            str(tmp_path),
            "--run-id",
            run_id,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    run_dir = tmp_path / run_id
    cases = list(ET.parse(run_dir / "junit.xml").iter("testcase"))
    failed = [
        c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None
    ]
    assert len(cases) >= 8 and not failed, result.stdout[-3000:]
    environment = json.loads((run_dir / "metrics.json").read_text())["environment"]
    assert environment["app"]["client"] == "react"
    assert json.loads((run_dir / "gate.json").read_text())["verdict"] in ("pass", "warn")
    assert result.returncode == 0, result.stdout[-3000:]
