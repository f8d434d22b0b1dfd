"""What the generator must beat, on the same inputs: per-slot Thompson sampling, which
cannot see pair interactions, and the argmax of the additive model (pairs included),
found by enumeration where the space is small.
"""

from __future__ import annotations

import torch

from adcraft.services.combinations.candidates import FEATURES, Candidates, combinations_of
from adcraft.services.combinations.worlds import BASE_LOGIT, combination_logits

MEAN, SD = FEATURES.index("mean"), FEATURES.index("sd")
MAX_ENUMERATION = 100_000


def per_slot_thompson(batch: Candidates, rng: torch.Generator | None = None) -> torch.Tensor:
    """Per request and slot, the candidate with the highest draw from its posterior
    N(mean, sd²): choices [B, S] (-1 for a missing slot)."""
    mean, sd = batch.features[..., MEAN], batch.features[..., SD]
    draw = mean + sd * torch.randn(mean.shape, generator=rng)
    choices = draw.masked_fill(~batch.mask, float("-inf")).argmax(dim=-1)
    return choices.masked_fill(~batch.slots, -1)


def additive_values(batch: Candidates, row: int, choices: torch.Tensor) -> torch.Tensor:
    """The additive model's logits [N] of combinations ``choices`` [N, S] of request
    ``row``: element means plus pair weights."""
    return combination_logits(batch.features[row, None, ..., MEAN], batch.pairs[row], choices)[0]


def greedy_additive(batch: Candidates) -> torch.Tensor:
    """Per request, the combination the additive model rates best: exhaustive where there
    are at most :data:`MAX_ENUMERATION` combinations, else each slot's best mean."""
    rows = []
    for row in range(batch.mask.shape[0]):
        space = int(torch.prod(batch.mask[row].sum(-1).clamp(min=1)))
        if space <= MAX_ENUMERATION:
            combos = combinations_of(batch, row)
            rows.append(combos[additive_values(batch, row, combos).argmax()])
        else:
            means = batch.features[row, ..., MEAN].masked_fill(~batch.mask[row], float("-inf"))
            rows.append(means.argmax(-1).masked_fill(~batch.slots[row], -1))
    return torch.stack(rows)


def best_share(batch: Candidates, choices: torch.Tensor) -> torch.Tensor:
    """Per request, the reward model's click probability of ``choices`` [B, S] as a share
    of the best combination's (found by enumeration; requests must be small enough)."""
    shares = []
    for row in range(batch.mask.shape[0]):
        values = additive_values(batch, row, combinations_of(batch, row))
        got = additive_values(batch, row, choices[row : row + 1])
        shares.append(torch.sigmoid(BASE_LOGIT + got[0]) / torch.sigmoid(BASE_LOGIT + values.max()))
    return torch.stack(shares)
