"""Both clients load every module at once: a module found only by another's import comes a
round trip later, and over a mobile link (150 ms) a chain of three cost 300 ms of the
first row. Each page preloads (modulepreload) every module its entry point reaches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "staffsync" / "static"
IMPORT = re.compile(r'^import .* from "\./([\w-]+\.js)";', re.M)


def reached(folder: Path, entry: str) -> set[str]:
    """The modules `entry` imports, directly or through others."""
    found: set[str] = set()
    todo = [entry]
    while todo:
        for name in IMPORT.findall((folder / todo.pop()).read_text(encoding="utf-8")):
            if name not in found:
                found.add(name)
                todo.append(name)
    return found


@pytest.mark.parametrize(("page", "folder"), [("index.html", "js"), ("react/index.html", "react")])
def test_every_module_should_be_preloaded_by_its_page(page: str, folder: str) -> None:
    html = (STATIC / page).read_text(encoding="utf-8")
    preloaded = set(re.findall(rf'rel="modulepreload" href="/static/{folder}/([\w-]+\.js)"', html))
    needed = reached(STATIC / folder, "main.js")
    assert needed <= preloaded, f"not preloaded by {page}: {sorted(needed - preloaded)}"
