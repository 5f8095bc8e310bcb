"""Settings of the app: one dataclass, filled from the command line or the environment."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from staffsync.defects import DEFECTS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    dataset: Path = FIXTURES / "staff.json"
    periods: int = 17
    db_latency_ms: int = 0
    prefetch_rollout: int = 100
    defect: str | None = None
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    max_frame_bytes: int = 64 * 1024
    heartbeat_s: float = 20.0
    client: str = "vanilla"
    metrics: str = "on"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "staffsync.sqlite3"


# option name -> (environment variable, type, help)
_OPTIONS: dict[str, tuple[str, type, str]] = {
    "host": ("STAFFSYNC_HOST", str, "address to listen on"),
    "port": ("STAFFSYNC_PORT", int, "port to listen on; 0 picks a free one and prints it"),
    "data_dir": ("STAFFSYNC_DATA_DIR", Path, "folder of the SQLite database"),
    "dataset": ("STAFFSYNC_DATASET", Path, "seed data for a new database (JSON)"),
    "periods": ("STAFFSYNC_PERIODS", int, "number of periods (months)"),
    "db_latency_ms": (
        "STAFFSYNC_DB_LATENCY_MS",
        int,
        "milliseconds added to every database read, emulating a hosted database",
    ),
    "prefetch_rollout": (
        "STAFFSYNC_PREFETCH_ROLLOUT",
        int,
        "percent of clients put in all-periods (prefetch) mode; the rest run legacy mode",
    ),
    "defect": (
        "STAFFSYNC_DEFECT",
        str,
        "switch on one catalogued defect (F1-F49) to prove the suite catches it",
    ),
    "allowed_origins": (
        "STAFFSYNC_ALLOWED_ORIGINS",
        str,
        "comma-separated extra origins allowed to open the WebSocket",
    ),
    "max_frame_bytes": ("STAFFSYNC_MAX_FRAME_BYTES", int, "largest accepted frame"),
    "heartbeat_s": ("STAFFSYNC_HEARTBEAT_S", float, "seconds between server ping frames"),
    "client": (
        "STAFFSYNC_CLIENT",
        str,
        "browser client served at /: vanilla (ES modules) or react (React 18)",
    ),
    "metrics": (
        "STAFFSYNC_METRICS",
        str,
        "serve Prometheus metrics at /metrics: on, or off (as a deployment that keeps them"
        " private)",
    ),
}
CLIENTS = ("vanilla", "react")


def parse_args(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from `argv`, falling back to `env` (os.environ), then to the defaults."""
    environ = dict(os.environ if env is None else env)
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m staffsync",
        description="Reference staff-sync server: schedule editor, WebSocket and health check.",
    )
    for name, (var, kind, text) in _OPTIONS.items():
        default = getattr(defaults, name)
        if name == "allowed_origins":
            default = ",".join(default)
        raw = environ.get(var)
        flag = "--" + name.replace("_", "-")
        parser.add_argument(
            flag,
            dest=name,
            type=kind,
            default=kind(raw) if raw not in (None, "") else default,
            help=f"{text} (env {var}; default {default if default not in (None, '') else 'none'})",
        )
    ns = parser.parse_args(argv)
    if ns.defect in ("", "none"):
        ns.defect = None
    if ns.defect is not None:
        ns.defect = ns.defect.upper()
        if ns.defect not in DEFECTS:
            parser.error(f"--defect {ns.defect}: unknown; choose one of {', '.join(DEFECTS)}")
    if not 0 <= ns.prefetch_rollout <= 100:
        parser.error("--prefetch-rollout is a percentage from 0 to 100")
    if not 1 <= ns.periods <= 240:
        parser.error("--periods must be between 1 and 240")
    if ns.db_latency_ms < 0:
        parser.error("--db-latency-ms cannot be negative")
    if ns.client not in CLIENTS:
        parser.error(f"--client {ns.client}: choose one of {', '.join(CLIENTS)}")
    if ns.metrics not in ("on", "off"):
        parser.error(f"--metrics {ns.metrics}: on or off")
    origins = tuple(o.strip() for o in str(ns.allowed_origins).split(",") if o.strip())
    return Settings(
        host=ns.host,
        port=ns.port,
        data_dir=ns.data_dir,
        dataset=ns.dataset,
        periods=ns.periods,
        db_latency_ms=ns.db_latency_ms,
        prefetch_rollout=ns.prefetch_rollout,
        defect=ns.defect,
        allowed_origins=origins,
        max_frame_bytes=ns.max_frame_bytes,
        heartbeat_s=ns.heartbeat_s,
        client=ns.client,
        metrics=ns.metrics,
    )
