"""The batch update of :class:`BayesianLogisticRegression`, compiled with numba.

A learning batch holds a few hundred examples over about a dozen feature blocks. Written
with numpy, each block step is about ten calls on small arrays, and that per-call overhead,
not the arithmetic, was most of the reward worker's learning time. Compiled, the whole
update is one call.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _positions(ids, features):  # type: ignore[no-untyped-def]
    """The feature ids that ``ids`` holds, in first-seen order, and the position of each of
    ``ids`` among them: the batch's arrays hold those features only."""
    n, k = ids.shape
    position = np.full(features, -1)
    touched = np.empty(n * k, dtype=np.int64)
    local = np.empty((n, k), dtype=np.int64)
    size = 0
    for i in range(n):
        for j in range(k):
            f = ids[i, j]
            if position[f] < 0:
                position[f] = size
                touched[size] = f
                size += 1
            local[i, j] = position[f]
    return touched[:size], local


# Compiled when imported (from the on-disk cache after the first time), not on the first batch.
@njit(
    "void(int64[:, :], float64[:], float64[:], float64[:], float64[:], float64[:], int64, int64)",
    cache=True,
)
def learn_batch(ids, y, weights, mean, precision, count, sweeps, frozen_id):  # type: ignore[no-untyped-def]
    """Update ``mean``, ``precision`` and ``count`` in place from examples ``ids[i]`` (one
    feature id per block) with labels ``y[i]`` and weights ``weights[i]``.

    The current posterior is the prior: ``sweeps`` block-coordinate Newton sweeps find the MAP
    weights (each block step is exact, as a block's features never share an example), then
    each feature's precision gains the batch's curvature (a Laplace step). Feature
    ``frozen_id`` (padding) never moves.
    """
    n, k = ids.shape
    touched, local = _positions(ids, mean.shape[0])
    size = touched.shape[0]
    m0 = np.empty(size)
    q0 = np.empty(size)
    for t in range(size):
        m0[t] = mean[touched[t]]
        q0[t] = precision[touched[t]]
    w = m0.copy()
    z = np.zeros(n)
    for i in range(n):
        for j in range(k):
            z[i] += w[local[i, j]]
    grad = np.empty(size)
    hess = np.empty(size)
    step = np.empty(size)
    for _ in range(sweeps):
        for j in range(k):
            grad[:] = 0.0
            hess[:] = 0.0
            for i in range(n):
                p = 1.0 / (1.0 + math.exp(-z[i]))
                grad[local[i, j]] += (p - y[i]) * weights[i]
                hess[local[i, j]] += p * (1.0 - p) * weights[i]
            for t in range(size):
                if hess[t] == 0.0 or touched[t] == frozen_id:
                    step[t] = 0.0
                else:
                    step[t] = (q0[t] * (w[t] - m0[t]) + grad[t]) / (q0[t] + hess[t])
                    w[t] -= step[t]
            for i in range(n):
                z[i] -= step[local[i, j]]
    curvature = np.zeros(size)
    seen = np.zeros(size)
    for i in range(n):
        p = 1.0 / (1.0 + math.exp(-z[i]))
        for j in range(k):
            curvature[local[i, j]] += p * (1.0 - p) * weights[i]
            seen[local[i, j]] += 1.0
    for t in range(size):
        f = touched[t]
        if f != frozen_id:
            mean[f] = w[t]
            precision[f] = q0[t] + curvature[t]
            count[f] += seen[t]
