"""Random ads for training and evaluating the generator: varied slot and candidate counts,
element effects and pair interactions, and a reward model's posterior over them.

A world's truth is an additive logit (element effects plus pair effects); what the
generator sees is a noisy posterior of it (mean, sd, observations), as the reward worker
would publish after some traffic. Seeds make every world reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from adcraft.services.combinations.candidates import FEATURES, Candidates, combinations_of
from adcraft.shared.contract.combination_contract import EXPLORE
from adcraft.shared.contract.posteriors import AdPosterior, ElementPosterior, PairPosterior

BASE_LOGIT = -2.0
HELD_OUT_SEED, ONLINE_SEED = 999, 10_000  # evaluation worlds: training must not use them


@dataclass(frozen=True)
class Worlds:
    """A batch of ads: what the generator sees, and the truth behind it."""

    seen: Candidates
    effects: torch.Tensor  # [B, S, C] true element logit effects
    pair_effects: torch.Tensor  # [B, S, C, S, C] true pair effects, symmetric

    def true_ctr(self, choices: torch.Tensor) -> torch.Tensor:
        """Click probability [B] of ``choices`` [B, S] under the truth."""
        return torch.sigmoid(BASE_LOGIT + additive_logit(self.effects, self.pair_effects, choices))

    def repeat(self, n: int) -> Worlds:
        """Each ad ``n`` times in a row."""
        return Worlds(
            self.seen.repeat(n),
            self.effects.repeat_interleave(n, 0),
            self.pair_effects.repeat_interleave(n, 0),
        )

    def best_ctr(self) -> torch.Tensor:
        """The true click probability [B] of each ad's best combination (enumerated)."""
        best = [
            combination_logits(
                self.effects[row, None], self.pair_effects[row], combinations_of(self.seen, row)
            ).max()
            for row in range(self.effects.shape[0])
        ]
        return torch.sigmoid(BASE_LOGIT + torch.stack(best))


def sample(
    size: int,
    rng: torch.Generator,
    slots: tuple[int, int] = (2, 5),
    width: tuple[int, int] = (2, 6),
) -> Worlds:
    """``size`` random ads, each with slots and candidates counts drawn from the ranges, and
    the posterior a reward model would hold after a random amount of traffic per element
    (from none to plenty) and per pair (a pair never shown together is not published)."""
    max_slots, max_width = slots[1], width[1]
    mask = torch.zeros(size, max_slots, max_width, dtype=torch.bool)
    for row in range(size):
        count = int(torch.randint(slots[0], slots[1] + 1, (1,), generator=rng))
        for slot in range(count):
            options = int(torch.randint(width[0], width[1] + 1, (1,), generator=rng))
            mask[row, slot, :options] = True
    effects = 0.6 * torch.randn(size, max_slots, max_width, generator=rng) * mask
    both = mask[:, :, :, None, None] & mask[:, None, None, :, :]
    strong = torch.rand(both.shape, generator=rng) < 0.05  # a few strong interactions
    pairs = _symmetric(1.2 * torch.randn(both.shape, generator=rng) * strong) * both
    mean, sd, information = _posterior(effects, ELEMENT_PRIOR_VARIANCE, 2.5, rng)
    observations = torch.log1p(information / INFORMATION_PER_IMPRESSION) * mask
    # Conversion scores are informational here (the reward is the click): drawn at random
    # so that the network learns to read past them, whatever the conversion head says.
    conversion = torch.rand(mask.shape, generator=rng)
    features = torch.stack([mean, sd, observations, conversion], dim=-1) * mask[..., None]
    assert features.shape[-1] == len(FEATURES)
    pair_mean = _posterior(pairs, PAIR_PRIOR_VARIANCE, 1.5, rng)[0]
    shown = _symmetric(torch.rand(both.shape, generator=rng) < 0.7) & both
    seen_pairs = _symmetric(pair_mean) * shown
    context = torch.zeros(size, 4)
    return Worlds(Candidates(features, mask, seen_pairs, context), effects, pairs)


ELEMENT_PRIOR_VARIANCE = 2.0  # the reward model's element weight plus its personalisation
PAIR_PRIOR_VARIANCE = 0.25
INFORMATION_PER_IMPRESSION = 0.1  # ≈ p(1 − p) at the click rates simulated


