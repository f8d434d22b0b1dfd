"""The copy model's async gRPC client; the contract it speaks is :mod:`shared.copy_contract`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from shared.copy_contract import TEXT_INPUTS, CopyBrief
from shared.triton_client import TritonClient

MODEL = "copy_generator"


class WrittenCopy(NamedTuple):
    """The variants written for one brief."""

    texts: list[str]
    novelty: list[float]
    tokens: int


def brief_inputs(briefs: list[CopyBrief], variants: int, max_tokens: int) -> dict[str, np.ndarray]:
    """Triton input tensors for a batch of briefs."""
    rows = [brief.fields() for brief in briefs]
    inputs = {
        name: np.array([[row[i].encode()] for row in rows], dtype=object)
        for i, name in enumerate(TEXT_INPUTS)
    }
    inputs["N_VARIANTS"] = np.full((len(briefs), 1), variants, dtype=np.int32)
    inputs["MAX_TOKENS"] = np.full((len(briefs), 1), max_tokens, dtype=np.int32)
    return inputs


class CopyClient:
    """Asks ``copy_generator`` for finished copy variants of a batch of briefs."""

    def __init__(self, triton: TritonClient, timeout_s: float) -> None:
        self.triton, self.timeout_s = triton, timeout_s

    async def write(
        self, briefs: list[CopyBrief], variants: int = 1, max_tokens: int = 40
    ) -> list[WrittenCopy]:
        """Per brief, its variants (dropped near-duplicates left out) and tokens generated."""
        result = await self.triton.infer(
            MODEL,
            brief_inputs(briefs, variants, max_tokens),
            ["COPY", "NOVELTY", "TOKENS"],
            timeout_s=self.timeout_s,
        )
        return [
            WrittenCopy(
                [t.decode() for t in texts if t],
                [float(s) for t, s in zip(texts, scores, strict=True) if t],
                int(tokens[0]),
            )
            for texts, scores, tokens in zip(
                result["COPY"], result["NOVELTY"], result["TOKENS"], strict=True
            )
        ]
