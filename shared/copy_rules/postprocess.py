"""Post-processing of generated copy: pure functions, no model and no I/O.

Order: take the first line, drop an unfinished last sentence, keep one
call to action (the last the model wrote, or one of the requested style inserted), fit the
placement's length limit (the body is cut after a sentence, never mid-phrase, the CTA
kept). A variant is then dropped, never edited into shape, when it is unfinished, too
long, a bare CTA, uses a banned (compliance) term, fails the ``Screen`` (offensive,
negative, wrong product, claim) or
nearly repeats a variant kept before it; each drop is counted by its reason.

>>> rules = CopyRules(limits={"description": 70})
>>> finish("Soft knit that drapes beautifully.Shop now. Buy it now.\\nmore", "direct",
...        "description", rules, key="p1")
'Soft knit that drapes beautifully. Buy it now.'
>>> finish("Soft knit that drapes beautifully and", "direct", "description", rules, key="p1")
''
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from adcraft.shared.contract.copy_contract import CopyBrief, placement_limits
from adcraft.shared.copy_rules.cta import compose, find_all, struck
from adcraft.shared.copy_rules.settings import CopySettings

T = TypeVar("T")

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_GLUED_STOP = re.compile(r"([a-z][.!?])([A-Z])")

# Why a variant was dropped: the counter keys.
UNFINISHED, TOO_LONG, BARE_CTA = "unfinished", "too_long", "bare_cta"
BANNED, DUPLICATE = "banned", "duplicate"

Screen = Callable[[str, CopyBrief], str | None]  # finished copy → why it must go, or None


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
        return re.compile(rf"\b({words})\b", re.IGNORECASE)


def first_line(raw: str) -> str:
    """The first non-empty line, without wrapping quotes, whitespace collapsed, a space
    after every stop glued to the next sentence ("detail.Order" becomes "detail. Order")."""
    for line in raw.splitlines():
        text = _SPACES.sub(" ", line).strip().strip('"').strip()
        if text:
            return _GLUED_STOP.sub(r"\1 \2", text)
    return ""


def finished_sentences(text: str) -> str:
    """``text`` up to its last sentence end: an unfinished tail ("…for women to") goes.

    >>> finished_sentences("Soft and light. Wear it to")
    'Soft and light.'
    """
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]] if ends else ""


def one_cta(text: str) -> tuple[str, str | None]:
    """(the body without any call to action, the last CTA ``text`` has or None).

    >>> one_cta("Order one here. So soft. Shop one online.")
    ('So soft.', 'Shop one online.')
    """
    found = find_all(text)
    body = text
    for action in found:
        body = body.replace(action, " ", 1)
    return _SPACES.sub(" ", body).strip(), (found[-1] if found else None)


def cut(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` characters after its last sentence that fits; ""
    when none does. Never at a comma: "A warm, flattering dress…" cut there reads
    "A warm."

    >>> cut("Soft and breezy all summer. Light as air, with pockets.", 40)
    'Soft and breezy all summer.'
    >>> cut("Soft and breezy all summer, light as air with pockets", 40)
    ''
    """
    if len(text) <= room:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: room + 1]) if m.end() <= room]
    return text[: ends[-1]] if ends else ""


