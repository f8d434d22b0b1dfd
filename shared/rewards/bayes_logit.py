"""Online Bayesian logistic regression over one-hot feature blocks."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from river import base
from river.base.typing import ClfTarget
from scipy.special import expit

from adcraft.shared.rewards import newton

PAD = 0  # feature id 0 is a constant zero: it pads rows with fewer features


class BayesianLogisticRegression(base.MiniBatchClassifier):
    """Logistic regression whose weights each carry a Gaussian posterior N(mean, 1/precision).

    An example is a row of feature ids, one per *block*; within a block (a column) each
    example holds one feature, as one-hot encodings do. A batch update takes the current
    posterior as the prior, finds the MAP weights by Newton steps block after block (exact
    per block, since a block's features never share an example), then adds the batch's
    curvature to each precision (a Laplace step; Chapelle and Li, "An Empirical Evaluation of
    Thompson Sampling", 2011). Unseen features start at N(0, ``prior_variance``) (cold
    start); ``forgetting`` pulls every precision back towards the prior before each batch so
    that old evidence fades and the model follows drift. Features are binary.

    Examples
    --------
    >>> model = BayesianLogisticRegression()
    >>> for _ in range(300):
    ...     model.learn_one({"title=a": 1}, True)
    ...     model.learn_one({"title=b": 1}, False)
    >>> model.predict_proba_one({"title=a": 1})[True] > 0.95
    True
    >>> model.predict_proba_one({"title=b": 1})[True] < 0.05
    True
    >>> model.weight("title=a")[1] < model.weight("title=never-seen")[1]
    True
    """

    def __init__(
        self, prior_variance: float = 1.0, newton_sweeps: int = 3, forgetting: float = 0.0
    ) -> None:
        self.prior_variance = prior_variance
        self.newton_sweeps = newton_sweeps
        self.forgetting = forgetting
        self._ids: dict[Hashable, int] = {"<pad>": PAD}
        self.mean = np.zeros(64)
        self.precision = np.full(64, 1.0 / prior_variance)
        self.count = np.zeros(64)

    @property
    def size(self) -> int:
        """How many feature ids are in use (the padding id included)."""
        return len(self._ids)

    def feature_ids(self, names: Sequence[Hashable]) -> np.ndarray:
        """Ids of ``names``, registering new ones at the prior."""
        ids = np.empty(len(names), dtype=np.int64)
        for i, name in enumerate(names):
            fid = self._ids.get(name)
            if fid is None:
                fid = self._ids[name] = len(self._ids)
                if fid >= len(self.mean):
                    self._grow()
            ids[i] = fid
        return ids

    def _grow(self) -> None:
        old = len(self.mean)
        self.mean = np.concatenate([self.mean, np.zeros(old)])
        self.precision = np.concatenate([self.precision, np.full(old, 1.0 / self.prior_variance)])
        self.count = np.concatenate([self.count, np.zeros(old)])

    def weight(self, name: Hashable) -> tuple[float, float]:
        """Posterior mean and standard deviation of one weight (the prior if never seen)."""
        fid = self._ids.get(name)
        if fid is None:
            return 0.0, self.prior_variance**0.5
        return float(self.mean[fid]), float(self.precision[fid] ** -0.5)

    def learn_batch(
        self, ids: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Update from examples ``ids[i]`` (one feature id per block) with labels ``y[i]``."""
        if len(y) == 0:
            return
        y = np.asarray(y, dtype=float)
        weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
        prior = 1.0 / self.prior_variance
        if self.forgetting:
            self.precision = prior + (self.precision - prior) * (1.0 - self.forgetting)
        newton.learn_batch(
            ids, y, weights, self.mean, self.precision, self.count, self.newton_sweeps, PAD
        )

    def to_bytes(self) -> bytes:
        """Means, precisions and counts of the features in use, as raw float64."""
        n = self.size
        return np.stack([self.mean[:n], self.precision[:n], self.count[:n]]).tobytes()

    def load_bytes(self, blob: bytes) -> None:
        """Restore :meth:`to_bytes` into a model whose features were registered again in the
        same order (ids follow registration order)."""
        mean, precision, count = np.frombuffer(blob, dtype=np.float64).reshape(3, -1)
        if len(mean) != self.size:
            raise ValueError(f"checkpoint has {len(mean)} features, model has {self.size}")
        self.mean[: self.size], self.precision[: self.size] = mean, precision
        self.count[: self.size] = count

    def _rows(self, xs: Sequence[dict]) -> np.ndarray:
        names = [[name for name, value in x.items() if value] for x in xs]
        width = max((len(row) for row in names), default=0)
        return np.array(
            [list(self.feature_ids(row)) + [PAD] * (width - len(row)) for row in names],
            dtype=np.int64,
        ).reshape(len(xs), width)

    def learn_one(self, x: dict, y: ClfTarget, w: float = 1.0, **kwargs: Any) -> None:
        self.learn_batch(self._rows([x]), np.array([float(y)]), np.array([w]))

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict[ClfTarget, float]:
        p = float(expit(self.mean[self._rows([x])].sum()))
        return {False: 1.0 - p, True: p}

    def learn_many(self, X: pd.DataFrame, y: pd.Series) -> None:
        self.learn_batch(self._rows(X.to_dict("records")), y.to_numpy(dtype=float))

    def predict_proba_many(self, X: pd.DataFrame) -> pd.DataFrame:
        p = expit(self.mean[self._rows(X.to_dict("records"))].sum(axis=1))
        return pd.DataFrame({False: 1 - p, True: p}, index=X.index)
