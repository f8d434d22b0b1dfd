"""The combination generator's async gRPC client; the tensors it speaks are
:mod:`adcraft.shared.contract.combination_contract`."""

from __future__ import annotations

from typing import NamedTuple

from adcraft.shared.adapters.triton_client import TritonClient
from adcraft.shared.contract.combination_contract import MODEL, OUTPUTS, Proposal, pack, unpack
from adcraft.shared.contract.posteriors import AdPosterior
from adcraft.shared.runtime.connections import TritonSettings


class Proposed(NamedTuple):
    """Per ad, its proposals (the first is the one to serve), and the weights' version."""

    proposals: list[list[Proposal]]
    version: str


class CombinationClient:
    """Asks ``combination_generator`` for K distinct combinations of each ad; every request
    is padded to the configured shape so Triton can batch requests of different ads."""

    def __init__(self, triton: TritonClient, settings: TritonSettings) -> None:
        self.triton = triton
        self.shape = (settings.combos_slots, settings.combos_candidates)
        self.timeout_s = settings.combos_timeout_s

    async def propose(
        self,
        posteriors: list[AdPosterior],
        k: int,
        temperature: float = 1.0,
        seed: int = -1,
        timeout_s: float | None = None,
    ) -> Proposed:
        """``k`` combinations per ad: drawn without replacement from the policy when ``seed``
        ≥ 0 (the first is the policy's draw), else the most probable. Raises
        :class:`TritonError` past the deadline (``timeout_s``, else the configured one) or
        on a model error, and :class:`ValueError` before any call if an ad has more slots or
        candidates than the configured shape."""
        arrays, layouts = pack(posteriors, self.shape, k, temperature, seed)
        result = await self.triton.infer(
            MODEL, arrays, list(OUTPUTS), timeout_s=timeout_s or self.timeout_s
        )
        return Proposed(unpack(result, layouts), result["VERSION"][0][0].decode())
