"""Decoding under a vocabulary: every word the model writes is one copy may use.

Allowed words are the shop's and the brief's own (its product, department and attributes),
less :func:`~adcraft.shared.copy_rules.words.blocked_words`. The shop's words are those of
the copy a tuned model was trained on (:func:`shop_words`): every one a dictionary word the
shop writes, so the model can neither invent a word nor borrow one from its prompt ("warm
and friendly" made "a friendly sweater"). A model without training copy (the base model)
writes the dictionary's common words instead (:func:`common_words`).
:class:`WordsOnly` enforces them on word boundaries while sampling: a token that continues
a word must keep it the start of an allowed word, and a token that ends it (a space, a
mark, a digit, the end of the turn) must leave it whole. Only ASCII letters, digits and a
few marks can be written at all, so no other script (nor a look-alike letter) reaches a
word. A tuned model is held to the shop's phrasing as well (:mod:`.phrases`): each word
must continue a word trigram of its training copy, and a sentence may stop only where one
of those stops. A row with no allowed token among its likeliest ends its turn: a
disallowed token is never written, and post-processing keeps finished sentences only, so
a word left unfinished (by that or by the token budget) is never served.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field

import torch
from transformers import LogitsProcessor
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from adcraft.services.copywriter.phrases import END, PAUSES, SLOTS, START, Phrases, phrase_words
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.cta import STRUCK
from adcraft.shared.copy_rules.words import blocked_words, dictionary_words, words_of

LETTERS = frozenset(string.ascii_letters)
MARKS = frozenset(" \n.,!?:;-&%$/()" + string.digits)  # end a word; written as they are
PHRASE_MARKS = frozenset(" \n.,!?:;-")  # the shop's phrases have no digits nor symbols
# After these, an attribute slot states a feel ("feels xattr against your skin", "keeps you
# xattr all day"): only a feel the brief lists and the lead takes may fill it, never "keeps
# you pretty" nor "keeps you soft".
FEEL_LEADS = {
    "feels": frozenset({"soft", "light", "lightweight", "comfortable", "warm", "cozy"}),
    "you": frozenset({"comfortable", "warm", "cozy"}),
}
TOP_K = 64  # candidates checked per row and step, likeliest first
WIDE_K = 4_096  # ... when none of those is allowed; then every token


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


State = tuple[tuple[str, str], str]  # the last two words (as phrase words), the word in progress
OPEN: State = ((START, START), "")


@dataclass
class Vocabulary:
    """What one row may write: ``common`` words or its brief's ``own``; with ``phrases`` (a
    tuned model's), each word must also continue a phrase the shop writes, the brief's
    words in their ``slots``, and the turn may end only after a finished sentence; no
    sentence ends with a ``struck`` ending (:func:`struck_endings`); no word is ``unsaid``,
    and a slot after a :data:`FEEL_LEADS` word holds one of ``feels`` only."""

    common: Words
    own: Words
    phrases: Phrases | None = None
    slots: dict[str, str] = field(default_factory=dict)
    struck: tuple[tuple[str, ...], ...] = ()  # last words no sentence may end with
    unsaid: frozenset[str] = frozenset()  # lower case
    feels: frozenset[str] = frozenset()
    _next: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict, repr=False)

    def advance(self, state: State, piece: str) -> State | None:
        """The state once ``piece`` is written, or None when ``piece`` writes a character
        copy never has, ends or starts a word no vocabulary allows, or leaves the phrases.

        >>> row = Vocabulary(common_words(), Words.of(frozenset({"midi"})))
        >>> [row.advance(((START, START), "dre"), p) for p in ("ss", "ss!", "sz", " ")]
        [(('<s>', '<s>'), 'dress'), (('<s>', '<s>'), ''), None, None]
        >>> row.advance(OPEN, " mid")[1], row.advance(OPEN, " flabby")
        ('mid', None)
        >>> row.advance(OPEN, " сute")  # a Cyrillic "с"
        >>> row.advance(OPEN, " EfFort"), row.advance(OPEN, " Effort")[1]  # capitals lead only
        (None, 'Effort')
        """
        context, word = state
        marks = MARKS if self.phrases is None else PHRASE_MARKS
        for char in piece:
            if char in LETTERS or (char == "'" and word):
                word += char
                continue
            if char not in marks and char != "'":
                return None
            if word:
                if not self._whole(word):
                    return None
                phrase_word = self.slots.get(word.lower(), word.lower())
                if phrase_word in SLOTS and not self._fills(context, word.lower()):
                    return None
                if self.phrases is not None and phrase_word not in self.phrases.after(*context):
                    return None
                context, word = (context[1], phrase_word), ""
            if char in PAUSES and self.phrases is not None:
                if char not in self.phrases.after(*context):
                    return None
                context = (context[1], char)
            if char in ".!?" and context != (START, START):
                if self.phrases is not None and END not in self.phrases.after(*context):
                    return None
                if any(context[len(context) - len(e) :] == e for e in self.struck):
                    return None
                context = (START, START)
        if word and not (_cased(word) and self._may_start(context, word.lower())):
            return None
        return context, word

    def may_end(self, state: State) -> bool:
        """Whether the turn may end in ``state``."""
        context, word = state
        if self.phrases is not None:
            return not word and context == (START, START)
        return not word or self._whole(word)

    def _fills(self, context: tuple[str, str], word: str) -> bool:
        """Whether the brief's ``word`` may fill a slot after ``context``."""
        return context[1] not in FEEL_LEADS or word in self.feels & FEEL_LEADS[context[1]]

    def _whole(self, word: str) -> bool:
        lower = word.lower()
        return lower not in self.unsaid and (lower in self.common.whole or lower in self.own.whole)

    def _may_start(self, context: tuple[str, str], start: str) -> bool:
        if not (start in self.common.starts or start in self.own.starts):
            return False
        if self.phrases is None:
            return True
        if context not in self._next:
            slot_words: dict[str, set[str]] = {}
            for word, slot in self.slots.items():
                slot_words.setdefault(slot, set()).add(word)
            nexts = self.phrases.after(*context)
            words = {w for w in nexts if w not in SLOTS and w not in self.slots} - self.unsaid
            words |= {
                w
                for slot in nexts & SLOTS
                for w in slot_words.get(slot, ())
                if self._fills(context, w)
            }
            self._next[context] = _prefixes(frozenset(words))
        return start in self._next[context]


