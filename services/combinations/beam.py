"""The generator's ``k`` most probable distinct combinations, by beam search over slots.

Every beam carries the exact log probability of its partial combination, so the returned
probabilities are the policy's own (the product of per-slot probabilities).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from services.combinations.candidates import Candidates, Combinations

if TYPE_CHECKING:
    from services.combinations.generator import CombinationGenerator


def beam_search(
    model: CombinationGenerator, batch: Candidates, k: int, temperature: float
) -> Combinations:
    """See the module docstring; ``choices`` [B, k, S], most probable first."""
    size, slots, width = batch.mask.shape[:3]
    beams = _repeat(batch, k)
    count = size * k
    state = torch.tanh(model.start(beams.context))
    chosen = torch.full((count, slots), -1, dtype=torch.long)
    slot_logp = torch.zeros(count, slots)
    score = torch.zeros(size, k)
    score[:, 1:] = float("-inf")  # one live beam to start: no duplicates
    for slot in range(slots):
        logits, encoded = model.slot_logits(beams, slot, chosen, state)
        logp = torch.log_softmax(logits / temperature, dim=-1)
        total = (score.reshape(count, 1) + logp).reshape(size, k * width)
        score, flat = total.topk(k, dim=-1)
        rows = (torch.arange(size)[:, None] * k + flat // width).reshape(-1)
        index = (flat % width).reshape(-1)
        chosen, slot_logp = chosen[rows], slot_logp[rows]
        chosen[:, slot] = index
        slot_logp[:, slot] = logp[rows, index]
        state = model.step(encoded[rows, index], state[rows])
    chosen = chosen.masked_fill(~beams.slots, -1)
    return Combinations(
        chosen.reshape(size, k, slots),
        slot_logp.exp().reshape(size, k, slots),
        score.exp(),
    )


def _repeat(batch: Candidates, k: int) -> Candidates:
    """Each request ``k`` times in a row."""
    return Candidates(
        *(
            tensor.repeat_interleave(k, dim=0)
            for tensor in (batch.features, batch.mask, batch.pairs, batch.context)
        )
    )
