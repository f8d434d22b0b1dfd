"""Training data from the real reviews, and how examples become training tokens."""

import pytest

from adcraft.services.copywriter import base_model, dataset, ranking, targets
from adcraft.services.copywriter.train import collate, encode_copy, encode_text
from adcraft.services.copywriter.weights import CopyPaths
from adcraft.shared.contract.copy_contract import placement_limits
from adcraft.shared.copy_rules.cta import STYLES, find_all
from adcraft.shared.copy_rules.screen import CopyScreen
from adcraft.shared.runtime.settings import CopySettings

SETTINGS = CopySettings()
LIMITS = placement_limits(SETTINGS)


@pytest.fixture(scope="module")
def products() -> list[dataset.Product]:
    return dataset.catalogue(SETTINGS)


def test_products_come_from_real_reviews_with_a_stable_held_out_fifth(products):
    assert len(products) > 500
    held = {p.clothing_id for p in products if p.held_out}
    assert 0.15 < len(held) / len(products) < 0.25
    again = dataset.catalogue(SETTINGS)
    assert {p.clothing_id for p in again if p.held_out} == held
    assert sum(bool(p.praise) for p in products) > 300


def test_examples_are_written_from_facts_and_end_with_a_cta_of_the_requested_style(products):
    examples = dataset.examples(products[:100], per_product=2, limits=LIMITS)
    assert len(examples) == 200
    reviews = " ".join(r for p in products[:100] for r in p.reviews)
    screen = CopyScreen.from_settings(SETTINGS)
    for example in examples:
        assert len(example.copy) <= LIMITS[example.brief.placement]
        assert example.copy.endswith(example.cta)
        assert find_all(example.copy) == [example.cta]
        assert example.cta.split()[0] in STYLES[example.brief.cta_style][0]
        assert screen(example.copy, example.brief) is None, example.copy
        body = example.copy.removesuffix(example.cta).strip()
        assert body and (len(body) < 25 or body not in reviews)  # written, not quoted
    bodies = {e.copy.removesuffix(e.cta) for e in examples if e.brief.placement == "description"}
    assert len(bodies) > 0.9 * sum(e.brief.placement == "description" for e in examples)


def test_training_copy_states_a_benefit_its_attributes_back(products):
    examples = dataset.examples(products[:120], per_product=2, limits=LIMITS)
    flawed = [e.copy for e in examples if ranking.flaw(e.copy, e.brief) is not None]
    assert len(flawed) < 0.02 * len(examples), flawed[:5]  # headlines a name leaves no room
    for example in examples:
        said = example.copy.lower()
        backing = {a for a in example.brief.attributes if a in targets.BENEFITS} or {"lovely"}
        promises = {b for a in backing for b in targets.BENEFITS[a]}
        promises |= {targets.SHORT_BENEFITS[a] for a in backing}
        stated = [
            p for p in promises for plural in (True, False) if targets.agreeing(p, plural) in said
        ]
        assert stated or example.copy in flawed, example.copy
    brief = examples[0].brief._replace(attributes=("pretty",), product="dress", cta_style="direct")
    assert ranking.flaw("This dress moves with you. Buy it now.", brief) == "unlisted_feel"


def test_encoded_masks_mark_the_copy_and_its_cta():
    _, tokenizer = base_model.load(base_model.prepare(CopyPaths.from_settings(SETTINGS).base))
    example = dataset.examples(dataset.catalogue(SETTINGS)[:1], 1, LIMITS)[0]
    copy = encode_copy(tokenizer, example, LIMITS[example.brief.placement])
    text = encode_text(tokenizer, "Runs small, order a size up.")
    batch = collate([copy, text], tokenizer.pad_token_id)
    ids = batch.input_ids[0, 1:]  # masks are aligned with the predicted (shifted) tokens
    assert tokenizer.decode(ids[batch.copy_mask[0]]) == example.copy
    assert tokenizer.decode(ids[batch.lm_mask[0]]) == example.copy + "<|im_end|>"
    assert tokenizer.decode(ids[batch.cta_mask[0]]).strip() == example.cta
    assert not batch.copy_mask[1].any() and batch.lm_mask[1].sum() == len(text["ids"]) - 1
    assert batch.attention_mask[1].sum() == len(text["ids"])
