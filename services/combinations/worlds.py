"""Random ads for training and evaluating the generator: varied slot and candidate counts,
element effects and pair interactions, and a reward model's posterior over them.

A world's truth is an additive logit (element effects plus pair effects); what the
generator sees is a noisy posterior of it (mean, sd, observations), as the reward worker
would publish after some traffic. Seeds make every world reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from services.combinations.candidates import FEATURES, Candidates

BASE_LOGIT = -2.0


@dataclass(frozen=True)
class Worlds:
    """A batch of ads: what the generator sees, and the truth behind it."""

    seen: Candidates
    effects: torch.Tensor  # [B, S, C] true element logit effects
    pair_effects: torch.Tensor  # [B, S, C, S, C] true pair effects, symmetric

    def true_ctr(self, choices: torch.Tensor) -> torch.Tensor:
        """Click probability [B] of ``choices`` [B, S] under the truth."""
        return torch.sigmoid(BASE_LOGIT + _logit(self.effects, self.pair_effects, choices))


def sample(
    size: int,
    rng: torch.Generator,
    slots: tuple[int, int] = (2, 5),
    width: tuple[int, int] = (2, 6),
) -> Worlds:
    """``size`` random ads, each with slots and candidates counts drawn from the ranges."""
    max_slots, max_width = slots[1], width[1]
    mask = torch.zeros(size, max_slots, max_width, dtype=torch.bool)
    for row in range(size):
        count = int(torch.randint(slots[0], slots[1] + 1, (1,), generator=rng))
        for slot in range(count):
            mask[row, slot, : int(torch.randint(width[0], width[1] + 1, (1,), generator=rng))] = (
                True
            )
    effects = 0.6 * torch.randn(size, max_slots, max_width, generator=rng) * mask
    pairs = torch.randn(size, max_slots, max_width, max_slots, max_width, generator=rng)
    strong = torch.rand(pairs.shape, generator=rng) < 0.05  # a few strong interactions
    pairs = pairs * strong * 1.2
    pairs = torch.triu(pairs.flatten(1, 2).flatten(2, 3), diagonal=1)
    pairs = (pairs + pairs.transpose(1, 2)).reshape(
        size, max_slots, max_width, max_slots, max_width
    )
    for slot in range(max_slots):
        pairs[:, slot, :, slot, :] = 0.0
    pairs = pairs * mask[:, :, :, None, None] * mask[:, None, None, :, :]
    sd = (0.05 + 0.45 * torch.rand(size, max_slots, max_width, generator=rng)) * mask
    mean = effects + sd * torch.randn(sd.shape, generator=rng)
    observations = torch.log1p(1.0 / sd.clamp(min=0.05) ** 2) * mask
    features = torch.stack([mean, sd, observations, torch.zeros_like(sd)], dim=-1)
    assert features.shape[-1] == len(FEATURES)
    seen_pairs = pairs + 0.1 * torch.randn(pairs.shape, generator=rng) * (pairs != 0)
    context = torch.zeros(size, 4)
    return Worlds(Candidates(features, mask, seen_pairs, context), effects, pairs)


def posterior_logit(seen: Candidates, choices: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """A Thompson draw of the reward model's logit [B] for ``choices``: element effects
    drawn from N(mean, sd²), pair weights at their means (explore where it is unsure)."""
    mean, sd = seen.features[..., 0], seen.features[..., 1]
    drawn = mean + sd * torch.randn(mean.shape, generator=rng)
    return _logit(drawn, seen.pairs, choices)


def _logit(effects: torch.Tensor, pairs: torch.Tensor, choices: torch.Tensor) -> torch.Tensor:
    """Σ element effects + Σ pair effects of ``choices`` [B, S] (-1: no slot)."""
    size, slots = choices.shape
    rows = torch.arange(size)
    present = choices >= 0
    picked = choices.clamp(min=0)
    total = torch.zeros(size)
    for slot in range(slots):
        total = total + effects[rows, slot, picked[:, slot]] * present[:, slot]
        for other in range(slot + 1, slots):
            both = present[:, slot] & present[:, other]
            total = total + pairs[rows, slot, picked[:, slot], other, picked[:, other]] * both
    return total
