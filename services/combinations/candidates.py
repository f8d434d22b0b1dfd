"""What the generator sees of one request: candidates described by features, not ids.

Per slot, each candidate element carries its reward model posterior (mean logit, standard
deviation, observations, conversion score); every pair of candidates in different slots
carries the learned pair weight. Slots and candidates are padded to a batch's largest
counts and masked, so one network serves ads of any shape, including ads it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

FEATURES = ("mean", "sd", "log_observations", "conversion")


@dataclass(frozen=True)
class Candidates:
    """A batch of requests: ``features`` [B, S, C, F], ``mask`` [B, S, C] (True where a
    candidate exists), ``pairs`` [B, S, C, S, C] (pair weight of candidate c of slot s with
    candidate c' of slot s'), ``context`` [B, D]. A slot with no candidate is padding."""

    features: torch.Tensor
    mask: torch.Tensor
    pairs: torch.Tensor
    context: torch.Tensor

    @property
    def slots(self) -> torch.Tensor:
        """[B, S]: which slots exist."""
        return self.mask.any(dim=-1)

    @classmethod
    def single(
        cls,
        features: list[list[list[float]]],
        pairs: dict[tuple[int, int, int, int], float] | None = None,
        context: list[float] | None = None,
        context_dim: int = 4,
    ) -> Candidates:
        """One request from plain lists: ``features[slot][candidate]`` (len(FEATURES)
        values), pair weights keyed (slot, candidate, slot, candidate), a context vector.

        >>> c = Candidates.single([[[0.1, 1, 0, 0], [0.3, 1, 0, 0]], [[0.0, 1, 0, 0]]])
        >>> c.features.shape, c.mask.tolist()
        (torch.Size([1, 2, 2, 4]), [[[True, True], [True, False]]])
        """
        slots, width = len(features), max(len(options) for options in features)
        table = torch.zeros(1, slots, width, len(FEATURES))
        mask = torch.zeros(1, slots, width, dtype=torch.bool)
        for s, options in enumerate(features):
            for c, values in enumerate(options):
                table[0, s, c] = torch.tensor(values, dtype=torch.float32)
                mask[0, s, c] = True
        weights = torch.zeros(1, slots, width, slots, width)
        for (s, c, t, d), weight in (pairs or {}).items():
            weights[0, s, c, t, d] = weights[0, t, d, s, c] = weight
        ctx = torch.tensor([context or [0.0] * context_dim], dtype=torch.float32)
        return cls(table, mask, weights, ctx)


class Combinations(NamedTuple):
    """Chosen candidate per slot (-1 where a request has no such slot) and probabilities:
    per slot (1 for a missing slot) and joint (their product)."""

    choices: torch.Tensor
    slot_probabilities: torch.Tensor
    probability: torch.Tensor
