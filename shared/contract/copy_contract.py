"""The copy model's contract: what a brief is, which briefs are valid, how one travels.

The one definition of the tones, CTA styles, placements and segments a brief may name;
the prompt and CTA wording tables are keyed by these names. Light on purpose (no torch,
no transformers): the Triton model, its client and the request path import it.

>>> brief = CopyBrief("dress", "Dresses", ("soft", "flowy"), "adult", "warm", "direct")
>>> CopyBrief.from_fields(brief.fields()) == brief
True
>>> check(brief._replace(tone="sarcastic"))
Traceback (most recent call last):
...
ValueError: TONE must be one of ['bold', 'elegant', 'warm'], got 'sarcastic'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from adcraft.shared.contract.segments import (
    SEGMENTS as SEGMENTS,
)  # re-exported: part of the contract
from adcraft.shared.contract.text import usable_fact
from adcraft.shared.copy_rules.settings import CopySettings

TONES = ("bold", "elegant", "warm")
CTA_STYLES = ("direct", "soft", "urgent")
PLACEMENTS = ("headline", "description")
TEXT_INPUTS = (
    "PRODUCT",
    "DEPARTMENT",
    "ATTRIBUTES",
    "SEGMENT",
    "TONE",
    "CTA_STYLE",
    "PLACEMENT",
    "HIGHLIGHT",
)
MAX_VARIANTS = 8


class CopyBrief(NamedTuple):
    """What to write about, for whom, and how."""

    product: str
    department: str
    attributes: tuple[str, ...]
    segment: str
    tone: str
    cta_style: str
    placement: str = "description"
    highlight: str = ""  # what reviews praise, completing "made ...": "for work", "with pockets"

    def fields(self) -> tuple[str, ...]:
        """The text inputs, in ``TEXT_INPUTS`` order (attributes comma-separated)."""
        return (
            self.product,
            self.department,
            ",".join(self.attributes),
            self.segment,
            self.tone,
            self.cta_style,
            self.placement,
            self.highlight,
        )

    @classmethod
    def from_fields(cls, texts: Sequence[str]) -> CopyBrief:
        """The brief whose :meth:`fields` are ``texts`` (blank attributes dropped)."""
        product, department, attributes, *rest = texts
        attrs = tuple(a.strip() for a in attributes.split(",") if a.strip())
        return cls(product, department, attrs, *rest)


def check(brief: CopyBrief) -> CopyBrief:
    """``brief`` when it is valid; else ValueError naming the first invalid field. Product
    facts that read as markup or as an instruction to a model never reach a prompt.

    The segment is not checked: a brief for an unknown segment gets a generic persona.

    >>> check(CopyBrief("dress", "Dresses", ("<script>",), "adult", "warm", "direct"))
    Traceback (most recent call last):
    ...
    ValueError: ATTRIBUTES reads as markup or an instruction, not a product fact
    """
    if not brief.product.strip():
        raise ValueError("PRODUCT must not be empty")
    facts = [("PRODUCT", brief.product), ("DEPARTMENT", brief.department)]
    facts += [("ATTRIBUTES", a) for a in brief.attributes] + [("HIGHLIGHT", brief.highlight)]
    for name, fact in facts:
        if not usable_fact(fact):
            raise ValueError(f"{name} reads as markup or an instruction, not a product fact")
    for name, value, allowed in (
        ("TONE", brief.tone, TONES),
        ("CTA_STYLE", brief.cta_style, CTA_STYLES),
        ("PLACEMENT", brief.placement, PLACEMENTS),
    ):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return brief


def placement_limits(settings: CopySettings) -> dict[str, int]:
    """The most characters copy may have, per placement.

    >>> placement_limits(CopySettings())
    {'headline': 45, 'description': 90}
    """
    return {
        "headline": settings.headline_max_chars,
        "description": settings.description_max_chars,
    }