class WordsOnly(LogitsProcessor):
    """Leaves finite only the tokens that keep each row's copy in its :class:`Vocabulary`
    (``rows[i]``); the prompts are ``prompt_length`` long."""

    def __init__(
        self, pieces: list[str], end: int, rows: list[Vocabulary], prompt_length: int
    ) -> None:
        self.pieces, self.end, self.rows = pieces, end, rows
        self.prompt_length = prompt_length
        self.states = [OPEN] * len(rows)  # each row's phrase context and word in progress

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] > self.prompt_length:
            for row, token in enumerate(input_ids[:, -1].tolist()):
                moved = self.rows[row].advance(self.states[row], self._piece(token))
                self.states[row] = moved or OPEN
        kept = torch.full_like(scores, -float("inf"))
        ended = (input_ids[:, -1] == self.end).tolist() if input_ids.shape[1] else []
        for row in range(scores.shape[0]):
            if ended and ended[row] and input_ids.shape[1] > self.prompt_length:
                kept[row] = scores[row]  # its turn is over: generate pads it
                continue
            allowed = self._allowed(row, scores[row])
            if not allowed:  # the turn ends here
                kept[row, self.end] = 0.0
                continue
            index = torch.tensor(allowed, device=scores.device)
            kept[row, index] = scores[row, index]
        return kept

    def _allowed(self, row: int, scores: torch.Tensor) -> list[int]:
        """The allowed tokens among the row's ``TOP_K`` likeliest, or if none, among its
        ``WIDE_K`` likeliest, or if none, among all (a word's last letters can rank low:
        after "makes a", the model expects "statement", the shop wrote "an")."""
        for k in (TOP_K, WIDE_K, scores.shape[0]):
            top = torch.topk(scores, min(k, scores.shape[0]))
            finite = top.values > -float("inf")
            allowed = [t for t in top.indices[finite].tolist() if self._ok(row, t)]
            if allowed:
                return allowed
        return []

    def _piece(self, token: int) -> str:
        return self.pieces[token] if token < len(self.pieces) else "\ufffd"

    def _ok(self, row: int, token: int) -> bool:
        if token == self.end:
            return self.rows[row].may_end(self.states[row])
        return self.rows[row].advance(self.states[row], self._piece(token)) is not None


def struck_endings(style: str) -> tuple[tuple[str, ...], ...]:
    """The last two phrase words of each ending a CTA of ``style`` may not have
    (:data:`~adcraft.shared.copy_rules.cta.STRUCK`): sampled, it would only be dropped.

    >>> struck_endings("soft")
    (('today',), ('this', 'season'), ('new', 'collection'))
    """
    return tuple(tuple(phrase_words(ending)[-2:]) for ending in STRUCK.get(style, ()))


def _cased(word: str) -> bool:
    """A capital may only lead a word ("Effort", never "EfFort")."""
    return len(word) < 2 or word[1:].islower()


def token_pieces(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Each token id's text (special tokens and partial UTF-8 bytes as U+FFFD)."""
    special = set(tokenizer.all_special_ids)
    pieces = ["\ufffd"] * len(tokenizer)
    for token, index in tokenizer.get_vocab().items():
        if index not in special:
            pieces[index] = tokenizer.convert_tokens_to_string([token])
    return pieces
