"""What the generator sees of one request: candidates described by features, not ids.

Per slot, each candidate element carries its reward model posterior (mean logit, standard
deviation, observations, conversion score); every pair of candidates in different slots
carries the learned pair weight. Slots and candidates are padded to a batch's largest
counts and masked, so one network serves ads of any shape, including ads it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from adcraft.shared.contract.combination_contract import EXPLORE, FEATURES, Layout, pack
from adcraft.shared.contract.posteriors import AdPosterior


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

    @property
    def shape(self) -> tuple[int, int]:
        """(slots, candidates per slot) the batch is padded to."""
        return int(self.mask.shape[1]), int(self.mask.shape[2])

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The four tensors, in field order."""
        return self.features, self.mask, self.pairs, self.context

    def to(self, device: str | torch.device) -> Candidates:
        """The batch on ``device``."""
        return Candidates(*(t.to(device) for t in self.tensors()))

    def exploring(self, explore: torch.Tensor) -> Candidates:
        """The batch with each request's exploration switch (``CONTEXT[:, EXPLORE]``) set
        from ``explore`` [B] (bool or 0..1)."""
        context = self.context.clone()
        context[:, EXPLORE] = explore.to(context)
        return Candidates(self.features, self.mask, self.pairs, context)

    def rows(self, index: torch.Tensor) -> Candidates:
        """The requests at ``index`` (repeats allowed)."""
        return Candidates(*(t[index.to(t.device)] for t in self.tensors()))

    def repeat(self, n: int) -> Candidates:
        """Each request ``n`` times in a row."""
        return Candidates(*(t.repeat_interleave(n, dim=0) for t in self.tensors()))

    @classmethod
    def stack(cls, batches: list[Candidates]) -> Candidates:
        """The requests of several batches, padded to their largest slot and candidate
        counts."""
        slots = max(b.mask.shape[1] for b in batches)
        width = max(b.mask.shape[2] for b in batches)
        pad = torch.nn.functional.pad
        padded = [
            (
                pad(b.features, (0, 0, 0, width - b.mask.shape[2], 0, slots - b.mask.shape[1])),
                pad(b.mask, (0, width - b.mask.shape[2], 0, slots - b.mask.shape[1])),
                pad(b.pairs, (0, width - b.mask.shape[2], 0, slots - b.mask.shape[1]) * 2),
                b.context,
            )
            for b in batches
        ]
        return cls(*(torch.cat(parts) for parts in zip(*padded, strict=True)))

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Candidates:
        """The batch the contract's ``FEATURES``, ``MASK``, ``PAIRS``, ``CONTEXT`` hold."""
        return cls(
            *(torch.from_numpy(arrays[name]) for name in ("FEATURES", "MASK", "PAIRS", "CONTEXT"))
        )

    @classmethod
    def of(
        cls, posteriors: list[AdPosterior], explore: float = 1.0
    ) -> tuple[Candidates, list[Layout]]:
        """A batch of ads' posteriors, padded to their largest slot and candidate counts."""
        shape = (
            max(len(p.slots) for p in posteriors),
            max(len(c) for p in posteriors for c in p.slots.values()),
        )
        arrays, layouts = pack(posteriors, shape, k=1, explore=explore)
        return cls.from_arrays(arrays), layouts

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


def combinations_of(batch: Candidates, row: int) -> torch.Tensor:
    """Every combination [N, S] of request ``row`` (-1 for its missing slots)."""
    options = [
        torch.nonzero(batch.mask[row, s]).flatten()
        if batch.mask[row, s].any()
        else torch.tensor([-1])
        for s in range(batch.mask.shape[1])
    ]
    return torch.cartesian_prod(*options).reshape(-1, len(options))


class Combinations(NamedTuple):
    """Chosen candidate per slot (-1 where a request has no such slot) and probabilities:
    per slot (1 for a missing slot) and joint (their product)."""

    choices: torch.Tensor
    slot_probabilities: torch.Tensor
    probability: torch.Tensor
