"""Decoding under a vocabulary: every word the model writes is one copy may use.

Allowed words are the shop's and the brief's own (its product, department and attributes),
less :func:`~adcraft.shared.copy_rules.words.blocked_words`. The shop's words are those of
the copy a tuned model was trained on (:func:`shop_words`): every one a dictionary word the
shop writes, so the model can neither invent a word nor borrow one from its prompt ("warm
and friendly" made "a friendly sweater"). A model without training copy (the base model)
writes the dictionary's common words instead (:func:`common_words`).
:class:`~.words_only.WordsOnly` enforces them on word boundaries while sampling: a token
that continues a word must keep it the start of an allowed word, and a token that ends it
(a space, a mark, a digit, the end of the turn) must leave it whole. Only ASCII letters,
digits and a few marks can be written at all, so no other script (nor a look-alike
letter) reaches a word. A tuned model is held to the shop's phrasing as well
(:mod:`.phrases`): each word must continue a word trigram of its training copy, a
sentence may stop only where one of those stops, and a word is written only where its
sentence can still be finished by allowed words within the placement's limit
(:class:`Vocabulary`). A row with no allowed token ends its turn: a disallowed token is
never written, and post-processing keeps finished sentences only, so a word left
unfinished (by that or by the token budget) is never served.
"""

from __future__ import annotations

import functools
import heapq
import string
from dataclasses import dataclass, field
from typing import NamedTuple

from adcraft.services.copywriter.phrases import END, PAUSES, SLOTS, START, Phrases, phrase_words
from adcraft.services.copywriter.ranking import COMPOUND, FEEL_WORDS
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules import cta
from adcraft.shared.copy_rules.cta import STYLES
from adcraft.shared.copy_rules.words import blocked_words, dictionary_words, words_of

LETTERS = frozenset(string.ascii_letters)
MARKS = frozenset(" \n.,!?:;-&%$/()" + string.digits)  # end a word; written as they are
PHRASE_MARKS = frozenset(" \n.,!:;-")  # the shop's phrases: no digits, symbols, questions
# After these, an attribute slot states a feel ("feels xattr against your skin", "keeps you
# xattr all day"): only a feel the brief lists and the lead takes may fill it, never "keeps
# you pretty" nor "keeps you soft".
FEEL_LEADS = {
    "feels": FEEL_WORDS,
    "feel": FEEL_WORDS,
    "you": frozenset({"comfortable", "warm", "cozy"}),
}


def _prefixes(words: frozenset[str]) -> frozenset[str]:
    return frozenset(w[:i] for w in words for i in range(1, len(w) + 1))


@dataclass(frozen=True)
class Words:
    """A set of allowed words (lower case) and every start of one."""

    whole: frozenset[str]
    starts: frozenset[str]

    @classmethod
    def of(cls, words: frozenset[str]) -> Words:
        return cls(words, _prefixes(words))


@functools.cache
def common_words() -> Words:
    """The dictionary's and the shop's words, less the blocked ones."""
    return Words.of(dictionary_words() - blocked_words())


def shop_words(corpus: list[str]) -> Words:
    """The words of the shop's training copy, less the blocked ones.

    >>> sorted(shop_words(["A soft dress. Shop it now."]).whole)
    ['a', 'dress', 'it', 'now', 'shop', 'soft']
    """
    return Words.of(frozenset(words_of(" ".join(corpus))) - blocked_words())


def brief_words(brief: CopyBrief) -> Words:
    """The brief's own words (its product facts), less the blocked ones."""
    return Words.of(frozenset(words_of(" ".join(brief.fields()))) - blocked_words())


def joins(brief: CopyBrief) -> frozenset[str]:
    """The words a hyphen may follow in ``brief``'s copy: those its own facts hyphenate.

    >>> sorted(joins(CopyBrief("fine-gauge sweater", "Tops", ("soft",), "adult", "warm", "soft")))
    ['fine']
    """
    compounds = COMPOUND.findall(" ".join(brief.fields()).lower())
    return frozenset(part for c in compounds for part in c.split("-")[:-1])


Context = tuple[str, str]  # the last two phrase words
Node = tuple[Context, bool]  # ... and whether the sentence has only named the product
CTA_VERBS = frozenset(v.lower() for v in cta.VERBS)


class State(NamedTuple):
    """Where a row is: its phrase context, the word in progress, the characters written,
    the sentences finished and whether its sentence so far only names the product."""

    context: Context
    word: str = ""
    written: int = 0
    sentences: int = 0
    plain: bool = True


OPEN = State((START, START))


