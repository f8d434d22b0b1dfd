"""What ``adcraft eval copy`` judges, and that a seeded training run is reproducible."""

from collections import Counter

import pytest
from safetensors.torch import load_file

from adcraft.services.copywriter import dataset, text_metrics
from adcraft.services.copywriter.evaluate import held_out_briefs, names_the_product
from adcraft.services.copywriter.train import TrainConfig, train
from adcraft.services.copywriter.weights import CopyPaths
from adcraft.shared.contract.copy_contract import CopyBrief
from adcraft.shared.copy_rules.words import Lexicon
from adcraft.shared.runtime.settings import CopySettings

SETTINGS = CopySettings()


@pytest.fixture(scope="module")
def held_out() -> list[dataset.Product]:
    return [p for p in dataset.catalogue(SETTINGS) if p.held_out]


def test_eval_briefs_take_departments_in_turn(held_out):
    briefs = held_out_briefs(held_out, 60, seed=0)
    counts = Counter(b.department for b in briefs)
    available = Counter(p.department for p in held_out)
    assert len(counts) == 6
    for department, count in counts.items():  # as even as the held-out products allow
        assert count >= max(counts.values()) - 1 or count == available[department]
    assert briefs == held_out_briefs(held_out, 60, seed=0)
    assert briefs != held_out_briefs(held_out, 60, seed=1)


def test_invented_words_are_found_and_shop_words_are_not():
    lexicon = Lexicon()
    assert lexicon.invented("Very cozybut thecuffs add detail to these leggens.") == [
        "cozybut",
        "thecuffs",
        "leggens",
    ]
    assert lexicon.invented("A flowy, drapey bralette you'll love. Shop it now.") == []


@pytest.mark.parametrize(
    "text, named",
    [
        ("This dress moves with you. Shop it now.", True),
        ("A flowy gown for all day. Shop it now.", True),
        ("Flowy and light all day. Shop it now.", False),  # an attribute is not the product
        ("Meet your new favorite. Shop it now.", False),
        ("A soft tee for you. Shop it now.", False),
    ],
)
def test_copy_is_on_brief_when_it_names_the_product(text, named):
    brief = CopyBrief("dress", "Dresses", ("flowy",), "adult", "warm", "direct")
    assert names_the_product(text, brief) is named


def test_variant_diversity_is_judged_within_each_brief():
    same = [["a soft dress for you", "a soft dress for you"]]
    varied = [["a soft dress for you", "twirl all summer long"]]
    assert text_metrics.variant_diversity(same) == (0.5, pytest.approx(1.0))
    assert text_metrics.variant_diversity(varied)[0] == 1.0
    assert text_metrics.variant_diversity([["alone"]]) == (0.0, 0.0)


def test_a_seeded_training_run_is_reproduced_bit_for_bit(tmp_path, study):
    base = CopyPaths.from_settings(SETTINGS).base
    weights = []
    for name in ("first", "second"):
        settings = CopySettings(models_dir=str(tmp_path / name), base_model=str(base))
        config = TrainConfig(steps=1, batch_size=4, max_products=20, seed=3, sample_every=1)
        run = train(settings, config, log=lambda _: None)
        weights.append(load_file(str(run / "adapter_model.safetensors")))
        assert (run / "corpus.txt").read_text()
    assert weights[0].keys() == weights[1].keys()
    assert all(weights[0][k].equal(weights[1][k]) for k in weights[0])
