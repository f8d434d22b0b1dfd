"""Confidence intervals that stay valid when clicks are rare.

A bootstrap of a handful of weighted clicks says "no uncertainty" when a policy's matched
rows have no click. The weighted-Poisson gamma interval (Fay & Feuer 1997, the interval of
age-standardised rates) does not: its upper bound adds one more click at the largest
weight, so zero clicks in 51 rows of weight 1/51 gives the exact Poisson bound 3.69/51.
Its variance Σw²x also bounds the variance of importance-weighted rewards in [0, 1] from
above (E[w²r²] ≤ E[w²r]), so it holds when clicks are common too, a little wide.
Doubly robust estimators add a term known from the context and action; their interval is
the same gamma shape around the weighted clicks with the variance of the whole per-row
estimate (which the model's term lowers), shifted by that term.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import gamma

CONFIDENCE = 0.95


def weighted_clicks(
    weight: np.ndarray,
    reward: np.ndarray,
    rows: np.ndarray | None = None,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Interval for the expectation of Σ weight·reward, rewards in [0, 1]. Where an
    estimator knows better than the Poisson variance Σ weight²·reward, ``rows`` are its
    per-row terms (summing to the estimate), whose variance is used instead. Computed in
    units of the largest weight, so weights up to 1e300 do not overflow when squared.

    >>> [round(b, 4) for b in weighted_clicks(np.full(51, 1 / 51), np.zeros(51))]
    [0.0, 0.0723]
    >>> clicks = np.r_[np.ones(50), np.zeros(950)]
    >>> low, high = weighted_clicks(np.full(1000, 1e-3), clicks)
    >>> round(low, 3), round(high, 3)  # Poisson 95% bounds of 50 events: 37.1, 65.9
    (0.037, 0.066)
    >>> [f"{b:.3g}" for b in weighted_clicks(np.full(1000, 1e297), clicks)]
    ['3.71e+298', '6.59e+298']
    """
    scale = float(weight.max(initial=0.0))
    if scale == 0:
        return 0.0, 0.0
    tail = (1 - confidence) / 2
    weight = weight / scale
    total = float(np.sum(weight * reward))
    if rows is None:
        variance = float(np.sum(weight**2 * reward))
    else:
        variance = float(len(rows) * np.var(rows / scale, ddof=1)) if len(rows) > 1 else 0.0
    low = 0.0
    if total > 0 and variance > 0:
        low = gamma.ppf(tail, total**2 / variance, scale=variance / total)
    shape = (total + 1) ** 2 / (variance + 1)
    high = gamma.ppf(1 - tail, shape, scale=(variance + 1) / (total + 1))
    return float(low) * scale, float(high) * scale
