"""A page-level sentinel: text that looks like markup calls it when it runs as script (the
suite's markup values do, see e2e/explore/text.py), so that stored XSS is recorded, not
just suspected."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page

NAME = "__ssSentinel"
SCRIPT = f"""(() => {{
  const ran = [];
  Object.defineProperty(window, "__ssContentRan", {{ value: ran }});
  window.{NAME} = (tag) => {{ ran.push(String(tag)); }};
}})();"""


def install(context: BrowserContext) -> None:
    context.add_init_script(script=SCRIPT)


def content_ran(page: Page) -> list[str]:
    """What content ran as script in this page so far (the tags its handlers passed)."""
    ran: list[str] = page.evaluate("() => [...(window.__ssContentRan || [])]")
    return ran
