"""Decoding under the vocabulary: whatever the logits favour, only allowed words, in ASCII,
are written, and a blocked word never is."""

import pytest
import torch

from adcraft.services.copywriter import base_model
from adcraft.services.copywriter.vocabulary import (
    WordsOnly,
    after,
    brief_words,
    common_words,
    token_pieces,
)
from adcraft.services.copywriter.weights import CopyPaths
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import blocked_words, words_of
from adcraft.shared.runtime.settings import CopySettings

BRIEF = CopyBrief("tulle midi skirt", "Bottoms", ("boho",), "young", "warm", "direct")


@pytest.fixture(scope="module")
def tokenizer():
    path = base_model.prepare(CopyPaths.from_settings(CopySettings()).base)
    return base_model.load(path)[1]


def _write(tokenizer, scores_of, steps: int = 60, rows: int = 8) -> list[str]:
    """Greedy text of ``rows`` rows under WordsOnly, each step's scores from ``scores_of``,
    each row up to its end of turn (checked by the writer: see the next test)."""
    pieces = token_pieces(tokenizer)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = torch.zeros((rows, 1), dtype=torch.long)
    words = WordsOnly(pieces, end, [brief_words(BRIEF)] * rows, prompt_length=1)
    for step in range(steps):
        scores = words(ids, scores_of(step, rows, len(pieces)))
        ids = torch.cat([ids, scores.argmax(dim=1, keepdim=True)], dim=1)
    texts = []
    for row in ids[:, 1:].tolist():
        ended = row.index(end) if end in row else len(row)
        texts.append(tokenizer.decode(row[:ended], skip_special_tokens=True))
    return texts


def test_random_logits_write_only_allowed_words_in_ascii(tokenizer):
    generator = torch.Generator().manual_seed(0)
    texts = _write(tokenizer, lambda step, rows, n: torch.randn(rows, n, generator=generator))
    allowed = common_words().whole | brief_words(BRIEF).whole
    for text in texts:  # every word whole and allowed; the last may be open (the budget)
        assert text.isascii() and after("", text, common_words(), brief_words(BRIEF)) is not None
        assert set(_closed(text)) <= allowed and not set(_closed(text)) & blocked_words(), text


def test_blocked_words_and_foreign_letters_are_masked_even_when_likeliest(tokenizer):
    vocab = tokenizer.get_vocab()
    favoured = [vocab[t] for t in ("Ġflabby", "Ġugly", "Ġfat", "Ð¾", "Ġbrals") if t in vocab]
    assert len(favoured) >= 3  # the test forces real tokens
    generator = torch.Generator().manual_seed(1)

    def scores(step, rows, n):
        pushed = torch.randn(rows, n, generator=generator)
        pushed[:, favoured] = 50.0
        return pushed

    texts = _write(tokenizer, scores, steps=30)
    assert sum(len(_closed(text)) for text in texts) > 8  # words were written, not none
    for text in texts:
        assert text.isascii(), text
        assert not set(_closed(text)) & (blocked_words() | {"brals"}), text


def _closed(text: str) -> list[str]:
    """The words of ``text`` that are finished (the last one may still be open)."""
    return words_of(text)[: -1 if text[-1:].isalpha() else None]


def test_a_word_is_checked_where_it_ends_and_the_briefs_words_count():
    own = brief_words(BRIEF)
    assert after("", " tulle", common_words(), own) == "tulle"  # the brief's word
    assert after("tul", "le,", common_words(), own) == ""
    assert after("", " tullx", common_words(), own) is None
    assert after("flabb", "y.", common_words(), own) is None
