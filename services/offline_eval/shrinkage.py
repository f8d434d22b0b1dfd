"""A reward model that stays honest on sparse logs: empirical-Bayes beta-binomial rates.

Per slot, an element's rate is shrunk toward its ad's mean in that slot, and the element's
rate in one context toward the element's own. Both prior strengths come from the data
(the beta-binomial marginal likelihood of the spread of rates beyond binomial noise; every
strength weighted by it, so a flat likelihood shrinks more, not less), so an element seen
68 times with 2 clicks lands near its ad's mean, not at 2/68. A context with fewer than
``min_context_clicks`` training clicks uses the element's pooled rate (below that the
noise of its own rates costs more than its tastes give); a context's prior is
never stronger than what is known of the element.

For whole-combination rewards each slot's rates are those of the combination given the
element, and a combination's prediction adds each slot's deviation from the ad's mean on
the log-odds scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, expit, logit

from adcraft.services.offline_eval.logged import Log

GRID = np.geomspace(2.0, 1e6, 64)  # prior strengths κ the model weighs
EDGE = 1e-6  # predictions stay inside (0, 1) so log-loss is finite


@dataclass(frozen=True)
class ShrinkageModel:
    """Beta posteriors per slot, ``alpha[s]``/``beta[s]`` of shape [M + 1, E_s]: row m < M
    is modelled context m, row M every other context; ``row`` maps each context of the log
    to its row, ``baseline`` is each ad's mean reward (of whole combinations)."""

    alpha: tuple[np.ndarray, ...]
    beta: tuple[np.ndarray, ...]
    row: np.ndarray
    baseline: np.ndarray
    per_slot: bool

    def mean(self, slot: int) -> np.ndarray:
        """Posterior mean rates [M + 1, E] of ``slot``."""
        return self.alpha[slot] / (self.alpha[slot] + self.beta[slot])

    def predict(self, log: Log) -> np.ndarray:
        """Predicted reward of each row's logged elements: [N, S] per slot, else [N, 1]."""
        per_slot = self.slot_means(log.context, log.chosen)
        if self.per_slot:
            return per_slot.clip(EDGE, 1 - EDGE)
        return self.combine(per_slot, log.context_ad[log.context])[:, None]

    def slot_means(self, context: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """Each slot's posterior mean [N, S] for slates ``chosen`` shown in ``context``."""
        rows = self.row[context]
        return np.column_stack([self.mean(s)[rows, chosen[:, s]] for s in range(len(self.alpha))])

    def combine(self, slot_means: np.ndarray, ads: np.ndarray) -> np.ndarray:
        """A whole combination's predicted reward: its ad's mean, moved by each slot's
        deviation from it on the log-odds scale."""
        base = logit(self.baseline[ads].clip(EDGE, 1 - EDGE))
        shifts = logit(slot_means.clip(EDGE, 1 - EDGE)) - base[:, None]
        return expit(base + shifts.sum(1)).clip(EDGE, 1 - EDGE)

    def value(self, context: int, marginals: list[np.ndarray]) -> np.ndarray:
        """Per slot, the expected reward of choosing its element by ``marginals`` in
        ``context`` (per-slot rewards)."""
        row = self.row[context]
        return np.array([m @ self.mean(s)[row] for s, m in enumerate(marginals)])

    def slate_value(self, context: int, ad: int, slates: np.ndarray) -> float:
        """The mean predicted reward of whole combinations ``slates`` in ``context``."""
        means = self.slot_means(np.full(len(slates), context), slates)
        return float(self.combine(means, np.full(len(slates), ad)).mean())


def fit(log: Log, min_context_clicks: float = 100) -> ShrinkageModel:
    """Fit the two-level model to ``log`` (the training rows)."""
    ads = log.context_ad[log.context]
    rewards = np.broadcast_to(log.reward, log.chosen.shape)
    shown = np.bincount(ads, minlength=len(log.ads))
    slot_mean = [
        (np.bincount(ads, rewards[:, s], len(log.ads)) + 0.5) / (shown + 1.0)
        for s in range(len(log.slots))
    ]
    clicks = np.bincount(log.context, rewards.sum(1), len(log.contexts))
    modelled = np.flatnonzero(clicks >= min_context_clicks)
    row = np.full(len(log.contexts), len(modelled))
    row[modelled] = np.arange(len(modelled))
    alpha, beta = [], []
    for s, element_ad in enumerate(log.element_ad):
        a, b = _slot(
            len(modelled) + 1,
            row[log.context] * len(element_ad) + log.chosen[:, s],
            rewards[:, s],
            slot_mean[s][element_ad],
        )
        alpha.append(a)
        beta.append(b)
    return ShrinkageModel(tuple(alpha), tuple(beta), row, slot_mean[0], log.per_slot)


def _slot(
    rows: int, cell: np.ndarray, reward: np.ndarray, ad_mean: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (alpha, beta) [rows, E] of one slot from each training row's ``cell``
    (row × E + element) and reward; ``ad_mean`` per element."""
    size = rows * len(ad_mean)
    n = np.bincount(cell, minlength=size).reshape(rows, -1).astype(float)
    k = np.bincount(cell, reward, size).reshape(rows, -1)
    n_element, k_element = n.sum(0), k.sum(0)
    alpha_e, beta_e = _shrunk(n_element, k_element, ad_mean, np.inf)
    element_mean, known = alpha_e / (alpha_e + beta_e), alpha_e + beta_e
    alpha, beta = _shrunk(n, k, np.broadcast_to(element_mean, n.shape), known)
    alpha[-1], beta[-1] = alpha_e, beta_e  # the last row is every unmodelled context
    return alpha, beta


def _shrunk(
    n: np.ndarray, k: np.ndarray, prior_mean: np.ndarray, cap: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Beta posteriors (alpha, beta) of rates ``k / n`` shrunk toward ``prior_mean``: the
    posterior averaged over prior strengths κ (capped at ``cap``) weighted by
    :func:`strength_weights`, matched to one Beta by its mean and variance.

    >>> n, k = np.full(80, 68.0), np.r_[2.0, np.ones(19), np.zeros(60)]  # 21 clicks
    >>> alpha, beta = _shrunk(n, k, np.full(80, 21 / 5440), np.inf)
    >>> [round(float(m), 4) for m in (alpha / (alpha + beta))[[0, 1, -1]]]  # 2/68 is 0.029
    [0.0043, 0.0041, 0.0038]
    """
    weights = strength_weights(n.ravel(), k.ravel(), prior_mean.ravel())
    mean, second = np.zeros(n.shape), np.zeros(n.shape)
    for strength, weight in zip(GRID, weights, strict=True):
        if weight < 1e-9:
            continue
        prior = np.minimum(strength, cap)
        a = prior * prior_mean + k
        b = prior * (1 - prior_mean) + n - k
        m = a / (a + b)
        mean += weight * m
        second += weight * (m * (1 - m) / (a + b + 1) + m**2)
    variance = np.maximum(second - mean**2, 1e-12)
    total = np.maximum(mean * (1 - mean) / variance - 1, 1e-6)
    return mean * total, (1 - mean) * total


def strength_weights(n: np.ndarray, k: np.ndarray, prior_mean: np.ndarray) -> np.ndarray:
    """How likely each prior strength κ of :data:`GRID` makes the counts (the
    beta-binomial marginal likelihood, flat over log κ), normalised: a spread of rates
    beyond binomial noise favours small κ (trust each rate), none favours pooling.

    >>> n = np.full(50, 1000)
    >>> float(GRID[np.argmax(strength_weights(n, np.full(50, 10.0), np.full(50, 0.01)))])
    1000000.0
    >>> k = np.tile([2.0, 18.0], 25)  # rates 0.2 % and 1.8 %
    >>> 100 < float(GRID @ strength_weights(n, k, np.full(50, 0.01))) < 300
    True
    """
    seen = n > 0
    n, k, m = n[seen, None], k[seen, None], prior_mean[seen, None].clip(EDGE, 1 - EDGE)
    if len(n) < 2:
        weights = np.zeros(len(GRID))
        weights[-1] = 1.0
        return weights
    a, b = GRID * m, GRID * (1 - m)
    likelihood = (betaln(a + k, b + n - k) - betaln(a, b)).sum(0)
    weights = np.exp(likelihood - likelihood.max())
    return weights / weights.sum()
