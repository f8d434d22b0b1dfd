"""Write many, serve the best: which finished variants of a brief are kept.

A variant's quality is its fluency (mean log-probability per token under the writing
model: grammatical, ordinary English scores high) plus a bonus when it names the product
or one of its attributes (on brief). Variants are then taken greedily, best first, each
next one the best quality less a penalty for the word pairs it shares with those already
taken, so the kept variants say different things.
"""

from __future__ import annotations

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import allowed_garments, words_of

ON_BRIEF_BONUS = 1.0  # in nats per token: naming the product outweighs most fluency gaps
OVERLAP_PENALTY = 2.0  # per unit of bigram overlap (Jaccard) with a kept variant


def names_the_product(text: str, brief: CopyBrief) -> bool:
    """Whether ``text`` names the brief's product (or a name it goes by) or an attribute.

    >>> brief = CopyBrief("knit top", "Tops", ("soft",), "adult", "warm", "direct")
    >>> names_the_product("A soft tee for warm days.", brief), names_the_product("Hi.", brief)
    (True, False)
    """
    named = (set(words_of(brief.product)) - {"pair", "of"}) | set(brief.attributes)
    if allowed_garments(brief.product) != allowed_garments("piece"):
        named |= allowed_garments(brief.product)
    return bool(set(words_of(text)) & named)


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = words_of(text)
    return set(zip(words, words[1:], strict=False))


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' word bigrams.

    >>> overlap("a soft dress", "a soft dress"), overlap("a soft dress", "shop it now")
    (1.0, 0.0)
    """
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def best(texts: list[str], fluency: list[float], brief: CopyBrief, keep: int) -> list[int]:
    """Indices of the ``keep`` variants to serve, best first (see the module docstring).

    >>> brief = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
    >>> texts = ["A soft dress. Shop now.", "A soft dress! Shop now.", "Hi there. Shop now."]
    >>> best(texts, [-2.0, -2.1, -1.0], brief, 2)
    [0, 2]
    """
    quality = [
        f + ON_BRIEF_BONUS * names_the_product(t, brief)
        for t, f in zip(texts, fluency, strict=True)
    ]
    chosen: list[int] = []
    left = list(range(len(texts)))
    while left and len(chosen) < keep:
        pick = max(
            left,
            key=lambda i: (
                quality[i]
                - OVERLAP_PENALTY * max((overlap(texts[i], texts[j]) for j in chosen), default=0.0)
            ),
        )
        chosen.append(pick)
        left.remove(pick)
    return chosen
