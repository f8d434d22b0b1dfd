"""The copy models' tensors, as Triton serves them: briefs → request rows for the client,
request rows → briefs and written variants → padded outputs for the models.

Light on purpose (numpy and :mod:`adcraft.shared.contract.copy_contract` only): both Triton adapters
(``copy_generator``, batched, and ``copy_generator_stream``) and the client share this one
definition without importing torch or transformers. ``SEED`` is optional: a brief without
one is sampled from the model process's RNG.

>>> brief = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
>>> parse(brief_inputs([brief], 2, 64, seeds=[7]), max_tokens_cap=40)  # doctest: +ELLIPSIS
CopyRequest(briefs=[CopyBrief(product='dress', ...)], variants=[2], budget=40, seeds=[7])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from adcraft.shared.contract.copy_contract import MAX_VARIANTS, TEXT_INPUTS, CopyBrief, check

INPUTS = (*TEXT_INPUTS, "N_VARIANTS", "MAX_TOKENS", "SEED")
OUTPUTS = ("COPY", "NOVELTY", "TOKENS", "VERSION")


class CopyRequest(NamedTuple):
    """One Triton request: its briefs, variants and seed per brief, and its token budget."""

    briefs: list[CopyBrief]
    variants: list[int]
    budget: int
    seeds: list[int | None]


class Written(Protocol):
    """A finished variant (:class:`adcraft.shared.copy_rules.postprocess.Variant`)."""

    @property
    def text(self) -> str: ...

    @property
    def novelty(self) -> float: ...


def brief_inputs(
    briefs: list[CopyBrief], variants: int, max_tokens: int, seeds: list[int] | None = None
) -> dict[str, np.ndarray]:
    """Input tensors for a batch of briefs (``SEED`` only when ``seeds`` are given)."""
    rows = [brief.fields() for brief in briefs]
    inputs = {
        name: np.array([[row[i].encode()] for row in rows], dtype=object)
        for i, name in enumerate(TEXT_INPUTS)
    }
    inputs["N_VARIANTS"] = np.full((len(briefs), 1), variants, dtype=np.int32)
    inputs["MAX_TOKENS"] = np.full((len(briefs), 1), max_tokens, dtype=np.int32)
    if seeds is not None:
        inputs["SEED"] = np.array(seeds, dtype=np.int64).reshape(-1, 1)
    return inputs


def read(request: object, get_input: Callable[[object, str], Any]) -> dict[str, np.ndarray]:
    """A Triton request's input arrays (``get_input`` is
    ``pb_utils.get_input_tensor_by_name``); an absent optional input is left out."""
    tensors = {name: get_input(request, name) for name in INPUTS}
    return {name: tensor.as_numpy() for name, tensor in tensors.items() if tensor is not None}


def parse(
    arrays: dict[str, np.ndarray], max_tokens_cap: int, max_variants: int = MAX_VARIANTS
) -> CopyRequest:
    """The request in ``arrays``; its budget is its largest ``MAX_TOKENS``, capped.
    ValueError names the first invalid field."""
    texts = [[v.decode() for v in arrays[name].reshape(-1)] for name in TEXT_INPUTS]
    briefs = [check(CopyBrief.from_fields(row)) for row in zip(*texts, strict=True)]
    variants = [int(n) for n in arrays["N_VARIANTS"].reshape(-1)]
    if any(not 1 <= n <= max_variants for n in variants):
        raise ValueError(f"N_VARIANTS must be within 1..{max_variants}")
    budget = [int(n) for n in arrays["MAX_TOKENS"].reshape(-1)]
    if any(n < 1 for n in budget):
        raise ValueError("MAX_TOKENS must be positive")
    seeds: list[int | None] = [None] * len(briefs)
    if "SEED" in arrays:
        seeds = [int(s) for s in arrays["SEED"].reshape(-1)]
    return CopyRequest(briefs, variants, min(max(budget), max_tokens_cap), seeds)


def pack(
    variants: Sequence[Sequence[Written]], tokens: list[int], version: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """COPY and NOVELTY, one row per brief, padded with empty copy (and NaN novelty), the
    tokens generated per brief and the version of the model that wrote them."""
    width = max((len(row) for row in variants), default=0)
    copy = np.full((len(variants), width), b"", dtype=object)
    novelty = np.full((len(variants), width), np.nan, dtype=np.float32)
    for i, row in enumerate(variants):
        for j, variant in enumerate(row):
            copy[i, j] = variant.text.encode()
            novelty[i, j] = variant.novelty
    rows = len(variants)
    versions = np.full((rows, 1), version.encode(), dtype=object)
    return copy, novelty, np.array(tokens, dtype=np.int32).reshape(-1, 1), versions
