"""The combination generator's propensities are exact, its top-K is the policy's, and the
baselines do what they claim."""

import math

import pytest
import torch
from scipy.stats import chisquare

from adcraft.services.combinations import export
from adcraft.services.combinations.baselines import (
    additive_values,
    best_share,
    combinations_of,
    greedy_additive,
    per_slot_thompson,
)
from adcraft.services.combinations.candidates import Candidates
from adcraft.services.combinations.evaluation import top1_vs_best
from adcraft.services.combinations.generator import CombinationGenerator, noise
from adcraft.services.combinations.online import OnlineConfig, policies, regret
from adcraft.services.combinations.worlds import HELD_OUT_SEED, sample

pytestmark = pytest.mark.usefixtures("one_thread")


def _batch() -> Candidates:
    """Two requests of different shapes: 3 slots × (3, 2, 3) and 2 slots × (2, 1)."""
    torch.manual_seed(0)
    first = Candidates.single(
        [
            [[0.2, 0.5, 1, 0], [0.1, 1, 2, 0], [-0.3, 0.2, 3, 0.1]],
            [[0.0, 1, 0, 0], [0.4, 0.3, 1, 0]],
            [[0.1, 0.1, 1, 0], [0.2, 0.2, 2, 0], [0.3, 0.3, 3, 0]],
        ],
        pairs={(0, 2, 1, 0): 1.5, (1, 1, 2, 0): -0.7},
    )
    second = Candidates.single([[[0.5, 0.1, 1, 0], [0.6, 0.1, 1, 0]], [[0.0, 1, 0, 0]]])
    return _stack(first, second)


def _stack(*requests: Candidates) -> Candidates:
    return Candidates.stack(list(requests))


def _space(batch: Candidates, row: int) -> list[tuple[int, ...]]:
    return [tuple(c) for c in combinations_of(batch, row).tolist()]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    return CombinationGenerator().eval()


def _probability(model, batch, row, choice, temperature=1.0):
    one = batch.rows(torch.tensor([row]))
    with torch.no_grad():
        return float(model.log_prob(one, torch.tensor([choice]), temperature).sum().exp())


def test_propensities_are_products_of_slot_probabilities_and_sum_to_one(model):
    batch = _batch()
    with torch.no_grad():
        drawn = model.sample(batch, rng=torch.Generator().manual_seed(2))
    assert torch.allclose(drawn.probability, drawn.slot_probabilities.prod(-1))
    assert drawn.choices[1, 2] == -1 and drawn.slot_probabilities[1, 2] == 1
    for row in range(2):
        total = sum(_probability(model, batch, row, c) for c in _space(batch, row))
        assert total == pytest.approx(1.0, abs=1e-5)
        assert all(batch.mask[row, s, c] for s, c in enumerate(drawn.choices[row]) if c >= 0)


def test_sampling_frequencies_match_the_propensities(model):
    batch = _batch()
    draws = 20_000
    many = Candidates(
        *(
            t[:1].repeat_interleave(draws, 0)
            for t in (batch.features, batch.mask, batch.pairs, batch.context)
        )
    )
    with torch.no_grad():
        drawn = model.sample(many, rng=torch.Generator().manual_seed(3))
    space = _space(batch, 0)
    seen = {combo: 0 for combo in space}
    for choice in drawn.choices.tolist():
        seen[tuple(choice)] += 1
    probabilities = [_probability(model, batch, 0, combo) for combo in space]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    expected = [draws * p / sum(probabilities) for p in probabilities]  # float32 rounding
    result = chisquare([seen[combo] for combo in space], expected)
    assert result.pvalue > 1e-3


def test_top_k_is_the_most_probable_distinct_combinations(model):
    batch = _batch()
    with torch.no_grad():
        top = model.top_k(batch, k=5)
    ranked = sorted(_space(batch, 0), key=lambda c: -_probability(model, batch, 0, c))[:5]
    assert [tuple(c) for c in top.choices[0].tolist()] == ranked
    for got, combo in zip(top.probability[0].tolist(), ranked, strict=True):
        assert got == pytest.approx(_probability(model, batch, 0, combo), rel=1e-5)
    # The second request has only 2 combinations: the rest have probability 0.
    assert top.probability[1, :2].sum() == pytest.approx(1.0, abs=1e-5)
    assert top.probability[1, 2:].tolist() == [0.0, 0.0, 0.0]


