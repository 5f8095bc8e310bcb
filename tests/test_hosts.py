"""Several hosts on separate network stacks: the README's recipe ("Beyond one machine", the
block marked `recipe: hosts`) run line for line, each host a network namespace of its own.

Six namespaces: one holds a bridge, five hosts (the app, a browser server, two Locust
workers, the suite with the Locust master) are joined to it by veth pairs, with the
addresses the recipe names (192.0.2.0/24, a documentation range; nothing leaves the
machine). Each host's loopback is its own, so a component that binds or dials 127.0.0.1 by
mistake fails here as it would between real hosts. Needs root and `ip netns`; elsewhere the
test skips and says why."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from e2e.harness.options import ROOT

MARKER = "<!-- recipe: hosts"
HEADING = re.compile(r"^# on (?:the|each) (.+?) hosts?, (.*)$")
ADDRESS = re.compile(r"192\.0\.2\.\d+")
ENDPOINT = re.compile(r"(?:http|ws)://(192\.0\.2\.\d+):(\d+)")
PREFIX = 24
SUITE_TIMEOUT_S = 600
READY_TIMEOUT_S = 60


@dataclass(frozen=True)
class Step:
    addresses: tuple[str, ...]  # the hosts that run it
    line: str

    @property
    def background(self) -> bool:
        return self.line.endswith("&")

    @property
    def command(self) -> str:
        return self.line.removesuffix("&").strip()


def recipe(readme: Path = ROOT / "README.md") -> list[Step]:
    """The recipe's lines, each with the hosts its heading names."""
    text = readme.read_text(encoding="utf-8")
    start = text.index(MARKER)
    block = text[text.index("```sh\n", start) + 6 :]
    block = block[: block.index("```")]
    steps: list[Step] = []
    hosts: tuple[str, ...] = ()
    for line in block.splitlines():
        heading = HEADING.match(line)
        if heading:
            hosts = tuple(ADDRESS.findall(heading.group(2)))
        elif line.strip() and not line.startswith("#"):
            assert hosts, f"a recipe line before any host heading: {line}"
            steps.append(Step(hosts, line.strip()))
    return steps


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@dataclass
class Lan:
    """Namespaces joined by a bridge in a namespace of their own; deleted at the end."""

    tag: str
    hosts: dict[str, str] = field(default_factory=dict)  # address -> namespace
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def hub(self) -> str:
        return f"ssv-{self.tag}-lan"

    def build(self, addresses: list[str]) -> None:
        ip("netns", "add", self.hub)
        self.hosts["hub"] = self.hub
        ip("-n", self.hub, "link", "set", "lo", "up")
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")
        for n, address in enumerate(addresses):
            ns = f"ssv-{self.tag}-{address.rsplit('.', 1)[1]}"
            ip("netns", "add", ns)
            self.hosts[address] = ns
            ip("-n", ns, "link", "set", "lo", "up")
            port = f"h{n}"
            ip("-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0",
               "netns", ns)  # fmt: skip
            ip("-n", self.hub, "link", "set", port, "master", "br0")
            ip("-n", self.hub, "link", "set", port, "up")
            ip("-n", ns, "addr", "add", f"{address}/{PREFIX}", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    def run(
        self, address: str, command: str, cwd: Path, env: dict[str, str], log: Path, wait: bool
    ) -> subprocess.Popen[bytes]:
        cmd = ["ip", "netns", "exec", self.hosts[address], "bash", "-c", command]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.started.append(proc)
        if wait:
            proc.wait(timeout=SUITE_TIMEOUT_S)
        return proc

    def reachable(self, address: str, host: str, port: int) -> bool:
        probe = f"import socket; socket.create_connection(({host!r}, {port}), timeout=2).close()"
        done = subprocess.run(
            ["ip", "netns", "exec", self.hosts[address], str(ROOT / ".venv/bin/python"), "-c",
             probe],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        return done.returncode == 0

    def tear_down(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for ns in self.hosts.values():
            pids = subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True, check=False
            ).stdout.split()
            for pid in pids:  # whatever a host's lines left behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def unavailable() -> str | None:
    """Why this machine cannot make network namespaces, or None."""
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2); bin/setup installs it when run as root"
    if os.geteuid() != 0:
        return "network namespaces need root (`ip netns add`)"
    name = f"ssv-probe-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if done.returncode != 0:
        return f"this machine does not allow `ip netns add`: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return None


@pytest.fixture
def lan() -> Iterator[Lan]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    network = Lan(uuid.uuid4().hex[:6])
    try:
        network.build(sorted({a for step in recipe() for a in step.addresses}))
        yield network
    finally:
        network.tear_down()


def test_the_recipe_should_name_every_host_and_address_once() -> None:
    steps = recipe()
    suite = [s for s in steps if s.line.startswith("bin/verify")]
    assert len(suite) == 1 and not suite[0].background
    assert "--load-workers 2" in suite[0].line and "--load-master 192.0.2.20:" in suite[0].line
    workers = [s for s in steps if s.line.startswith("locust ")]
    assert len(workers) == 1 and len(workers[0].addresses) == 2
    addresses = {a for s in steps for a in s.addresses}
    assert len(addresses) == 5
    assert "127.0.0.1" not in "".join(s.line for s in steps)


def host_logs(tmp_path: Path, tail: int = 800) -> dict[str, str]:
    """The end of each host's own log (its background components), by address."""
    return {p.name: (p / "log").read_text(errors="replace")[-tail:]
            for p in sorted(tmp_path.iterdir()) if (p / "log").exists()}  # fmt: skip


def failure(tmp_path: Path, suite_log: Path, started: dict[str, float]) -> str:
    """What a failed suite run left: the end of its output, the Locust master's log, each
    host's log, and how long before the suite each background line was started."""
    master = tmp_path / "artifacts" / "hosts" / "load" / "locust.log"
    before = {
        host: f"{started['suite'] - at:.0f} s" for host, at in started.items() if host != "suite"
    }
    tail = master.read_text(errors="replace")[-1500:] if master.exists() else "(none)"
    return (
        f"{suite_log.read_text(errors='replace')[-2500:]}\n"
        f"Locust master's log: {tail}\n"
        f"hosts' logs: {host_logs(tmp_path, 600)}\n"
        f"background lines started before the suite: {before}"
    )


@pytest.mark.timeout(SUITE_TIMEOUT_S + 120)
def test_the_load_room_should_pass_across_five_hosts(lan: Lan, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    env.update(STAFFSYNC_ARTIFACTS=str(tmp_path / "artifacts"), STAFFSYNC_RUN_ID="hosts")
    suite_log = tmp_path / "suite.log"
    started: dict[str, float] = {}  # a host (or "suite") -> when its line was started
    for step in recipe():
        for address in step.addresses:
            home = tmp_path / address
            home.mkdir(exist_ok=True)
            if step.background:
                started[address] = time.monotonic()
                lan.run(address, step.command, home, env, home / "log", wait=False)
                continue
            if step.line.startswith("bin/verify"):  # the suite, once its peers answer
                for host, port in ENDPOINT.findall(step.line):
                    deadline = time.monotonic() + READY_TIMEOUT_S
                    while not lan.reachable(address, host, int(port)):
                        assert time.monotonic() < deadline, (
                            f"{host}:{port} never answered: {host_logs(tmp_path)}"
                        )
                started["suite"] = time.monotonic()
                done = lan.run(address, step.command, ROOT, env, suite_log, wait=True)
                assert done.returncode == 0, failure(tmp_path, suite_log, started)
            else:
                done = lan.run(address, step.command, home, env, home / "log", wait=True)
                assert done.returncode == 0, (home / "log").read_text(errors="replace")[-2000:]
    run = json.loads((tmp_path / "artifacts" / "hosts" / "metrics.json").read_text())
    samples = run["samples"]
    rss = [s for s in samples if s["metric"] == "load.server_rss_bytes"]
    assert rss and {s["tags"].get("source") for s in rss} == {"/metrics"}
    workers = {
        s["tags"].get("worker") for s in samples if s["metric"] == "load.generator_cpu_percent"
    }
    assert {"0", "1"} <= workers, workers
    assert run["environment"]["browserHost"].startswith("ws://192.0.2.40:")
    gate = json.loads((tmp_path / "artifacts" / "hosts" / "gate.json").read_text())
    assert gate["verdict"] in ("pass", "warn"), gate  # what exit 0 of a strict gate means
