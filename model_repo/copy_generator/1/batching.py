"""Triton request rows ↔ copy briefs and padded outputs; pure, so tests import it directly."""

from __future__ import annotations

import numpy as np

from services.copywriter.cta import STYLES
from services.copywriter.postprocess import Variant
from services.copywriter.prompts import PLACEMENTS, TONES
from shared.copy_client import TEXT_INPUTS, CopyBrief

MAX_VARIANTS = 8


def briefs(
    arrays: dict[str, np.ndarray], max_tokens_cap: int
) -> tuple[list[CopyBrief], list[int], int]:
    """Briefs, variants per brief and the token budget of one request; ValueError names
    the first invalid field."""
    texts = {name: [v.decode() for v in arrays[name].reshape(-1)] for name in TEXT_INPUTS}
    rows = len(texts["PRODUCT"])
    out = []
    for i in range(rows):
        product, department, attributes, segment, tone, style, placement, highlight = (
            texts[name][i] for name in TEXT_INPUTS
        )
        if not product.strip():
            raise ValueError("PRODUCT must not be empty")
        if tone not in TONES:
            raise ValueError(f"TONE must be one of {sorted(TONES)}, got {tone!r}")
        if style not in STYLES:
            raise ValueError(f"CTA_STYLE must be one of {sorted(STYLES)}, got {style!r}")
        if placement not in PLACEMENTS:
            raise ValueError(f"PLACEMENT must be one of {list(PLACEMENTS)}, got {placement!r}")
        attrs = tuple(a.strip() for a in attributes.split(",") if a.strip())
        out.append(
            CopyBrief(product, department, attrs, segment, tone, style, placement, highlight)
        )
    variants = [int(n) for n in arrays["N_VARIANTS"].reshape(-1)]
    if any(not 1 <= n <= MAX_VARIANTS for n in variants):
        raise ValueError(f"N_VARIANTS must be within 1..{MAX_VARIANTS}")
    budget = [int(n) for n in arrays["MAX_TOKENS"].reshape(-1)]
    if any(n < 1 for n in budget):
        raise ValueError("MAX_TOKENS must be positive")
    return out, variants, min(max(budget), max_tokens_cap)


def pack(
    variants: list[list[Variant]], tokens: list[int]
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