def test_greedy_sees_pairs_and_thompson_explores_within_the_mask():
    batch = _batch()
    best = greedy_additive(batch)
    space = combinations_of(batch, 0)
    values = dict(zip(_space(batch, 0), additive_values(batch, 0, space).tolist(), strict=True))
    assert tuple(best[0].tolist()) == max(values, key=values.get)
    assert best[0, 0] == 2  # the strong pair wins over slot 0's best mean
    rng = torch.Generator().manual_seed(4)
    picks = torch.stack([per_slot_thompson(batch, rng) for _ in range(200)])
    assert (picks[:, 1, 2] == -1).all()
    assert set(picks[:, 0, 0].tolist()) == {0, 1, 2}  # uncertain posteriors are explored
    assert math.isclose(float(batch.mask[1].sum()), 3.0)


@pytest.fixture(scope="module")
def shipped():
    """The exported generator (``adcraft train combos``), as Triton serves it."""
    return export.load()[0]


def test_shipped_generator_finds_near_best_combinations_on_unseen_ads(shipped):
    held_out = sample(64, torch.Generator().manual_seed(HELD_OUT_SEED))  # never trained on
    with torch.no_grad():
        top1 = shipped.top_k(held_out.seen, 16).choices[:, 0]
    generator = best_share(held_out.seen, top1)
    means = held_out.seen.features[..., 0].masked_fill(~held_out.seen.mask, float("-inf"))
    per_slot = means.argmax(-1).masked_fill(~held_out.seen.slots, -1)
    assert float(generator.mean()) >= 0.97
    assert float(generator.mean()) > float(best_share(held_out.seen, per_slot).mean())
    assert top1_vs_best(shipped, ads=64) == pytest.approx(float(generator.mean()), abs=1e-6)
    assert top1_vs_best(shipped) >= 0.97  # 256 held-out ads


def test_online_regret_is_below_per_slot_thompson_sampling(shipped):
    config = OnlineConfig()
    found = {name: regret(policy, config) for name, policy in policies(shipped).items()}
    assert found["generator"] < found["per_slot_ts"]
    assert found["generator"] < found["greedy"]


def test_sampled_top_k_is_distinct_exact_and_its_first_is_a_draw_from_the_policy(model):
    batch = _batch()
    draws, k, temperature = 20_000, 4, 0.3
    many = batch.rows(torch.zeros(draws, dtype=torch.long))
    uniform = torch.stack([noise((3, 3), k, seed) for seed in range(draws)])
    with torch.no_grad():
        out = model.top_k(many, k, temperature, uniform)
    for row in range(0, draws, 997):
        combos = [tuple(c) for c in out.choices[row].tolist()]
        assert len(set(combos)) == k
        for combo, got in zip(combos, out.probability[row].tolist(), strict=True):
            one = _probability(model, batch, 0, combo, temperature)
            assert got == pytest.approx(one, rel=1e-4)
    space = _space(batch, 0)
    probabilities = [_probability(model, batch, 0, c, temperature) for c in space]
    seen = dict.fromkeys(space, 0)
    for choice in out.choices[:, 0].tolist():
        seen[tuple(choice)] += 1
    expected = [draws * p / sum(probabilities) for p in probabilities]
    kept = [i for i, e in enumerate(expected) if e >= 5]  # chi-square needs counts ≥ 5
    observed = [seen[space[i]] for i in kept]
    scale = sum(observed) / sum(expected[i] for i in kept)
    assert chisquare(observed, [expected[i] * scale for i in kept]).pvalue > 1e-3
    # The same seed gives the same draw, alone or in a batch.
    with torch.no_grad():
        alone = model.top_k(batch.rows(torch.tensor([0])), k, temperature, uniform[:1])
    assert alone.choices[0].tolist() == out.choices[0].tolist()
