"""Training data from the real reviews, and how examples become training tokens."""

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.copywriter import base_model, dataset
from services.copywriter.cta import STYLES, find_cta
from services.copywriter.train import collate, encode_copy, encode_text
from services.copywriter.weights import CopyPaths
from shared.copy_contract import placement_limits
from shared.settings import CopySettings

SETTINGS = CopySettings()
LIMITS = placement_limits(SETTINGS)


@pytest.fixture(scope="module")
def products() -> list[dataset.Product]:
    return dataset.products(dataset.read_reviews(SETTINGS.reviews))


def test_products_come_from_real_reviews_with_a_stable_held_out_fifth(products):
    assert len(products) > 500
    held = {p.clothing_id for p in products if p.held_out}
    assert 0.15 < len(held) / len(products) < 0.25
    again = dataset.products(dataset.read_reviews(SETTINGS.reviews))
    assert {p.clothing_id for p in again if p.held_out} == held
    scorer = SentimentIntensityAnalyzer()
    for product in products[:50]:
        assert product.attributes and product.quotes
        for quote, _ in product.quotes:
            assert not dataset._FIRST_PERSON.search(quote)
            assert scorer.polarity_scores(quote)["compound"] >= dataset.QUOTE_MIN_SENTIMENT


def test_examples_end_with_a_cta_of_the_requested_style_within_limits(products):
    examples = dataset.examples(products[:100], per_product=2, limits=LIMITS)
    assert len(examples) == 200
    for example in examples:
        assert len(example.copy) <= LIMITS[example.brief.placement]
        assert example.copy.endswith(example.cta)
        assert find_cta(example.copy) == example.cta
        assert example.cta.split()[0] in STYLES[example.brief.cta_style][0]


def test_encoded_masks_mark_the_copy_and_its_cta():
    _, tokenizer = base_model.load(base_model.prepare(CopyPaths.from_settings(SETTINGS).base))
    example = dataset.examples(
        dataset.products(dataset.read_reviews(SETTINGS.reviews))[:1], 1, LIMITS
    )[0]
    copy = encode_copy(tokenizer, example, LIMITS[example.brief.placement])
    text = encode_text(tokenizer, "Runs small, order a size up.")
    batch = collate([copy, text], tokenizer.pad_token_id)
    ids = batch.input_ids[0, 1:]  # masks are aligned with the predicted (shifted) tokens
    assert tokenizer.decode(ids[batch.copy_mask[0]]) == example.copy
    assert tokenizer.decode(ids[batch.lm_mask[0]]) == example.copy + "<|im_end|>"
    assert tokenizer.decode(ids[batch.cta_mask[0]]).strip() == example.cta
    assert not batch.copy_mask[1].any() and batch.lm_mask[1].sum() == len(text["ids"]) - 1
    assert batch.attention_mask[1].sum() == len(text["ids"])
