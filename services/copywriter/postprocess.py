"""Post-processing of generated copy: pure functions, no model and no I/O.

Order: take the first line, strip banned terms, make sure a call to action is present
(insert one of the requested style if not), fit the placement's length limit (the body is
shortened after a clause or at a word, the CTA kept), then drop near-duplicates of recent copy.

>>> rules = CopyRules(limits={"description": 70}, banned=("guaranteed",))
>>> finish("Guaranteed soft knit that drapes beautifully all day long\\nmore", "direct",
...        "description", rules, key="p1")
'Soft knit that drapes beautifully all day long. Shop yours today.'
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from services.copywriter.cta import compose, find_cta, split_closing
from shared.copy_contract import CopyBrief, placement_limits
from shared.settings import CopySettings

T = TypeVar("T")

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9']+")
_CLAUSE_END = re.compile(r"[.!?,;:](?=\s)")


@dataclass(frozen=True)
class CopyRules:
    """Per-placement character limits, banned (compliance) terms, duplicate threshold."""

    limits: dict[str, int] = field(default_factory=lambda: placement_limits(CopySettings()))
    banned: tuple[str, ...] = ()
    duplicate_similarity: float = 0.8

    @classmethod
    def from_settings(cls, settings: CopySettings) -> CopyRules:
        return cls(
            limits=placement_limits(settings),
            banned=tuple(settings.banned_terms),
            duplicate_similarity=settings.duplicate_similarity,
        )

    def banned_pattern(self) -> re.Pattern[str] | None:
        if not self.banned:
            return None
        words = "|".join(re.escape(term) for term in sorted(self.banned, key=len, reverse=True))
        return re.compile(rf"\b({words})\b[,;:]?\s*", re.IGNORECASE)


def first_line(raw: str) -> str:
    """The first non-empty line, without wrapping quotes, whitespace collapsed."""
    for line in raw.splitlines():
        text = _SPACES.sub(" ", line).strip().strip('"').strip()
        if text:
            return text
    return ""


def remove_banned(text: str, rules: CopyRules) -> str:
    """``text`` without banned terms (whole words, any case), re-capitalised."""
    pattern = rules.banned_pattern()
    if pattern is None:
        return text
    cleaned = _SPACES.sub(" ", pattern.sub("", text)).strip()
    return cleaned[:1].upper() + cleaned[1:]


def fit(text: str, cta: str, limit: int) -> str:
    """``text`` ending with a call to action within ``limit`` characters: its own CTA when
    it ends with one, else ``cta``; the body is :func:`cut` to fit."""
    head, own = split_closing(text)
    body, cta = (head, own) if own is not None and len(own) < limit else (text, cta)
    room = limit - len(cta) - 2  # a closing stop and a space
    if len(body) > room:
        body = cut(body, max(room, 0))
    body = body.rstrip(" ,;:-–")
    if body and body[-1] not in ".!?":
        body += "."
    return f"{body} {cta}" if body else cta[:limit]


def cut(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` characters: after the last clause that keeps at
    least half of them, else at the last word boundary.

    >>> cut("Soft and breezy all summer, light as air with pockets", 40)
    'Soft and breezy all summer,'
    >>> cut("Soft and breezy and light as air with pockets", 40)
    'Soft and breezy and light as air with'
    """
    head = text[: room + 1]
    clause = max((m.end() for m in _CLAUSE_END.finditer(head)), default=-1)
    if clause >= room // 2:
        return head[:clause]
    return head.rsplit(" ", 1)[0] if " " in head else ""


def finish(raw: str, cta_style: str, placement: str, rules: CopyRules, key: str) -> str:
    """Generated text → publishable copy: one line, no banned term, a CTA, within limit.
    An inserted CTA is phrased to fit the room the text leaves (at least a third of the
    limit), so the text is cut only when it is long."""
    limit = rules.limits[placement]
    text = remove_banned(first_line(raw), rules)
    if len(text) <= limit and find_cta(text) is not None:
        return text
    room = max(limit - len(text) - 2, limit // 3)  # a closing stop and a space
    return fit(text, compose(cta_style, key, room), limit)


@dataclass(frozen=True)
class Variant:
    """One finished piece of copy and how new it is against the training corpus."""

    text: str
    novelty: float


def variants(
    brief: CopyBrief,
    generated: list[str],
    rules: CopyRules,
    recent: deque[str],
    corpus_ngrams: set[tuple[str, ...]],
) -> list[Variant]:
    """Finished variants of one brief. A variant that is a near-duplicate of recent copy
    (earlier variants included) is dropped, but the brief keeps its first; ``recent``
    remembers what was kept.

    >>> from collections import deque
    >>> brief = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
    >>> generated = ["A soft, flowy dress for warm days. Shop now.",
    ...              "A soft, flowy dress for warm days! Shop now.", "Twirl all summer. Buy it."]
    >>> [v.text for v in variants(brief, generated, CopyRules(), deque(), set())]
    ['A soft, flowy dress for warm days. Shop now.', 'Twirl all summer. Buy it.']
    """
    kept: list[Variant] = []
    for text in generated:
        key = f"{brief.product}|{len(recent)}"
        final = finish(text, brief.cta_style, brief.placement, rules, key)
        if kept and is_near_duplicate(final, recent, rules):
            continue
        recent.append(final)
        kept.append(Variant(final, novelty(final, corpus_ngrams)))
    return kept


def _shingles(text: str, n: int = 3) -> set[str]:
    text = text.lower()
    return {text[i : i + n] for i in range(max(len(text) - n + 1, 1))}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character 3-gram sets."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def is_near_duplicate(text: str, recent: Iterable[str], rules: CopyRules) -> bool:
    """Whether ``text`` is at least ``rules.duplicate_similarity`` similar to recent copy."""
    return any(similarity(text, other) >= rules.duplicate_similarity for other in recent)


def word_ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    """Lower-cased word n-grams of ``text``."""
    return ngrams(_WORD.findall(text.lower()), n)


def ngrams(items: Sequence[T], n: int) -> list[tuple[T, ...]]:
    """The n-grams of ``items`` (words, token ids), in order."""
    return [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]


def novelty(text: str, corpus_ngrams: set[tuple[str, ...]], n: int = 3) -> float:
    """Share of ``text``'s word n-grams absent from the training corpus (1 = all new)."""
    grams = word_ngrams(text, n)
    if not grams:
        return 1.0
    return sum(gram not in corpus_ngrams for gram in grams) / len(grams)
