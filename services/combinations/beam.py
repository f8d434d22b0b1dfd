"""The generator's ``k`` distinct combinations, by beam search over slots.

Without noise, the beam keeps the ``k`` most probable partial combinations. With noise it
is *stochastic* beam search (Kool, van Hoof and Welling, 2019): every partial combination
carries a Gumbel-perturbed log probability, conditioned so that the beam keeps exactly the
``k`` whole combinations with the largest perturbed values. The result is ``k`` draws
without replacement from the policy, the first an exact draw from it. Either way each
beam carries the exact log probability of its combination (the product of per-slot
probabilities), which is what a logged propensity must be.
"""

from __future__ import annotations

import torch

from adcraft.services.combinations.candidates import Candidates, Combinations
from adcraft.services.combinations.walk import SlotPolicy


def beam_search(
    model: SlotPolicy,
    batch: Candidates,
    k: int,
    temperature: float,
    uniform: torch.Tensor | None = None,
) -> Combinations:
    """See the module docstring; ``uniform`` [B, S, k, C] in (0, 1) makes it stochastic.
    ``choices`` [B, k, S], highest (perturbed) value first."""
    size, slots, width = batch.mask.shape[:3]
    count = size * k
    walk = model.begin(batch, copies=k)
    device = batch.mask.device
    chosen = torch.full((count, slots), -1, dtype=torch.long, device=device)
    slot_logp = torch.zeros(count, slots, device=device)
    score = torch.zeros(size, k, device=device)
    score[:, 1:] = float("-inf")  # one live beam to start: no duplicates
    perturbed = score.clone()
    for slot in range(slots):
        logits, encoded = model.slot_logits(walk, slot)
        logp = torch.log_softmax(logits / temperature, dim=-1)
        total = score.reshape(count, 1) + logp
        if uniform is None:
            ranked = total
        else:
            ranked = _conditioned_gumbel(total, perturbed.reshape(count, 1), uniform[:, slot])
        perturbed, flat = ranked.reshape(size, k * width).topk(k, dim=-1)
        score = total.reshape(size, k * width).gather(1, flat)
        rows = (torch.arange(size, device=device)[:, None] * k + flat // width).reshape(-1)
        index = (flat % width).reshape(-1)
        chosen, slot_logp = chosen[rows], slot_logp[rows]
        chosen[:, slot] = index
        slot_logp[:, slot] = logp[rows, index]
        walk.take(rows)
        model.choose(walk, slot, index, encoded[rows, index])
    chosen = chosen.masked_fill(~batch.slots.repeat_interleave(k, dim=0), -1)
    # Rows past the number of combinations that exist: no choice, probability 0.
    empty = (score == float("-inf")).reshape(count, 1)
    return Combinations(
        chosen.masked_fill(empty, -1).reshape(size, k, slots),
        slot_logp.exp().masked_fill(empty, 0).reshape(size, k, slots),
        score.exp(),
    )


def _conditioned_gumbel(
    total: torch.Tensor, parent: torch.Tensor, uniform: torch.Tensor
) -> torch.Tensor:
    """Gumbel(``total``) values of each beam's children [N, C], conditioned on their
    maximum being the parent's perturbed value (the paper's numerically stable form)."""
    gumbel = total - torch.log(-torch.log(uniform.reshape(total.shape)))
    top = gumbel.amax(dim=-1, keepdim=True)
    v = parent - gumbel + _log1mexp(gumbel - top)
    value = parent - v.clamp(min=0) - torch.log1p(torch.exp(-v.abs()))
    return value.masked_fill(total == float("-inf"), float("-inf"))


def _log1mexp(a: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(a)) for a ≤ 0, accurate at both ends (-inf at 0)."""
    return torch.where(a > -0.6931, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))
