"""Call-to-action styles: how each is phrased, and finding a CTA in text.

A CTA is an imperative sentence (verb first) such as "Grab yours today!". The requested
style is a conditioning signal: prompts name it, training targets end with a CTA of that
style, and post-processing inserts one when the model left it out.

>>> find_cta("Soft and light. Grab yours before it sells out!")
'Grab yours before it sells out!'
>>> find_cta("Shoppers see it everywhere.") is None
True
>>> compose("soft", "product-42")
'Discover this look at your own pace.'
>>> compose("urgent", "product-42", limit=16)
'Grab it now!'
"""

from __future__ import annotations

import re
import zlib

STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (imperative verbs, endings); an object ("yours", "your <product>") goes between
    "urgent": (
        ("Grab", "Snag", "Claim", "Order"),
        ("now!", "today!", "before it's gone!", "while it lasts!", "before it sells out!"),
    ),
    "soft": (
        ("Discover", "Explore", "See", "Find"),
        ("today.", "this season.", "at your own pace.", "in the new collection."),
    ),
    "direct": (
        ("Shop", "Buy", "Get", "Order"),
        ("now.", "today.", "online.", "in your size."),
    ),
}
OBJECTS = ("yours", "it", "one", "this look")
_VERBS = sorted({verb for verbs, _ in STYLES.values() for verb in verbs} | {"Don't miss"})
_CTA = re.compile(rf"(?:^|(?<=[.!?:]\s))({'|'.join(_VERBS)})\b[^.!?\n]*[.!?]?", re.IGNORECASE)


def find_cta(text: str) -> str | None:
    """The last call to action in ``text``: a sentence that starts with a CTA verb."""
    matches = list(_CTA.finditer(text.strip()))
    return matches[-1].group(0).strip() if matches else None


def compose(style: str, key: str, limit: int | None = None, product: str | None = None) -> str:
    """A CTA of ``style`` chosen deterministically by ``key`` (the object may name
    ``product``); the shortest form of the style when it would exceed ``limit``."""
    verbs, endings = STYLES[style]
    h = zlib.crc32(key.encode())
    objects = OBJECTS if product is None else (*OBJECTS, f"your {product}")
    verb, obj, end = (
        verbs[h % len(verbs)],
        objects[h // 7 % len(objects)],
        endings[h // 61 % len(endings)],
    )
    phrase = f"{verb} {obj} {end}"
    if limit is not None and len(phrase) > limit:
        phrase = f"{min(verbs, key=len)} it {min(endings, key=len)}"
    return phrase
