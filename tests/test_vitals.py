"""The Web Vitals probe: what it reports for a page of the embedded app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from e2e.harness.app_process import AppProcess
from e2e.probes import vitals

# A paint larger than the table, made after the page has shown its first rows.
LATE_PAINT = """() => new Promise((done) => {
  const big = document.createElement("div");
  big.style.cssText = "position:fixed;inset:0;background:#def;font-size:40px";
  big.textContent = "late ".repeat(400);
  document.body.append(big);
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));
})"""


@pytest.fixture
def page(chromium: Browser, app: AppProcess) -> Iterator[Page]:
    context = chromium.new_context()
    vitals.install(context)
    page = context.new_page()
    page.goto(app.base_url + "/")
    page.wait_for_function("() => window.__staffsyncVitals && window.__staffsyncVitals.LCP > 0")
    yield page
    context.close()


def _lcp(page: Page) -> float:
    return vitals.read(page)["vitals.lcp_ms"]


def test_a_larger_paint_before_any_input_should_be_the_pages_lcp(page: Page) -> None:
    first = _lcp(page)
    page.evaluate(LATE_PAINT)
    page.wait_for_function("t => window.__staffsyncVitals.LCP > t", arg=first)
    later = _lcp(page)
    assert later > first, f"LCP {first:.0f} ms stayed {later:.0f} ms after a larger paint"


def test_a_paint_after_a_scripted_click_should_not_be_the_pages_lcp(page: Page) -> None:
    """A person's first tap ends LCP; the suite's page object clicks some controls from a
    script, and what those open (the edit dialog) is not the page's loading."""
    first = _lcp(page)
    page.evaluate("() => document.body.click()")
    page.evaluate(LATE_PAINT)
    later = _lcp(page)
    assert later == first, f"LCP went from {first:.0f} ms to {later:.0f} ms after a click"
