"""What the generator must beat, on the same inputs: per-slot Thompson sampling, which
cannot see pair interactions, and the argmax of the additive model (pairs included),
found by enumeration where the space is small.
"""

from __future__ import annotations

import itertools
import math

import torch

from services.combinations.candidates import FEATURES, Candidates
from services.combinations.worlds import BASE_LOGIT

MEAN, SD = FEATURES.index("mean"), FEATURES.index("sd")
MAX_ENUMERATION = 100_000


def per_slot_thompson(batch: Candidates, rng: torch.Generator | None = None) -> torch.Tensor:
    """Per request and slot, the candidate with the highest draw from its posterior
    N(mean, sd²): choices [B, S] (-1 for a missing slot)."""
    mean, sd = batch.features[..., MEAN], batch.features[..., SD]
    draw = mean + sd * torch.randn(mean.shape, generator=rng)
    choices = draw.masked_fill(~batch.mask, float("-inf")).argmax(dim=-1)
    return choices.masked_fill(~batch.slots, -1)


def additive_value(batch: Candidates, row: int, choice: tuple[int, ...]) -> float:
    """The additive model's logit of one combination: element means plus pair weights."""
    value = sum(float(batch.features[row, s, c, MEAN]) for s, c in enumerate(choice) if c >= 0)
    for (s, c), (t, d) in itertools.combinations(enumerate(choice), 2):
        if c >= 0 and d >= 0:
            value += float(batch.pairs[row, s, c, t, d])
    return value


def combinations_of(batch: Candidates, row: int) -> list[tuple[int, ...]]:
    """Every combination of one request (-1 for its missing slots)."""
    options = [
        [int(c) for c in torch.nonzero(batch.mask[row, s]).flatten()] or [-1]
        for s in range(batch.mask.shape[1])
    ]
    return list(itertools.product(*options))


def greedy_additive(batch: Candidates) -> torch.Tensor:
    """Per request, the combination the additive model rates best: exhaustive where there
    are at most :data:`MAX_ENUMERATION` combinations, else each slot's best mean."""
    rows = []
    for row in range(batch.mask.shape[0]):
        space = int(torch.prod(batch.mask[row].sum(-1).clamp(min=1)))
        if space <= MAX_ENUMERATION:
            best = max(combinations_of(batch, row), key=lambda c: additive_value(batch, row, c))
            rows.append(torch.tensor(best))
        else:
            means = batch.features[row, ..., MEAN].masked_fill(~batch.mask[row], float("-inf"))
            rows.append(means.argmax(-1).masked_fill(~batch.slots[row], -1))
    return torch.stack(rows)


def best_share(batch: Candidates, choices: torch.Tensor) -> torch.Tensor:
    """Per request, the reward model's click probability of ``choices`` [B, S] as a share
    of the best combination's (found by enumeration; requests must be small enough)."""
    shares = []
    for row in range(batch.mask.shape[0]):
        values = [additive_value(batch, row, c) for c in combinations_of(batch, row)]
        got = additive_value(batch, row, tuple(choices[row].tolist()))
        shares.append(_ctr(got) / _ctr(max(values)))
    return torch.tensor(shares)


def _ctr(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-(BASE_LOGIT + logit)))
