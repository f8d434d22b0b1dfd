"""The multi-instance reward model on synthetic truth, without any service."""

import numpy as np
import pytest
from confluent_kafka import Message

from adcraft.services.simulator.streams import traffic
from adcraft.services.simulator.world import SyntheticWorld
from adcraft.shared.contract.events import ImpressionServed
from adcraft.shared.rewards.join import KINDS, AttributionJoiner
from adcraft.shared.rewards.reward_model import ElementRewardModel, Example


def agreement(model, world):
    """Spearman of the model's element effects against the world's."""
    return world.ranking_agreement(
        lambda ad, segment: {
            (e.slot, e.element_id): e.score for e in model.element_scores(ad, segment)
        }
    )


@pytest.fixture(scope="module")
def batches():
    world = SyntheticWorld.create(ads=2, seed=3)
    joiner = AttributionJoiner(2_000, 10_000, 2_000, 100)
    source = Message("t", 0, 0, None, None)
    for event in traffic(world, 40_000, spacing_ms=0.5):
        if isinstance(event, ImpressionServed):
            joiner.impression(event, joiner.bag_id(_bag(event)), source)
        else:
            joiner.feedback(KINDS[type(event)], event, source)
    released, _ = joiner.advance(10**15)
    return world, released


def test_recovers_the_element_ranking(batches):
    world, released = batches
    model = ElementRewardModel(world.catalog.ads)
    for batch in released:
        model.learn(batch)
    assert agreement(model, world) >= 0.9
    # The strong pair interaction is attributed to the pair, not to its elements.
    ad, first, second = next(iter(world.pairs))
    (s1, e1), (s2, e2) = sorted([first, second])
    pair = model.click.weight(f"{ad}|{s1}={e1}&{s2}={e2}")[0]
    assert pair > 0.3


def test_small_batches_keep_weights_identified(batches):
    world, released = batches
    model = ElementRewardModel(world.catalog.ads)
    for batch in released:
        for start in range(0, len(batch), 25):
            model.learn(batch[start : start + 25])
    assert abs(model.click.weight("ad0|bias")[0]) < 5
    assert agreement(model, world) >= 0.9


def test_recentring_changes_no_prediction(batches):
    world, released = batches
    model = ElementRewardModel(world.catalog.ads)
    model.learn(released[0])
    shown = released[0][0]
    ids = model._bag_ids(model._rows([shown]))[0]
    model.click.mean[ids] += np.linspace(0.1, 0.9, len(ids))  # knock it off centre
    before = model.click.mean[ids].sum()
    model._recentre(model.click.mean)
    assert model.click.mean[ids].sum() == pytest.approx(before)


def test_cold_start_and_forgetting():
    catalog = {"ad": {"title": ["old", "new"]}}
    seen = [
        Example(0, "click", f"r{i}", ("ad", "all", (("title", "old"),)), i % 4 == 0)
        for i in range(2_000)
    ]
    model = ElementRewardModel(catalog)
    model.learn(seen)
    scores = {e.element_id: e for e in model.element_scores("ad", "all")}
    assert scores["new"].observations == 0
    assert scores["new"].uncertainty > 5 * scores["old"].uncertainty
    later = [e._replace(bag=("ad", "all", (("title", "new"),))) for e in seen[:100]]
    keeping, forgetful = ElementRewardModel(catalog), ElementRewardModel(catalog, forgetting=0.2)
    for model in (keeping, forgetful):
        model.learn(seen)
        for _ in range(5):
            model.learn(later)
    kept, faded = (
        {e.element_id: e for e in m.element_scores("ad", "all")} for m in (keeping, forgetful)
    )
    assert faded["old"].uncertainty > 1.5 * kept["old"].uncertainty


def test_bytes_round_trip(batches):
    world, released = batches
    model = ElementRewardModel(world.catalog.ads)
    for batch in released[:20]:
        model.learn(batch)
    copy = ElementRewardModel(world.catalog.ads)
    copy.load_bytes(model.history, model.to_bytes())
    assert copy.element_scores("ad1", "young") == model.element_scores("ad1", "young")


def _bag(impression):
    return impression.ad_id, impression.segment, tuple(impression.elements.items())


def test_posteriors_summarise_elements_and_learned_pairs():
    catalog = {"ad": {"title": ["good", "poor", "new"], "image": ["a", "b"]}}
    rng = np.random.default_rng(0)
    shown = [("good", "a"), ("good", "b"), ("good", "a"), ("good", "b"), ("poor", "a")]
    shown += [("poor", "b")]
    logit = {"good": -1.0, "poor": -3.0, "a": 0.0, "b": 0.0}
    examples = []
    for i in range(6_000):
        title, image = shown[i % len(shown)]
        together = 2.5 if (title, image) == ("poor", "b") else 0.0
        clicked = rng.random() < 1 / (1 + np.exp(-(logit[title] + logit[image] + together)))
        bag = ("ad", "young", (("title", title), ("image", image)))
        examples.append(Example(0, "click", f"r{i}", bag, bool(clicked)))
    model = ElementRewardModel(catalog)
    for start in range(0, len(examples), 500):
        model.learn(examples[start : start + 500])

    [post] = model.posteriors([("ad", "young")], "v7")
    assert (post.ad_id, post.segment, post.model_version) == ("ad", "young", "v7")
    assert {slot: [e.element_id for e in els] for slot, els in post.slots.items()} == {
        "title": ["good", "poor", "new"],
        "image": ["a", "b"],
    }
    title = {e.element_id: e for e in post.slots["title"]}
    assert title["good"].mean > title["poor"].mean
    assert title["good"].observations > title["poor"].observations > title["new"].observations
    assert title["good"].sd < title["poor"].sd < title["new"].sd

    pairs = {(p.element_a, p.element_b): p for p in post.pairs}
    assert set(pairs) == {("a", "good"), ("a", "poor"), ("b", "good"), ("b", "poor")}
    assert max(pairs, key=lambda k: pairs[k].weight) == ("b", "poor")
    assert pairs["b", "poor"].weight > 0.5
    name = "ad|image=b&title=poor"
    assert (pairs["b", "poor"].weight, pairs["b", "poor"].sd) == pytest.approx(
        model.click.weight(name)
    )

    estimates = {e.element_id: e for e in model.element_scores("ad", "young")}
    elements = [e for els in post.slots.values() for e in els]
    biases = [
        np.log(estimates[e.element_id].score / (1 - estimates[e.element_id].score)) - e.mean
        for e in elements
    ]
    assert biases == pytest.approx([biases[0]] * len(biases))
    for e in elements:
        est = estimates[e.element_id]
        assert (e.observations, e.conversion) == (est.observations, est.conversion_score)
        assert est.uncertainty == pytest.approx(est.score * (1 - est.score) * e.sd)
