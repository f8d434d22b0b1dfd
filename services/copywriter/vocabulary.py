"""Decoding under a vocabulary: every word the model writes is one copy may use.

Allowed words are the dictionary's common ones, the shop's, and the brief's own (its
product, department and attributes), less :func:`~adcraft.shared.copy_rules.words.blocked_words`.
:class:`WordsOnly` enforces them on word boundaries while sampling: a token that continues
a word must keep it the start of an allowed word, and a token that ends it (a space, a
mark, a digit, the end of the turn) must leave it whole. Only ASCII letters, digits and a
few marks can be written at all, so no other script (nor a look-alike letter) reaches a
word. A row with no allowed token among its likeliest ends its turn: a disallowed token is
never written, and post-processing keeps finished sentences only, so a word left
unfinished (by that or by the token budget) is never served.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass

import torch
from transformers import LogitsProcessor
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import blocked_words, dictionary_words, words_of

LETTERS = frozenset(string.ascii_letters)
MARKS = frozenset(" \n.,!?:;-&%$/()" + string.digits)  # end a word; written as they are
TOP_K = 64  # candidates checked per row and step, likeliest first
WIDE_K = 4_096  # ... when none of those is allowed


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


def brief_words(brief: CopyBrief) -> Words:
    """The brief's own words (its product facts), less the blocked ones."""
    return Words.of(frozenset(words_of(" ".join(brief.fields()))) - blocked_words())


def after(word: str, piece: str, common: Words, own: Words) -> str | None:
    """The word in progress once ``piece`` follows ``word``, or None when ``piece`` writes
    a character copy never has, or ends or starts a word no vocabulary allows.

    >>> own = Words.of(frozenset({"midi"}))
    >>> [after("dre", p, common_words(), own) for p in ("ss", "ss!", "sz", " ")]
    ['dress', '', None, None]
    >>> after("", " mid", common_words(), own), after("", " flabby", common_words(), own)
    ('mid', None)
    >>> after("", " сute", common_words(), own)  # a Cyrillic "с"
    """
    for char in piece:
        if char in LETTERS or (char == "'" and word):
            word += char
        elif char in MARKS or char == "'":
            if word and not _whole(word, common, own):
                return None
            word = ""
        else:
            return None
    if word and not (word.lower() in common.starts or word.lower() in own.starts):
        return None
    return word


def _whole(word: str, common: Words, own: Words) -> bool:
    lower = word.lower()
    return lower in common.whole or lower in own.whole


class WordsOnly(LogitsProcessor):
    """Leaves finite only the tokens that keep each row's copy in its vocabulary (see the
    module docstring); rows are ``own[i]``'s briefs, their prompts ``prompt_length`` long."""

    def __init__(self, pieces: list[str], end: int, own: list[Words], prompt_length: int) -> None:
        self.pieces, self.end, self.own = pieces, end, own
        self.common = common_words()
        self.prompt_length = prompt_length
        self.words = [""] * len(own)  # each row's word in progress

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] > self.prompt_length:
            for row, token in enumerate(input_ids[:, -1].tolist()):
                moved = after(self.words[row], self._piece(token), self.common, self.own[row])
                self.words[row] = moved or ""
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
        ``WIDE_K`` likeliest (a rare word's last letters can rank low)."""
        for k in (TOP_K, WIDE_K):
            top = torch.topk(scores, min(k, scores.shape[0]))
            finite = top.values > -float("inf")
            allowed = [t for t in top.indices[finite].tolist() if self._ok(row, t)]
            if allowed:
                return allowed
        return []

    def _piece(self, token: int) -> str:
        return self.pieces[token] if token < len(self.pieces) else "\ufffd"

    def _ok(self, row: int, token: int) -> bool:
        word, own = self.words[row], self.own[row]
        if token == self.end:
            return not word or _whole(word, self.common, own)
        return after(word, self._piece(token), self.common, own) is not None


def token_pieces(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Each token id's text (special tokens and partial UTF-8 bytes as U+FFFD)."""
    special = set(tokenizer.all_special_ids)
    pieces = ["\ufffd"] * len(tokenizer)
    for token, index in tokenizer.get_vocab().items():
        if index not in special:
            pieces[index] = tokenizer.convert_tokens_to_string([token])
    return pieces
