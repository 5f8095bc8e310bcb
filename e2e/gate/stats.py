"""Statistics of the gate: percentiles, and the comparison of two runs' samples."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import mannwhitneyu


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (q in 0..1), as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


@dataclass(frozen=True)
class Comparison:
    baseline_median: float
    current_median: float
    p_value: float
    worse: bool  # significantly worse than the baseline


def compare(
    baseline: list[float],
    current: list[float],
    higher_is_better: bool = False,
    alpha: float = 0.05,
    min_change: float = 0.10,
) -> Comparison | None:
    """One-sided Mann-Whitney U: is `current` worse than `baseline`?

    Worse means significant (p < alpha) and a median change of at least `min_change`
    (10 %), so that a large sample does not flag a difference nobody would notice.
    None when either side has fewer than 5 samples.
    """
    if len(baseline) < 5 or len(current) < 5:
        return None
    alternative = "less" if higher_is_better else "greater"
    result = mannwhitneyu(current, baseline, alternative=alternative)
    base, cur = median(baseline), median(current)
    change = (cur - base) / abs(base) if base else math.inf if cur != base else 0.0
    if higher_is_better:
        change = -change
    p = float(result.pvalue)
    return Comparison(base, cur, p, worse=p < alpha and change >= min_change)