@dataclass
class Vocabulary:
    """What one row may write: ``common`` words or its brief's ``own``; with ``phrases`` (a
    tuned model's), each word must also continue a phrase the shop writes, the brief's
    words in their ``slots``, and the turn may end only after a finished sentence; no
    sentence ends with a ``struck`` ending (:func:`struck_endings`); no word is ``unsaid``,
    and a slot after a :data:`FEEL_LEADS` word holds one of ``feels`` only.

    Under phrases, the copy opens with no CTA verb (a CTA opening the copy is moved to its
    end or is all it says), a sentence says more than its ``bare`` words (the product's
    and determiners: "Sleep set." says nothing), and a word is written only when its
    sentence can still be finished from it by allowed words within ``limit`` characters of
    copy, the first sentence within ``limit - reserve`` (the room a CTA needs): a row never
    walks into a phrase it may not end ("keeps you" before a feel the brief does not list)
    nor one too long to serve."""

    common: Words
    own: Words
    phrases: Phrases | None = None
    slots: dict[str, str] = field(default_factory=dict)
    struck: tuple[tuple[str, ...], ...] = ()  # last words no sentence may end with
    unsaid: frozenset[str] = frozenset()  # lower case
    feels: frozenset[str] = frozenset()
    joins: frozenset[str] = frozenset()  # words a hyphen may follow ("fine-gauge")
    bare: frozenset[str] = frozenset()  # words that alone make no sentence
    limit: int = 1_000  # characters of copy a row may write
    reserve: int = 0  # ... of which its first sentence leaves these to a CTA
    _next: dict[tuple[Node, bool], dict[str, int]] = field(default_factory=dict, repr=False)

    def advance(self, state: State, piece: str) -> State | None:
        """The state once ``piece`` is written, or None when ``piece`` writes a character
        copy never has, ends or starts a word no vocabulary allows, or leaves the phrases.

        >>> row = Vocabulary(common_words(), Words.of(frozenset({"midi"})))
        >>> [row.advance(State((START, START), "dre"), p)[:4] for p in ("ss", "ss!")]
        [(('<s>', '<s>'), 'dress', 2, 0), (('<s>', '<s>'), '', 3, 1)]
        >>> row.advance(OPEN, " mid").word, row.advance(OPEN, " flabby")
        ('mid', None)
        >>> row.advance(OPEN, " сute"), row.advance(OPEN, " 'cute")  # a Cyrillic "с"; a quote
        (None, None)
        >>> row.advance(OPEN, " EfFort"), row.advance(OPEN, " Effort").word  # capitals lead only
        (None, 'Effort')
        """
        context, word, written, sentences, plain = state
        marks = MARKS if self.phrases is None else PHRASE_MARKS
        for char in piece:
            if char in LETTERS or (char == "'" and word):
                word += char
                written += 1
                continue
            if char not in marks:
                return None
            if word:
                lower = word.lower()
                if not self._whole(word) or not self._capital_fits(context, word):
                    return None
                phrase_word = self.slots.get(lower, lower)
                if phrase_word in SLOTS and not self._fills(context, lower):
                    return None
                if self.phrases is not None:
                    opening = sentences == 0 and context == (START, START)
                    if phrase_word not in self.phrases.after(*context):
                        return None
                    if opening and lower in CTA_VERBS:
                        return None
                context, word, plain = (context[1], phrase_word), "", plain and lower in self.bare
                if not self._ends_within((context, plain), written, sentences):
                    return None
            written += 1
            if self.phrases is not None and not self._phrase_mark(char, context, plain):
                return None
            if char in PAUSES and self.phrases is not None:
                context = (context[1], char)
                if not self._ends_within((context, plain), written, sentences):
                    return None
            if char in ".!?" and context != (START, START):
                if self.phrases is not None and written > self._room(sentences):
                    return None
                context, sentences, plain = (START, START), sentences + 1, True
        if word:
            before = written - len(word)
            node = (context, plain)
            if not (_cased(word) and self._may_start(node, word.lower(), before, sentences)):
                return None
            if not self._capital_fits(context, word):
                return None
        return State(context, word, written, sentences, plain)

    def may_end(self, state: State) -> bool:
        """Whether the turn may end in ``state``."""
        if self.phrases is not None:
            return not state.word and state.context == (START, START)
        return not state.word or self._whole(state.word)

    def _phrase_mark(self, char: str, context: Context, plain: bool) -> bool:
        """Whether the shop's phrases have ``char`` after ``context``: a pause where they
        pause, a stop where a sentence may end (:meth:`_ends`), a hyphen inside a product's
        name only ("fine-gauge", never "Buy-your"), a line's end after a sentence only."""
        assert self.phrases is not None
        if char in PAUSES:
            return char in self.phrases.after(*context)
        if char in ".!":
            return END in self.phrases.after(*context) and self._ends((context, plain))
        if char == "-":
            return context[1] in self.joins
        return char == " " or context == (START, START)

    def _capital_fits(self, context: Context, word: str) -> bool:
        """Under phrases, a capital leads a sentence only: no "Grab this lounge Set"."""
        return self.phrases is None or word[:1].islower() or context == (START, START)

    def _room(self, sentences: int) -> int:
        """The characters a sentence may end within: the first leaves room for a CTA."""
        return self.limit - (self.reserve if sentences == 0 else 0)

    def _ends(self, node: Node) -> bool:
        """Whether a sentence may end at ``node``: not bare, not on a struck ending."""
        context, plain = node
        return not plain and not any(context[len(context) - len(e) :] == e for e in self.struck)

    def _ends_within(self, node: Node, written: int, sentences: int) -> bool:
        """Whether the sentence can still end from ``node`` within its room."""
        if self.phrases is None:
            return True
        left = self._finishing.get(node)
        return left is not None and written + left <= self._room(sentences)

    def _fills(self, context: Context, word: str) -> bool:
        """Whether the brief's ``word`` may fill a slot after ``context``."""
        return context[1] not in FEEL_LEADS or word in self.feels & FEEL_LEADS[context[1]]

    def _whole(self, word: str) -> bool:
        lower = word.lower()
        return lower not in self.unsaid and (lower in self.common.whole or lower in self.own.whole)

    def _words_after(self, context: Context) -> dict[str, str]:
        """Each word this row may write after ``context`` → its phrase word."""
        assert self.phrases is not None
        nexts = self.phrases.after(*context)
        words = {w: w for w in nexts if w not in SLOTS and w not in self.slots and w not in PAUSES}
        words |= {
            w: slot for w, slot in self.slots.items() if slot in nexts and self._fills(context, w)
        }
        return {w: pw for w, pw in words.items() if self._whole(w)}

    def _steps(self, node: Node) -> list[tuple[Node, int]]:
        """The nodes a sentence may move to from ``node``, each with its characters."""
        (_, last), plain = node
        assert self.phrases is not None
        steps = [
            (((last, phrase_word), plain and word in self.bare), len(word) + 1)
            for word, phrase_word in self._words_after(node[0]).items()
        ]
        pauses = self.phrases.after(*node[0]) & set(PAUSES)
        return steps + [(((last, pause), plain), 1) for pause in pauses]

    @functools.cached_property
    def _finishing(self) -> dict[Node, int]:
        """Per node a sentence can reach, the fewest characters that end it (a stop
        included) through words this row may write; nodes it cannot end from are absent."""
        into: dict[Node, list[tuple[Node, int]]] = {}
        best: dict[Node, int] = {}
        seen: set[Node] = set()
        todo: list[Node] = [((START, START), True)]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if (
                self.phrases is not None
                and END in self.phrases.after(*node[0])
                and self._ends(node)
            ):
                best[node] = 1
            for target, cost in self._steps(node):
                into.setdefault(target, []).append((node, cost))
                todo.append(target)
        heap = [(cost, node) for node, cost in best.items()]
        heapq.heapify(heap)
        while heap:
            cost, node = heapq.heappop(heap)
            if cost > best[node]:
                continue
            for source, step in into.get(node, ()):
                if cost + step < best.get(source, cost + step + 1):
                    best[source] = cost + step
                    heapq.heappush(heap, (cost + step, source))
        return best

    def _may_start(self, node: Node, start: str, before: int, sentences: int) -> bool:
        """Whether a word starting ``start`` may follow ``node`` when ``before``
        characters were written before it."""
        if not (start in self.common.starts or start in self.own.starts):
            return False
        if self.phrases is None:
            return True
        opening = sentences == 0 and node[0] == (START, START)
        if (node, opening) not in self._next:
            (_, last), plain = node
            totals: dict[str, int] = {}
            for word, phrase_word in self._words_after(node[0]).items():
                left = self._finishing.get(((last, phrase_word), plain and word in self.bare))
                if left is None or (opening and word in CTA_VERBS):
                    continue
                for i in range(1, len(word) + 1):
                    totals[word[:i]] = min(totals.get(word[:i], left + len(word)), left + len(word))
            self._next[(node, opening)] = totals
        total = self._next[(node, opening)].get(start)
        return total is not None and before + total <= self._room(sentences)


def struck_endings(style: str) -> tuple[tuple[str, ...], ...]:
    """The last two phrase words of each ending a served CTA of ``style`` may not have
    (:func:`~adcraft.shared.copy_rules.cta.struck_endings`), less those an ending it may
    have shares ("before the weekend" is urgent, "for the weekend" direct): sampled, it
    would only be replaced.

    >>> struck_endings("soft")[:4]
    (('the', 'weekend'), ('your', 'size'), ('now',), ('online',))
    """
    kept = [phrase_words(e) for e in STYLES[style][1]]
    tails = dict.fromkeys(tuple(phrase_words(e)[-2:]) for e in cta.struck_endings(style))
    return tuple(t for t in tails if not any(k[-len(t) :] == list(t) for k in kept))


def _cased(word: str) -> bool:
    """A capital may only lead a word ("Effort", never "EfFort")."""
    return len(word) < 2 or word[1:].islower()
