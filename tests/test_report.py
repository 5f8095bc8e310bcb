"""The report as a person sees it: opened in the suite's own Chromium, it shows every chart
and the gate table in the terminal's units, and logs no error."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Browser

from e2e.gate.runner import run_gate
from e2e.harness.options import ROOT

RECORDED = ROOT / "fixtures" / "recorded"
CHARTS = (
    "Navigation latency",
    "Heap over navigations",
    "Reconnect after faults",
    "Cross-tab propagation",
    "Trend over the last",
)


def test_report_should_open_without_errors_and_show_every_chart(
    tmp_path: Path, chromium: Browser
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(RECORDED / "baseurl-healthy-metrics.json", run_dir / "metrics.json")
    run_gate(run_dir, ROOT / "fixtures" / "kpis.json")
    outcome = run_gate(run_dir, ROOT / "fixtures" / "kpis.json")  # two runs: a trend
    page = chromium.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(outcome.report_path.as_uri())
    sections = page.evaluate(
        """() => [...document.querySelectorAll('h2')].map(h => {
             let svg = false;
             for (let n = h.nextElementSibling; n && n.tagName !== 'H2'; n = n.nextElementSibling)
               svg = svg || n.tagName.toLowerCase() === 'svg' || !!n.querySelector('svg');
             return [h.textContent, svg];
           })"""
    )
    with_chart = {title for title, svg in sections if svg}
    for chart in CHARTS:
        assert any(t.startswith(chart) for t in with_chart), f"no chart under {chart!r}: {sections}"
    table = page.locator("table").first.inner_text()
    assert "MiB" in table and "%" in table and " ms" in table, table
    assert "e+0" not in table and " ratio" not in table, table
    assert not errors, errors
    page.close()
