"""The idle watch: a page opened when the session starts and then left alone, judged by
the idle-connection test, which runs last. The watch overlaps the rest of the run instead
of adding its own minute.

On the embedded target the watched page talks to an app of its own (same options, own
database), so nothing the other tests do reaches it: no edits, and no kill -9 or freeze of
the shared server. On a deployment (--base-url) it shares the target, where the tests that
kill or freeze the server skip; other users' edits still reach it there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Browser, BrowserContext

from e2e.conditions.room import Room
from e2e.harness.app_process import AppProcess
from e2e.harness.options import SuiteConfig
from e2e.harness.target import Target, start_embedded
from e2e.harness.users import User, make_user

FIXTURE = "idle_watch"


@dataclass
class IdleWatch:
    user: User
    opened_at: float  # page time when the page first showed "connected"
    sockets: int  # sockets the page had opened by then
    app: AppProcess | None  # the watch's own app, on the embedded target

    def watched_ms(self) -> float:
        return self.user.probe.now() - self.opened_at

    def left_connected(self) -> list[dict[str, Any]]:
        """Every badge state other than "connected" since the watch began."""
        return [s for s in self.user.probe.states(self.opened_at) if s["state"] != "connected"]


def watch_idle(
    browser: Browser,
    context_args: dict[str, Any],
    config: SuiteConfig,
    target: Target,
    room: Room,
) -> Iterator[IdleWatch]:
    app: AppProcess | None = None
    page_url = target.page_url
    evidence = os.path.relpath(config.run_dir)
    if target.app is not None:
        app = start_embedded(config, config.run_dir / "idle-app")
        page_url = room.front(app.base_url)
        evidence = os.path.relpath(app.log_path)

    def new_context() -> BrowserContext:
        return room.new_context(browser, **{**context_args, "base_url": page_url})

    user = make_user(new_context, "idle", evidence, control_sockets=False)
    try:
        user.open(config.app_mode)
        user.probe.wait(
            "() => document.querySelector('[data-testid=\"connection-badge\"]')"
            ".getAttribute('data-state') === 'connected'",
            None,
            30_000,
            "the idle page connected",
        )
        yield IdleWatch(user, user.probe.now(), len(user.probe.sockets()), app)
    finally:
        user.context.close()
        if app is not None:
            app.stop()


def run_last(items: list[Any]) -> None:
    """Moves the tests that judge the watch to the end of the run (stable otherwise)."""
    items.sort(key=lambda item: FIXTURE in getattr(item, "fixturenames", ()))
