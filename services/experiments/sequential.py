"""Anytime-valid inference: intervals a team may look at after every batch.

The mixture sequential probability ratio test (mSPRT; Johari, Pekelis and Walsh, "Always
Valid Inference", 2017, as Optimizely and Eppo use it) mixes the likelihood ratio of an
asymptotically normal estimate θ̂ with variance V over a N(0, τ²) prior on the effect:

    Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))

Rejecting θ = θ₀ when Λ ≥ 1/α keeps the chance of *ever* rejecting a true θ₀ below α, at
every look. Inverting it gives the confidence sequence θ̂ ± h with

    h² = V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V)).

τ is the scale of effects the test is tuned to find: a relative lift of 0.1 by default.

>>> lo, hi = always_valid(0.1, 0.001, alpha=0.05, tau=0.1)
>>> round(lo, 3), round(hi, 3)
(0.004, 0.196)
>>> always_valid_p(0.0, 0.001, tau=0.1) == 1.0
True
"""

from __future__ import annotations

import math

import numpy as np


def half_width(variance: np.ndarray | float, alpha: float, tau: float) -> np.ndarray:
    """The half-width of the (1 - alpha) confidence sequence at variance ``variance``."""
    v = np.asarray(variance, dtype=float)
    t2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        squared = v * (v + t2) / t2 * (2 * math.log(1 / alpha) + np.log((v + t2) / v))
    squared = np.where(v == 0, 0.0, squared)  # h → 0 as V → 0
    return np.sqrt(np.where(np.isfinite(squared), squared, np.inf))


def always_valid(estimate: float, variance: float, alpha: float, tau: float) -> tuple[float, float]:
    """The confidence sequence's interval for the effect at this look."""
    half = float(half_width(variance, alpha, tau))
    return estimate - half, estimate + half


def always_valid_p(estimate: float, variance: float, tau: float) -> float:
    """min(1, 1/Λ) for the effect 0: below α exactly when the interval excludes 0."""
    if not math.isfinite(estimate) or not variance > 0 or not math.isfinite(variance):
        return 1.0
    t2 = tau * tau
    log_lr = 0.5 * math.log(variance / (variance + t2)) + t2 * estimate**2 / (
        2 * variance * (variance + t2)
    )
    return min(1.0, math.exp(-log_lr))
