"""The client's mode comes from the rollout percentage and a stable hash of its client id;
?mode= overrides it. Checked in a real browser against a real server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.conftest import AppFactory


def mode_of(browser: Browser, url: str, client_id: str | None = None) -> str:
    context = browser.new_context()
    if client_id is not None:
        context.add_init_script(f"localStorage.setItem('staffsync.clientId', '{client_id}')")
    page = context.new_page()
    page.goto(url)
    page.locator('[data-testid="staff-table"][data-state="ready"]').wait_for(state="attached")
    mode = page.get_by_test_id("app-mode").get_attribute("data-mode") or ""
    context.close()
    return mode


@pytest.mark.parametrize(("rollout", "expected"), [("0", "legacy"), ("100", "prefetch")])
def test_rollout_should_choose_the_mode(
    start_app: AppFactory, chromium: Browser, rollout: str, expected: str
) -> None:
    app = start_app(**{"prefetch-rollout": rollout})
    assert mode_of(chromium, app.base_url + "/") == expected
    other = "legacy" if expected == "prefetch" else "prefetch"
    assert mode_of(chromium, app.base_url + f"/?mode={other}") == other


def test_rollout_should_keep_a_client_in_its_bucket(
    start_app: AppFactory, chromium: Browser
) -> None:
    app = start_app(**{"prefetch-rollout": "50"})
    ids = [f"client-{n}" for n in range(12)]
    first = [mode_of(chromium, app.base_url + "/", i) for i in ids]
    again = [mode_of(chromium, app.base_url + "/", i) for i in ids]
    assert first == again, "a client must stay in its rollout bucket"
    assert set(first) == {"legacy", "prefetch"}, f"50 % should split 12 clients: {first}"
