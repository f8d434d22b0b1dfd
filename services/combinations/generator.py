"""The combination generator: an autoregressive policy over slots (after GenCO).

Slot by slot, each candidate is scored from its own features, the pair weights between it
and the elements already chosen, and a recurrent state that has seen the context and those
choices; a masked softmax over the slot's candidates gives its distribution. The policy's
probability of a whole combination is exactly the product of its per-slot probabilities,
which is what a logged propensity must be. Candidates are described by features, never by
ids, so the same weights serve every ad.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from adcraft.services.combinations.beam import beam_search
from adcraft.services.combinations.candidates import FEATURES, Candidates, Combinations
from adcraft.services.combinations.walk import Walk


class CombinationGenerator(nn.Module):
    """See the module docstring; ``context_dim`` and ``hidden`` fix the weights' shapes."""

    def __init__(self, context_dim: int = 4, hidden: int = 32) -> None:
        super().__init__()
        self.context_dim, self.hidden = context_dim, hidden
        self.encode = nn.Linear(len(FEATURES) + 2, hidden)  # features, pair sum, ahead
        self.start = nn.Linear(context_dim, hidden)
        self.score_in = nn.Linear(2 * hidden, hidden)  # encoding, state
        self.score_out = nn.Linear(hidden, 1)
        self.step = nn.GRUCell(hidden, hidden)

    def begin(self, batch: Candidates, copies: int = 1) -> Walk:
        """A walk over ``batch``'s slots with ``copies`` rows per request (beams), before
        the first choice: what does not depend on the choices is computed once, here."""
        size, slots, _ = batch.mask.shape
        own = len(FEATURES)
        projected = nn.functional.linear(
            batch.features, self.encode.weight[:, :own], self.encode.bias
        )
        # The best pair each candidate could still make with a later slot: a slot chosen
        # early must know what it enables.
        best_pair = batch.pairs.masked_fill(~batch.mask[:, None, None], float("-inf")).amax(-1)
        later = torch.ones(slots, slots, dtype=torch.bool, device=batch.mask.device).triu(1)
        ahead = best_pair.masked_fill(~later[None, :, None, :], float("-inf")).amax(-1)
        # A beam's rows stay with their request's rows: ``owner`` never changes.
        owner = torch.arange(size, device=batch.mask.device).repeat_interleave(copies)
        return Walk(
            owner,
            batch.pairs,
            projected,
            ahead.clamp(min=0)[owner],
            _valid(batch.mask)[owner],
            torch.tanh(self.start(batch.context))[owner],
            torch.zeros(size * copies, slots, batch.mask.shape[2], device=batch.mask.device),
        )

    def slot_logits(self, walk: Walk, slot: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked logits [N, C] of ``slot``'s candidates, and their encodings. A candidate
        is seen through its features, its pair weights with what is already chosen, and the
        best pair it could still make with a later slot."""
        weight, own = self.encode.weight, len(FEATURES)
        encoded = torch.tanh(
            walk.projected[walk.owner, slot]
            + walk.pair_sum[:, slot, :, None] * weight[:, own]
            + walk.ahead[:, slot, :, None] * weight[:, own + 1]
        )
        weight, hidden = self.score_in.weight, self.hidden
        from_state = nn.functional.linear(walk.state, weight[:, hidden:], self.score_in.bias)
        inner = torch.tanh(nn.functional.linear(encoded, weight[:, :hidden]) + from_state[:, None])
        logits = self.score_out(inner).squeeze(-1)
        return logits.masked_fill(~walk.valid[:, slot], float("-inf")), encoded

    def choose(self, walk: Walk, slot: int, index: torch.Tensor, encoded: torch.Tensor) -> None:
        """Advance ``walk`` past ``slot``: each row chose candidate ``index`` [N], whose
        encoding is ``encoded`` [N, H]."""
        walk.state = self.step(encoded, walk.state)
        walk.pair_sum = walk.pair_sum + walk.pairs[walk.owner, :, :, slot, index]

    def _walk(
        self,
        batch: Candidates,
        temperature: float,
        pick: Callable[[int, torch.Tensor], torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Choose slot by slot with ``pick(slot, log_probs) -> indices``; return the choices
        and their per-slot log probabilities."""
        size, slots = batch.mask.shape[:2]
        walk = self.begin(batch)
        device = batch.mask.device
        chosen = torch.full((size, slots), -1, dtype=torch.long, device=device)
        log_probs = torch.zeros(size, slots, device=device)
        rows = torch.arange(size, device=device)
        for slot in range(slots):
            logits, encoded = self.slot_logits(walk, slot)
            logp = torch.log_softmax(logits / temperature, dim=-1)
            index = pick(slot, logp)
            log_probs[:, slot] = logp[rows, index]
            chosen[:, slot] = index
            self.choose(walk, slot, index, encoded[rows, index])
        chosen = chosen.masked_fill(~batch.slots, -1)
        return chosen, log_probs

    def sample(
        self,
        batch: Candidates,
        temperature: float = 1.0,
        rng: torch.Generator | None = None,
        uniform: torch.Tensor | None = None,
    ) -> Combinations:
        """One combination per request, drawn from the policy by inverting each slot's
        distribution at ``uniform`` [B, S] (drawn from ``rng`` when not given)."""
        if uniform is None:
            uniform = torch.rand(batch.mask.shape[:2], generator=rng).to(batch.mask.device)

        def draw(slot: int, logp: torch.Tensor) -> torch.Tensor:
            cdf = logp.exp().cumsum(-1)
            target = (uniform[:, slot] * cdf[:, -1])[:, None]
            return torch.searchsorted(cdf, target, right=True).squeeze(-1)

        chosen, log_probs = self._walk(batch, temperature, draw)
        return Combinations(chosen, log_probs.exp(), log_probs.sum(-1).exp())

    def log_prob(
        self, batch: Candidates, choices: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """Per-slot log probabilities [B, S] of given ``choices`` (differentiable: the
        policy gradient's term)."""
        _, log_probs = self._walk(batch, temperature, lambda slot, _: choices[:, slot].clamp(0))
        return log_probs

    def top_k(
        self,
        batch: Candidates,
        k: int,
        temperature: float = 1.0,
        uniform: torch.Tensor | None = None,
    ) -> Combinations:
        """``k`` distinct combinations per request, ``choices`` [B, k, S]: the most probable
        (beam search), or with ``uniform`` noise [B, S, k, C] (see :func:`noise`) ``k`` draws
        without replacement, the first an exact draw from the policy. Probabilities are
        exact; rows past the number of combinations that exist get probability 0."""
        return beam_search(self, batch, k, temperature, uniform)


def noise(shape: tuple[int, int], k: int, seed: int) -> torch.Tensor:
    """The uniform noise [S, k, C] of one request's stochastic beam search: drawn from its
    own seed at its own shape, so a request gets the same draws in any batch."""
    rng = torch.Generator().manual_seed(seed)
    return torch.rand((shape[0], k, shape[1]), generator=rng).clamp(1e-12, 1 - 1e-7)


def _valid(mask: torch.Tensor) -> torch.Tensor:
    """[B, S, C] candidates that may be chosen; a request without a slot gets the one
    placeholder 0 there (probability 1, so it changes no product)."""
    missing = ~mask.any(dim=-1, keepdim=True)
    placeholder = torch.zeros_like(mask)
    placeholder[..., 0] = True
    return torch.where(missing, placeholder, mask)
