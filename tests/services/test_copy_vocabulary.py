"""Decoding under the vocabulary: whatever the logits favour, only allowed words, in ASCII,
are written, a blocked word never is, and a tuned model's words continue the shop's
phrases."""

import re

import pytest
import torch

from adcraft.services.copywriter import base_model, ranking
from adcraft.services.copywriter.phrases import END, START, Phrases, Shop, phrase_words, slot_of
from adcraft.services.copywriter.vocabulary import (
    OPEN,
    Vocabulary,
    brief_words,
    common_words,
    joins,
    shop_words,
    struck_endings,
)
from adcraft.services.copywriter.weights import SHIPPED, CopyPaths
from adcraft.services.copywriter.words_only import WordsOnly, token_pieces
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import blocked_words, words_of
from adcraft.shared.runtime.settings import CopySettings

BRIEF = CopyBrief("tulle midi skirt", "Bottoms", ("boho",), "young", "warm", "direct")


@pytest.fixture(scope="module")
def tokenizer():
    path = base_model.prepare(CopyPaths.from_settings(CopySettings()).base)
    return base_model.load(path)[1]


def _write(
    tokenizer, scores_of, steps: int = 60, rows: int = 8, common=None, phrases=None
) -> list[str]:
    """Greedy text of ``rows`` rows under WordsOnly (``common`` words: the dictionary's by
    default; ``phrases``: none by default), each step's scores from ``scores_of``, each row
    up to its end of turn (checked by the writer: see the next test)."""
    pieces = token_pieces(tokenizer)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = torch.zeros((rows, 1), dtype=torch.long)
    row = Vocabulary(common or common_words(), brief_words(BRIEF), phrases, slot_of(BRIEF))
    words = WordsOnly(pieces, end, [row] * rows, prompt_length=1)
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
        assert text.isascii() and _row().advance(OPEN, text) is not None
        assert set(_closed(text)) <= allowed and not set(_closed(text)) & blocked_words(), text


def test_a_tuned_model_writes_only_its_shops_words_and_the_briefs(tokenizer):
    shop = shop_words((SHIPPED / "corpus.txt").read_text().splitlines())  # the shipped copy
    generator = torch.Generator().manual_seed(2)
    texts = _write(
        tokenizer, lambda step, rows, n: torch.randn(rows, n, generator=generator), common=shop
    )
    written = {w for text in texts for w in _closed(text)}
    assert len(written) >= 5  # words were written, not none
    assert written <= shop.whole | brief_words(BRIEF).whole, written - shop.whole


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
    assert sum(len(_closed(text)) for text in texts) > 4  # words were written, not none
    for text in texts:
        assert text.isascii(), text
        assert not set(_closed(text)) & (blocked_words() | {"brals"}), text


def _closed(text: str) -> list[str]:
    """The words of ``text`` that are finished (the last one may still be open)."""
    return words_of(text)[: -1 if text[-1:].isalpha() else None]


def _row(phrases=None) -> Vocabulary:
    return Vocabulary(common_words(), brief_words(BRIEF), phrases, slot_of(BRIEF))


def test_a_word_is_checked_where_it_ends_and_the_briefs_words_count():
    row = _row()
    assert row.advance(OPEN, " tulle")[:2] == ((START, START), "tulle")  # the brief's word
    assert row.advance(OPEN._replace(word="tul"), "le,")[:2] == ((START, "tulle"), "")
    assert row.advance(OPEN, " tullx") is None
    assert row.advance(OPEN._replace(word="flabb"), "y.") is None


def test_a_tuned_models_words_continue_the_shops_phrases_in_any_order_it_wrote(tokenizer):
    shop = Shop.of((SHIPPED / "phrases.txt").read_text().splitlines())
    phrases = shop.phrases_for(BRIEF.product)  # a product never written for: every phrase
    generator = torch.Generator().manual_seed(3)
    texts = _write(
        tokenizer, lambda step, rows, n: torch.randn(rows, n, generator=generator),
        steps=40, common=shop_words((SHIPPED / "corpus.txt").read_text().splitlines()),
        phrases=phrases,
    )  # fmt: skip
    assert sum(len(_closed(t)) for t in texts) > 1  # words were written, not none
    for text in texts:
        *finished, last = re.split(r"[.!]", text)
        for sentence in [*finished, last]:
            words = [START, START, *(w if w != "boho" else "xattr" for w in phrase_words(sentence))]
            trigrams = list(zip(words, words[1:], words[2:], strict=False))
            closed = (
                trigrams if sentence is not last else trigrams[:-1]
            )  # the last word may be open
            assert set(closed) <= phrases.trigrams, text
            if sentence is not last and len(words) > 2:
                assert (words[-2], words[-1], END) in phrases.trigrams, text


def test_a_sentence_ends_only_where_the_shops_do_and_the_turn_after_a_sentence():
    phrases = Phrases.of(["this xattr skirt moves. shop it now."])
    row = _row(phrases)
    state = row.advance(OPEN, "This boho skirt ")
    assert state[:2] == (("xattr", "skirt"), "")
    assert row.advance(state, ".") is None and not row.may_end(state)  # "skirt" ends nothing
    moved = row.advance(state, " moves.")
    assert moved[:2] == ((START, START), "") and row.may_end(moved)
    assert row.advance(OPEN, "This skirt") is None  # "this skirt" is not the shop's


