"""Thompson sampling over element score posteriors (pure numpy, no Triton imports)."""

from __future__ import annotations

import numpy as np


def thompson_rank(
    mean: np.ndarray, std: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one Gaussian sample per element and rank each row, best first.

    ``mean`` and ``std`` are ``[batch, elements]``. Returns the samples and, per row,
    element indices ordered by descending sample.

    >>> rng = np.random.default_rng(0)
    >>> samples, rank = thompson_rank(np.array([[0.1, 0.9, 0.5]], np.float32),
    ...                               np.zeros((1, 3), np.float32), rng)
    >>> rank.tolist()
    [[1, 2, 0]]
    """
    if mean.shape != std.shape:
        raise ValueError(f"MEAN {mean.shape} and STD {std.shape} differ in shape")
    if np.any(std < 0) or not np.all(np.isfinite(mean)):
        raise ValueError("STD must be >= 0 and MEAN finite")
    samples = (mean + std * rng.standard_normal(mean.shape)).astype(np.float32)
    rank = np.argsort(-samples, axis=1, kind="stable").astype(np.int32)
    return samples, rank
