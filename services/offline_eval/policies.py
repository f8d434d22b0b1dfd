"""adcraft's own target policies over a fitted :class:`ShrinkageModel`.

Each slot is chosen on its own (no enumeration of combinations, so a slate of any size is
cheap). Where slots share elements (positions of one list), a slate never shows an element
twice: slots are filled in order, each from what the earlier ones left.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from adcraft.services.offline_eval.logged import Log
from adcraft.services.offline_eval.shrinkage import ShrinkageModel

Scores = Callable[[int, np.ndarray, int], np.ndarray]  # (slot, candidates, count) -> [count, E]


class Slates:
    """Who may fill which slot of a log: each ad's candidates per slot, and which
    candidates are the same element (for slates that must not repeat one)."""

    def __init__(self, log: Log) -> None:
        self.log = log
        names = pd.Index(pd.unique(np.concatenate(log.elements)))
        self._name = [names.get_indexer(e) for e in log.elements]
        self._ad = log.context_ad

    def ad(self, context: int) -> int:
        """The ad of ``context``."""
        return int(self._ad[context])

    def candidates(self, ad: int) -> list[np.ndarray]:
        """Per slot, the element codes of ``ad``."""
        return [np.flatnonzero(owner == ad) for owner in self.log.element_ad]

    def choose(self, ad: int, scores: Scores, count: int) -> np.ndarray:
        """``count`` slates [count, S]: per slot the best-scoring candidate not already shown
        in an earlier slot."""
        chosen = np.empty((count, len(self.log.slots)), np.int64)
        for s, candidates in enumerate(self.candidates(ad)):
            score = scores(s, candidates, count)
            if len(candidates) > s:
                names = self._name[s][candidates]
                for earlier in range(s):
                    shown = self._name[earlier][chosen[:, earlier]]
                    score = np.where(names[None, :] == shown[:, None], -np.inf, score)
            chosen[:, s] = candidates[score.argmax(1)]
        return chosen


class Drawn:
    """A policy that plays one of ``draws`` seeded slates per decision, uniformly: its
    marginal and joint probabilities are exact frequencies of those slates."""

    name = "drawn"

    def __init__(self, model: ShrinkageModel, log: Log, draws: int, seed: int) -> None:
        self.model, self.slates = model, Slates(log)
        self.draws, self.seed = draws, seed
        self._drawn: dict[tuple[int, int], np.ndarray] = {}

    def key(self, context: int) -> tuple[int, int]:
        """The model's row of ``context`` and its ad: contexts the model pools share their
        draws."""
        return int(self.model.row[context]), self.slates.ad(context)

    def drawn(self, context: int) -> np.ndarray:
        """The slates [draws, S] of ``context``."""
        key = self.key(context)
        if key not in self._drawn:
            self._drawn[key] = self._draw(*key)
        return self._drawn[key]

    def _draw(self, row: int, ad: int) -> np.ndarray:
        raise NotImplementedError

    def marginals(self, context: int) -> list[np.ndarray]:
        """Per slot, how often each element code is drawn."""
        drawn = self.drawn(context)
        return [
            np.bincount(drawn[:, s], minlength=len(e)) / len(drawn)
            for s, e in enumerate(self.slates.log.elements)
        ]

    def joint(self, context: int, chosen: np.ndarray) -> np.ndarray:
        """How often each slate of ``chosen`` is drawn."""
        drawn = self.drawn(context)
        _, index, counts = np.unique(
            np.concatenate([drawn, chosen]), axis=0, return_inverse=True, return_counts=True
        )
        index = index.ravel()
        found = np.bincount(index[: len(drawn)], minlength=len(counts))
        return found[index[len(drawn) :]] / len(drawn)

    def sample(self, context: int, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` of the drawn slates, uniformly."""
        drawn = self.drawn(context)
        return drawn[rng.integers(0, len(drawn), size)]


class ThompsonPolicy(Drawn):
    """Thompson sampling on the posterior: each draw samples every candidate's rate and
    shows the highest."""

    name = "thompson"

    @property
    def description(self) -> str:
        """What the report calls it."""
        return f"Thompson sampling on the shrunk posterior ({self.draws} draws per context)"

    def _draw(self, row: int, ad: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, row, ad])
        alpha, beta = self.model.alpha, self.model.beta

        def scores(s: int, candidates: np.ndarray, count: int) -> np.ndarray:
            return rng.beta(
                alpha[s][row, candidates], beta[s][row, candidates], (count, len(candidates))
            )

        return self.slates.choose(ad, scores, self.draws)


class GreedyPolicy:
    """ε-greedy: the slate of highest posterior means, else (with probability ε) a uniform
    element per slot."""

    name = "greedy"

    def __init__(self, model: ShrinkageModel, log: Log, epsilon: float) -> None:
        self.model, self.epsilon = model, epsilon
        self.slates = Slates(log)

    @property
    def description(self) -> str:
        """What the report calls it."""
        return f"{self.epsilon}-greedy on the shrunk posterior means"

    def best(self, context: int) -> np.ndarray:
        """The exploited slate [S]."""
        row = self.model.row[context]

        def scores(s: int, candidates: np.ndarray, count: int) -> np.ndarray:
            return self.model.mean(s)[row, candidates][None, :]

        return self.slates.choose(self.slates.ad(context), scores, 1)[0]

    def marginals(self, context: int) -> list[np.ndarray]:
        """(1 − ε) on the best element, ε spread over the ad's candidates, per slot."""
        best = self.best(context)
        candidates = self.slates.candidates(self.slates.ad(context))
        result = []
        for s, codes in enumerate(candidates):
            p = np.zeros(len(self.slates.log.elements[s]))
            p[codes] = self.epsilon / len(codes)
            p[best[s]] += 1 - self.epsilon
            result.append(p)
        return result

    def joint(self, context: int, chosen: np.ndarray) -> np.ndarray:
        """(1 − ε)·[the best slate] + ε·Π 1/|candidates|."""
        uniform = np.prod([1 / len(c) for c in self.slates.candidates(self.slates.ad(context))])
        exploit = (chosen == self.best(context)).all(1)
        return (1 - self.epsilon) * exploit + self.epsilon * uniform

    def sample(self, context: int, size: int, rng: np.random.Generator) -> np.ndarray:
        """The best slate, or with probability ε a uniform one."""
        drawn = np.tile(self.best(context), (size, 1))
        explore = rng.random(size) < self.epsilon
        for s, codes in enumerate(self.slates.candidates(self.slates.ad(context))):
            drawn[explore, s] = rng.choice(codes, explore.sum())
        return drawn
