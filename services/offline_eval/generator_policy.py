"""The combination generator as a target policy.

Per context, the shrinkage model's posterior becomes the generator's candidates, as the
reward worker's posterior does for a served request: each element's rate as a logit mean
and standard deviation. The policy plays one of ``draws`` seeded generator samples, so its
probabilities are exact frequencies. Slots that share elements may repeat one: the
generator was trained on ads whose slots are distinct.
"""

from __future__ import annotations

import numpy as np
import torch

from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.generator import CombinationGenerator
from adcraft.services.offline_eval.logged import Log
from adcraft.services.offline_eval.policies import Drawn
from adcraft.services.offline_eval.shrinkage import ShrinkageModel
from adcraft.shared.contract.posteriors import AdPosterior, ElementPosterior


class GeneratorPolicy(Drawn):
    """``generator`` (weights ``version``) at ``temperature`` over ``model``'s posteriors."""

    name = "generator"

    def __init__(
        self,
        model: ShrinkageModel,
        log: Log,
        generator: CombinationGenerator,
        version: int,
        draws: int = 256,
        seed: int = 0,
        temperature: float = 1.0,
    ) -> None:
        super().__init__(model, log, draws, seed)
        self.generator, self.version = generator, version
        self.temperature = temperature

    @property
    def description(self) -> str:
        """What the report calls it."""
        return f"generator v{self.version} at temperature {self.temperature}"

    def posterior(self, row: int, ad: int) -> AdPosterior:
        """The model's posterior of ``ad`` in model row ``row``, element ids being codes."""
        log = self.slates.log
        slots = {}
        for s, codes in enumerate(self.slates.candidates(ad)):
            alpha, beta = self.model.alpha[s][row, codes], self.model.beta[s][row, codes]
            mean = alpha / (alpha + beta)
            sd = np.sqrt(mean * (1 - mean) / (alpha + beta + 1)) / (mean * (1 - mean))
            slots[log.slots[s]] = [
                ElementPosterior(
                    str(code), float(np.log(m / (1 - m))), float(d), float(n), float(m)
                )
                for code, m, d, n in zip(codes, mean, sd, alpha + beta, strict=True)
            ]
        return AdPosterior(log.ads[ad], str(row), f"v{self.version}", slots, [])

    def _draw(self, row: int, ad: int) -> np.ndarray:
        batch, (layout,) = Candidates.of([self.posterior(row, ad)])
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + row * 1_009 + ad)
        with torch.inference_mode():
            drawn = self.generator.sample(batch.repeat(self.draws), self.temperature, rng)
        choices = drawn.choices.numpy()
        order = [s for s, _ in layout.slots]
        codes = [np.array([int(i) for i in ids]) for _, ids in layout.slots]
        slates = np.empty((self.draws, len(order)), np.int64)
        for column, slot in enumerate(order):
            slates[:, self.slates.log.slots.index(slot)] = codes[column][choices[:, column]]
        return slates
