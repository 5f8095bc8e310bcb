"""The coverage matrix (fixtures/coverage.json) has one cell per operation and condition,
names only tests that exist, and every cell says how it is filled: by tests, or why it is
open or cannot apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from e2e.harness.options import ROOT
from e2e.studies import coverage


class Collected:
    def __init__(self) -> None:
        self.names: set[str] = set()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            file, name = item.nodeid.split("::", 1)
            self.names.add(f"{Path(file).name}::{name.split('[')[0]}")


def test_coverage_matrix_should_name_real_tests_and_known_cells(tmp_path: Path) -> None:
    matrix = json.loads((ROOT / "fixtures" / "coverage.json").read_text(encoding="utf-8"))
    collected = Collected()
    status = pytest.main(
        [str(ROOT / "e2e"), "--collect-only", "-q", "-m", "", "--artifacts", str(tmp_path)],
        plugins=[collected],
    )
    assert status == 0
    pairs = [(c["operation"], c["condition"]) for c in matrix["cells"]]
    every = [(o, c) for o in matrix["operations"] for c in matrix["conditions"]]
    assert sorted(pairs) == sorted(every), (
        f"one cell per operation and condition: missing {sorted(set(every) - set(pairs))},"
        f" repeated {sorted(p for p in set(pairs) if pairs.count(p) > 1)}"
    )
    for cell in matrix["cells"]:
        assert cell["operation"] in matrix["operations"], cell
        assert cell["condition"] in matrix["conditions"], cell
        if cell.get("status") in ("open", "n/a"):
            assert cell.get("why"), f"an open or n/a cell says why: {cell}"
            continue
        assert cell["tests"], cell
        assert set(cell["observers"]) <= set(matrix["observers"]), cell
        missing = [t for t in cell["tests"] if t not in collected.names]
        assert not missing, f"the matrix names tests that do not exist: {missing}"


def test_a_run_should_mark_each_cell_by_its_own_cases(tmp_path: Path) -> None:
    """A case parametrized by operation fills only that operation's cells."""
    refused_test = "test_refused_write_should_be_rolled_back_on_every_screen"
    (tmp_path / "junit.xml").write_text(
        f'<testsuite><testcase name="{refused_test}[chromium-create]"/>'
        f'<testcase name="{refused_test}[chromium-update]"><failure message="x"/></testcase>'
        "</testsuite>",
        encoding="utf-8",
    )
    matrix = coverage.load()
    run = coverage.outcomes(tmp_path)
    cell = {(c["operation"], c["condition"]): c for c in matrix["cells"]}
    refused = "refused by the server"
    ops = matrix["operations"]
    assert coverage.result(cell[("create", refused)], run, ops) == "pass"
    assert coverage.result(cell[("update status", refused)], run, ops) == "FAIL (1 of 1)"
    assert coverage.result(cell[("delete", refused)], run, ops) == "not run"
