"""The in-page probe's own cost on a navigation: the same in-page navigations timed with
and without the probe installed (each navigation is one task, so the probe's
MutationObserver work is inside the measurement).

    python -m benchmarks.probe [--navigations 400]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from e2e.gate.stats import percentile
from e2e.harness.app_process import AppProcess
from e2e.harness.browser import QUIET_FLAGS, find_chromium
from e2e.harness.options import environment_value
from e2e.probes import page_probe

TIMED = """async (n) => {
  const next = document.querySelector('[data-testid="nav-next"]');
  const prev = document.querySelector('[data-testid="nav-prev"]');
  const times = [];
  let forward = true;
  for (let i = 0; i < n; i += 1) {
    if (next.disabled) forward = false;
    if (prev.disabled) forward = true;
    const t0 = performance.now();
    (forward ? next : prev).click();
    await new Promise((r) => setTimeout(r, 0));
    times.push(performance.now() - t0);
  }
  return times;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.probe", description=__doc__)
    parser.add_argument("--navigations", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = AppProcess(data_dir=Path(tmp) / "data", log_path=Path(tmp) / "app.log")
        app.start()
        executable = find_chromium(environment_value("chromium"))
        with sync_playwright() as p:
            browser = (
                p.chromium.launch(executable_path=executable, args=list(QUIET_FLAGS))
                if executable
                else p.chromium.launch(args=list(QUIET_FLAGS))
            )
            results: dict[str, list[float]] = {"without probe": [], "with probe": []}
            for _ in range(args.rounds):
                for label in results:
                    context = browser.new_context()
                    if label == "with probe":
                        page_probe.install(context)
                    page = context.new_page()
                    page.goto(app.base_url + "/?mode=prefetch")
                    page.locator('[data-testid="staff-table"][data-state="ready"]').wait_for(
                        state="attached"
                    )
                    page.evaluate(TIMED, 50)  # warm-up
                    results[label] += page.evaluate(TIMED, args.navigations)
                    context.close()
            browser.close()
        app.stop()
    for label, times in results.items():
        print(
            f"{label:14} median {statistics.median(times):.3f} ms, p95"
            f" {percentile(times, 0.95):.3f} ms over {len(times)} in-page navigations"
        )
    overhead = statistics.median(results["with probe"]) - statistics.median(
        results["without probe"]
    )
    print(f"probe overhead per navigation (median difference): {overhead:.3f} ms")


if __name__ == "__main__":
    main()
