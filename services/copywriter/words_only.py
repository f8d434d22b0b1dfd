"""Sampling under a :class:`~adcraft.services.copywriter.vocabulary.Vocabulary`: a logits
processor that leaves finite only the tokens that keep each row's copy allowed."""

from __future__ import annotations

import torch
from transformers import LogitsProcessor
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from adcraft.services.copywriter.vocabulary import OPEN, Vocabulary

TOP_K = 64  # candidates checked per row and step, likeliest first
WIDE_K = 4_096  # ... when none of those is allowed; then every token


class WordsOnly(LogitsProcessor):
    """Leaves finite only the tokens that keep each row's copy in its :class:`Vocabulary`
    (``rows[i]``); the prompts are ``prompt_length`` long."""

    def __init__(
        self, pieces: list[str], end: int, rows: list[Vocabulary], prompt_length: int
    ) -> None:
        self.pieces, self.end, self.rows = pieces, end, rows
        self.prompt_length = prompt_length
        self.states = [OPEN] * len(rows)  # each row's phrase context and word in progress
        self.by_start: dict[str, list[int]] = {}  # tokens by their first two characters
        for token, piece in enumerate(pieces):
            self.by_start.setdefault(piece[:2], []).append(token)

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
        for k in (TOP_K, WIDE_K):
            top = torch.topk(scores, min(k, scores.shape[0]))
            finite = top.values > -float("inf")
            allowed = [t for t in top.indices[finite].tolist() if self._ok(row, t)]
            if allowed:
                return allowed
        return self._scan(row, scores)

    def _scan(self, row: int, scores: torch.Tensor) -> list[int]:
        """Every allowed token with a finite score: only tokens whose first two characters
        the row may write are tried (a piece is allowed only if its start is)."""
        vocabulary, state = self.rows[row], self.states[row]
        finite = (scores > -float("inf")).tolist()
        starts = (ids for start, ids in self.by_start.items() if vocabulary.advance(state, start))
        tokens = [t for ids in starts for t in ids if t < len(finite)] + [self.end]
        return [t for t in tokens if finite[t] and self._ok(row, t)]

    def _piece(self, token: int) -> str:
        return self.pieces[token] if token < len(self.pieces) else "\ufffd"

    def _ok(self, row: int, token: int) -> bool:
        if token == self.end:
            return self.rows[row].may_end(self.states[row])
        return self.rows[row].advance(self.states[row], self._piece(token)) is not None


def token_pieces(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Each token id's text (special tokens and partial UTF-8 bytes as U+FFFD)."""
    special = set(tokenizer.all_special_ids)
    pieces = ["\ufffd"] * len(tokenizer)
    for token, index in tokenizer.get_vocab().items():
        if index not in special:
            pieces[index] = tokenizer.convert_tokens_to_string([token])
    return pieces
