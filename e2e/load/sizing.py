"""How long a load phase must run for every load KPI to reach its minimum samples.

A KPI's samples arrive as a Poisson process (users edit with exponential think times):
edits at users x edit rate a second, each timed to its echo once, and to every user of the
editor's process as a broadcast; legacy navigations at users x navigation rate. The time to
the k-th arrival of a Poisson process of rate r is Gamma(k, 1/r), so the phase that gives a
KPI its k samples 999 times in 1000 is that distribution's 0.999 quantile."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import gamma

from e2e.gate.kpis import Kpi

CONFIDENCE = 0.999
ACK_SLACK_S = 1.0  # the last edits of the phase need their echo before it ends


@dataclass(frozen=True)
class Need:
    kpi: str  # its title
    metric: str
    min_samples: int
    rate: float  # samples a second at the planned load
    seconds: float  # the phase that reaches min_samples with CONFIDENCE


def rates(
    users: int, edit_rate: float, nav_rate: float = 0.5, mode: str = "prefetch", processes: int = 1
) -> dict[str, float]:
    """Samples a second of each load timing at this load."""
    if mode == "legacy":
        return {"load.legacy_sync_ms": users * nav_rate}
    edits = users * edit_rate
    # a broadcast is timed by the users of the editor's own process (one clock)
    return {"load.edit_ack_ms": edits, "load.broadcast_ms": edits * users / max(processes, 1)}


def needs(kpis: list[Kpi], per_second: dict[str, float]) -> list[Need]:
    out = []
    for kpi in kpis:
        rate = per_second.get(kpi.metric, 0.0)
        if rate > 0 and kpi.min_samples > 0:
            seconds = float(gamma.ppf(CONFIDENCE, kpi.min_samples, scale=1 / rate))
            out.append(Need(kpi.title, kpi.metric, kpi.min_samples, rate, seconds + ACK_SLACK_S))
    return out


def phase_seconds(found: list[Need]) -> float:
    return max((n.seconds for n in found), default=0.0)


def bounded(found: list[Need], bound_s: float, option: str) -> tuple[float, dict[str, str]]:
    """The phase's length at most `bound_s`, and for each metric the bound cuts short, what
    `option` would have to be for it to reach its minimum samples."""
    shorts = {
        n.metric: (
            f"the load phase was bounded to {bound_s:.0f} s ({option}); {n.seconds:.0f} s"
            f" ({n.rate:g} samples/s) gives {n.min_samples} samples 999 times in 1000"
        )
        for n in found
        if n.seconds > bound_s
    }
    return min(phase_seconds(found), bound_s), shorts