def finish(
    raw: str, cta_style: str, placement: str, rules: CopyRules, key: str, product: str | None = None
) -> str:
    """Generated text → copy with one CTA within the limit: a bare CTA when that is all the
    text has, "" when it has no finished sentence or cannot be cut to fit. An inserted CTA
    is phrased to fit the room the body leaves (the shortest phrasing when none does) and
    to agree with ``product``; the
    model's own CTA gives way to one of the requested style when its ending is struck for
    that style (:func:`~adcraft.shared.copy_rules.cta.struck`) and to one that leaves room
    for the first sentence when it does not.

    >>> finish("A soft, light dress for warm summer days. Shop your new dress in your size.",
    ...        "direct", "headline", CopyRules(limits={"headline": 60}), key="k")
    'A soft, light dress for warm summer days. Shop yours today.'
    >>> finish("Go flowy. choose this dress now.", "direct", "description", CopyRules(), key="k")
    'Go flowy. Choose this dress now.'
    >>> finish("A soft knit top. Find it today.", "soft", "description", CopyRules(), key="k")
    "A soft knit top. Discover yours whenever you're ready."
    """
    limit = rules.limits[placement]
    body, action = one_cta(finished_sentences(first_line(raw)))
    body, action = _capitalised(body), action and _capitalised(action)
    if not body:
        return action or ""
    if action is None or len(action) >= limit or struck(action, cta_style):
        action = compose(cta_style, key, limit - len(body) - 1, product)
    if not cut(body, limit - len(action) - 1):  # a shorter CTA may leave room for a sentence
        action = compose(cta_style, key, limit - len(cut(body, limit)) - 1, product)
    body = cut(body, limit - len(action) - 1).rstrip(" ,;:-–")
    if not body:
        return ""
    if body[-1] not in ".!?":
        body += "."
    return f"{body} {action}"


def _capitalised(sentence: str) -> str:
    """``sentence`` starting with a capital ("choose this dress now." was served)."""
    return sentence[:1].upper() + sentence[1:]


@dataclass(frozen=True)
class Variant:
    """One finished piece of copy and how new it is against the training corpus."""

    text: str
    novelty: float


def variants(
    brief: CopyBrief,
    generated: list[str],
    rules: CopyRules,
    corpus_ngrams: set[tuple[str, ...]],
    screen: Screen = lambda text, brief: None,
) -> tuple[list[Variant], Counter[str]]:
    """Finished variants of one brief and why the others were dropped. A variant that is a
    near-duplicate of one kept before it is dropped: what a brief's pool holds depends on
    the brief and its candidates only, never on what other briefs were written before.

    >>> brief = CopyBrief("dress", "Dresses", ("soft",), "adult", "warm", "direct")
    >>> generated = ["A soft, flowy dress for warm days. Shop now.",
    ...              "A soft, flowy dress for warm days! Shop now.",
    ...              "Twirl all summer. Buy it now.", "Buy it now.", "A soft, flowy dress for"]
    >>> kept, dropped = variants(brief, generated, CopyRules(), set())
    >>> [v.text for v in kept], dict(dropped)
    (['A soft, flowy dress for warm days. Shop now.', 'Twirl all summer. Buy it now.'], \
{'duplicate': 1, 'bare_cta': 1, 'unfinished': 1})
    """
    kept: list[Variant] = []
    dropped: Counter[str] = Counter()
    for i, text in enumerate(generated):
        key = f"{brief.product}|{i}"
        final = finish(text, brief.cta_style, brief.placement, rules, key, brief.product)
        reason = _rejection(final, text, brief, rules, screen)
        if reason is None and is_near_duplicate(final, (v.text for v in kept), rules):
            reason = DUPLICATE
        if reason is not None:
            dropped[reason] += 1
            continue
        kept.append(Variant(final, novelty(final, corpus_ngrams)))
    return kept, dropped


def _rejection(
    final: str, raw: str, brief: CopyBrief, rules: CopyRules, screen: Screen
) -> str | None:
    """Why ``final`` (finished from ``raw``) may not be served, or None."""
    if not final:
        return UNFINISHED if not finished_sentences(first_line(raw)) else TOO_LONG
    if one_cta(final)[0] == "":
        return BARE_CTA
    banned = rules.banned_pattern()
    if banned is not None and banned.search(final):
        return BANNED
    return screen(final, brief)


def _shingles(text: str, n: int = 3) -> set[str]:
    text = text.lower()
    return {text[i : i + n] for i in range(max(len(text) - n + 1, 1))}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character 3-gram sets."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def is_near_duplicate(text: str, others: Iterable[str], rules: CopyRules) -> bool:
    """Whether ``text`` is at least ``rules.duplicate_similarity`` similar to one of
    ``others``."""
    return any(similarity(text, other) >= rules.duplicate_similarity for other in others)


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
