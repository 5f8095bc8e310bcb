"""The suite's settings: one option group, settled once into SuiteConfig.

Each setting comes from its command-line option, else its environment variable, else the
default. Tests and page objects never read the environment; they get `suite_config`.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# option -> (environment variable, default, help)
OPTIONS: dict[str, tuple[str, str, str]] = {
    "app-mode": ("STAFFSYNC_APP_MODE", "prefetch", "client mode of the pages: prefetch or legacy"),
    "client": ("STAFFSYNC_CLIENT", "vanilla", "embedded app: browser client, vanilla or react"),
    "db-latency-ms": ("STAFFSYNC_DB_LATENCY_MS", "0", "embedded app: ms added to every DB read"),
    "defect": ("STAFFSYNC_DEFECT", "", "embedded app: switch on one catalogued defect (F1-F15)"),
    "dataset": ("STAFFSYNC_DATASET", "", "embedded app: seed dataset JSON (default fixtures/)"),
    "periods": ("STAFFSYNC_PERIODS", "", "embedded app: number of periods (default 17)"),
    "chromium": ("STAFFSYNC_CHROMIUM", "", "Chromium to launch (default: found automatically)"),
    "nav-sequence": ("STAFFSYNC_NAV_SEQUENCE", "", "replay these period jumps, e.g. 3,0,16"),
    "nav-seed": ("STAFFSYNC_NAV_SEED", "", "seed of the random jump sequences"),
    "idle-seconds": ("STAFFSYNC_IDLE_SECONDS", "60", "how long the idle-connection test waits"),
    "outage-seconds": ("STAFFSYNC_OUTAGE_SECONDS", "3", "length of the short outage"),
    "long-outage-seconds": ("STAFFSYNC_LONG_OUTAGE_SECONDS", "20", "length of the long outage"),
    "memory-navigations": ("STAFFSYNC_MEMORY_NAVIGATIONS", "200", "navigations of the heap test"),
    "soak-navigations": ("STAFFSYNC_SOAK_NAVIGATIONS", "1000", "navigations of the soak test"),
    "artifacts": ("STAFFSYNC_ARTIFACTS", str(ROOT / "artifacts"), "where run directories go"),
    "run-id": ("STAFFSYNC_RUN_ID", "", "name of this run's directory (default: time + random)"),
    "gate": (
        "STAFFSYNC_GATE",
        "warn",
        "KPI gate: off, warn (report only) or strict (decides exit)",
    ),
    "kpis": ("STAFFSYNC_KPIS", str(ROOT / "fixtures" / "kpis.json"), "KPI thresholds file"),
    "baseline": ("STAFFSYNC_BASELINE", "", "compare with this run directory or metrics.json"),
}
CHOICES = {
    "app-mode": ["prefetch", "legacy"],
    "gate": ["off", "warn", "strict"],
    "client": ["vanilla", "react"],
}
# flag -> (environment variable set to 1/true/yes to switch it on, help)
FLAGS: dict[str, tuple[str, str]] = {
    "heap-snapshots": (
        "STAFFSYNC_HEAP_SNAPSHOTS",
        "heap test: always take heap snapshots and write what grew (by default only when"
        " heap growth reaches the KPI's target)",
    ),
}
TRUE = ("1", "true", "yes", "on")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("staffsync", "staffsync-verify")
    for name, (var, default, text) in OPTIONS.items():
        group.addoption(
            f"--{name}",
            dest=name.replace("-", "_"),
            default=os.environ.get(var, default),
            choices=CHOICES.get(name),
            help=f"{text} (env {var}; default {default or 'none'})",
        )
    for name, (var, text) in FLAGS.items():
        group.addoption(
            f"--{name}",
            dest=name.replace("-", "_"),
            action="store_true",
            default=os.environ.get(var, "").lower() in TRUE,
            help=f"{text} (env {var}=1)",
        )


@dataclass(frozen=True)
class SuiteConfig:
    base_url: str | None
    app_mode: str
    client: str
    db_latency_ms: int
    defect: str | None
    dataset: Path | None
    periods: int | None
    chromium: str | None
    nav_sequence: tuple[int, ...] | None
    nav_seed: int
    idle_seconds: float
    outage_seconds: float
    long_outage_seconds: float
    memory_navigations: int
    soak_navigations: int
    artifacts: Path
    run_id: str
    gate: str
    kpis: Path
    baseline: Path | None
    heap_snapshots: bool

    @property
    def run_dir(self) -> Path:
        return self.artifacts / self.run_id

    @property
    def embedded(self) -> bool:
        return self.base_url is None


def _int_list(raw: str, option: str) -> tuple[int, ...] | None:
    if not raw:
        return None
    try:
        return tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise pytest.UsageError(f"--{option} takes integers separated by commas: {raw!r}") from None


def _number(raw: str, option: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        raise pytest.UsageError(f"--{option} must be a number, not {raw!r}") from None


def settle(config: pytest.Config) -> SuiteConfig:
    """Read every option once; called from pytest_configure."""
    opt = config.option
    run_id = opt.run_id or time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    defect = opt.defect.upper() or None
    if defect is not None and (not defect.startswith("F") or not defect[1:].isdigit()):
        raise pytest.UsageError(f"--defect takes an id F1..F15, not {opt.defect!r}")
    seed = int(_number(opt.nav_seed, "nav-seed", int)) if opt.nav_seed else secrets.randbelow(10**6)
    return SuiteConfig(
        base_url=getattr(opt, "base_url", None) or config.getini("base_url") or None,
        app_mode=opt.app_mode,
        client=opt.client,
        db_latency_ms=int(_number(opt.db_latency_ms, "db-latency-ms", int)),
        defect=defect,
        dataset=Path(opt.dataset).resolve() if opt.dataset else None,
        periods=int(_number(opt.periods, "periods", int)) if opt.periods else None,
        chromium=opt.chromium or None,
        nav_sequence=_int_list(opt.nav_sequence, "nav-sequence"),
        nav_seed=seed,
        idle_seconds=float(_number(opt.idle_seconds, "idle-seconds", float)),
        outage_seconds=float(_number(opt.outage_seconds, "outage-seconds", float)),
        long_outage_seconds=float(_number(opt.long_outage_seconds, "long-outage-seconds", float)),
        memory_navigations=int(_number(opt.memory_navigations, "memory-navigations", int)),
        soak_navigations=int(_number(opt.soak_navigations, "soak-navigations", int)),
        artifacts=Path(opt.artifacts).resolve(),
        run_id=run_id,
        gate=opt.gate,
        kpis=Path(opt.kpis).resolve(),
        baseline=Path(opt.baseline).resolve() if opt.baseline else None,
        heap_snapshots=bool(opt.heap_snapshots),
    )
