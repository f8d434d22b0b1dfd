"""The combination generator as the target policy, with its exact propensities.

Per (ad, segment), the offline reward model's posterior becomes the generator's candidates,
as the reward worker's posterior does for a served request. A combination's probability is
the product of the generator's per-slot probabilities. Expectations are exact over every
combination when an ad has at most ``exact_up_to``, else the mean over seeded draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from services.combinations.candidates import Candidates, combinations_of
from services.combinations.generator import CombinationGenerator
from services.offline_eval.logged import Logged
from services.offline_eval.policy import MAX_COMBINATIONS, Combination
from services.reward_updater.reward_model import ElementRewardModel
from shared.combination_contract import Layout


class GeneratorPolicy:
    """``generator`` (weights ``version``) at ``temperature`` over ``model``'s posteriors;
    ``draws`` samples seeded by ``seed`` stand in for spaces over ``exact_up_to``."""

    name = "generator"

    def __init__(
        self,
        model: ElementRewardModel,
        generator: CombinationGenerator,
        version: int,
        temperature: float = 1.0,
        draws: int = 256,
        seed: int = 0,
        exact_up_to: int = MAX_COMBINATIONS,
    ) -> None:
        self.model, self.generator, self.version = model, generator, version
        self.temperature, self.draws, self.seed = temperature, draws, seed
        self.exact_up_to = exact_up_to
        self._requests: dict[tuple[str, str], tuple[Candidates, Layout]] = {}
        self._distributions: dict[tuple[str, str], dict[Combination, float]] = {}

    @property
    def description(self) -> str:
        """What the report calls it."""
        return f"generator v{self.version} at temperature {self.temperature}"

    def request(self, ad: str, segment: str) -> tuple[Candidates, Layout]:
        """The generator's candidates for ``ad`` shown to ``segment``, and their layout."""
        if (ad, segment) not in self._requests:
            posteriors = self.model.posteriors([(ad, segment)], "offline")
            batch, (layout,) = Candidates.of(posteriors)
            self._requests[ad, segment] = batch, layout
        return self._requests[ad, segment]

    def probabilities(self, rows: Sequence[Logged]) -> np.ndarray:
        """π(logged combination | ad, segment) of each row, one pass per context."""
        groups: dict[tuple[str, str], list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault((row.ad_id, row.segment), []).append(i)
        result = np.empty(len(rows))
        for context, members in groups.items():
            batch, layout = self.request(*context)
            choices = torch.tensor([indices(layout, rows[i].elements) for i in members])
            result[members] = self._joint(batch, choices)
        return result

    def distribution(self, ad: str, segment: str) -> dict[Combination, float]:
        """Each combination's probability; over ``exact_up_to`` combinations, the
        frequencies of ``draws`` seeded samples."""
        if (ad, segment) not in self._distributions:
            batch, layout = self.request(ad, segment)
            if math.prod(len(ids) for _, ids in layout.slots) <= self.exact_up_to:
                choices = combinations_of(batch, 0)
                probabilities = self._joint(batch, choices)
            else:
                rng = torch.Generator().manual_seed(self.seed)
                with torch.inference_mode():
                    drawn = self.generator.sample(batch.repeat(self.draws), self.temperature, rng)
                choices = drawn.choices
                probabilities = np.full(self.draws, 1 / self.draws)
            found: dict[Combination, float] = {}
            for choice, probability in zip(choices.tolist(), probabilities, strict=True):
                combination = combination_of(layout, choice)
                found[combination] = found.get(combination, 0.0) + float(probability)
            self._distributions[ad, segment] = found
        return self._distributions[ad, segment]

    def expected(self, ad: str, segment: str, reward: Callable[[Combination], float]) -> float:
        """Σ π(a)·reward(a) over :meth:`distribution`."""
        return sum(p * reward(a) for a, p in self.distribution(ad, segment).items())

    def _joint(self, batch: Candidates, choices: torch.Tensor) -> np.ndarray:
        """Joint probabilities of ``choices`` [N, S] of the one request in ``batch``."""
        many = Candidates(*(t.expand(len(choices), *t.shape[1:]) for t in batch.tensors()))
        with torch.inference_mode():
            log_probs = self.generator.log_prob(many, choices, self.temperature)
        return log_probs.double().sum(-1).exp().numpy()


def indices(layout: Layout, elements: Combination) -> list[int]:
    """Candidate index per slot of ``layout`` of a combination given in any slot order;
    :class:`ValueError` unless it names one known element of each slot.

    >>> layout = Layout((("title", ("t0", "t1")), ("image", ("i0",))))
    >>> indices(layout, (("image", "i0"), ("title", "t1")))
    [1, 0]
    """
    chosen = dict(elements)
    if chosen.keys() != {slot for slot, _ in layout.slots}:
        raise ValueError(f"{elements} does not name one element of each slot {layout.slots}")
    return [ids.index(chosen[slot]) for slot, ids in layout.slots]


def combination_of(layout: Layout, choice: Sequence[int]) -> Combination:
    """The (slot, element) pairs, sorted by slot, of candidate indices ``choice``.

    >>> combination_of(Layout((("title", ("t0", "t1")), ("image", ("i0",)))), [1, 0])
    (('image', 'i0'), ('title', 't1'))
    """
    return tuple(
        sorted((slot, ids[c]) for (slot, ids), c in zip(layout.slots, choice, strict=True))
    )
