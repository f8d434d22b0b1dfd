"""What a marketer would never let through: the checks a finished variant must pass.

Each returns the reason a variant is dropped (never edited into shape), in this order:
offensive or abusive (alt-profanity-check, a maintained offline linear model trained on
human-labelled text), a sentence that runs the product down (VADER compound per sentence,
or a negation or complaint VADER misses: "isn't as soft"), a blocked word
(:func:`~adcraft.shared.copy_rules.words.blocked_words`: strongly negative or
body-shaming),
a garment the brief is not (:mod:`words`), an unverifiable scarcity or superlative claim
(``settings.claims``).

>>> screen = CopyScreen.from_settings(CopySettings())
>>> brief = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
>>> [screen(text, brief) for text in (
...     "A soft, easy dress for summer days. Shop it now.",
...     "The fabric isn't as soft as it was. Shop it now.",
...     "This jacket was the talk of the town. Shop it now.",
...     "Grab it before it sells out!",
...     "Say hello to your flabby blouse.",
... )]
[None, 'negative', 'wrong_product', 'claim', 'unsafe']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.postprocess import one_cta
from adcraft.shared.copy_rules.settings import CopySettings
from adcraft.shared.copy_rules.words import blocked_words, words_of, wrong_garments

OFFENSIVE, NEGATIVE, WRONG_PRODUCT, CLAIM = "offensive", "negative", "wrong_product", "claim"
UNSAFE = "unsafe"
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
# Reviews' ways of running a product down that VADER scores neutral ("soft" is not in its
# lexicon, so "isn't as soft" is 0.0). Ad copy has no use for a negation.
_COMPLAINT = re.compile(
    r"\b(?:not|never|no longer|nothing|cheap|itchy|scratchy|see-through|unflattering|"
    r"returned?|disappoint\w*|wish|too (?:small|big|tight|short|long|loose|thin))\b|n't\b",
    re.IGNORECASE,
)


def unsafe_words(text: str) -> set[str]:
    """The blocked words ``text`` uses."""
    return set(words_of(text)) & blocked_words()


def _offensive_model() -> Callable[[Sequence[str]], Sequence[float]]:
    """alt-profanity-check's model: scikit-learn is loaded when a screen is built, not when
    the copy rules are imported."""
    from profanity_check import predict_prob

    return predict_prob  # type: ignore[no-any-return]


class CopyScreen:
    """The screen of :func:`adcraft.shared.copy_rules.postprocess.variants`."""

    def __init__(self, claims: list[str], negative_below: float, offensive_above: float) -> None:
        self.claims = re.compile("|".join(f"(?:{c})" for c in claims), re.IGNORECASE)
        self.negative_below, self.offensive_above = negative_below, offensive_above
        self.vader = SentimentIntensityAnalyzer()
        self.offensive = _offensive_model()

    @classmethod
    def from_settings(cls, settings: CopySettings) -> CopyScreen:
        return cls(settings.claims, settings.negative_below, settings.offensive_above)

    def __call__(self, text: str, brief: CopyBrief) -> str | None:
        """Why ``text`` must not be served for ``brief``, or None."""
        if self.offensive([text])[0] > self.offensive_above:
            return OFFENSIVE
        if self.negative(text):
            return NEGATIVE
        if unsafe_words(text):
            return UNSAFE
        if wrong_garments(text, brief.product):
            return WRONG_PRODUCT
        if self.claims.search(text):
            return CLAIM
        return None

    def negative(self, text: str) -> bool:
        """Whether a sentence of ``text`` (its CTA aside) reads negative."""
        return any(
            _COMPLAINT.search(s) or self.vader.polarity_scores(s)["compound"] < self.negative_below
            for s in _SENTENCE.findall(one_cta(text)[0])
        )
