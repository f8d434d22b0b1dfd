"""Checks that say whether a readout can be trusted, and what a set of looks may claim.

Sample-ratio mismatch (SRM): users per arm tested against the configured shares with a
chi-square test at a strict α (0.001, as Microsoft's ExP does: an SRM means the assignment
or the logging is broken, and the readout must not be read).

>>> srm(np.array([26_000, 24_000]), np.array([0.5, 0.5])).flagged
True
>>> srm(np.array([25_030, 24_970]), np.array([0.5, 0.5])).flagged
False
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

SRM_ALPHA = 0.001


class SampleRatio(NamedTuple):
    """The chi-square test of users per arm against the arms' shares."""

    statistic: float
    p_value: float
    flagged: bool


def srm(users: np.ndarray, shares: np.ndarray, alpha: float = SRM_ALPHA) -> SampleRatio:
    """Whether ``users`` per arm are too far from ``shares`` (normalised) to be chance."""
    total = users.sum()
    if total == 0 or len(users) < 2:
        return SampleRatio(0.0, 1.0, False)
    expected = total * shares / shares.sum()
    statistic, p_value = stats.chisquare(users, expected)
    return SampleRatio(float(statistic), float(p_value), bool(p_value < alpha))
