"""Named conditions (fixtures/conditions.json): the network, CPU, device, zone, locale and
database a run's users have. Profiles combine when they set different things."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROFILES_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "conditions.json"
LAB = "lab"
MATRIX = "matrix"


class UnknownConditions(ValueError):
    pass


@dataclass(frozen=True)
class Network:
    """The link between the browser and the app, as a phone's radio would give it."""

    rtt_ms: float = 0.0
    jitter_ms: float = 0.0  # the round trip's spread: drawn from rtt_ms +- jitter_ms / 2
    down_kbps: float | None = None  # None: as fast as the machine
    up_kbps: float | None = None
    stall_every_s: float | None = None  # about this often (0.5x to 1.5x) ...
    stall_s: tuple[float, float] = (0.0, 0.0)  # ... nothing passes for this long

    def __post_init__(self) -> None:
        if self.rtt_ms < 0 or self.jitter_ms < 0 or self.jitter_ms > 2 * self.rtt_ms:
            raise UnknownConditions(
                f"a round trip of {self.rtt_ms} ms cannot spread by {self.jitter_ms} ms"
            )
        for rate in (self.down_kbps, self.up_kbps):
            if rate is not None and rate <= 0:
                raise UnknownConditions(f"a bandwidth must be more than 0 kbit/s, not {rate}")
        low, high = self.stall_s
        if self.stall_every_s is not None and not 0 < low <= high < self.stall_every_s:
            raise UnknownConditions(
                f"stalls of {low}-{high} s cannot come every {self.stall_every_s} s"
            )

    def rtt_range(self) -> tuple[int, int] | None:
        """The round trips the link spreads over (ms), when it spreads."""
        if not self.jitter_ms:
            return None
        return round(self.rtt_ms - self.jitter_ms / 2), round(self.rtt_ms + self.jitter_ms / 2)

    def describe(self) -> str:
        parts = [f"RTT {self.rtt_ms:g} ms"]
        if self.jitter_ms:
            low, high = self.rtt_ms - self.jitter_ms / 2, self.rtt_ms + self.jitter_ms / 2
            parts[0] = f"RTT {low:g}-{high:g} ms"
        if self.down_kbps or self.up_kbps:
            parts.append(f"{_rate(self.down_kbps)} down, {_rate(self.up_kbps)} up")
        if self.stall_every_s:
            low, high = self.stall_s
            parts.append(f"a {low:g}-{high:g} s stall about every {self.stall_every_s:g} s")
        return ", ".join(parts)


def _rate(kbps: float | None) -> str:
    if kbps is None:
        return "unlimited"
    return f"{kbps / 1000:g} Mbit/s" if kbps >= 1000 else f"{kbps:g} kbit/s"


@dataclass(frozen=True)
class Conditions:
    """One profile or a combination of them; unset fields keep the lab's."""

    name: str = LAB
    about: str = ""
    network: Network | None = None  # None: loopback, nothing added
    cpu: float = 1.0  # slowdown against this machine, calibrated (see e2e.conditions.cpu)
    device: str | None = None  # a Playwright device descriptor's name
    timezone: str | None = None
    locale: str | None = None
    db_latency_ms: int = 0  # embedded app only
    staff_factor: int = 1  # embedded app only: the bundled staff times this
    names: tuple[str, ...] = field(default=(LAB,))

    @property
    def is_lab(self) -> bool:
        return self.network is None and self.cpu == 1 and self.device is None

    @property
    def zone(self) -> str:
        return self.timezone or "UTC"

    def describe(self) -> str:
        """One line of figures: what a reader needs to place a number taken under it."""
        network = self.network.describe() if self.network else "loopback"
        cpu = f"{self.cpu:g}x CPU" if self.cpu != 1 else "this machine's CPU"
        screen = self.device or "desktop 1280x720"
        zone = f"{self.zone}, {self.locale or 'en-US'}"
        db = f"DB +{self.db_latency_ms} ms/query" if self.db_latency_ms else "DB at 0 ms"
        staff = f"staff x{self.staff_factor}" if self.staff_factor != 1 else "bundled staff"
        return f"{network}; {cpu}; {screen}; {zone}; {db}; {staff}"

    def tags(self) -> dict[str, str]:
        return {"conditions": self.name}


SETTABLE = {f.name for f in fields(Conditions)} - {"name", "about", "names"}


def catalogue(path: Path = PROFILES_FILE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def exploration_zones(path: Path = PROFILES_FILE) -> tuple[str, ...]:
    """The zones the exploration draws its browser profiles' clocks from."""
    zones: list[str] = catalogue(path)["explorationZones"]["zones"]
    return tuple(zones)


def profile(name: str, data: dict[str, Any]) -> Conditions:
    raw = data["profiles"].get(name)
    if raw is None:
        known = ", ".join([*data["profiles"], MATRIX])
        raise UnknownConditions(f"unknown conditions {name!r}; the profiles are {known}")
    unknown = set(raw) - SETTABLE - {"about"}
    if unknown:
        raise UnknownConditions(f"profile {name!r} sets unknown fields {sorted(unknown)}")
    values = {k: v for k, v in raw.items() if k in SETTABLE}
    if "network" in values:
        net = dict(values["network"])
        if "stall_s" in net:
            net["stall_s"] = tuple(net["stall_s"])
        values["network"] = Network(**net)
    return Conditions(name=name, about=raw.get("about", ""), names=(name,), **values)


def combine(names: list[str], data: dict[str, Any]) -> Conditions:
    """`mobile-4g,tokyo`: each part sets its own fields; two parts setting one is an error."""
    if not names:
        raise UnknownConditions("no conditions named")
    default = Conditions()
    combined = default
    set_by: dict[str, str] = {}
    for name in names:
        part = profile(name, data)
        given = sorted(f for f in SETTABLE if getattr(part, f) != getattr(default, f))
        if clash := [f for f in given if f in set_by]:
            raise UnknownConditions(
                f"{set_by[clash[0]]!r} and {name!r} both set {', '.join(clash)}: combine"
                " profiles that set different things"
            )
        for f in given:
            set_by[f] = name
            combined = replace(combined, **{f: getattr(part, f)})
    about = "; ".join(profile(n, data).about for n in names)
    return replace(combined, name=",".join(names), about=about, names=tuple(names))


def parse(raw: str, path: Path = PROFILES_FILE) -> list[Conditions]:
    """`lab`, `mobile-4g,tokyo` (one combination) or `matrix` (the nightly's list)."""
    data = catalogue(path)
    text = raw.strip() or LAB
    if text == MATRIX:
        return [combine(entry.split(","), data) for entry in data[MATRIX]]
    return [combine([n.strip() for n in text.split(",") if n.strip()], data)]
