"""Off-policy value estimators with bootstrap confidence intervals (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval."""

    value: float
    low: float
    high: float


def ips(reward: np.ndarray, weight: np.ndarray) -> float:
    """Inverse propensity scoring: mean of w·r.

    >>> ips(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    1.0
    """
    return float(np.mean(weight * reward))


def snips(reward: np.ndarray, weight: np.ndarray) -> float:
    """Self-normalised IPS: Σ w·r / Σ w (lower variance, slightly biased).

    >>> snips(np.array([1.0, 0.0]), np.array([2.0, 2.0]))
    0.5
    """
    total = np.sum(weight)
    return float(np.sum(weight * reward) / total) if total > 0 else 0.0


def doubly_robust(
    reward: np.ndarray,
    weight: np.ndarray,
    predicted_logged: np.ndarray,
    predicted_policy: np.ndarray,
) -> float:
    """Doubly robust: the model's value of the policy, corrected by weighted residuals.

    ``predicted_logged`` is the model's reward for the logged action, ``predicted_policy``
    its expected reward under the evaluated policy.

    >>> doubly_robust(np.array([1.0]), np.array([0.0]), np.array([0.3]), np.array([0.4]))
    0.4
    """
    return float(np.mean(predicted_policy + weight * (reward - predicted_logged)))


def bootstrap(
    statistic, arrays: tuple[np.ndarray, ...], samples: int = 200, seed: int = 0
) -> Estimate:
    """``statistic(*arrays)`` and its 95% percentile interval over row resamples."""
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    draws = [
        statistic(*(a[idx] for a in arrays))
        for idx in (rng.integers(0, n, n) for _ in range(samples))
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(statistic(*arrays), float(low), float(high))
