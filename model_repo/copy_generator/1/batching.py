"""Triton request rows ↔ copy briefs and padded outputs; pure, so tests import it directly.

Imports numpy and :mod:`shared` only: the contract, not the model code behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from shared.copy_contract import MAX_VARIANTS, TEXT_INPUTS, CopyBrief, check


class Written(Protocol):
    """A finished variant (:class:`services.copywriter.postprocess.Variant`)."""

    @property
    def text(self) -> str: ...

    @property
    def novelty(self) -> float: ...


def briefs(
    arrays: dict[str, np.ndarray], max_tokens_cap: int
) -> tuple[list[CopyBrief], list[int], int]:
    """Briefs, variants per brief and the token budget of one request; ValueError names
    the first invalid field."""
    texts = [[v.decode() for v in arrays[name].reshape(-1)] for name in TEXT_INPUTS]
    out = [check(CopyBrief.from_fields(row)) for row in zip(*texts, strict=True)]
    variants = [int(n) for n in arrays["N_VARIANTS"].reshape(-1)]
    if any(not 1 <= n <= MAX_VARIANTS for n in variants):
        raise ValueError(f"N_VARIANTS must be within 1..{MAX_VARIANTS}")
    budget = [int(n) for n in arrays["MAX_TOKENS"].reshape(-1)]
    if any(n < 1 for n in budget):
        raise ValueError("MAX_TOKENS must be positive")
    return out, variants, min(max(budget), max_tokens_cap)


def pack(
    variants: Sequence[Sequence[Written]], tokens: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COPY and NOVELTY, one row per brief, padded with empty copy (and NaN novelty), and
    the tokens generated per brief."""
    width = max((len(row) for row in variants), default=0)
    copy = np.full((len(variants), width), b"", dtype=object)
    novelty = np.full((len(variants), width), np.nan, dtype=np.float32)
    for i, row in enumerate(variants):
        for j, variant in enumerate(row):
            copy[i, j] = variant.text.encode()
            novelty[i, j] = variant.novelty
    return copy, novelty, np.array(tokens, dtype=np.int32).reshape(-1, 1)
