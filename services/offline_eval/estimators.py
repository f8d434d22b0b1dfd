"""Off-policy value estimators over per-unit arrays, each with an interval that holds when
clicks are rare (see :mod:`.intervals`).

A *unit* is one slot of one evaluated row when the log has per-slot rewards (the policy's
value is then its expected reward summed over slots), else the row's whole combination.
The doubly robust estimators split into the model's term, known once the row's context and
action are, and the weighted clicks (see :mod:`.intervals`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from adcraft.services.offline_eval.intervals import weighted_clicks

MIN_CLICKS = 20  # fewer clicks on matched units than this and the report warns
WEIGHT_DRIFT = 0.2  # the mean weight further from 1 than this and the report warns


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its 95% interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Units:
    """Per evaluated row [N, U]: importance weight π/μ, reward, the model's prediction for
    the logged action, and the model's expected reward under the policy."""

    weight: np.ndarray
    reward: np.ndarray
    predicted: np.ndarray
    policy_value: np.ndarray

    def column(self, unit: int) -> Units:
        """The units of one slot."""
        part = slice(unit, unit + 1)
        return Units(*(a[:, part] for a in vars(self).values()))


@dataclass(frozen=True)
class Diagnostics:
    """How much of the log the estimate rests on: units (rows × reward units), units the
    policy could have chosen (weight > 0) and their clicks, effective sample size
    (Σw)²/Σw², and the largest and mean weight (≈ 1 when propensities are right)."""

    units: int
    matched: int
    matched_clicks: float
    effective_sample_size: float
    max_weight: float
    mean_weight: float

    @classmethod
    def of(cls, units: Units) -> Diagnostics:
        """The diagnostics of ``units``."""
        largest = float(units.weight.max(initial=0.0))
        w = units.weight / largest if largest else units.weight  # squares stay finite
        matched = w > 0
        square = float(np.sum(w**2))
        return cls(
            w.size,
            int(matched.sum()),
            float(units.reward[matched].sum()),
            float(w.sum() ** 2 / square) if square else 0.0,
            largest,
            float(w.mean()) * (largest or 1.0) if w.size else 0.0,
        )

    def warnings(self) -> list[str]:
        """What a reader must know before acting on the estimates."""
        if self.matched == 0:
            return ["no logged action is one the policy would take: nothing can be estimated"]
        found = []
        if self.matched_clicks < MIN_CLICKS:
            found.append(
                f"the estimate rests on {self.matched_clicks:g} clicks among {self.matched} "
                "matched units: read the interval, not the point"
            )
        if abs(self.mean_weight - 1) > WEIGHT_DRIFT:
            found.append(
                f"the mean weight is {self.mean_weight:.3g}, not 1: the policy puts "
                "probability on actions the log never shows, or the propensities are wrong; "
                "IPS and DR are biased, and SNIPS rescales what was shown"
            )
        return found


def logging_policy(units: Units) -> Estimate:
    """The logging policy's observed value: mean reward (summed over units)."""
    n = len(units.reward)
    return _clicks(np.full(units.reward.shape, 1 / n), units.reward)


def ips(units: Units) -> Estimate:
    """Inverse propensity scoring: mean of Σ w·r.

    >>> ips(Units(*np.array([[[2.0], [0.0]], [[1.0], [0.0]], [[0.0]] * 2, [[0.0]] * 2]))).value
    1.0
    """
    return _clicks(units.weight / len(units.weight), units.reward)


def snips(units: Units) -> Estimate:
    """Self-normalised IPS, per unit Σ w·r / Σ w (lower variance, slightly biased)."""
    return _clicks(_normalised(units.weight), units.reward)


def dr(units: Units) -> Estimate:
    """Doubly robust: the model's value of the policy corrected by weighted residuals."""
    return _doubly_robust(units, units.weight / len(units.weight))


def sndr(units: Units) -> Estimate:
    """Self-normalised doubly robust: DR with the residuals' weights normalised."""
    return _doubly_robust(units, _normalised(units.weight))


ESTIMATORS: dict[str, Callable[[Units], Estimate]] = {
    "logging_policy": logging_policy,
    "ips": ips,
    "snips": snips,
    "dr": dr,
    "sndr": sndr,
}


def estimates(units: Units) -> dict[str, Estimate]:
    """Every estimator's estimate; where no unit could have been the policy's choice,
    the off-policy intervals are everything rewards allow: nothing was observed."""
    found = {name: estimator(units) for name, estimator in ESTIMATORS.items()}
    if units.weight.any():
        return found
    unknown = float(units.reward.shape[1])
    return {
        name: est if name == "logging_policy" else Estimate(est.value, 0.0, unknown)
        for name, est in found.items()
    }


def _normalised(weight: np.ndarray) -> np.ndarray:
    total = weight.sum(0)
    return np.divide(weight, total, out=np.zeros_like(weight), where=total > 0)


def _clicks(weight: np.ndarray, reward: np.ndarray) -> Estimate:
    low, high = weighted_clicks(weight, reward)
    return _feasible(float(np.sum(weight * reward)), low, high, reward.shape[1])


def _feasible(value: float, low: float, high: float, units: int) -> Estimate:
    """The estimate and interval within what rewards in [0, 1] per unit allow: a value
    outside is known to be wrong, and clipping an interval keeps what it covers."""
    return Estimate(*(min(max(x, 0.0), float(units)) for x in (value, low, high)))


def _doubly_robust(units: Units, weight: np.ndarray) -> Estimate:
    """The model's value plus ``weight``-ed residuals (weights summing to about 1 per
    unit): the gamma interval of the weighted clicks with the variance of the per-row
    terms, shifted by the model's term."""
    n = len(weight)
    model = (units.policy_value / n - weight * units.predicted).sum(1)
    clicks = (weight * units.reward).sum(1)
    low, high = weighted_clicks(weight, units.reward, model + clicks)
    shift = float(model.sum())
    return _feasible(shift + float(clicks.sum()), shift + low, shift + high, weight.shape[1])
