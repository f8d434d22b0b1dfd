"""Is the reward model honest on held-out rows? Log-loss against a constant's, and a
reliability table (predicted vs observed, by bins of equal count)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10


@dataclass(frozen=True)
class Calibration:
    """Held-out log-loss of the model and of the training mean; per bin of predictions:
    (mean predicted, mean observed, units)."""

    log_loss: float
    constant_log_loss: float
    table: list[tuple[float, float, int]]

    def warnings(self) -> list[str]:
        """A warning when the model is no better than a constant on held-out rows."""
        if self.log_loss < self.constant_log_loss:
            return []
        return [
            f"the reward model predicts held-out rewards no better than a constant (log-loss "
            f"{self.log_loss:.5f} vs {self.constant_log_loss:.5f}): DR and SNDR gain nothing "
            "from it, and policies built on it have little to go on"
        ]


def log_loss(predicted: np.ndarray, reward: np.ndarray) -> float:
    """Mean cross-entropy of rewards in [0, 1] under predictions in (0, 1).

    >>> round(log_loss(np.array([0.5, 0.5]), np.array([0.0, 1.0])), 4)
    0.6931
    """
    return float(-np.mean(reward * np.log(predicted) + (1 - reward) * np.log1p(-predicted)))


def calibration(predicted: np.ndarray, reward: np.ndarray, constant: float) -> Calibration:
    """Compare ``predicted`` with ``reward`` (same shape) and with always predicting
    ``constant``."""
    predicted, reward = predicted.ravel(), reward.ravel()
    order = np.argsort(predicted, kind="stable")
    table = [
        (float(predicted[part].mean()), float(reward[part].mean()), len(part))
        for part in np.array_split(order, min(BINS, len(order)))
    ]
    flat = np.full(predicted.shape, min(max(constant, 1e-6), 1 - 1e-6))
    return Calibration(log_loss(predicted, reward), log_loss(flat, reward), table)
