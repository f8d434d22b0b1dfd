"""Word lists the copy is checked against: English words, and the garments products are.

English is pyspellchecker's offline dictionary (MIT; word frequencies from OpenSubtitles)
plus the shop's own vocabulary (``SHOP_WORDS``), so "bralette" is a word and "leggens" is
not. Copy never uses a blocked word (:func:`blocked_words`): VADER's strongly negative
words and the body-shaming ones below. Garments come in groups of names that may stand for
one another: a "knit top" may be called a tee, never a dress.

>>> sorted(garments_in("Dress it up or down: this tee pairs with any skirt."))
['skirt', 'tee']
>>> sorted(allowed_garments("knit top"))[:4]
['blouse', 'blouses', 'cami', 'camisole']
>>> wrong_garments("A soft tee for warm days.", "knit top"), wrong_garments("A jacket.", "dress")
(set(), {'jacket'})
"""

from __future__ import annotations

import functools
import re

from spellchecker import SpellChecker

GARMENT_GROUPS = (
    ("top", "tops", "tee", "tees", "shirt", "shirts", "tank", "cami", "camisole", "tunic", "knit"),
    ("blouse", "blouses", "top", "tops", "shirt", "shirts", "tunic"),
    ("sweater", "sweaters", "cardigan", "cardigans", "pullover", "knit", "jumper"),
    ("dress", "dresses", "sundress", "gown"),
    ("pants", "trousers", "joggers"),
    ("jeans", "denim"),
    ("skirt", "skirts"),
    ("jacket", "jackets", "coat", "coats", "blazer", "blazers", "parka", "vest"),
    ("lounge", "joggers", "sweatpants", "hoodie", "sweatshirt"),
    ("swimsuit", "swimsuits", "bikini", "swimwear"),
    ("shorts",),
    ("sleep", "pajamas", "pajama", "sleepwear", "robe"),
    ("leggings", "tights"),
    ("bralette", "bralettes", "bra", "bras", "lingerie"),
    ("chemise", "slip", "nightgown"),
    ("romper", "jumpsuit", "kimono", "poncho", "bodysuit"),
)
GARMENTS = frozenset(word for group in GARMENT_GROUPS for word in group)
SHOP_WORDS = frozenset(
    {"bralette", "bralettes", "cami", "flowy", "drapey", "comfy", "trend", "led", "chemise"}
)
# Words that shame a body (none is in VADER's lexicon, several are in the dictionary).
BODY_SHAMING = frozenset(
    {
        "fat", "fatty", "fatter", "flab", "flabby", "blubber", "chubby", "plump", "pudgy",
        "obese", "overweight", "frumpy", "frumpish", "dumpy", "saggy", "sagging", "lumpy",
        "bulge", "bulges", "bulging", "cellulite", "paunch", "portly", "hefty", "stout",
        "jiggle", "jiggly", "flaws", "flaw", "unflattering", "whale", "hippo", "heifer",
        "tummy", "belly", "thighs", "gross", "ugly", "hideous",
    }
)  # fmt: skip
STRONGLY_NEGATIVE = -1.5  # VADER valence at or below which a word is never written
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Garment names used as verbs or idioms: "dress it up", "on top of", "top off".
_IDIOMS = re.compile(
    r"\bdress(?:es|ed|ing)?(?: it| them)? (?:up|down)\b|\b(?:on|at|to) top\b|\btop (?:off|notch)\b"
)


def words_of(text: str) -> list[str]:
    """Lower-cased words of ``text`` (hyphenated words split, apostrophes kept)."""
    return _WORD.findall(text.lower())


def garments_in(text: str) -> set[str]:
    """Garment names ``text`` uses as nouns."""
    return set(words_of(_IDIOMS.sub(" ", text.lower()))) & GARMENTS


@functools.lru_cache(maxsize=256)
def allowed_garments(product: str) -> frozenset[str]:
    """Names copy may call ``product`` by; every garment when it names none ("statement
    piece")."""
    named = set(words_of(product))
    groups = [set(group) for group in GARMENT_GROUPS if named & set(group)]
    return frozenset(set().union(*groups)) if groups else GARMENTS


def wrong_garments(text: str, product: str) -> set[str]:
    """Garments ``text`` names that ``product`` is not."""
    return garments_in(text) - allowed_garments(product)


@functools.cache
def blocked_words() -> frozenset[str]:
    """Words copy never uses: VADER's lexicon words of valence at most ``STRONGLY_NEGATIVE``
    (insults, harm, disgust: "ugly", "fake", "sick"), and ``BODY_SHAMING``.

    >>> {"ugly", "flabby", "kill"} <= blocked_words() and not {"loose", "no"} & blocked_words()
    True
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = SentimentIntensityAnalyzer().lexicon
    negative = {w for w, valence in lexicon.items() if valence <= STRONGLY_NEGATIVE}
    return frozenset({w for w in negative if _WORD.fullmatch(w)} | BODY_SHAMING)


@functools.cache
def dictionary_words(min_count: int = 100) -> frozenset[str]:
    """The dictionary's words seen at least ``min_count`` times (its rarer entries are
    mostly misspellings and names), with the shop's and the garments."""
    counts = SpellChecker().word_frequency.dictionary
    common = {w for w, n in counts.items() if n >= min_count and _WORD.fullmatch(w)}
    return frozenset(common | SHOP_WORDS | GARMENTS)


class Lexicon:
    """English words (the offline dictionary) and the shop's vocabulary."""

    def __init__(self, extra: frozenset[str] = frozenset()) -> None:
        self.checker = SpellChecker()
        self.extra = SHOP_WORDS | GARMENTS | extra

    def invented(self, text: str) -> list[str]:
        """The words of ``text`` that are neither English nor the shop's."""
        words = [w for w in words_of(text) if w not in self.extra]
        unknown = self.checker.unknown(words)
        return [w for w in words if w in unknown]
