"""A replay file runs exactly its steps in real browsers: it fails again, naming the defect,
on an app that has it, and passes on the healthy app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from e2e.explore.steps import Step, save
from e2e.harness.options import ROOT

MARKUP = "<img src=x onerror=\"__ssSentinel('img')\"> Sato"
STEPS = [
    Step("open_profile", "A"),
    Step("open_profile", "B"),
    Step("edit", "A", "1", {"handle": "M1", "fields": {"name": MARKUP}}),
]


def replay(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "replay.json"
    save(file, STEPS, {"seed": 0})
    command = [sys.executable, "-m", "pytest", "e2e/test_explore.py", "-q", "-p"]
    command += ["no:cacheprovider", "--explore-replay", str(file), "--gate", "off"]
    command += ["--artifacts", str(tmp_path / "artifacts"), *options]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)


@pytest.mark.timeout(300)
def test_a_replay_should_pass_on_the_healthy_app(tmp_path: Path) -> None:
    result = replay(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "explored 1 sequences, 3 steps" in result.stdout


@pytest.mark.timeout(300)
def test_a_replay_should_fail_again_naming_the_defect(tmp_path: Path) -> None:
    result = replay(tmp_path, "--defect", "F28")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "F28:" in result.stdout
    assert "3. profile A tab 1: edit M1: name ->" in result.stdout
    assert "Replay: pytest e2e/test_explore.py --explore-replay" in result.stdout
