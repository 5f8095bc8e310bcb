"""Which Chromium the suite launches, and with which flags.

Order: an explicit path (option or STAFFSYNC_CHROMIUM), Playwright's own Chromium when it
is installed, then the system's. `python -m e2e.harness.browser` prints the choice or fails;
`python -m e2e.harness.browser --server-config HOST:PORT` prints the config of a browser
server (`python -m playwright launch-server --browser chromium --config FILE`) with that
choice and the quiet flags pinned, listening on HOST:PORT at /pw.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

SYSTEM_CHROMIUMS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/snap/bin/chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
# Closed networks: without these Chromium keeps trying to reach outside hosts.
QUIET_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--metrics-recording-only",
)


class BrowserNotFound(RuntimeError):
    pass


def playwright_chromium() -> str | None:
    """Playwright's bundled Chromium, when `playwright install chromium` has run."""
    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if path and Path(path).is_file() else None


def find_chromium(explicit: str | None = None) -> str | None:
    """Path to launch, or None to let Playwright use its own; BrowserNotFound if none."""
    if explicit:
        if not Path(explicit).is_file():
            raise BrowserNotFound(f"Chromium at {explicit} does not exist")
        return explicit
    if playwright_chromium():
        return None
    for candidate in (*SYSTEM_CHROMIUMS, shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    raise BrowserNotFound(
        "no Chromium: run `playwright install chromium`, or install the system's "
        "(apt-get install chromium), or set STAFFSYNC_CHROMIUM"
    )


def server_config(host: str, port: int, executable: str | None) -> dict[str, Any]:
    """launch-server's config: `run-server` would drop the executable and the flags."""
    config: dict[str, Any] = {
        "headless": True, "host": host, "port": port, "wsPath": "/pw", "args": list(QUIET_FLAGS)
    }  # fmt: skip
    if executable:
        config["executablePath"] = executable
    return config


def main(argv: list[str] | None = None) -> None:
    from e2e.harness.options import environment_value  # the one reader of STAFFSYNC_*

    argv = sys.argv[1:] if argv is None else argv
    try:
        path = find_chromium(environment_value("chromium"))
    except BrowserNotFound as exc:
        sys.exit(str(exc))
    if argv[:1] == ["--server-config"] and len(argv) == 2:
        host, _, port = argv[1].rpartition(":")
        if not host or not port.isdigit():
            sys.exit(f"--server-config takes HOST:PORT, not {argv[1]!r}")
        print(json.dumps(server_config(host, int(port), path)))
        return
    if argv:
        sys.exit("usage: python -m e2e.harness.browser [--server-config HOST:PORT]")
    print(path or f"playwright's own ({playwright_chromium()})")


if __name__ == "__main__":
    main()
