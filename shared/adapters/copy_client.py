"""The copy models' async gRPC client; the contract it speaks is
:mod:`adcraft.shared.contract.copy_contract`, the tensors
:mod:`adcraft.shared.contract.copy_tensors`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import NamedTuple

import numpy as np

from adcraft.shared.adapters.triton_client import TritonClient
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.contract.copy_tensors import OUTPUTS, brief_inputs

MODEL = "copy_generator"
STREAM_MODEL = "copy_generator_stream"


class WrittenCopy(NamedTuple):
    """The variants written for one brief, and the version of the model that wrote them."""

    texts: list[str]
    novelty: list[float]
    tokens: int
    version: str


def written(
    texts: np.ndarray, scores: np.ndarray, tokens: np.ndarray, version: np.ndarray
) -> WrittenCopy:
    """One brief's row of COPY, NOVELTY, TOKENS and VERSION (padding left out)."""
    return WrittenCopy(
        [t.decode() for t in texts if t],
        [float(s) for t, s in zip(texts, scores, strict=True) if t],
        int(tokens[0]),
        version[0].decode(),
    )


class CopyClient:
    """Asks ``copy_generator`` for finished copy variants of a batch of briefs, or
    ``copy_generator_stream`` for one brief's copy as it is written."""

    def __init__(self, triton: TritonClient, timeout_s: float) -> None:
        self.triton, self.timeout_s = triton, timeout_s

    async def write(
        self,
        briefs: list[CopyBrief],
        variants: int = 1,
        max_tokens: int = 40,
        seeds: list[int] | None = None,
        timeout_s: float | None = None,
    ) -> list[WrittenCopy]:
        """Per brief, its variants (dropped ones left out) and tokens generated; a brief with
        a seed gets the same copy every time (post-processing aside, which remembers recent
        copy). ``timeout_s`` replaces the configured deadline."""
        result = await self.triton.infer(
            MODEL,
            brief_inputs(briefs, variants, max_tokens, seeds),
            list(OUTPUTS),
            timeout_s=timeout_s or self.timeout_s,
        )
        return [written(*row) for row in zip(*(result[name] for name in OUTPUTS), strict=True)]

    async def stream(
        self, brief: CopyBrief, seed: int | None = None, max_tokens: int = 40
    ) -> AsyncIterator[str | WrittenCopy]:
        """The text of one variant as the model writes it, piece by piece, then the finished
        copy (as :meth:`write` returns it for the same seed). Raises :class:`TritonError` on a
        model error or once the deadline for the whole stream has passed."""
        arrays = brief_inputs([brief], 1, max_tokens, None if seed is None else [seed])
        async with aclosing(self.triton.stream(STREAM_MODEL, arrays, self.timeout_s)) as results:
            async for result in results:
                text = result.as_numpy("TEXT")
                if text is None:  # the final response: the finished copy
                    yield written(*(result.as_numpy(name)[0] for name in OUTPUTS))
                    return
                yield text[0, 0].decode()