def test_a_soft_cta_cannot_end_on_a_time_the_shop_strikes_for_it():
    phrases = Phrases.of(["it moves. see it today.", "it moves. see it at your own pace."])
    soft = Vocabulary(common_words(), brief_words(BRIEF), phrases, {}, struck_endings("soft"))
    direct = Vocabulary(common_words(), brief_words(BRIEF), phrases, {}, struck_endings("direct"))
    body = soft.advance(OPEN, "It moves.")
    assert soft.advance(body, " See it today.") is None  # "today." would be replaced as served
    assert soft.advance(body, " See it at your own pace.")[:2] == (OPEN.context, "")
    assert direct.advance(body, " See it today.")[:2] == (OPEN.context, "")
    assert direct.advance(body, " See it at your own pace.") is None  # a soft CTA's ending


def test_copy_opens_with_no_cta_and_no_sentence_only_names_the_product():
    phrases = Phrases.of(["shop it now.", "tulle skirt.", "tulle skirt online.", "a xattr skirt."])
    brief = BRIEF._replace(attributes=("boho",))
    bare = ranking.bare_words(brief)
    row = Vocabulary(common_words(), brief_words(brief), phrases, slot_of(brief), bare=bare)
    assert row.advance(OPEN, "Shop") is None  # a CTA first would be moved, or all there is
    assert row.advance(OPEN, "Tulle skirt.") is None and row.advance(OPEN, "Tul") is None
    assert row.advance(OPEN, "A boho skirt. Shop it now.") is not None
    assert row.advance(OPEN, "A boho skirt. Shop it Now.") is None  # a capital leads only


def test_a_feel_the_brief_does_not_list_is_never_written():
    phrases = Phrases.of(["it feels soft. it feels nice."])
    row = Vocabulary(common_words(), brief_words(BRIEF), phrases, {}, (), frozenset({"soft"}))
    assert row.advance(OPEN, "It feels soft.") is None
    assert row.advance(OPEN, "It feels nice.")[:2] == (OPEN.context, "")


def test_the_shops_phrases_leave_no_room_for_digits_or_symbols():
    row = _row(Phrases.of(["this xattr skirt moves."]))
    assert row.advance(OPEN, "This boho skirt 15") is None
    assert row.advance(OPEN, "This boho skirt (") is None
    assert _row().advance(OPEN, "A boho skirt, 15") is not None  # free writing keeps them


def test_a_word_whose_last_letters_the_model_ranks_last_is_still_finished(tokenizer):
    phrases = Phrases.of(["this xattr skirt makes an everyday look special."])
    pieces = token_pieces(tokenizer)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    words = WordsOnly(pieces, end, [_row(phrases)], prompt_length=1)
    words.states[0] = _row(phrases).advance(OPEN, "This boho skirt makes a")
    scores = torch.arange(len(pieces), dtype=torch.float).flip(0).unsqueeze(0)
    scores[0, [i for i, p in enumerate(pieces) if p.startswith("n")]] = -1e6  # ranked last
    kept = words(torch.zeros((1, 1), dtype=torch.long), scores)
    written = pieces[int(kept.argmax())]
    assert written.startswith("n") and kept[0, end] == -float("inf"), written


def test_a_slot_that_states_a_feel_holds_only_a_feel_the_brief_lists():
    phrases = Phrases.of(["this xattr skirt keeps you xattr all day."])
    brief = BRIEF._replace(attributes=("pretty", "soft", "cozy"))
    feels = frozenset({"soft", "cozy"})
    row = Vocabulary(common_words(), brief_words(brief), phrases, slot_of(brief), (), feels=feels)
    assert row.advance(OPEN, "This pretty skirt keeps you cozy all day.")[:2] == (OPEN.context, "")
    assert row.advance(OPEN, "This soft skirt keeps you pretty all day.") is None
    assert row.advance(OPEN, "This cozy skirt keeps you soft all day.") is None  # not that feel
    assert row.advance(OPEN, "This soft skirt keeps you pre") is None  # not even begun


def test_a_row_never_starts_a_phrase_it_cannot_end():
    phrases = Phrases.of(["this xattr skirt keeps you xattr all day.", "this xattr skirt moves."])
    row = _row(phrases)  # boho: no feel, so "keeps you" leads nowhere
    assert row.advance(OPEN, "This boho skirt kee") is None
    assert row.advance(OPEN, "This boho skirt moves.") is not None


def test_the_first_sentence_leaves_room_for_a_cta_and_none_runs_past_the_limit():
    long = "this xattr skirt makes an everyday look special."
    phrases = Phrases.of([long, "this xattr skirt moves.", "shop it now."])
    brief = BRIEF._replace(attributes=("boho",))
    row = Vocabulary(
        common_words(), brief_words(brief), phrases, slot_of(brief), limit=36, reserve=13
    )
    assert row.advance(OPEN, "This boho skirt ma") is None  # 48 characters: no room
    first = row.advance(OPEN, "This boho skirt moves.")  # 22 + 13 <= 36
    assert first is not None and row.advance(first, " Shop it now.") is not None  # 35
    assert row.advance(first, " Shop it now. This") is None  # no second body fits after it


def test_a_hyphen_joins_only_the_words_the_brief_hyphenates():
    phrases = Phrases.of(["this fine gauge sweater moves.", "buy your sweater now."])
    brief = BRIEF._replace(product="fine-gauge sweater")
    row = Vocabulary(common_words(), brief_words(brief), phrases, joins=joins(brief))
    assert row.advance(OPEN, "This fine-gauge sweater moves.") is not None
    assert row.advance(OPEN, "Buy-your") is None and row.advance(OPEN, "This fine gauge-") is None
