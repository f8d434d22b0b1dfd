"""The state of a policy's walk over slots, shared by sampling and beam search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from adcraft.services.combinations.candidates import Candidates


@dataclass
class Walk:
    """A walk in progress over a batch's slots, one row per request or beam (``owner``
    names its request): what the choices do not change (per request ``pairs`` and
    ``projected`` features, kept once however many beams; per row ``ahead`` and ``valid``),
    the recurrent ``state``, and each candidate's summed pair weight with what the row
    chose."""

    owner: torch.Tensor
    pairs: torch.Tensor
    projected: torch.Tensor
    ahead: torch.Tensor
    valid: torch.Tensor
    state: torch.Tensor
    pair_sum: torch.Tensor

    def take(self, rows: torch.Tensor) -> None:
        """Keep rows ``rows``: beams of the same requests, reordered within each."""
        self.state, self.pair_sum = self.state[rows], self.pair_sum[rows]


class SlotPolicy(Protocol):
    """A policy that chooses slot by slot: what sampling and beam search walk with."""

    def begin(self, batch: Candidates, copies: int = 1) -> Walk:
        """The walk before the first slot, with ``copies`` rows per request."""
        ...

    def slot_logits(self, walk: Walk, slot: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked logits [N, C] of ``slot``'s candidates, and their encodings."""
        ...

    def choose(self, walk: Walk, slot: int, index: torch.Tensor, encoded: torch.Tensor) -> None:
        """Advance ``walk`` past ``slot`` with each row's choice ``index``."""
        ...
