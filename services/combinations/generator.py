"""The combination generator: an autoregressive policy over slots (after GenCO).

Slot by slot, each candidate is scored from its own features, the pair weights between it
and the elements already chosen, and a recurrent state that has seen the context and those
choices; a masked softmax over the slot's candidates gives its distribution. The policy's
probability of a whole combination is exactly the product of its per-slot probabilities,
which is what a logged propensity must be. Candidates are described by features, never by
ids, so the same weights serve every ad.
"""

from __future__ import annotations

import torch
from torch import nn

from services.combinations.beam import beam_search
from services.combinations.candidates import FEATURES, Candidates, Combinations


class CombinationGenerator(nn.Module):
    """See the module docstring; ``context_dim`` and ``hidden`` fix the weights' shapes."""

    def __init__(self, context_dim: int = 4, hidden: int = 32) -> None:
        super().__init__()
        self.encode = nn.Sequential(nn.Linear(len(FEATURES) + 2, hidden), nn.Tanh())
        self.start = nn.Linear(context_dim, hidden)
        self.score = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.step = nn.GRUCell(hidden, hidden)

    def slot_logits(
        self, batch: Candidates, slot: int, chosen: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked logits [N, C] of ``slot``'s candidates given the earlier ``chosen``
        [N, slot] (indices; -1 for missing slots) and ``state``; and their encodings. A
        candidate is seen through its features, its pair weights with what is chosen, and
        the best pair it could still make with a later slot."""
        rows = torch.arange(chosen.shape[0])
        pair_sum = torch.zeros(batch.mask.shape[0], batch.mask.shape[2])
        for earlier in range(slot):
            picked = chosen[:, earlier].clamp(min=0)
            pair_sum = pair_sum + batch.pairs[rows, slot, :, earlier, picked]
        # The best pair each candidate could still make with a later slot: a slot chosen
        # early must know what it enables.
        later = batch.pairs[:, slot, :, slot + 1 :].masked_fill(
            ~batch.mask[:, None, slot + 1 :], float("-inf")
        )
        ahead = later.flatten(2).amax(dim=-1).clamp(min=0) if later.shape[2] else pair_sum * 0
        inputs = torch.stack([pair_sum, ahead], dim=-1)
        encoded = self.encode(torch.cat([batch.features[:, slot], inputs], dim=-1))
        both = torch.cat([encoded, state[:, None].expand_as(encoded)], dim=-1)
        logits = self.score(both).squeeze(-1)
        return logits.masked_fill(~_valid(batch, slot), float("-inf")), encoded

    def _walk(
        self, batch: Candidates, temperature: float, pick
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Choose slot by slot with ``pick(log_probs) -> indices``; return the choices and
        their per-slot log probabilities."""
        size, slots = batch.mask.shape[:2]
        state = torch.tanh(self.start(batch.context))
        chosen = torch.full((size, slots), -1, dtype=torch.long)
        log_probs = torch.zeros(size, slots)
        rows = torch.arange(size)
        for slot in range(slots):
            logits, encoded = self.slot_logits(batch, slot, chosen, state)
            logp = torch.log_softmax(logits / temperature, dim=-1)
            index = pick(slot, logp)
            log_probs[:, slot] = logp[rows, index]
            chosen[:, slot] = index
            state = self.step(encoded[rows, index], state)
        chosen = chosen.masked_fill(~batch.slots, -1)
        return chosen, log_probs

    def sample(
        self, batch: Candidates, temperature: float = 1.0, rng: torch.Generator | None = None
    ) -> Combinations:
        """One combination per request, drawn from the policy."""

        def draw(_: int, logp: torch.Tensor) -> torch.Tensor:
            return torch.multinomial(logp.exp(), 1, generator=rng).squeeze(-1)

        chosen, log_probs = self._walk(batch, temperature, draw)
        return Combinations(chosen, log_probs.exp(), log_probs.sum(-1).exp())

    def log_prob(
        self, batch: Candidates, choices: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """Per-slot log probabilities [B, S] of given ``choices`` (differentiable: the
        policy gradient's term)."""
        _, log_probs = self._walk(batch, temperature, lambda slot, _: choices[:, slot].clamp(0))
        return log_probs

    def top_k(self, batch: Candidates, k: int, temperature: float = 1.0) -> Combinations:
        """The ``k`` most probable distinct combinations per request (beam search; exact
        probabilities; rows past the number of combinations that exist get probability 0):
        ``choices`` [B, k, S]."""
        return beam_search(self, batch, k, temperature)


def _valid(batch: Candidates, slot: int) -> torch.Tensor:
    """[N, C] candidates that may be chosen in ``slot``; a request without the slot gets
    the one placeholder 0 (probability 1, so it changes no product)."""
    valid = batch.mask[:, slot]
    missing = ~valid.any(dim=-1)
    placeholder = torch.zeros_like(valid)
    placeholder[:, 0] = True
    return torch.where(missing[:, None], placeholder, valid)
