"""Ratio metrics with the user as the unit, and lifts between arms.

An arm's CTR is Σ clicks / Σ impressions over its users. Users are independent; one user's
impressions are not (each user has a click propensity of their own), so the variance comes
from per-user sums by the delta method (Deng et al., "Applying the Delta Method in Metric
Analytics", 2018), never from impressions counted as independent draws.

>>> import numpy as np
>>> clicks, shown = np.array([1.0, 0, 2, 1]), np.array([2.0, 1, 4, 3])
>>> r = ratio(clicks, shown)
>>> round(r.value, 3), r.users
(0.4, 4)
>>> lift(ratio(clicks * 1.1, shown), r).value
0.10000000000000009
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np
from scipy import stats

Array = TypeVar("Array", float, np.ndarray)
Z95 = float(stats.norm.ppf(0.975))


class Estimate(NamedTuple):
    """A point estimate and the variance of its sampling distribution."""

    value: float
    variance: float
    users: int

    def interval(self, z: float = Z95) -> tuple[float, float]:
        """A fixed-horizon normal interval (valid at one look only)."""
        half = z * self.variance**0.5
        return self.value - half, self.value + half


def ratio(numerators: np.ndarray, denominators: np.ndarray) -> Estimate:
    """Σ numerators / Σ denominators over users, with its delta-method variance."""
    users = len(denominators)
    total = float(denominators.sum())
    if users < 2 or total <= 0:
        return Estimate(float("nan"), float("inf"), users)
    value = float(numerators.sum()) / total
    mean = total / users
    residual = numerators - value * denominators  # linearised per-user contribution
    variance = float(residual.var(ddof=1)) / (users * mean**2)
    return Estimate(value, variance, users)


def per_impression(numerators: np.ndarray, denominators: np.ndarray) -> Estimate:
    """The same ratio with every impression taken as an independent Bernoulli draw: the
    interval a naive readout reports, too narrow when users differ (kept for contrast)."""
    total = float(denominators.sum())
    if total <= 0:
        return Estimate(float("nan"), float("inf"), len(denominators))
    value = float(numerators.sum()) / total
    return Estimate(value, value * (1 - value) / total, len(denominators))


def lift(treatment: Estimate, control: Estimate) -> Estimate:
    """The relative lift ``treatment / control - 1`` of two independent arms (delta method)."""
    if not control.value > 0:
        return Estimate(float("nan"), float("inf"), treatment.users + control.users)
    value, variance = relative(treatment.value, treatment.variance, control.value, control.variance)
    return Estimate(float(value), float(variance), treatment.users + control.users)


def relative(t: Array, t_var: Array, c: Array, c_var: Array) -> tuple[Array, Array]:
    """``t / c - 1`` and its delta-method variance, elementwise (floats or arrays)."""
    return t / c - 1, t_var / c**2 + t**2 * c_var / c**4
