"""What every study shares: its command line, run naming, a child run of the suite (its
output kept in the run's directory and shown when the run crashed), and NaN-safe
statistics of a run's samples."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.gate.stats import median, percentile
from e2e.harness.metrics import load
from e2e.harness.options import ROOT

NAN = float("nan")


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A study's parser, with the options every study has."""
    p = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--artifacts", type=Path, default=ROOT / "artifacts", help="where runs go")
    return p


def stamp() -> str:
    """The time part of a study's run names: 20261127-231829."""
    return time.strftime("%Y%m%d-%H%M%S")


@dataclass(frozen=True)
class ChildRun:
    run_dir: Path
    returncode: int

    @property
    def log(self) -> Path:
        return self.run_dir / "pytest.log"

    def metrics(self) -> dict[str, Any]:
        return load(self.run_dir)

    def failures(self) -> dict[str, str]:
        """test name -> failure message, from the run's JUnit XML (errors count too)."""
        junit = self.run_dir / "junit.xml"
        if not junit.exists():
            return {"<no junit.xml>": f"the run did not finish; see {self.log}"}
        out = {}
        for case in ET.parse(junit).iter("testcase"):
            for tag in ("failure", "error"):
                node = case.find(tag)
                if node is not None:
                    out[case.get("name", "?")] = (node.get("message") or "") + (node.text or "")
        return out


def run_suite(
    tests: list[str], options: list[str], run_id: str, artifacts: Path, markers: str = ""
) -> ChildRun:
    """Run `tests` with `options` into artifacts/run_id, selecting `markers` (every marker by
    default: the tests are named); its output goes to pytest.log there, and its tail to
    stderr when the run left no junit.xml."""
    run_dir = artifacts / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", *tests, *options, "-q", "-p", "no:cacheprovider"]
    cmd += ["--run-id", run_id, "--artifacts", str(artifacts), "-m", markers]
    run = ChildRun(run_dir, 0)
    with run.log.open("w", encoding="utf-8") as log:
        done = subprocess.run(cmd, cwd=ROOT, check=False, stdout=log, stderr=subprocess.STDOUT)
    run = ChildRun(run_dir, done.returncode)
    if not (run_dir / "junit.xml").exists():
        tail = "\n".join(run.log.read_text(errors="replace").splitlines()[-25:])
        print(
            f"{run_id}: the child run crashed (exit {done.returncode}); {run.log}:\n{tail}",
            file=sys.stderr,
        )
    return run


def values(run: dict[str, Any], metric: str, **tags: str) -> list[float]:
    """The samples of `metric` (with these tags) in a run's metrics."""
    return [
        float(s["value"])
        for s in run["samples"]
        if s["metric"] == metric and all(s["tags"].get(k) == v for k, v in tags.items())
    ]


def stat(xs: list[float], fn: Callable[[list[float]], float] = median) -> float:
    """`fn` of the values, NaN when there are none."""
    return fn(xs) if xs else NAN


def p95(xs: list[float]) -> float:
    return stat(xs, lambda v: percentile(v, 0.95))


def is_nan(value: float) -> bool:
    return math.isnan(value)
