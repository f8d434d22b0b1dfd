"""Call-to-action styles: how each is phrased, and finding a CTA in text.

A CTA is an imperative sentence (verb first) such as "Grab yours today!". The requested
style is a conditioning signal: prompts name it, training targets end with a CTA of that
style, and post-processing inserts one when the model left it out. The styles are
:mod:`shared.copy_contract`'s ``CTA_STYLES``; ``STYLES`` phrases each.

>>> find_cta("Soft and light. Grab yours before it sells out!")
'Grab yours before it sells out!'
>>> find_cta("Shoppers see it everywhere.") is None
True
>>> compose("soft", "product-42")
'Try this look and feel your best.'
>>> compose("urgent", "product-42", limit=16)
'Snag it now!'
"""

from __future__ import annotations

import functools
import re
import zlib

STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (imperative verbs, endings); an object ("yours", "your <product>") goes between.
    # Many phrasings per style: the same few CTAs on every ad read as boilerplate.
    "urgent": (
        ("Grab", "Snag", "Claim", "Order", "Score"),
        (
            "now!",
            "today!",
            "before it's gone!",
            "while it lasts!",
            "before it sells out!",
            "while sizes last!",
            "before the weekend!",
            "while the best sizes last!",
        ),
    ),
    "soft": (
        ("Discover", "Explore", "See", "Find", "Try"),
        (
            "today.",
            "this season.",
            "at your own pace.",
            "in the new collection.",
            "and feel your best.",
            "for your next favorite outfit.",
            "whenever you're ready.",
            "for easy, happy days.",
        ),
    ),
    "direct": (
        ("Shop", "Buy", "Get", "Order"),
        (
            "now.",
            "today.",
            "online.",
            "in your size.",
            "in your favorite color.",
            "for the perfect fit.",
            "and wear it this weekend.",
            "for easy everyday style.",
        ),
    ),
}
OBJECTS = ("yours", "it", "one", "this look")
_VERBS = sorted({verb for verbs, _ in STYLES.values() for verb in verbs} | {"Don't miss"})
_CTA = re.compile(rf"(?:^|(?<=[.!?:]\s))({'|'.join(_VERBS)})\b[^.!?\n]*[.!?]?", re.IGNORECASE)


def find_cta(text: str) -> str | None:
    """The last call to action in ``text``: a sentence that starts with a CTA verb."""
    matches = list(_CTA.finditer(text.strip()))
    return matches[-1].group(0).strip() if matches else None


def split_closing(text: str) -> tuple[str, str | None]:
    """``text`` as (body, the CTA that closes it); (text, None) when none closes it.

    >>> split_closing("So soft and light. Grab yours today!")
    ('So soft and light.', 'Grab yours today!')
    >>> split_closing("Grab yours today! So soft and light.")
    ('Grab yours today! So soft and light.', None)
    """
    text = text.rstrip()
    found = find_cta(text)
    if found is None or not text.endswith(found):
        return text, None
    return text[: -len(found)].rstrip(), found


def compose(style: str, key: str, limit: int | None = None, product: str | None = None) -> str:
    """A CTA of ``style`` chosen deterministically by ``key`` among the phrasings within
    ``limit`` (the object may name ``product``); the shortest phrasing when none fits."""
    phrases = _phrasings(style, product)
    fitting = [p for p in phrases if limit is None or len(p) <= limit] or [min(phrases, key=len)]
    return fitting[zlib.crc32(key.encode()) % len(fitting)]


@functools.lru_cache(maxsize=256)
def _phrasings(style: str, product: str | None) -> tuple[str, ...]:
    """Every phrasing of ``style`` (verb, then object, then ending order)."""
    verbs, endings = STYLES[style]
    objects = OBJECTS if product is None else (*OBJECTS, f"your {product}", f"this {product}")
    return tuple(f"{verb} {obj} {end}" for verb in verbs for obj in objects for end in endings)
