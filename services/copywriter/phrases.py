r"""The shop's phrasing: the word trigrams of the copy a tuned model was trained on, with
each example's attributes as a slot, so a model writes only phrases the shop writes for
that product ("this flowy dress is", "keeps you comfortable all"), with any attribute the
brief lists.

In a phrase the brief's attributes are ``xattr`` ("a soft knit top" is "a xattr knit top")
and its highlight ``xpraise``, which nothing may write; the product stays itself, so a
benefit the shop wrote for swimsuits ("is ready for the beach") is never written for a
bralette. Commas are phrase words too. Every sentence starts with two :data:`START` marks
and ends with :data:`END`, so a trigram also says how a sentence may begin and where it
may stop. A free-running model joins phrases into sentences no template wrote ("A
beautiful pair of pants love a stretchy look"); under :class:`Phrases` each next word
continues a trigram the shop wrote.

Phrases are kept per product, so that a benefit the shop writes for one garment is not
continued onto another three words later ("this jacket is made for sunny days" joins a
jacket's "is made for" to a swimsuit's "for sunny days"); a product the shop never wrote
for may use every product's phrases.

>>> brief = CopyBrief("knit top", "Tops", ("soft",), "adult", "warm", "direct")
>>> slotted("Soft, light knit top. Buy one now!", brief).split("\t")
['knit top', 'xattr , light knit top. buy one now.']
>>> slotted("A soft knit top for work.", brief._replace(highlight="for work")).split("\t")[1]
'a xattr knit top xpraise.'

>>> shop = Shop.of([slotted("A soft knit top. Buy one now!", brief)])
>>> phrases = shop.phrases_for("knit top")
>>> sorted(phrases.after(START, "a"))
['xattr']
>>> (START, START, "buy") in phrases.trigrams, ("knit", "top", END) in phrases.trigrams
(True, True)
>>> shop.phrases_for("hat") is shop.every  # no copy for hats: every product's
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import words_of

START, END = "<s>", "</s>"
ATTRIBUTE = "xattr"
PRAISE = "xpraise"  # the example's highlight: another product's fact, never written
SLOTS = frozenset({ATTRIBUTE})
PAUSES = ",;:"  # phrase words of their own
_SENTENCE = re.compile(r"[^.!?]+")
_PHRASE_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[,;:]")
Trigram = tuple[str, str, str]


def slot_of(brief: CopyBrief) -> dict[str, str]:
    """Each word of ``brief``'s attributes → its slot.

    >>> slot_of(CopyBrief("pair of jeans", "Bottoms", ("slim",), "adult", "warm", "direct"))
    {'slim': 'xattr'}
    """
    return {word: ATTRIBUTE for a in brief.attributes for word in words_of(a)}


def phrase_words(sentence: str) -> list[str]:
    """The words and pauses of one sentence, lower case (hyphenated words split)."""
    return _PHRASE_WORD.findall(sentence.lower())


def slotted(text: str, brief: CopyBrief) -> str:
    """``text`` as a line of ``phrases.txt``: the product, a tab, then the copy in lower
    case, one ". " per sentence, the brief's attributes in their slot and its highlight as
    :data:`PRAISE`, which no word is: "is made with pockets" is one product's fact, so no
    brief may continue "is made" with it."""
    slots = slot_of(brief)
    if brief.highlight:
        text = re.sub(re.escape(brief.highlight), f" {PRAISE} ", text, flags=re.IGNORECASE)
    sentences = (phrase_words(s) for s in _SENTENCE.findall(text))
    copy = " ".join(" ".join(slots.get(w, w) for w in words) + "." for words in sentences if words)
    return f"{brief.product}\t{copy}"


@dataclass(frozen=True)
class Phrases:
    """The trigrams of the shop's phrases and, per two-word context, the words after it."""

    trigrams: frozenset[Trigram]
    following: dict[tuple[str, str], frozenset[str]] = field(repr=False)

    @classmethod
    def of(cls, lines: list[str]) -> Phrases:
        """The phrases of slotted copy (:func:`slotted`'s, less the product)."""
        trigrams: set[Trigram] = set()
        for line in lines:
            for sentence in _SENTENCE.findall(line):
                words = [START, START, *sentence.split(), END]
                trigrams.update(zip(words, words[1:], words[2:], strict=False))
        following: dict[tuple[str, str], set[str]] = {}
        for a, b, c in trigrams:
            following.setdefault((a, b), set()).add(c)
        return cls(frozenset(trigrams), {k: frozenset(v) for k, v in following.items()})

    def after(self, first: str, second: str) -> frozenset[str]:
        """The words (slots included, :data:`END` too) that may follow ``first second``."""
        return self.following.get((first, second), frozenset())


@dataclass(frozen=True)
class Shop:
    """The shop's phrases per product, and all of them together."""

    by_product: dict[str, Phrases]
    every: Phrases

    @classmethod
    def of(cls, lines: list[str]) -> Shop:
        """The phrases of ``phrases.txt`` lines (:func:`slotted`)."""
        copies: dict[str, list[str]] = {}
        for line in lines:
            product, _, copy = line.partition("\t")
            copies.setdefault(product, []).append(copy)
        every = Phrases.of([c for group in copies.values() for c in group])
        return cls({p: Phrases.of(group) for p, group in copies.items()}, every)

    def phrases_for(self, product: str) -> Phrases:
        """The phrases of ``product``'s copy, or every product's for one never written for."""
        return self.by_product.get(product, self.every)
