"""How a user leaves a page that may hold saved writes the server has not confirmed: a
reload, a closed tab, or a crash (the renderer dies: no beforeunload, no pagehide, as when
a phone discards a tab or its battery dies).

A client that keeps such writes only in memory must at least ask before unload. A user so
warned stays on the page (the dialog is dismissed), and the call says so: the page did not
go, and nothing it held is lost. A crash cannot be warned of."""

from __future__ import annotations

from playwright.sync_api import Dialog, Page
from playwright.sync_api import Error as PlaywrightError

LEAVES = ("reload", "close", "crash")
WARNING_WAIT_MS = 10_000


def leave(page: Page, how: str) -> bool:
    """Reload, close or crash `page`; returns whether the page asked before unload (and so
    stayed, its user having answered "stay")."""
    if how == "crash":
        crash(page)
        return False
    warned: list[Dialog] = []

    def on_dialog(dialog: Dialog) -> None:
        if dialog.type == "beforeunload":
            warned.append(dialog)

    page.on("dialog", on_dialog)
    try:
        if how == "reload":
            try:
                page.reload(timeout=WARNING_WAIT_MS)
            except PlaywrightError:
                if not warned:
                    raise
        elif how == "close":
            page.close(run_before_unload=True)
            if not page.is_closed():
                page.wait_for_event("close", timeout=WARNING_WAIT_MS)
        else:
            raise ValueError(f"leave a page by one of {LEAVES}, not {how!r}")
    except PlaywrightError:
        if not warned:
            raise
    finally:
        if not page.is_closed():
            page.remove_listener("dialog", on_dialog)
    return bool(warned)


def crash(page: Page) -> None:
    """Kill the page's renderer (Chromium's chrome://crash, reached through CDP: the page
    runs no handler of its own), then close what is left of the tab."""
    session = page.context.new_cdp_session(page)
    with page.expect_event("crash", timeout=WARNING_WAIT_MS):
        session.send("Page.navigate", {"url": "chrome://crash"})
    page.close()
