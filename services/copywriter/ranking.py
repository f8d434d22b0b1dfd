"""Write many, serve the best: which finished variants of a brief are kept.

First, a variant with a flaw a reader would see is not served at all (:func:`flaw`): it
names neither the product nor an attribute, repeats a word ("a friendly, friendly dress"),
or joins words with a hyphen the brief does not ("Love-lively"). Of the rest, a variant's
quality is its fluency (mean log-probability per token under the writing model:
grammatical, ordinary English scores high). Variants are then taken greedily, best first,
each next one the best quality less a penalty for the word pairs it shares with those
already taken, so the kept variants say different things.
"""

from __future__ import annotations

import re

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import allowed_garments, words_of

_COMPOUND = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+")
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


def flaw(text: str, brief: CopyBrief) -> str | None:
    """Why a finished variant reads badly, or None.

    >>> b = CopyBrief("fine-gauge sweater", "Tops", ("soft",), "adult", "warm", "direct")
    >>> [flaw(t, b) for t in ("A soft fine-gauge sweater. Shop now.", "Comfortable. Buy now.",
    ...                       "A soft, soft sweater. Buy now.", "Love-lively sweaters. Buy now.")]
    [None, 'off_brief', 'repeated_word', 'compound']
    """
    if not names_the_product(text, brief):
        return "off_brief"
    words = [w for w in words_of(text) if len(w) > 3]
    if len(words) != len(set(words)):
        return "repeated_word"
    own = " ".join(brief.fields()).lower()
    if any(c.lower() not in own for c in _COMPOUND.findall(text)):
        return "compound"
    return None


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


def best(texts: list[str], fluency: list[float], keep: int) -> list[int]:
    """Indices of the ``keep`` variants to serve, best first (see the module docstring).

    >>> texts = ["A soft dress. Shop now.", "A soft dress! Shop now.", "Hi there. Shop now."]
    >>> best(texts, [-2.0, -2.1, -2.5], 2)
    [0, 2]
    """
    chosen: list[int] = []
    left = list(range(len(texts)))
    while left and len(chosen) < keep:
        pick = max(
            left,
            key=lambda i: (
                fluency[i]
                - OVERLAP_PENALTY * max((overlap(texts[i], texts[j]) for j in chosen), default=0.0)
            ),
        )
        chosen.append(pick)
        left.remove(pick)
    return chosen
