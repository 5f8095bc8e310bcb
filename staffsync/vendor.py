"""The React client's libraries: the UMD production builds of react and react-dom 18, taken
from the npm registry with npm itself (`npm pack`, integrity checked against the pins
below) into static/vendor/. They are not kept in the repository; `bin/setup` runs this.

    python -m staffsync.vendor          # fetch what is missing
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
# package -> (version, npm integrity of its tarball, the file the client loads)
PACKAGES: dict[str, tuple[str, str, str]] = {
    "react": (
        "18.3.1",
        "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        "umd/react.production.min.js",
    ),
    "react-dom": (
        "18.3.1",
        "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        "umd/react-dom.production.min.js",
    ),
}


class VendorError(RuntimeError):
    """A library could not be fetched or did not match its pin."""


def target(name: str) -> Path:
    version, _, _ = PACKAGES[name]
    return VENDOR / f"{name}-{version}.production.min.js"


def missing() -> list[str]:
    return [name for name in PACKAGES if not target(name).is_file()]


def fetch(names: list[str]) -> None:
    pack({n: PACKAGES[n] for n in names}, target)


def pack(packages: dict[str, tuple[str, str, str]], destination: Callable[[str], Path]) -> None:
    """Fetch each package's tarball with `npm pack`, check it against its pinned integrity,
    and write the one file taken from it to `destination(name)`."""
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm is not installed (apt-get install npm, or run bin/setup)")
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{n}@{version}" for n, (version, _, _) in packages.items()]
        done = subprocess.run(
            [npm, "pack", *specs, "--json", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise VendorError(f"npm pack {' '.join(specs)} failed: {done.stderr.strip()[-500:]}")
        for packed in json.loads(done.stdout):
            name = packed["name"]
            version, integrity, member = packages[name]
            if packed["integrity"] != integrity:
                raise VendorError(f"{name}@{version}: integrity {packed['integrity']} != pin")
            with tarfile.open(Path(tmp) / packed["filename"]) as tar:
                source = tar.extractfile(f"package/{member}")
                if source is None:
                    raise VendorError(f"{name}@{version} has no {member}")
                out = destination(name)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(source.read())


def main() -> int:
    todo = missing()
    try:
        if todo:
            fetch(todo)
    except (VendorError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"staffsync.vendor: {exc}", file=sys.stderr)
        return 1
    for name in PACKAGES:
        print(target(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