def _posterior(
    truth: torch.Tensor, prior_variance: float, spread: float, rng: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gaussian posterior (mean, sd) of each ``truth`` value after evidence of a
    log-uniform amount of information (10^(−1.5) .. 10^``spread``), and that information."""
    exponent = -1.5 + (spread + 1.5) * torch.rand(truth.shape, generator=rng)
    information = 10.0**exponent
    variance = 1.0 / (1.0 / prior_variance + information)
    observed = truth + torch.randn(truth.shape, generator=rng) / information.sqrt()
    return variance * information * observed, variance.sqrt(), information


def _symmetric(pairs: torch.Tensor) -> torch.Tensor:
    """The upper triangle of pair tensors [B, S, C, S, C] mirrored, slots never paired
    with themselves."""
    size, slots, width = pairs.shape[:3]
    flat = torch.triu(pairs.reshape(size, slots * width, slots * width).float(), diagonal=1)
    flat = (flat + flat.transpose(1, 2)).reshape(pairs.shape)
    for slot in range(slots):
        flat[:, slot, :, slot, :] = 0
    return flat.to(pairs.dtype)


def posterior_logit(seen: Candidates, choices: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """The reward model's logit [B] of ``choices``: for an exploring request a Thompson
    draw (element effects drawn from N(mean, sd²), pair weights at their means), for an
    exploiting one the posterior mean."""
    mean, sd = seen.features[..., 0], seen.features[..., 1]
    noise = torch.randn(mean.shape, generator=rng).to(mean.device)
    noise = noise * seen.context[:, EXPLORE, None, None]
    return additive_logit(mean + sd * noise, seen.pairs, choices)


def additive_logit(
    effects: torch.Tensor, pairs: torch.Tensor, choices: torch.Tensor
) -> torch.Tensor:
    """Σ element effects [B, S, C] + Σ pair effects [B, S, C, S, C] of ``choices`` [B, S]
    (-1: no slot)."""
    size, slots = choices.shape
    rows = torch.arange(size, device=choices.device)
    present = choices >= 0
    picked = choices.clamp(min=0)
    total = torch.zeros(size, device=choices.device)
    for slot in range(slots):
        total = total + effects[rows, slot, picked[:, slot]] * present[:, slot]
        for other in range(slot + 1, slots):
            both = present[:, slot] & present[:, other]
            total = total + pairs[rows, slot, picked[:, slot], other, picked[:, other]] * both
    return total


def combination_logits(
    effects: torch.Tensor, pairs: torch.Tensor, combinations: torch.Tensor
) -> torch.Tensor:
    """Additive logits [D, N] of one ad's ``combinations`` [N, S] (-1: no slot) under each
    of ``D`` element effect tensors [D, S, C] and the pair effects [S, C, S, C]."""
    present = combinations >= 0
    picked = combinations.clamp(min=0)
    slots = torch.arange(combinations.shape[1], device=combinations.device)
    own = (effects[:, slots, picked] * present).sum(-1)
    n = len(combinations)
    joint = additive_logit(
        torch.zeros(n, *effects.shape[1:], device=effects.device),
        pairs.expand(n, *pairs.shape),
        combinations,
    )
    return own + joint


def as_posteriors(seen: Candidates) -> list[AdPosterior]:
    """Each ad of ``seen`` as the reward worker publishes it: slots ``s<j>``, elements
    ``e<c>`` in index order, the non-zero pair weights (sd 0.1)."""
    result = []
    for row in range(seen.mask.shape[0]):
        mask, features = seen.mask[row], seen.features[row].tolist()
        slots = {
            f"s{s}": [
                ElementPosterior(f"e{c}", mean, sd, math.expm1(seen_log), conversion)
                for c, (mean, sd, seen_log, conversion) in enumerate(features[s][: int(count)])
            ]
            for s, count in enumerate(mask.sum(-1).tolist())
            if count
        }
        upper = torch.triu(seen.pairs[row].flatten(0, 1).flatten(1, 2), diagonal=1)
        width = mask.shape[1]
        pairs = [
            PairPosterior(
                f"s{i // width}",
                f"e{i % width}",
                f"s{j // width}",
                f"e{j % width}",
                float(upper[i, j]),
                0.1,
            )
            for i, j in torch.nonzero(upper).tolist()
        ]
        result.append(AdPosterior(f"ad{row}", "all", "simulated", slots, pairs))
    return result
