"""The embedded reference app as a real subprocess: start, health, kill, restart, memory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from e2e.harness.options import ROOT

LISTENING = re.compile(r"listening on (http://\S+)")


class AppStartError(RuntimeError):
    """The app did not come up healthy in time; the message carries its output."""


@dataclass
class AppProcess:
    """One `python -m staffsync` process. Restarts keep the port and the database."""

    data_dir: Path
    log_path: Path
    options: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/staff-sync"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the app is not running")
        return self.proc.pid

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "staffsync", "--host", self.host, "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)]
        for name, value in self.options.items():
            cmd += [f"--{name}", value]
        return cmd

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSYNC_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=ROOT,
        )
        log.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        match = LISTENING.search(line)
        if not match:
            self.proc.wait(timeout=5)
            raise AppStartError(
                f"staffsync did not start ({self.command()}): {line!r}\n{self.tail_log()}"
            )
        self.port = int(match.group(1).rsplit(":", 1)[1])
        self.wait_healthy(timeout)
        self.ready_s = time.monotonic() - self.started_at

    def tail_log(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(self.base_url + "/health", timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: str = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AppStartError(
                    f"staffsync exited with {self.proc.returncode}\n{self.tail_log()}"
                )
            try:
                status, body = self.health()
                if status == 200 and body.get("status") == "healthy":
                    return body
                last = f"{status} {body}"
            except (OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.05)  # polling interval of a condition, bounded by the deadline
        raise AppStartError(f"staffsync not healthy after {timeout} s: {last}\n{self.tail_log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was not committed is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM: graceful shutdown, sockets closed with GOING_AWAY."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same port and database (after kill or stop)."""
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.start(timeout)

    def freeze(self) -> None:
        """SIGSTOP: the process stops answering while its sockets stay open."""
        psutil.Process(self.pid).suspend()

    def thaw(self) -> None:
        psutil.Process(self.pid).resume()

    def rss_bytes(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)
