"""A target's own figures from its Prometheus endpoint (/metrics): the standard process
gauges every Prometheus client library exports (process_resident_memory_bytes,
process_cpu_seconds_total) and, where the target has it, staffsync_connected_clients.
A target without the endpoint is told apart from one that has it but not these names."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

RSS = "process_resident_memory_bytes"
CPU = "process_cpu_seconds_total"
CLIENTS = "staffsync_connected_clients"


class Unavailable(RuntimeError):
    """The target has no usable /metrics; the message says why."""


@dataclass(frozen=True)
class Reading:
    at: float  # epoch s
    rss_bytes: float
    cpu_seconds: float
    clients: float | None


def values(text: str) -> dict[str, float]:
    """Every sample of the exposition, label sets of one name added up."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name] = found.get(sample.name, 0.0) + float(sample.value)
    return found


def read(base_url: str, timeout: float = 5.0) -> Reading:
    url = base_url.rstrip("/") + "/metrics"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise Unavailable(f"{url} answered HTTP {exc.code}") from None
    except (OSError, urllib.error.URLError) as exc:
        raise Unavailable(f"{url} is not reachable: {exc}") from None
    try:
        found = values(text)
    except ValueError as exc:
        raise Unavailable(f"{url} is not Prometheus text: {exc}") from None
    missing = [name for name in (RSS, CPU) if name not in found]
    if missing:
        raise Unavailable(f"{url} has no {' or '.join(missing)}")
    return Reading(time.time(), found[RSS], found[CPU], found.get(CLIENTS))
