"""Copy-quality metrics: sentiment, distinct-n, self-BLEU, CTA rate, length compliance.

>>> distinct_n(["soft knit top", "soft knit dress"], 2)
0.75
>>> round(self_bleu(["a soft knit top for you", "a soft knit top for me"]), 3)
0.809
"""

from __future__ import annotations

import math
from collections import Counter

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from adcraft.shared.copy_rules.cta import find_cta
from adcraft.shared.copy_rules.postprocess import word_ngrams

_VADER = SentimentIntensityAnalyzer()


def sentiment(texts: list[str]) -> float:
    """Mean VADER compound score (−1 … 1)."""
    return sum(_VADER.polarity_scores(t)["compound"] for t in texts) / max(len(texts), 1)


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct n-grams over all n-grams of all texts (Li et al., 2016)."""
    grams = [g for t in texts for g in word_ngrams(t, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def mean_words(texts: list[str]) -> float:
    """Mean number of words per text."""
    return sum(len(word_ngrams(t, 1)) for t in texts) / max(len(texts), 1)


def bleu(hypothesis: str, references: list[str], max_n: int = 4) -> float:
    """Sentence BLEU with add-one smoothing of the n-gram precisions."""
    hyp_len = len(word_ngrams(hypothesis, 1))
    if hyp_len == 0:
        return 0.0
    log_precision = 0.0
    for n in range(1, max_n + 1):
        counts = Counter(word_ngrams(hypothesis, n))
        best: Counter[tuple[str, ...]] = Counter()
        for reference in references:
            best |= Counter(word_ngrams(reference, n))
        matched = sum(min(c, best[g]) for g, c in counts.items())
        log_precision += math.log((matched + 1) / (sum(counts.values()) + 1)) / max_n
    ref_len = min((len(word_ngrams(r, 1)) for r in references), key=lambda x: abs(x - hyp_len))
    brevity = min(1.0, math.exp(1 - ref_len / hyp_len))
    return brevity * math.exp(log_precision)


def self_bleu(texts: list[str]) -> float:
    """Mean BLEU of each text against all the others (lower = more diverse)."""
    if len(texts) < 2:
        return 0.0
    return sum(bleu(t, texts[:i] + texts[i + 1 :]) for i, t in enumerate(texts)) / len(texts)


def cta_rate(texts: list[str]) -> float:
    """Share of texts containing a call to action."""
    return sum(find_cta(t) is not None for t in texts) / max(len(texts), 1)


def length_compliance(texts: list[str], limits: list[int]) -> float:
    """Share of non-empty texts within their placement's limit."""
    ok = sum(0 < len(t) <= limit for t, limit in zip(texts, limits, strict=True))
    return ok / max(len(texts), 1)


def matched_distinct_2(messages: list[str], words: int) -> float:
    """Distinct-2 of ``messages`` each cut to its first ``words`` words, so that longer copy
    does not look more diverse just by being longer (shorter messages are left out).

    >>> matched_distinct_2(["soft knit top for you", "soft knit dress", "a b"], 3)
    0.75
    """
    cut = [" ".join(w[:words]) for m in messages if len(w := m.split()) >= words]
    return distinct_n(cut, 2)


def variant_diversity(groups: list[list[str]]) -> tuple[float, float]:
    """Mean distinct-2 and mean self-BLEU within each group of variants (of one brief);
    groups of fewer than two are left out."""
    several = [g for g in groups if len(g) > 1]
    if not several:
        return 0.0, 0.0
    return (
        sum(distinct_n(g, 2) for g in several) / len(several),
        sum(self_bleu(g) for g in several) / len(several),
    )


def share(flags: list[bool]) -> float:
    """The share of true ``flags`` (0 for none)."""
    return sum(flags) / max(len(flags), 1)
